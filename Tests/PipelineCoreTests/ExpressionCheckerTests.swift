import Testing
@testable import PipelineCore

@Suite struct ExpressionCheckerTests {
    /// A scope like the design's example: `send` and `check` come earlier, `pull-back`
    /// later; `mystery` is of an unknown kind.
    static let scope = ExpressionScope(
        inputs: ["tag_id": .integer, "name": .string, "tags": .list(.string), "vip": .boolean, "ratio": .number],
        earlierSteps: [
            "send": StepOutputs(kind: "mass/sendall", outputs: ["msg_id": .integer, "msg_data_id": .integer]),
            "check": StepOutputs(kind: "mass/get", outputs: ["msg_status": .string]),
            "wait": StepOutputs(kind: "mass/wait", outputs: [:]),
            "mystery": StepOutputs(kind: "x/unknown", outputs: nil),
        ],
        allSteps: ["send", "check", "wait", "mystery", "current", "pull-back"]
    )

    static var condition: ExpressionScope {
        var s = scope
        s.isCondition = true
        return s
    }

    func check(_ source: String, in scope: ExpressionScope = Self.scope) throws -> ExpressionCheck {
        try Expression.parse(source).check(in: scope)
    }

    @Test(arguments: [
        ("'a'", ExprType.string), ("1", .integer), ("1.5", .number), ("true", .boolean), ("null", .null),
        ("inputs.tag_id", .integer), ("inputs['name']", .string), ("inputs.tags", .list(.string)),
        ("inputs.tags[0]", .string), ("inputs", .object), ("env.HOME", .string), ("env", .object),
        ("steps.send.outputs.msg_id", .integer), ("steps['send'].outputs['msg_id']", .integer),
        ("steps.send.outcome", .string), ("steps.send.conclusion", .string), ("steps.send.errcode", .integer),
        ("steps.send", .object), ("steps.send.outputs", .object),
        ("steps.mystery.outputs.anything", .any), ("pipeline.name", .string), ("run.id", .string),
        ("contains('abc', 'b')", .boolean), ("startsWith('a', 'b')", .boolean), ("endsWith('a', 'b')", .boolean),
        ("format('{0}', 1)", .string), ("join(inputs.tags)", .string), ("join(inputs.tags, ' ')", .string),
        ("length(inputs.tags)", .integer), ("toJSON(inputs)", .string), ("fromJSON('1')", .any),
        ("fromJSON('{}').a.b[0]", .any), ("inputs.tag_id == 1", .boolean), ("!inputs.vip", .boolean),
    ])
    func types(source: String, expected: ExprType) throws {
        let result = try check(source)
        #expect(result.issues == [])
        #expect(result.type == expected)
    }

    @Test func typeDescriptions() {
        #expect(ExprType.list(.string).description == "list of string")
        #expect(ExprType.list(.any).description == "list")
        #expect(ExprType.list(.list(.integer)).description == "list of list of integer")
        #expect(ExprType.object.description == "object")
    }

    @Test(arguments: [
        "inputs.tag_id == 1", "inputs.tag_id == 1.5", "inputs.ratio < 2", "inputs.name == null",
        "null == inputs.tag_id", "null != null", "fromJSON('1') == 'a'", "inputs.name < 'b'",
        "inputs.tags == fromJSON('[]')", "steps.send.errcode == 48008", "inputs.vip && fromJSON('true')",
        "contains(inputs.tags, 'a')", "contains(inputs.name, 'a')", "contains(fromJSON('[1]'), 1)",
        "startsWith(inputs.name, null)", "format(inputs.name, 1, 2)", "join(fromJSON('[1]'))",
        "steps.check.outputs.msg_status == 'SEND_SUCCESS' && steps.send.outputs.msg_id == 2",
    ])
    func wellTypedExpressionsPass(source: String) throws {
        #expect(try check(source).issues == [])
    }

