import Testing
@testable import PipelineCore

@Suite struct ExpressionEvaluatorTests {
    static let context = EvaluationContext(
        inputs: ["n": 5, "name": "Ada", "tags": ["vip", "new"], "empty": .list([]), "flag": true, "ratio": 0.5],
        env: ["HOME": "/home/ada"],
        secrets: ["APP_SECRET": "s3cr3t}{value"],
        steps: [
            "send": StepState(outputs: ["msg_id": 1000], outcome: "failure", conclusion: "success", errcode: 48008),
            "check": StepState(outputs: ["msg_status": "SEND_SUCCESS"], outcome: "success", conclusion: "success"),
            "skipped": StepState(outcome: "skipped", conclusion: "skipped"),
        ],
        pipelineName: "autumn-video-launch",
        runID: "run-42",
        statusSuccess: false,
        statusFailure: true
    )

    func eval(_ source: String) throws -> Value {
        try Expression.parse(source).evaluate(in: Self.context)
    }

    func evalError(_ source: String) throws -> EvaluationError {
        let expression = try Expression.parse(source)
        do {
            let value = try expression.evaluate(in: Self.context)
            Issue.record("expected an error, got \(value)")
            return EvaluationError(.typeMismatch, "")
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("inputs.n", Value.integer(5)), ("inputs['name']", "Ada"), ("inputs.tags[1]", "new"),
        ("inputs.tags[2]", .null), ("inputs.tags[-1]", .null), ("inputs.missing", .null),
        ("env.HOME", "/home/ada"), ("env.NOPE", .null), ("pipeline.name", "autumn-video-launch"),
        ("run.id", "run-42"), ("steps.send.outputs.msg_id", 1000), ("steps.send.errcode", 48008),
        ("steps.check.errcode", .null), ("steps.send.outcome", "failure"), ("steps.send.conclusion", "success"),
        ("steps.skipped.outputs.msg_id", .null), ("steps.notyet.outcome", .null),
        ("steps['check'].outputs['msg_status']", "SEND_SUCCESS"), ("steps[format('{0}', 'check')].outcome", "success"),
        ("inputs.empty", .list([])), ("fromJSON('{\"a\":null}').a.b.c", .null),
    ])
    func contexts(source: String, expected: Value) throws {
        #expect(try eval(source) == expected)
    }

    @Test func bareContextsAreObjects() throws {
        #expect(try eval("toJSON(steps.check)") == #"{"conclusion":"success","errcode":null,"outcome":"success","outputs":{"msg_status":"SEND_SUCCESS"}}"#)
        #expect(try eval("toJSON(env)") == #"{"HOME":"/home/ada"}"#)
        #expect(try eval("length(inputs.tags)") == 2)
    }

    @Test(arguments: [
        ("null == null", true), ("null != null", false), ("inputs.n == null", false), ("null == 0", false),
        ("'' == null", false), ("false == null", false), ("inputs.n != null", true), ("inputs.missing == null", true),
        ("null < 1", false), ("null > 1", false), ("1 <= null", false), ("null >= null", false),
        ("steps.skipped.outputs.x == null", true),
    ])
    func nullSemantics(source: String, expected: Bool) throws {
        #expect(try eval(source) == .bool(expected))
    }

    @Test(arguments: [
        ("1 == 1.0", true), ("2 > 1.5", true), ("1.5 < 2", true), ("9007199254740993 == 9007199254740992.0", false),
        ("'a' < 'b'", true), ("'B' < 'a'", true), ("'abc' <= 'abc'", true), ("'\u{E9}' == 'e\u{301}'", false),
        ("'a' == 'A'", false), ("fromJSON('1') == '1'", false), ("fromJSON('[1,2]') == fromJSON('[1,2.0]')", true),
        ("fromJSON('{\"a\":[1]}') == fromJSON('{\"a\":[1]}')", true), ("fromJSON('{\"a\":1}') == fromJSON('{\"b\":1}')", false),
        ("steps.send.errcode == 48008", true), ("inputs.n >= 5", true),
    ])
    func typedComparison(source: String, expected: Bool) throws {
        #expect(try eval(source) == .bool(expected))
    }

    @Test func shortCircuit() throws {
        // The right side would fail (a string is not a boolean) if it were evaluated.
        #expect(try eval("false && fromJSON('\"x\"')") == false)
        #expect(try eval("true || fromJSON('\"x\"')") == true)
        #expect(try eval("true && fromJSON('true')") == true)
        #expect(try evalError("true && fromJSON('\"x\"')").message == "'&&' needs boolean operands, but got string")
        #expect(try evalError("fromJSON('1') || true").offset == 0)
    }

    @Test func statusFunctions() throws {
        #expect(try eval("success()") == false)
        #expect(try eval("failure()") == true)
        #expect(try eval("always()") == true)
        #expect(try Expression.parse("success()").evaluate(in: EvaluationContext()) == true)
    }

