import Foundation
import Testing
@testable import WeChatMP

/// A parsed JSON document, compared structurally (key order does not matter; numbers,
/// strings and booleans stay distinct, so `"msg_id":"1"` is not `"msg_id":1`).
indirect enum APIJSONValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([APIJSONValue])
    case object([String: APIJSONValue])

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
        } else if let value = try? container.decode([APIJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: APIJSONValue].self))
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .double(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[" + values.map(\.description).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
    }

    subscript(key: String) -> APIJSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var keys: Set<String> {
        if case .object(let members) = self { return Set(members.keys) }
        return []
    }
}

enum APITest {
    static func parse(_ text: String) throws -> APIJSONValue {
        try JSONDecoder().decode(APIJSONValue.self, from: Data(text.utf8))
    }

    static func encoded(_ value: some Encodable) throws -> APIJSONValue {
        try JSONDecoder().decode(APIJSONValue.self, from: WeChatJSON.encoder().encode(value))
    }

    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try WeChatJSON.encoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try WeChatJSON.decode(type, from: Data(text.utf8))
    }

    /// Encodes `value` and compares it with `expected` structurally.
    static func expectJSON(_ value: some Encodable, equals expected: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let actual = try encoded(value)
        let wanted = try parse(expected)
        #expect(actual == wanted, "encoded \(actual)\nexpected \(wanted)", sourceLocation: sourceLocation)
    }
}
