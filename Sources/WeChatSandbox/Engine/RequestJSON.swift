import Foundation
import PipelineCore

/// Request bodies are PipelineCore's `Value`, read with its exact parser so that each shape
/// check can answer WeChat's errcode (a `true` is not a `1`, a string id is accepted where
/// WeChat does).
extension Value {
    /// Parses a body (RFC 8259, UTF-8, nesting at most 64 deep); `nil` when it is not JSON.
    static func parse(_ data: Data) -> Value? {
        guard let text = String(validating: data, as: UTF8.self) else { return nil }
        return try? Value.parseJSON(text)
    }

    var objectValue: [String: Value]? {
        if case .object(let object) = self { return object }
        return nil
    }

    var listValue: [Value]? {
        if case .list(let list) = self { return list }
        return nil
    }

    var isNull: Bool { self == .null }

    /// A string, or a number written as a string (ids arrive both ways).
    var lenientString: String? {
        switch self {
        case .string(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// An integer written as a number or a numeric string.
    var lenientInt: Int64? {
        switch self {
        case .integer(let value): return Int64(value)
        case .number(let value): return value.rounded() == value ? Int64(exactly: value) : nil
        case .string(let text):
            // ASCII text (a msg_id on every mass/get) is trimmed byte by byte; other text
            // through Foundation, whose `.whitespaces` has non-ASCII spaces too.
            var bytes = text.utf8[...]
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return Int64(text.trimmingCharacters(in: .whitespaces)) }
            while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
            while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
            return Int64(Substring(bytes))
        default: return nil
        }
    }

    /// A boolean written as `true`/`false`, `0`/`1`, or their strings.
    var lenientBool: Bool? {
        switch self {
        case .bool(let value): return value
        case .integer(let value) where value == 0 || value == 1: return value == 1
        case .string(let text):
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: return nil
            }
        default: return nil
        }
    }
}

/// Writes a JSON object with keys in the order given (WeChat's answers put `errcode` first).
struct JSONWriter {
    private var out = "{"
    private var first = true

    mutating func key(_ name: String) {
        if !first { out += "," }
        first = false
        Self.quote(name, into: &out)
        out += ":"
    }

    mutating func add(_ name: String, _ value: Int) {
        key(name)
        out += String(value)
    }

    mutating func add(_ name: String, _ value: Int64) {
        key(name)
        out += String(value)
    }

    mutating func add(_ name: String, _ value: String) {
        key(name)
        Self.quote(value, into: &out)
    }

    var text: String { out + "}" }

    static func quote(_ text: String, into out: inout String) {
        JSONText.appendQuoted(text, to: &out)
    }
}
