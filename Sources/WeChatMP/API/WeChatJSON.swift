import Foundation

/// The one JSON configuration used for every WeChat request and response body.
///
/// Encoding sorts keys (stable bodies, stable hashes for idempotency keys and journals) and
/// leaves `/` unescaped (URLs in article fields stay readable). Non-ASCII text is written as
/// raw UTF-8, never as `\uXXXX` escapes, which WeChat would show literally in some fields.
/// Decoding is tolerant: every response type in this module accepts a missing `errcode`,
/// ignores unknown fields and reads ids that arrive as numbers or as numeric strings.
public enum WeChatJSON {
    /// A new encoder with sorted keys and unescaped slashes.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A new decoder. Keys are mapped explicitly by each type, so no key strategy is set.
    public static func decoder() -> JSONDecoder {
        JSONDecoder()
    }

    /// Encodes `value`: the bytes ``encoder()`` writes. A flat object is written straight to
    /// bytes (`FlatRequestEncoder`), anything else by ``encoder()``.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let data = FlatRequestEncoder.encode(value) { return data }
        return try encoder().encode(value)
    }

    /// Decodes a `T` from `data`: what ``decoder()`` decodes, values and errors alike. A flat
    /// answer object is read straight from its bytes (`FlatAnswerDecoder`), anything else by
    /// ``decoder()``.
    public static func decode<T: Decodable>(_ type: T.Type = T.self, from data: Data) throws -> T {
        if let value = FlatAnswerDecoder.decode(type, from: data) { return value }
        return try decoder().decode(type, from: data)
    }
}

/// What `FlatAnswerDecoder` and `FlatRequestEncoder` share: the types they leave to
/// Foundation's coders, and the error that says one gave up.
enum FlatCoding {
    /// Thrown (and recorded) when a flat coder cannot be sure of Foundation's result.
    struct GaveUp: Error {}

    /// Types `JSONDecoder` and `JSONEncoder` code by their own strategies rather than by the
    /// type's `init(from:)` or `encode(to:)`.
    static func isSpecial<T>(_ type: T.Type) -> Bool {
        type == Date.self || type == Data.self || type == URL.self || type == Decimal.self
    }
}

// MARK: - Tolerant decoding helpers (internal)

extension KeyedDecodingContainer {
    /// An integer that may arrive as a JSON number or as a numeric string; `nil` when absent,
    /// `null` or an empty string.
    func lenientInt64IfPresent(forKey key: Key) throws -> Int64? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Int64.self, forKey: key) { return value }
        if let text = try? decode(String.self, forKey: key) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return nil }
            if let value = Int64(trimmed) { return value }
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "expected an integer or a numeric string, found \"\(text)\"")
        }
        if let value = try? decode(Double.self, forKey: key),
           value.rounded() == value, let exact = Int64(exactly: value) {
            return exact
        }
        throw DecodingError.typeMismatch(
            Int64.self,
            .init(codingPath: codingPath + [key],
                  debugDescription: "expected an integer or a numeric string"))
    }

    /// Like ``lenientInt64IfPresent(forKey:)`` but the key is required.
    func lenientInt64(forKey key: Key) throws -> Int64 {
        if let value = try lenientInt64IfPresent(forKey: key) { return value }
        throw DecodingError.keyNotFound(
            key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
    }

    /// An `Int` that may arrive as a JSON number or as a numeric string.
    func lenientIntIfPresent(forKey key: Key) throws -> Int? {
        guard let wide = try lenientInt64IfPresent(forKey: key) else { return nil }
        guard let value = Int(exactly: wide) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "integer \(wide) out of range")
        }
        return value
    }

    /// Like ``lenientIntIfPresent(forKey:)`` but the key is required.
    func lenientInt(forKey key: Key) throws -> Int {
        if let value = try lenientIntIfPresent(forKey: key) { return value }
        throw DecodingError.keyNotFound(
            key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
    }

    /// A boolean written as `true`/`false`, `0`/`1` or the strings of either.
    func lenientBoolIfPresent(forKey key: Key) throws -> Bool? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Bool.self, forKey: key) { return value }
        if let number = try? decode(Int.self, forKey: key), number == 0 || number == 1 {
            return number == 1
        }
        if let text = try? decode(String.self, forKey: key) {
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: break
            }
        }
        throw DecodingError.dataCorruptedError(
            forKey: key, in: self, debugDescription: "expected a boolean")
    }

    /// A string that may arrive as a JSON number (ids of media are sometimes numeric in mocks).
    func lenientStringIfPresent(forKey key: Key) throws -> String? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(String.self, forKey: key) { return value }
        if let value = try? decode(Int64.self, forKey: key) { return String(value) }
        throw DecodingError.typeMismatch(
            String.self, .init(codingPath: codingPath + [key], debugDescription: "expected a string"))
    }

    /// Like ``lenientStringIfPresent(forKey:)`` but the key is required.
    func lenientString(forKey key: Key) throws -> String {
        if let value = try lenientStringIfPresent(forKey: key) { return value }
        throw DecodingError.keyNotFound(
            key, .init(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
    }
}

/// The text that stands in for a secret in descriptions, mirrors and logs.
let redactedText = "<redacted>"