    @Test(arguments: [
        ("contains('hello', 'ell')", Value.bool(true)), ("contains('hello', 'ELL')", false), ("contains('hello', '')", true),
        ("contains(inputs.tags, 'vip')", true), ("contains(inputs.tags, 'VIP')", false), ("contains(fromJSON('[1,2]'), 2.0)", true),
        ("contains(null, 'x')", false), ("contains('x', null)", false), ("contains(fromJSON('[null]'), null)", true),
        ("startsWith('masscast', 'mass')", true), ("startsWith('masscast', 'Mass')", false),
        ("endsWith('masscast', 'cast')", true), ("endsWith('a', 'ba')", false), ("startsWith(null, 'a')", false),
        ("format('{0} of {1}', 1, 2)", "1 of 2"), ("format('{1}{0}{1}', 'a', 'b')", "bab"),
        ("format('{{{0}}} }}{{', 'x')", "{x} }{"), ("format('no args')", "no args"),
        ("format('[{0}|{1}|{2}]', null, true, inputs.tags)", "[|true|[\"vip\",\"new\"]]"),
        ("join(inputs.tags)", "vip,new"), ("join(inputs.tags, ' & ')", "vip & new"), ("join(inputs.empty)", ""),
        ("join(fromJSON('[1,null,\"a\",[2]]'))", "1,,a,[2]"),
        ("length('群发视频')", 4), ("length('e\u{301}')", 1), ("length(inputs.tags)", 2), ("length('')", 0),
        ("toJSON('a\"b\\c\n')", #""a\"b\\c\n""#), ("toJSON(null)", "null"), ("toJSON(1.5)", "1.5"),
        ("toJSON(fromJSON('{\"b\":1,\"a\":{\"d\":[true,null],\"c\":\"x\"}}'))", #"{"a":{"c":"x","d":[true,null]},"b":1}"#),
        ("fromJSON('42')", 42), ("fromJSON('-1.5e2')", -150.0), ("fromJSON(' [1, \"a\", true, null] ')", .list([1, "a", true, nil])),
        ("fromJSON('{\"k\":{\"n\":[]}}')", .object(["k": .object(["n": .list([])])])), ("fromJSON('\"\\u00e9\\ud83d\\ude00\"')", "é😀"),
    ])
    func functions(source: String, expected: Value) throws {
        #expect(try eval(source) == expected)
    }

    @Test(arguments: [
        ("format(fromJSON('\"{0} {1}\"'), 1)", "the format string refers to {1}, but 1 argument follows it", 7),
        ("format(fromJSON('\"{a}\"'))", "does not start a placeholder", 7),
        ("fromJSON('{')", "not valid JSON", 9),
        ("fromJSON('[1,]')", "not valid JSON", 9),
        ("fromJSON('01')", "not valid JSON", 9),
        ("fromJSON(null)", "fromJSON takes a string, not null", 9),
        ("length(null)", "length takes a string or a list, not null", 7),
        ("join(null)", "join takes a list, not null", 5),
        ("!fromJSON('1')", "'!' needs a boolean, but its operand is integer", 1),
        ("fromJSON('true') < 1", "'<' orders strings or numbers, not boolean and integer", 17),
        ("inputs.n.x", "cannot read 'x' from integer", 9),
        ("inputs.tags['a']", "cannot read 'a' from list", 12),
        ("inputs.tags[true]", "cannot index list with boolean", 11),
        ("contains(inputs.n, 1)", "contains searches a string or a list, not integer", 9),
        ("unknown.x", "unknown name 'unknown'", 0),
        ("nope()", "unknown function 'nope'", 0),
    ])
    func runtimeErrors(source: String, fragment: String, offset: Int) throws {
        let error = try evalError(source)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(error.offset == offset)
    }

    @Test func deepJSONIsRefusedNotCrashed() throws {
        let deep = String(repeating: "[", count: 10_000)
        let error = try evalError("fromJSON('\(deep)')")
        #expect(error.message.contains("deeper than 64"))
        let ok = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(try eval("length(toJSON(fromJSON('\(ok)')))") == 120)
    }

    @Test func secretsNeverAppearInErrors() throws {
        for source in [
            "fromJSON(secrets.APP_SECRET)", "format(secrets.APP_SECRET)", "!secrets.APP_SECRET",
            "secrets.APP_SECRET < 1", "secrets.APP_SECRET && true", "length(secrets.APP_SECRET.x)",
            "format('{0}', secrets.APP_SECRET.x)", "contains(1, secrets.APP_SECRET)", "toJSON(secrets) < 1",
        ] {
            let expression = try Expression.parse(source)
            do {
                _ = try expression.evaluate(in: Self.context)
                Issue.record("\(source) should fail")
            } catch {
                #expect(!error.message.contains("s3cr3t"), "\(source): \(error.message)")
            }
        }
        #expect(try eval("secrets.APP_SECRET") == "s3cr3t}{value")
    }

    @Test func valueRenderings() {
        #expect(Value.null.templateText == "")
        #expect(Value.string("a\"b").templateText == "a\"b")
        #expect(Value.integer(-3).templateText == "-3")
        #expect(Value.bool(false).templateText == "false")
        #expect(Value.list(["a", 1]).templateText == #"["a",1]"#)
        #expect(Value.object(["z": 1, "a": "\u{1}"]).jsonText == #"{"a":"\u0001","z":1}"#)
        #expect(Value.object([:]).typeName == "object")
        #expect(Value.list(["a", "b"]).type == .list(.string))
        #expect(Value.list(["a", 1]).type == .list(.any))
        #expect(Value.number(1.5).type == .number)
    }
}
