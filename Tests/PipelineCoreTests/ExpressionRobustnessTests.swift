import Testing
@testable import PipelineCore

@Suite struct ExpressionRobustnessTests {
    static let pieces = [
        "inputs", ".", "n", "steps", "send", "outputs", "errcode", "[", "]", "(", ")", "'a'", "'", "''", "1", "-",
        "1.5", "==", "!=", "<", ">=", "&&", "||", "!", "contains", "format", "'{0}'", "'{'", "fromJSON", "toJSON",
        "join", "length", "success", ",", " ", "null", "true", "${{", "}}", "}", "{", "secrets", "x", "é", "\"",
        "=", "'[1,{\"a\":2}]'", "env", "pipeline", "run", "id", "\n",
    ]

    /// Random token soup must never crash the parser, checker, evaluator or template reader.
    @Test func randomInputNeverCrashes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let scope = ExpressionScope(
            inputs: ["n": .integer], earlierSteps: ["send": StepOutputs(kind: "mass/sendall", outputs: nil)],
            isCondition: true)
        let context = EvaluationContext(
            inputs: ["n": 1], secrets: ["x": "v"], steps: ["send": StepState(outputs: ["a": [1, "b"]], errcode: 1)])
        var parsedCount = 0
        for _ in 0..<4000 {
            var text = ""
            for _ in 0..<(1 + next(16)) { text += Self.pieces[next(Self.pieces.count)] }
            if let expression = try? Expression.parse(text) {
                parsedCount += 1
                _ = expression.check(in: scope)
                _ = try? expression.evaluate(in: context)
            }
            let (template, _) = Template.parse(text)
            if let template {
                _ = template.check(in: scope)
                _ = try? template.evaluate(in: context)
            }
        }
        #expect(parsedCount > 100)
    }

    @Test func parseJSONIsPublicAndStrict() throws {
        #expect(try Value.parseJSON(#"{"a": [1, 2.5, "x", false, null]}"#) == .object(["a": [1, 2.5, "x", false, nil]]))
        #expect(try Value.parseJSON("9223372036854775808") == .number(9_223_372_036_854_775_808))
        for bad in ["", "[1 2]", "{\"a\"}", "'x'", "tru", "\"\\x\"", "\"\u{1}\"", "1.", "-", "[", "\"\\ud800\""] {
            #expect(throws: EvaluationError.self, "\(bad)") { try Value.parseJSON(bad) }
        }
    }
}
