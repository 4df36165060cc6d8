import Foundation

/// Decodes the flat JSON objects most WeChat answers are
/// (`{"errcode":0,"errmsg":"ok","msg_id":1000000001,"msg_status":"SEND_SUCCESS"}`: keys whose
/// values are strings, numbers, booleans or `null`) straight from the body's bytes, without
/// building Foundation's JSON tree and its dictionaries.
///
/// It only answers when its answer is certainly the one `JSONDecoder` gives: the body must be
/// one JSON object with no nested value and no repeated key, and every value the type asks for
/// must be read exactly as it is written (a string as `String`, an integer with no fraction or
/// exponent as an integer type in range, `true`/`false` as `Bool`, `null` as nil). Anything
/// else (a nested value, a number asked as `Double`, a string asked as a number, a missing key,
/// `Date`, `Data`, `URL` or `Decimal`, an error of any kind, even one the type catches itself)
/// makes it give up and return `nil`, and the caller decodes with ``WeChatJSON/decoder()``. So
/// values and errors are always `JSONDecoder`'s; this is only the short way to the same values.
enum FlatAnswerDecoder {
    /// The decoded value, or `nil` when the body must go through `JSONDecoder`.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
        if FlatCoding.isSpecial(type) { return nil }
        guard let object = data.withUnsafeBytes({ FlatObject(parsing: $0) }) else { return nil }
        let state = FlatDecoding.State()
        let value: T
        do {
            value = try T(from: FlatObjectDecoder(object: object, state: state, codingPath: []))
        } catch {
            return nil
        }
        return state.gaveUp ? nil : value
    }
}

/// One scalar value of a flat object.
enum FlatScalar: Equatable {
    case string(String)
    /// A number's text, valid JSON; `integer` when it has no fraction and no exponent.
    case number(String, integer: Bool)
    case bool(Bool)
    case null
}

/// A JSON object whose values are all scalars, keys in the order written.
struct FlatObject {
    var fields: [(key: String, value: FlatScalar)] = []

    /// The object at the start of `bytes` (whitespace around it allowed), or `nil` when the
    /// bytes are not one such object: invalid JSON or UTF-8, a nested object or array, a
    /// repeated key, or more than 64 keys.
    init?(parsing bytes: UnsafeRawBufferPointer) {
        var reader = FlatReader(bytes: bytes)
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        reader.skipSpace()
        if reader.take(UInt8(ascii: "}")) {
            reader.skipSpace()
            guard reader.atEnd else { return nil }
            return
        }
        while true {
            guard reader.take(UInt8(ascii: "\"")), let key = reader.string() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            guard let value = reader.scalar() else { return nil }
            guard fields.count < 64, !fields.contains(where: { $0.key == key }) else { return nil }
            fields.append((key, value))
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) {
                reader.skipSpace()
                continue
            }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        reader.skipSpace()
        guard reader.atEnd else { return nil }
    }

    func value(for key: String) -> FlatScalar? {
        for field in fields where field.key == key { return field.value }
        return nil
    }
}

