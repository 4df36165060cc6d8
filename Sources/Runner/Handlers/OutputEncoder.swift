import Foundation
import PipelineCore

/// Encodes a handler's `Outputs` into the values the store, the logs and expressions read.
/// An optional that is `nil` encodes as `null` (not left out): every output a kind declares
/// is present in what it records.
enum OutputEncoder {
    /// The outputs as an object (`[:]` for a value that does not encode to one).
    static func object<T: Encodable>(_ value: T) -> [String: Value] {
        guard case .object(let fields) = self.value(value) else { return [:] }
        return fields
    }

    /// Any encodable value as a `Value`.
    static func value<T: Encodable>(_ value: T) -> Value {
        let box = Box()
        do {
            try value.encode(to: ValueEncoder(box: box, codingPath: []))
        } catch {
            return .null
        }
        return box.value
    }

    /// Where one encoded value is built up.
    final class Box {
        enum Content {
            case value(Value)
            case object([(String, Box)])
            case list([Box])
        }
        var content: Content = .value(.null)

        var value: Value {
            switch content {
            case .value(let v): return v
            case .object(let fields):
                var out: [String: Value] = [:]
                for (key, box) in fields { out[key] = box.value }
                return .object(out)
            case .list(let items): return .list(items.map(\.value))
            }
        }

        func field(_ key: String) -> Box {
            let child = Box()
            if case .object(var fields) = content {
                fields.append((key, child))
                content = .object(fields)
            } else {
                content = .object([(key, child)])
            }
            return child
        }

        func append() -> Box {
            let child = Box()
            if case .list(var items) = content {
                items.append(child)
                content = .list(items)
            } else {
                content = .list([child])
            }
            return child
        }
    }

    struct ValueEncoder: Encoder {
        let box: Box
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = box.content {} else { box.content = .object([]) }
            return KeyedEncodingContainer(Keyed<Key>(box: box, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .list = box.content {} else { box.content = .list([]) }
            return Unkeyed(box: box, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(box: box, codingPath: codingPath)
        }
    }

    /// Scalars become `Value`s; anything else encodes itself into a child box.
    static func encode<T: Encodable>(_ value: T, into box: Box, codingPath: [any CodingKey]) throws {
        switch value {
        case let v as String: box.content = .value(.string(v))
        case let v as Bool: box.content = .value(.bool(v))
        case let v as Int: box.content = .value(.integer(v))
        case let v as Int64: box.content = .value(.integer(Int(v)))
        case let v as Int32: box.content = .value(.integer(Int(v)))
        case let v as Double: box.content = .value(.number(v))
        case let v as Value: box.content = .value(v)
        default: try value.encode(to: ValueEncoder(box: box, codingPath: codingPath))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: Box
        var codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { box.field(key.stringValue).content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try OutputEncoder.encode(value, into: box.field(key.stringValue), codingPath: codingPath + [key])
        }

        // An absent optional is an output with no value: `null`, never left out.
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
            guard let value else { return try encodeNil(forKey: key) }
            try encode(value, forKey: key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = box.field(key.stringValue)
            child.content = .object([])
            return KeyedEncodingContainer(Keyed<NestedKey>(box: child, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = box.field(key.stringValue)
            child.content = .list([])
            return Unkeyed(box: child, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder { ValueEncoder(box: box.field("super"), codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder {
            ValueEncoder(box: box.field(key.stringValue), codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey]
        var count: Int {
            if case .list(let items) = box.content { return items.count }
            return 0
        }

        mutating func encodeNil() throws { box.append().content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try OutputEncoder.encode(value, into: box.append(), codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = box.append()
            child.content = .object([])
            return KeyedEncodingContainer(Keyed<NestedKey>(box: child, codingPath: codingPath))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = box.append()
            child.content = .list([])
            return Unkeyed(box: child, codingPath: codingPath)
        }

        mutating func superEncoder() -> any Encoder { ValueEncoder(box: box.append(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let box: Box
        var codingPath: [any CodingKey]

        mutating func encodeNil() throws { box.content = .value(.null) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try OutputEncoder.encode(value, into: box, codingPath: codingPath)
        }
    }
}
