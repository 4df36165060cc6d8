import PipelineCore
import Testing
@testable import Runner

/// The bytes of canonical JSON are part of every clientmsgid and content digest a journal
/// holds: a change would make a re-run of an unchanged pipeline look new (and send again).
/// These values were taken from masscast 0.1 and must never change.
@Suite("Canonical JSON: golden bytes and keys")
struct CanonicalJSONGoldenTests {
    static let inputs: [String: Value] = [
        "title": "群发 😀 é\u{301}",
        "escapes": "q\" b\\ n\n r\r t\t bs\u{08} ff\u{0C} nul\u{00} esc\u{1B} del\u{7F} slash/",
        "numbers": [0, -1, 9_223_372_036_854_775_807, 1.5, -0.25, 1e21, 1e-7, 100.0],
        "nested": ["z": ["b": true, "a": nil], "A": [], "é": [:], "e\u{301}": 1, "10": 2, "9": 3],
        "empty": "",
    ]

    static let canonicalText = #"{"empty":"","escapes":"q\" b\\ n\n r\r t\t bs\b ff\f nul\u0000 esc\u001b del\#u{7F} slash/","nested":{"10":2,"9":3,"A":[],"z":{"a":null,"b":true},"\#u{E9}":1},"numbers":[0,-1,9223372036854775807,1.5,-0.25,1e+21,1e-07,100.0],"title":"群发 😀 \#u{E9}\#u{301}"}"#

    @Test func canonicalTextOfRepresentativeValues() {
        #expect(Value.object(Self.inputs).jsonText == Self.canonicalText)
        // Bytes, not `String ==` (which equates canonically equivalent text).
        #expect(Array(Value.object(Self.inputs).jsonText.utf8) == Array(Self.canonicalText.utf8))
        #expect(Array(Idempotency.canonicalInputs(Self.inputs).utf8) == Array(Self.canonicalText.utf8))
        #expect(Idempotency.digest(Self.canonicalText) == "c0c8327317d9d5b4438b58f8285715e0c92f345eddf78268459a4a4831f9cbe4")
    }

    @Test func scalarsAndKeyOrder() {
        let cases: [(Value, String)] = [
            (nil, "null"), (true, "true"), (false, "false"), (0, "0"), (-42, "-42"),
            (.number(0.1), "0.1"), (.number(-0.0), "-0.0"), (.number(1e100), "1e+100"), (.number(.infinity), "null"),
            (.number(.nan), "null"), ("", #""""#), ("\u{1F}", #""\u001f""#),
            (["b": 1, "a": 2, "B": 3, "_": 4, "ä": 5, "a\u{0}": 6], #"{"B":3,"_":4,"a":2,"a\u0000":6,"b":1,"ä":5}"#),
            ([[[]], [:], [nil]], "[[[]],{},[null]]"),
        ]
        for (value, text) in cases { #expect(value.jsonText == text) }
    }

    @Test func clientMsgIDs() {
        #expect(Idempotency.clientMsgID(
            appID: "wx0123456789abcdef", name: "weekly-digest", inputs: Self.inputs, step: "send", batch: 0, generation: 1)
            == "mc1-207fed1fe65444758e162a925acb2824c68a9a10be66e3f1")
        #expect(Idempotency.clientMsgID(
            format: 2, project: "acme/news", appID: "wx0123456789abcdef", name: "weekly-digest", inputs: Self.inputs,
            step: "send", batch: 3, generation: 2) == "mc2-48b48864c502f4126a943e2adc56040b50d151902a6cafd2")
        #expect(Idempotency.clientMsgID(appID: "wx1", name: "n", inputs: [:], step: "s", batch: 0, generation: 1)
            == "mc1-0aa5dd7f5dc5b0a29a1ba6e6481724890b0606b7743fd046")
    }

    @Test func contentDigests() {
        let view: [String: Value] = [
            "msgtype": "text", "text": ["content": "群发消息 \"quoted\" and a long line well past forty characters"],
            "filter": ["is_to_all": false, "tag_id": 101], "articles": [["title": "a"], ["title": "b"]],
        ]
        let content = RunExecutor.batchContent(
            payloadView: view, payloadViewJSON: Value.object(view).jsonText, v2PayloadViewJSON: Value.object(view).jsonText,
            legacyPayloadJSON: #"{"msgtype":"text"}"#, openIDs: ["oA", "oB", "oC"])
        // A view without files hashes alike in both schemes; only the prefix says which.
        #expect(content.digest == "v3:3b38aeeae9196bc9d9482066d82f4baca1e4055f429a99ec7280fa00b7d4744f")
        #expect(content.v2() == "v2:3b38aeeae9196bc9d9482066d82f4baca1e4055f429a99ec7280fa00b7d4744f")
        #expect(content.matches(content.v2()) && content.matches(content.digest) && content.matches(content.legacy()))
        #expect(!content.matches("v3:" + String(repeating: "0", count: 64)))
        #expect(content.fields == #"{"articles":[{"title":"a"},{"title":"b"}],"audience":"3 OpenIDs, sha256:594f8007bb13","filter.is_to_all":false,"filter.tag_id":101,"msgtype":"text","text.content":"sha256:fea4ee9e5388"}"#)
        #expect(content.legacy() == "b28810dacef0ea788205947503444fb73be3065ec5f3d5e6098c340fe5d7cfe0")
    }
}
