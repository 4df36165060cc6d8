import Testing
@testable import PipelineCore

/// Parses `source` or records the issue as a failure.
func exprParsed(_ source: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Expression? {
    do {
        return try Expression.parse(source)
    } catch {
        Issue.record("\(source): \(error.message)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The syntax issue `source` produces, or `nil` if it parses.
func exprSyntaxIssue(_ source: String) -> ExpressionIssue? {
    do {
        _ = try Expression.parse(source)
        return nil
    } catch {
        return error
    }
}

/// Evaluates `source` with an empty context.
func exprValue(_ source: String, in context: EvaluationContext = EvaluationContext()) throws -> Value {
    try Expression.parse(source).evaluate(in: context)
}

@Suite struct ExpressionParserTests {
    @Test(arguments: [
        ("'hello'", Value.string("hello")),
        ("'it''s'", .string("it's")),
        ("''", .string("")),
        ("'群发 ✓'", .string("群发 ✓")),
        ("42", .integer(42)),
        ("-1", .integer(-1)),
        ("0", .integer(0)),
        ("1.5", .number(1.5)),
        ("-0.25", .number(-0.25)),
        ("2e3", .number(2000)),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("null", .null),
        ("  ( 'x' )  ", .string("x")),
    ])
    func literals(source: String, expected: Value) throws {
        #expect(try exprValue(source) == expected)
    }

    @Test(arguments: [
        // || is lower than &&: true || (false && false)
        ("true || false && false", true),
        ("(true || false) && false", false),
        // && is lower than ==: (1 == 1) && (2 == 2)
        ("1 == 1 && 2 == 2", true),
        // == is lower than <: (1 < 2) == true
        ("1 < 2 == true", true),
        ("2 <= 2", true), ("3 > 2", true), ("2 >= 3", false), ("1 != 2", true),
        // ! binds tighter than ==: (!false) == true
        ("!false == true", true),
        ("!(1 == 2)", true),
        ("!!true", true),
        // postfix access binds tighter than !
        ("!fromJSON('{\"a\":false}').a", true),
        ("fromJSON('[1,[2,3]]')[1][0] == 2", true),
        ("length('abc') == 3", true),
    ])
    func operatorsAndPrecedence(source: String, expected: Bool) throws {
        #expect(try exprValue(source) == .bool(expected))
    }

    @Test func identifiersAllowDashesAndBrackets() throws {
        let e = try #require(exprParsed("steps.pull-back.outputs['msg_id'] == steps['pull-back'].outputs.msg_id"))
        let context = EvaluationContext(steps: ["pull-back": StepState(outputs: ["msg_id": 7])])
        #expect(try e.evaluate(in: context) == true)
    }

    @Test(arguments: [
        ("inputs.a ==", 11, "expected a value, found the end of the expression"),
        ("'abc", 0, "string literal is not closed"),
        ("x == 'abc", 5, "string literal is not closed"),
        ("a b", 2, "found 'b'"),
        ("", 0, "empty"),
        ("   ", 3, "empty"),
        ("(a", 2, "expected ')'"),
        ("a.", 2, "a name after '.'"),
        ("a[1", 3, "expected ']'"),
        ("f(1,", 4, "expected a value"),
        ("f(1 2)", 4, "expected ',' or ')'"),
        ("a = b", 2, "'=' is not an operator"),
        ("a & b", 2, "'&'"),
        ("a | b", 2, "'|'"),
        ("\"x\"", 0, "single quotes"),
        ("1 + 2", 2, "no arithmetic"),
        ("- 1", 0, "negative number"),
        ("1.x", 2, "digits after the decimal point"),
        ("12ab", 0, "not a valid number"),
        ("99999999999999999999", 0, "too large"),
        ("a.b(1)", 3, "only a function name can be called"),
        ("a # b", 2, "unexpected character '#'"),
        ("inputs.é", 7, "unexpected character 'é'"),
    ])
    func syntaxErrorsPointAtTheOffendingToken(source: String, offset: Int, fragment: String) throws {
        let issue = try #require(exprSyntaxIssue(source))
        #expect(issue.code == .expressionSyntax)
        #expect(issue.offset == offset)
        #expect((issue.message + " " + (issue.hint ?? "")).contains(fragment), "\(issue.message)")
    }

    @Test func offsetsCountUnicodeScalars() throws {
        let issue = try #require(exprSyntaxIssue("'群发' b"))
        #expect(issue.offset == 5)
    }

    @Test func nestingIsLimited() throws {
        let ok = String(repeating: "(", count: 64) + "true" + String(repeating: ")", count: 64)
        #expect(try exprValue(ok) == true)
        let deep = String(repeating: "(", count: 65) + "true" + String(repeating: ")", count: 65)
        let issue = try #require(exprSyntaxIssue(deep))
        #expect(issue.code == .expressionSyntax)
        #expect(issue.message.contains("deeper than 64"))
        #expect(issue.offset == 64)

        let bangs = try #require(exprSyntaxIssue(String(repeating: "!", count: 100_000) + "true"))
        #expect(bangs.message.contains("deeper than 64"))
        let calls = try #require(exprSyntaxIssue(String(repeating: "length(", count: 1000) + "'x'"))
        #expect(calls.message.contains("deeper than 64"))
    }

    @Test func longChainsAreLimitedAndNeverOverflow() throws {
        // 253 `&&` over operands 3 tall make a tree exactly 256 tall: the limit, still checked and evaluated.
        let fine = Array(repeating: "inputs.a == null", count: 254).joined(separator: " && ")
        let tallest = try Expression.parse(fine)
        #expect(tallest.check(in: ExpressionScope(inputs: ["a": .string])).issues == [])
        #expect(try tallest.evaluate(in: EvaluationContext()) == true)
        let tooTall = Array(repeating: "true", count: 257).joined(separator: " && ")
        #expect(exprSyntaxIssue(tooTall)?.message.contains("too long") == true)
        let long = Array(repeating: "true", count: 10_000).joined(separator: " && ")
        let issue = try #require(exprSyntaxIssue(long))
        #expect(issue.message.contains("too long"))
        let members = "inputs" + String(repeating: ".a", count: 10_000)
        #expect(exprSyntaxIssue(members)?.message.contains("too long") == true)
    }

    @Test func expressionsCompareBySource() throws {
        #expect(try Expression.parse("a == 1") == Expression.parse("a == 1"))
        #expect(try Expression.parse("a == 1").description == "a == 1")
    }
}