    @Test(arguments: [
        ("inputs.tag_id == 'a'", 14, "cannot compare an integer with a string"),
        ("'1' != 1", 4, "cannot compare a string with an integer"),
        ("true == 1", 5, "cannot compare a boolean with an integer"),
        ("inputs.tags == inputs.name", 12, "cannot compare a list of string with a string"),
        ("true < false", 5, "'<' orders strings or numbers, not a boolean"),
        ("'a' >= 1", 4, "cannot compare"),
        ("!'x'", 1, "'!' needs a boolean, but its operand is a string"),
        ("!null", 1, "'!' needs a boolean"),
        ("inputs.name && true", 0, "'&&' needs boolean operands, but the left operand is a string"),
        ("true || 1", 8, "the right operand is an integer"),
        ("contains(1, 'a')", 9, "contains searches a string or a list"),
        ("contains('abc', 1)", 16, "contains looks for a string in a string"),
        ("contains(inputs.tags, 1)", 22, "contains looks for a string in a list of string"),
        ("startsWith('a', 1)", 16, "startsWith takes strings"),
        ("join('a')", 5, "join takes a list"),
        ("join(inputs.tags, 1)", 18, "separator"),
        ("length(1)", 7, "length takes a string or a list"),
        ("fromJSON(1)", 9, "fromJSON takes a string"),
        ("format(1)", 7, "template is a string"),
        ("inputs.name.first", 12, "cannot read 'first' from a string"),
        ("inputs.tags.first", 12, "cannot read 'first' from a list"),
        ("inputs.tags['a']", 12, "cannot read 'a' from a list"),
        ("inputs.tags[true]", 12, "a list is indexed by an integer"),
        ("inputs.tag_id[0]", 13, "cannot index an integer"),
        ("env[1]", 4, "a name in a context is a string"),
    ])
    func typeMismatches(source: String, offset: Int, fragment: String) throws {
        let issues = try check(source).issues
        #expect(issues.count == 1)
        let issue = try #require(issues.first)
        #expect(issue.code == .typeMismatch)
        #expect(issue.offset == offset)
        #expect(issue.message.contains(fragment), "\(issue.message)")
    }

    @Test func unknownInputSuggestsNearMiss() throws {
        let issue = try #require(try check("inputs.tag_di == 1").issues.first)
        #expect(issue.code == .unknownName)
        #expect(issue.offset == 7)
        #expect(issue.message == "input 'tag_di' is not declared")
        #expect(issue.hint == "did you mean 'inputs.tag_id'?")

        let far = try #require(try check("inputs.audience").issues.first)
        #expect(far.hint == "declared inputs: name, ratio, tag_id, tags, vip")

        let none = try #require(try check("inputs.x", in: ExpressionScope()).issues.first)
        #expect(none.hint?.contains("declares no inputs") == true)
    }

    @Test(arguments: [
        ("foo.bar", 0, "unknown name 'foo'", "expressions read the contexts inputs, env, secrets, steps, pipeline and run"),
        ("input.name", 0, "unknown name 'input'", "did you mean 'inputs'?"),
        ("tag_id", 0, "unknown name 'tag_id'", "did you mean 'inputs.tag_id'?"),
        ("send.outputs", 0, "unknown name 'send'", "did you mean 'steps.send'?"),
        ("success", 0, "'success' is a function and must be called", "write success(…)"),
        ("pipeline.id", 9, "'pipeline' has no property 'id'", "use pipeline.name"),
        ("run.name", 4, "'run' has no property 'name'", "use run.id"),
        ("steps.send.output.msg_id", 11, "steps.send has no property 'output'", "did you mean 'outputs'?"),
    ])
    func unknownNames(source: String, offset: Int, message: String, hint: String) throws {
        let issues = try check(source).issues
        #expect(issues.count == 1)
        let issue = try #require(issues.first)
        #expect(issue.code == .unknownName)
        #expect(issue.offset == offset)
        #expect(issue.message == message)
        #expect(issue.hint == hint)
    }

    @Test func unknownAndLaterSteps() throws {
        let unknown = try check("steps.sned.outputs.msg_id")
        #expect(unknown.issues.map(\.code) == [.unknownStep])
        #expect(unknown.issues.first?.offset == 6)
        #expect(unknown.issues.first?.hint == "did you mean 'send'?")
        #expect(unknown.references == [])

        let later = try check("steps['pull-back'].outcome == 'success'")
        #expect(later.issues.map(\.code) == [.laterStep])
        #expect(later.issues.first?.offset == 6)
        #expect(later.issues.first?.message == "step 'pull-back' is not listed before this one")
        #expect(later.references == [StepReference(stepID: "pull-back", offset: 6)])

        // The step holding the expression is not "earlier" either.
        #expect(try check("steps.current.errcode").issues.map(\.code) == [.laterStep])
    }

    @Test func unknownOutputNamesKindAndOutputs() throws {
        let issue = try #require(try check("steps.send.outputs.msgid").issues.first)
        #expect(issue.code == .unknownOutput)
        #expect(issue.offset == 19)
        #expect(issue.message == "step 'send' (mass/sendall) has no output 'msgid'; its outputs are msg_data_id, msg_id")
        #expect(issue.hint == "did you mean 'msg_id'?")

        let none = try #require(try check("steps.wait.outputs.x").issues.first)
        #expect(none.message == "step 'wait' (mass/wait) has no output 'x'; mass/wait produces no outputs")

        #expect(try check("steps.mystery.outputs.whatever").issues == [])
    }

