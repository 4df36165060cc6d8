import Testing
@testable import PipelineCore

/// The one "did you mean" rule: one edit distance, one threshold, for every suggestion.
@Suite("Suggestion: one edit distance and one threshold")
struct SuggestionTests {
    @Test(arguments: [
        ("", "", 0), ("abc", "", 3), ("", "abc", 3), ("kitten", "sitting", 3), ("send", "sned", 1),
        ("tag_id", "tag_di", 1), ("flaw", "lawn", 2), ("群发", "群发消息", 2), ("é", "e", 1), ("ab", "ba", 1),
    ])
    func editDistance(a: String, b: String, distance: Int) {
        #expect(Suggestion.editDistance(a, b) == distance)
        #expect(Suggestion.editDistance(b, a) == distance)
    }

    @Test func threshold() {
        #expect([1, 2, 3, 4, 5, 6, 7, 8, 30].map { Suggestion.maxDistance(for: String(repeating: "a", count: $0)) }
            == [1, 1, 1, 1, 1, 3, 3, 3, 3])
    }

    /// The suggestions masscast made before the three copies were merged, and the cases where
    /// they disagreed (the rule kept: the length-scaled threshold, transpositions count 1).
    @Test(arguments: [
        // pipelines and masscast.yaml (SpecChecker, ProjectConfigDecoder, StepGraph)
        ("wiht", ["uses", "with", "if", "id"], "with"),
        ("acounts", ["project", "accounts", "defaults"], "accounts"),
        ("sends_per_dya", ["sends_per_day", "batch_size"], "sends_per_day"),
        ("brand-mian", ["brand-main", "brand-test"], "brand-main"),
        // expressions (ExprSuggestions)
        ("tag_di", ["name", "ratio", "tag_id", "tags", "vip"], "tag_id"),
        ("audience", ["name", "ratio", "tag_id", "tags", "vip"], nil),
        ("input", ["inputs", "env", "secrets", "steps", "pipeline", "run"], "inputs"),
        ("foo", ["inputs", "env", "secrets", "steps", "pipeline", "run"], nil),
        ("output", ["outputs", "outcome", "errcode"], "outputs"),
        ("sned", ["send", "upload"], "send"),
        ("msgid", ["msg_data_id", "msg_id"], "msg_id"),
        ("Contains", ["contains", "toJSON"], "contains"),
        ("tojson", ["fromJSON", "toJSON"], "toJSON"),
        ("nn", ["n", "name"], "n"),
        // sandbox fixtures (were: byte Levenshtein, at most 2)
        ("kindd", ["kind", "appid", "secret"], "kind"),
        ("folowers", ["followers", "tags"], "followers"),
        // CSV columns (were: a difference in case only)
        ("Open_ID", ["open_id", "name"], "open_id"),
        ("openid", ["open_id", "name"], "open_id"),
        // where the copies disagreed: a short word 2 edits away is no longer suggested
        // (expressions and fixtures suggested `xyz` for `x`, `tags` for `tg`)
        ("x", ["xyz"], nil),
        ("tg", ["tags"], nil),
        // a transposition is one edit (fixtures and expressions counted two)
        ("nmae", ["name"], "name"),
    ] as [(String, [String], String?)])
    func closest(word: String, candidates: [String], expected: String?) {
        #expect(Suggestion.closest(to: word, among: candidates) == expected)
    }

    @Test func tiesGoToTheFirstCandidateAndTheWordItselfIsNeverSuggested() {
        #expect(Suggestion.closest(to: "cat", among: ["bat", "cab"]) == "bat")
        #expect(Suggestion.closest(to: "cat", among: ["cab", "bat"]) == "cab")
        #expect(Suggestion.closest(to: "cat", among: ["cat"]) == nil)
        #expect(Suggestion.closest(to: "cat", among: ["cat", "Cat"]) == "Cat")
        // Expressions sort their (unordered) candidates first: the alphabetically first wins.
        #expect(ExprSuggestions.nearest(to: "cat", in: ["cab", "bat"]) == "bat")
    }
}
