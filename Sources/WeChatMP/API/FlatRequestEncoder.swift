import Foundation
import PipelineCore

/// Writes a flat request body (`{"msg_id":"1000000001"}`: keys whose values are strings,
/// integers, booleans or `null`) straight to bytes, byte for byte what
/// ``WeChatJSON/encoder()`` writes (keys sorted, slashes unescaped, non-ASCII as UTF-8).
///
/// Like `FlatAnswerDecoder`, it only answers when it is sure: a value with a nested object or
/// list, a `Double` or `Float`, a `Date`, `Data`, `URL` or `Decimal`, a key written twice, a
/// non-ASCII key, or anything else unusual makes it give up, and the caller encodes with
/// `JSONEncoder`.
enum FlatRequestEncoder {
    /// The body, or `nil` when it must be encoded by `JSONEncoder`.
    static func encode<T: Encodable>(_ value: T) -> Data? {
        if FlatCoding.isSpecial(T.self) { return nil }
        let state = FlatEncoding.State()
        do {
            try value.encode(to: FlatObjectEncoder(state: state))
        } catch {
            return nil
        }
        guard !state.gaveUp, state.containers == 1 else { return nil }
        var fields = state.fields
        fields.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for index in fields.indices.dropFirst() where fields[index].key == fields[index - 1].key { return nil }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + fields.reduce(0) { $0 + $1.key.utf8.count + $1.json.count + 4 })
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: FlatEncoding.quoted(field.key))
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: field.json)
        }
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }
}

enum FlatEncoding {
    final class State {
        var gaveUp = false
        /// How many keyed containers the value asked for: exactly one is a flat object.
        var containers = 0
        /// Each key with its value's JSON text, in the order encoded.
        var fields: [(key: String, json: [UInt8])] = []

        func add(_ key: String, _ json: [UInt8]) {
            if key.utf8.contains(where: { $0 >= 0x80 }) { gaveUp = true }
            fields.append((key, json))
        }
    }

    static func giveUp(_ state: State) -> FlatCoding.GaveUp {
        state.gaveUp = true
        return FlatCoding.GaveUp()
    }

    /// `text` as a JSON string: `PipelineCore`'s `JSONText` writes it as `JSONEncoder` does
    /// without escaping slashes (`"` and `\` escaped, control characters as `\b \f \n \r \t` or
    /// `\u00XX`, everything else as its UTF-8 bytes); `FlatRequestEncoderTests` compares.
    static func quoted(_ text: String) -> [UInt8] { Array(JSONText.quoted(text).utf8) }

    static func integer<I: FixedWidthInteger>(_ value: I) -> [UInt8] { Array(String(value).utf8) }
}

/// The encoder for the object itself.
private struct FlatObjectEncoder: Encoder {
    let state: FlatEncoding.State
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        state.containers += 1
        return KeyedEncodingContainer(FlatKeyedEncodingContainer<Key>(state: state))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.gaveUp = true
        return FlatDiscardingContainer(state: state)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        state.gaveUp = true
        return FlatDiscardingContainer(state: state)
    }
}

private struct FlatKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: FlatEncoding.State
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { state.add(key.stringValue, Array("null".utf8)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        state.add(key.stringValue, Array((value ? "true" : "false").utf8))
    }
    mutating func encode(_ value: String, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.quoted(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { throw FlatEncoding.giveUp(state) }
    mutating func encode(_ value: Float, forKey key: Key) throws { throw FlatEncoding.giveUp(state) }
    mutating func encode(_ value: Int, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { state.add(key.stringValue, FlatEncoding.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if FlatCoding.isSpecial(T.self) { throw FlatEncoding.giveUp(state) }
        let single = FlatValueEncoder(state: state)
        try value.encode(to: single)
        guard let json = single.box.json, single.box.writes == 1 else { throw FlatEncoding.giveUp(state) }
        state.add(key.stringValue, json)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        state.gaveUp = true
        return KeyedEncodingContainer(FlatKeyedEncodingContainer<NestedKey>(state: state))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        state.gaveUp = true
        return FlatDiscardingContainer(state: state)
    }

    mutating func superEncoder() -> any Encoder {
        state.gaveUp = true
        return FlatObjectEncoder(state: state)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        state.gaveUp = true
        return FlatObjectEncoder(state: state)
    }
}

/// The encoder for one value that writes itself through a single-value container (enums
/// with a raw value, wrappers); anything else gives up.
private struct FlatValueEncoder: Encoder, SingleValueEncodingContainer {
    final class Box {
        var json: [UInt8]?
        var writes = 0
    }

    let state: FlatEncoding.State
    let box = Box()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        state.gaveUp = true
        return KeyedEncodingContainer(FlatKeyedEncodingContainer<Key>(state: state))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.gaveUp = true
        return FlatDiscardingContainer(state: state)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    private func set(_ json: [UInt8]) {
        box.json = json
        box.writes += 1
    }

    mutating func encodeNil() throws { set(Array("null".utf8)) }
    mutating func encode(_ value: Bool) throws { set(Array((value ? "true" : "false").utf8)) }
    mutating func encode(_ value: String) throws { set(FlatEncoding.quoted(value)) }
    mutating func encode(_ value: Double) throws { throw FlatEncoding.giveUp(state) }
    mutating func encode(_ value: Float) throws { throw FlatEncoding.giveUp(state) }
    mutating func encode(_ value: Int) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(FlatEncoding.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(FlatEncoding.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if FlatCoding.isSpecial(T.self) { throw FlatEncoding.giveUp(state) }
        try value.encode(to: self)
    }
}

/// Where writes go once the encoder has given up: nowhere.
private struct FlatDiscardingContainer: UnkeyedEncodingContainer, SingleValueEncodingContainer {
    let state: FlatEncoding.State
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    mutating func encodeNil() throws { throw FlatEncoding.giveUp(state) }
    mutating func encode<T: Encodable>(_ value: T) throws { throw FlatEncoding.giveUp(state) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        state.gaveUp = true
        return KeyedEncodingContainer(FlatKeyedEncodingContainer<NestedKey>(state: state))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { FlatObjectEncoder(state: state) }
}
