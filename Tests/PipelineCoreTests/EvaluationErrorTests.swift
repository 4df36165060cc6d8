import Testing
@testable import PipelineCore

/// `EvaluationError` and `ExpressionIssue`: a code to compare, the message and place a user
/// saw before, and no value (a secret least of all) in any of their texts.
@Suite("expression errors: codes, messages, places")
struct EvaluationErrorTests {
    static let secret = "s3cr3t}{value-0123456789"
    static let context = EvaluationContext(inputs: ["n": 5, "tags": ["vip", "new"]], secrets: ["APP_SECRET": secret])

    func failure(_ source: String) throws -> EvaluationError {
        let expression = try Expression.parse(source)
        let result: Result<Value, EvaluationError>
        do {
            result = .success(try expression.evaluate(in: Self.context))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .failure(let error): return error
        case .success(let value):
            Issue.record("expected \(source) to fail, got \(value)")
            throw CancellationError()
        }
    }

    @Test("codes are equal to themselves and to nothing else")
    func codesCompare() {
        let codes: [EvaluationError.Code] = [
            .typeMismatch, .unknownName, .unknownFunction, .argumentCount, .formatString, .invalidJSON, .tooDeep,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == [
            "typeMismatch", "unknownName", "unknownFunction", "argumentCount", "formatString", "invalidJSON", "tooDeep",
        ])
        #expect(EvaluationError.Code.invalidJSON == .invalidJSON && EvaluationError.Code.invalidJSON != .tooDeep)
        #expect(EvaluationError(.typeMismatch, "m", offset: 1) != EvaluationError(.unknownName, "m", offset: 1))
    }

    @Test("each failure has its code, the message a user saw before, and its place", arguments: [
        ("!inputs.n", EvaluationError.Code.typeMismatch, "'!' needs a boolean, but its operand is integer", 1),
        ("inputs.n < inputs.tags", .typeMismatch, "'<' orders strings or numbers, not integer and list", 9),
        ("nope", .unknownName, "unknown name 'nope'", 0),
        ("nope(1)", .unknownFunction, "unknown function 'nope'", 0),
        ("format('{1}', 'a')", .argumentCount, "the format string refers to {1}, but 1 argument follows it", 7),
        ("format('{', 'a')", .formatString,
         "the format string has a '{' at character 1 that does not start a placeholder like {0}; write {{ for a literal brace", 7),
        ("format('}', 'a')", .formatString, "the format string has an unmatched '}' at character 1; write }} for a literal brace", 7),
        ("fromJSON('[1,')", .invalidJSON, "fromJSON: the text is not valid JSON (unexpected end at character 4)", 9),
        ("fromJSON(1)", .typeMismatch, "fromJSON takes a string, not integer", 9),
    ])
    func failures(source: String, code: EvaluationError.Code, message: String, offset: Int) throws {
        let error = try failure(source)
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(error.description == message)
        #expect(error.offset == offset)
    }

    @Test("JSON nested too deeply is its own code, placed at fromJSON's argument")
    func tooDeep() throws {
        let deep = String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000)
        let error = try failure("fromJSON('\(deep)')")
        #expect(error.code == .tooDeep)
        #expect(error.message.hasPrefix("fromJSON: the JSON nests deeper than "))
        #expect(error.offset == 9)
    }

    @Test("in a template, the place is moved to the whole text and the code is kept")
    func templatePlace() throws {
        let (template, issues) = Template.parse("Hi ${{ !inputs.n }}")
        #expect(issues.isEmpty)
        let parsed = try #require(template)
        do {
            let value = try parsed.evaluate(in: Self.context)
            Issue.record("expected a failure, got \(value)")
        } catch {
            #expect(error.code == .typeMismatch)
            #expect(error.message == "'!' needs a boolean, but its operand is integer")
            #expect(error.offset == 8)
        }
        let unplaced = EvaluationError(.tooDeep, "values nest too deeply to compare")
        #expect(unplaced.shifted(by: 5).offset == nil)
        #expect(unplaced.at(3).shifted(by: 5) == EvaluationError(.tooDeep, "values nest too deeply to compare", offset: 8))
    }

    @Test("a secret's value never appears in an evaluation error", arguments: [
        "!secrets.APP_SECRET", "fromJSON(secrets.APP_SECRET)", "format(secrets.APP_SECRET, 1)",
        "secrets.APP_SECRET < 1", "length(secrets.APP_SECRET, 2)",
    ])
    func noSecret(source: String) throws {
        let error = try failure(source)
        for text in [error.message, error.description, String(reflecting: error)] {
            #expect(!text.contains(Self.secret), "secret in: \(text)")
            #expect(!text.contains("s3cr3t"), "part of the secret in: \(text)")
        }
    }

    @Test("an expression issue describes itself as its code, place, message and hint")
    func issueDescription() throws {
        let issue = try #require(exprSyntaxIssue("1 = 2"))
        #expect(issue.code == .expressionSyntax && issue.offset == 2)
        #expect(issue.description == "MC3001 at 2: '=' is not an operator; compare with '=='")
        #expect(issue.shifted(by: 4).description == "MC3001 at 6: '=' is not an operator; compare with '=='")
        let plain = ExpressionIssue(code: .unknownName, message: "unknown name 'x'", offset: 0)
        #expect(plain.description == "\(DiagnosticCode.unknownName.rawValue) at 0: unknown name 'x'")
        #expect(plain != issue)
    }
}
