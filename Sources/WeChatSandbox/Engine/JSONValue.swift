import Foundation

/// A parsed JSON request body, kept with exact types so that each shape check can answer
/// WeChat's errcode (a `true` is not a `1`, a string id is accepted where WeChat does).
enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses a body; `nil` when it is not JSON.
    static func parse(_ data: Data) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let object) = self { return object }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    var isNull: Bool { self == .null }

    /// A string, or a number written as a string (ids arrive both ways).
    var lenientString: String? {
        switch self {
        case .string(let text): text
        case .int(let value): String(value)
        default: nil
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// An integer written as a number or a numeric string.
    var lenientInt: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return value.rounded() == value ? Int64(exactly: value) : nil
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return Int64(trimmed)
        default: return nil
        }
    }

    /// A boolean written as `true`/`false`, `0`/`1`, or their strings.
    var lenientBool: Bool? {
        switch self {
        case .bool(let value): return value
        case .int(let value) where value == 0 || value == 1: return value == 1
        case .string(let text):
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: return nil
            }
        default: return nil
        }
    }

    /// Canonical text (sorted keys) for digests.
    var canonical: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += String(value)
        case .string(let text): JSONWriter.quote(text, into: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONWriter.quote(key, into: &out)
                out += ":"
                object[key]!.write(to: &out)
            }
            out += "}"
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
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
