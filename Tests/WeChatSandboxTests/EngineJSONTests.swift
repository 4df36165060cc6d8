import Foundation
import PipelineCore
import Testing
@testable import WeChatSandbox

@Suite("Engine: request JSON")
struct EngineJSONTests {
    func parse(_ text: String) -> Value? { Value.parse(Data(text.utf8)) }

    @Test func valuesKeepTheirExactTypes() throws {
        let value = try #require(parse(#" {"a": 1, "b": -2.5, "c": true, "d": null, "e": "x", "f": [1, "1"], "g": 1e3, "big": 9223372036854775807} "#))
        #expect(value["a"] == .integer(1))
        #expect(value["b"] == .number(-2.5))
        #expect(value["c"] == .bool(true))
        #expect(value["c"]?.lenientInt == nil)
        #expect(value["d"] == .null)
        #expect(value["e"] == .string("x"))
        #expect(value["f"] == .list([.integer(1), .string("1")]))
        #expect(value["g"] == .number(1000))
        #expect(value["big"] == .integer(Int.max))
        #expect(value["a"]?.lenientBool == true)
        #expect(Value.string("201053012").lenientInt == 201_053_012)
    }

    /// A msg_id sent as a string may have spaces or tabs around it (WeChat accepts that), and
    /// only around it; a non-breaking or ideographic space counts as a space too.
    @Test func numericStringsAreTrimmedOfSpacesOnly() {
        #expect(Value.string(" \t1000000001 \t").lenientInt == 1_000_000_001)
        #expect(Value.string("-42").lenientInt == -42)
        #expect(Value.string("\u{00A0}7\u{3000}").lenientInt == 7)
        #expect(Value.string("1 2").lenientInt == nil)
        #expect(Value.string("\n12").lenientInt == nil)
        #expect(Value.string("   ").lenientInt == nil)
        #expect(Value.string("１２").lenientInt == nil)
        #expect(Value.string("99999999999999999999").lenientInt == nil)
    }

    @Test func stringsDecodeEscapesAndUTF8() {
        #expect(parse(#""a\"b\\c\/d\n\t\u00e9\u4e2d\ud83d\ude00""#) == .string("a\"b\\c/d\n\té中😀"))
        #expect(parse(#""群发""#) == .string("群发"))
    }

    @Test(arguments: ["", "{", "{\"a\":1,}", "[1 2]", "01", "1.", "-", "\"\\ud800\"", "\"a\u{01}\"", "{\"a\":1} x",
                      "tru", "{a:1}", "\"\\x\"", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
    func invalidJSONIsRefused(text: String) {
        #expect(parse(text) == nil)
    }

    @Test func invalidUTF8IsRefused() {
        #expect(Value.parse(Data([0x22, 0xFF, 0x22])) == nil)
    }

    @Test func canonicalTextSortsKeys() throws {
        let a = try #require(parse(#"{"b":1,"a":{"d":[1,2],"c":"x"}}"#))
        let b = try #require(parse(#"{"a":{"c":"x","d":[1,2]},"b":1}"#))
        #expect(a.jsonText == b.jsonText)
        #expect(a.jsonText == #"{"a":{"c":"x","d":[1,2]},"b":1}"#)
    }
}