    @Test func statusFunctionsOnlyInConditions() throws {
        let outside = try check("success() && always()")
        #expect(outside.usesStatusFunction)
        #expect(outside.issues.map(\.code) == [.statusFunctionOutsideIf, .statusFunctionOutsideIf])
        #expect(outside.issues.map(\.offset) == [0, 13])
        #expect(outside.issues.first?.message == "success() can only be used in a step's 'if'")

        let inside = try check("failure() || always()", in: Self.condition)
        #expect(inside.issues == [])
        #expect(inside.usesStatusFunction)
        #expect(try check("steps.send.errcode == 48008", in: Self.condition).usesStatusFunction == false)
    }

    @Test func secretsOnlyWhereAllowed() throws {
        let denied = try check("format('{0}', secrets.APP_SECRET)")
        #expect(denied.issues.map(\.code) == [.secretOutsideAccount])
        #expect(denied.issues.first?.offset == 14)
        #expect(denied.contexts == ["secrets"])

        var account = Self.scope
        account.allowSecrets = true
        let allowed = try check("secrets.APP_SECRET", in: account)
        #expect(allowed.issues == [])
        #expect(allowed.type == .string)
    }

    @Test(arguments: [
        ("nope()", "unknown function 'nope'", nil as String?),
        ("Contains('a', 'b')", "unknown function 'Contains'", "did you mean 'contains'?"),
        ("tojson(1)", "unknown function 'tojson'", "did you mean 'toJSON'?"),
        ("contains('a')", "contains takes 2 arguments, not 1", "call it as contains(haystack, needle)"),
        ("length()", "length takes 1 argument, not 0", "call it as length(value)"),
        ("join(fromJSON('[]'), ',', ',')", "join takes 1 or 2 arguments, not 3", "call it as join(list, separator?)"),
        ("format()", "format takes at least 1 argument, not 0", "call it as format(template, arguments…)"),
        ("always(1)", "always takes no arguments, not 1", "call it as always()"),
    ])
    func badFunctionCalls(source: String, message: String, hint: String?) throws {
        let issues = try check(source, in: Self.condition).issues
        #expect(issues.count == 1)
        #expect(issues.first?.code == .badFunctionCall)
        #expect(issues.first?.offset == 0)
        #expect(issues.first?.message == message)
        if let hint { #expect(issues.first?.hint == hint) }
    }

    @Test(arguments: [
        ("format('{0} of {1}', 1)", "the format string refers to {1}, but only 1 argument follows it"),
        ("format('{0}')", "the format string refers to {0}, but 0 arguments follow it"),
        ("format('{x}', 1)", "does not start a placeholder"),
        ("format('a } b', 1)", "unmatched '}'"),
        ("format('{0', 1)", "does not start a placeholder"),
    ])
    func literalFormatStringsAreChecked(source: String, fragment: String) throws {
        let issues = try check(source).issues
        #expect(issues.map(\.code) == [.badFunctionCall])
        #expect(issues.first?.offset == 7)
        #expect(issues.first?.message.contains(fragment) == true, "\(issues.first?.message ?? "")")
    }

    @Test func formatEscapesPassTheCheck() throws {
        #expect(try check("format('{{{0}}} {{x}}', 1)").issues == [])
    }

    @Test func allProblemsAreReportedNotOnlyTheFirst() throws {
        let result = try check("inputs.nmae == 1 && steps.later.outcome == 'x' && nope() && secrets.A == 'b'")
        #expect(result.issues.map(\.code) == [.unknownName, .unknownStep, .badFunctionCall, .secretOutsideAccount])
    }

    @Test func referencesAreRecordedWithOffsets() throws {
        let result = try check(
            "steps.send.outputs.msg_id == 1 && steps['check'].outcome == 'success' && steps.send.errcode == null && steps.wait.conclusion != 'failure' && steps.mystery.outputs.x")
        #expect(result.issues == [])
        #expect(result.references == [
            StepReference(stepID: "send", offset: 6),
            StepReference(stepID: "check", offset: 40),
            StepReference(stepID: "send", offset: 79),
            StepReference(stepID: "wait", offset: 109),
            StepReference(stepID: "mystery", offset: 147),
        ])
        #expect(result.contexts == ["steps"])
    }

    @Test("a step is read by its literal id, so the graph knows the dependency", arguments: [
        "steps", "toJSON(steps)", "steps[inputs.name].outputs.msg_id",
    ])
    func stepsMustBeNamedLiterally(source: String) throws {
        let result = try check(source)
        #expect(result.issues.map(\.code) == [.unknownStep])
        #expect(result.references.isEmpty)
    }

    @Test func earlierStepsCountAsKnownWithoutAllSteps() throws {
        let scope = ExpressionScope(earlierSteps: ["a": StepOutputs(kind: "k", outputs: ["x": .string])])
        let result = try Expression.parse("steps.a.outputs.x").check(in: scope)
        #expect(result.issues == [])
        #expect(result.type == .string)
    }
}
