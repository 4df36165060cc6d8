import Foundation
import PipelineCore
import Testing
@testable import WeChatMP

/// JSON documents in these tests are PipelineCore's `Value`, read with its exact parser and
/// compared structurally (key order does not matter; integers, other numbers, strings and
/// booleans stay distinct, so `"msg_id":"1"` is not `"msg_id":1`).
extension Value {
    /// An object's keys; empty for anything else.
    var keys: Set<String> {
        if case .object(let members) = self { return Set(members.keys) }
        return []
    }
}

enum APITest {
    static func parse(_ text: String) throws -> Value {
        try Value.parseJSON(text)
    }

    static func encoded(_ value: some Encodable) throws -> Value {
        try Value.parseJSON(String(decoding: try WeChatJSON.encoder().encode(value), as: UTF8.self))
    }

    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try WeChatJSON.encoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try WeChatJSON.decode(type, from: Data(text.utf8))
    }

    /// Encodes `value` and compares it with `expected` structurally.
    static func expectJSON(_ value: some Encodable, equals expected: String,
                           sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let actual = try encoded(value)
        let wanted = try parse(expected)
        #expect(actual == wanted, "encoded \(actual)\nexpected \(wanted)", sourceLocation: sourceLocation)
    }
}