/// A cursor over JSON text that reads only what a flat object holds.
private struct FlatReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func skipSpace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    mutating func take(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - offset >= count else { return false }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] { return false }
        offset += count
        return true
    }

    /// A scalar value; `nil` for a nested value or anything invalid.
    mutating func scalar() -> FlatScalar? {
        guard offset < bytes.count else { return nil }
        switch bytes[offset] {
        case UInt8(ascii: "\""):
            offset += 1
            return string().map(FlatScalar.string)
        case UInt8(ascii: "t"): return take("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return take("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return take("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    /// The rest of a string whose opening quote was taken; `nil` when invalid.
    mutating func string() -> String? {
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            offset += 1
        }
        return nil
    }

    /// A string with escapes, from `start` (after its opening quote).
    private mutating func escapedString(from start: Int) -> String? {
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { return nil }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard let first = hex4() else { return nil }
                    var code = UInt32(first)
                    if (0xD800...0xDBFF).contains(first) {
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let second = hex4(),
                              (0xDC00...0xDFFF).contains(second)
                        else { return nil }
                        code = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(first) {
                        return nil
                    }
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    out.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    return nil
                }
            default:
                if byte < 0x20 { return nil }
                out.append(byte)
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt16? {
        guard bytes.count - offset >= 4 else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    /// A number by JSON's grammar; `nil` when invalid.
    mutating func number() -> FlatScalar? {
        let start = offset
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            // No leading zeros: "01" is invalid JSON.
        } else {
            guard digits() > 0 else { return nil }
        }
        var integer = true
        if take(UInt8(ascii: ".")) {
            integer = false
            guard digits() > 0 else { return nil }
        }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            integer = false
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits() > 0 else { return nil }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        return .number(text, integer: integer)
    }

    private mutating func digits() -> Int {
        let start = offset
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
        return offset - start
    }
}

/// What the flat decoders share: whether they gave up, and the reading rules.
enum FlatDecoding {
    final class State {
        var gaveUp = false
    }

    static func giveUp(_ state: State) -> FlatCoding.GaveUp {
        state.gaveUp = true
        return FlatCoding.GaveUp()
    }

    static func bool(_ value: FlatScalar?, _ state: State) throws -> Bool {
        guard case .bool(let bool) = value else { throw giveUp(state) }
        return bool
    }

    static func string(_ value: FlatScalar?, _ state: State) throws -> String {
        guard case .string(let text) = value else { throw giveUp(state) }
        return text
    }

    static func integer<I: FixedWidthInteger>(_ value: FlatScalar?, _ state: State) throws -> I {
        guard case .number(let text, true) = value, let number = I(text, radix: 10) else { throw giveUp(state) }
        return number
    }
}

/// The decoder for the object itself.
private struct FlatObjectDecoder: Decoder {
    let object: FlatObject
    let state: FlatDecoding.State
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FlatKeyedContainer<Key>(object: object, state: state, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw FlatDecoding.giveUp(state) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw FlatDecoding.giveUp(state) }
}

private struct FlatKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: FlatObject
    let state: FlatDecoding.State
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.fields.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { object.value(for: key.stringValue) != nil }

    private func value(_ key: Key) throws -> FlatScalar {
        guard let value = object.value(for: key.stringValue) else { throw FlatDecoding.giveUp(state) }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try FlatDecoding.bool(value(key), state) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try FlatDecoding.string(value(key), state) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { throw FlatDecoding.giveUp(state) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw FlatDecoding.giveUp(state) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try FlatDecoding.integer(value(key), state) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try FlatDecoding.integer(value(key), state) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if FlatCoding.isSpecial(type) { throw FlatDecoding.giveUp(state) }
        return try T(from: FlatValueDecoder(value: value(key), state: state, codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        throw FlatDecoding.giveUp(state)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw FlatDecoding.giveUp(state)
    }

    func superDecoder() throws -> any Decoder { throw FlatDecoding.giveUp(state) }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw FlatDecoding.giveUp(state) }
}

/// The decoder for one scalar value, for types that read it through a single-value container
/// (enums with a raw value, wrappers).
private struct FlatValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: FlatScalar
    let state: FlatDecoding.State
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw FlatDecoding.giveUp(state)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw FlatDecoding.giveUp(state) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try FlatDecoding.bool(value, state) }
    func decode(_ type: String.Type) throws -> String { try FlatDecoding.string(value, state) }
    func decode(_ type: Double.Type) throws -> Double { throw FlatDecoding.giveUp(state) }
    func decode(_ type: Float.Type) throws -> Float { throw FlatDecoding.giveUp(state) }
    func decode(_ type: Int.Type) throws -> Int { try FlatDecoding.integer(value, state) }
    func decode(_ type: Int8.Type) throws -> Int8 { try FlatDecoding.integer(value, state) }
    func decode(_ type: Int16.Type) throws -> Int16 { try FlatDecoding.integer(value, state) }
    func decode(_ type: Int32.Type) throws -> Int32 { try FlatDecoding.integer(value, state) }
    func decode(_ type: Int64.Type) throws -> Int64 { try FlatDecoding.integer(value, state) }
    func decode(_ type: UInt.Type) throws -> UInt { try FlatDecoding.integer(value, state) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try FlatDecoding.integer(value, state) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try FlatDecoding.integer(value, state) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try FlatDecoding.integer(value, state) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try FlatDecoding.integer(value, state) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if FlatCoding.isSpecial(type) { throw FlatDecoding.giveUp(state) }
        return try T(from: self)
    }
}
