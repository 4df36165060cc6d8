import Foundation
import Testing
@testable import PipelineCore

/// `Value` is masscast's one JSON value: the exact reader, the canonical writer, `Codable`.
@Suite("Value as JSON")
struct ValueJSONTests {
    @Test func exactReaderKeepsNumberKinds() throws {
        let value = try Value.parseJSON(#" {"a": 1, "b": -2.5, "c": 1e3, "d": 1.0, "e": [true, null, "x"]} "#)
        #expect(value["a"] == .integer(1))
        #expect(value["b"] == .number(-2.5))
        #expect(value["c"] == .number(1000))
        #expect(value["d"] == .number(1))
        #expect(value["e"] == [true, nil, "x"])
        #expect(value["missing"] == nil)
        #expect(Value.string("x")["a"] == nil)
        #expect(value.jsonText == #"{"a":1,"b":-2.5,"c":1000.0,"d":1.0,"e":[true,null,"x"]}"#)
    }

    @Test func codableRoundTrip() throws {
        let value: Value = ["n": 9_007_199_254_740_993, "x": 2.5, "s": "群发\n", "l": [nil, false, [:]], "o": ["k": []]]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        #expect(try JSONDecoder().decode(Value.self, from: data) == value)
        #expect(try JSONDecoder().decode([String: Value].self, from: Data(#"{"a":true,"b":"1"}"#.utf8))
            == ["a": .bool(true), "b": .string("1")])
    }

    @Test func quotedStrings() {
        #expect(JSONText.quoted("plain 群发") == "\"plain 群发\"")
        #expect(JSONText.quoted("a\"b\\c\n\u{1B}\u{7F}") == "\"a\\\"b\\\\c\\n\\u001b\u{7F}\"")
    }
}
