import Testing
@testable import PipelineCore

@Suite struct ExpressionTemplateTests {
    static let context = EvaluationContext(
        inputs: ["n": 5, "tags": ["a", "b"], "none": nil],
        steps: ["upload": StepState(outputs: ["media_id": "M1"], outcome: "success", conclusion: "success")]
    )
    static let scope = ExpressionScope(
        inputs: ["n": .integer, "tags": .list(.string), "none": .string],
        earlierSteps: ["upload": StepOutputs(kind: "media/upload", outputs: ["media_id": .string])],
        allSteps: ["upload", "later"]
    )

    func template(_ text: String) throws -> Template {
        let (template, issues) = Template.parse(text)
        #expect(issues == [])
        return try #require(template)
    }

    @Test func joinsTextAndValues() throws {
        let t = try template("n=${{ inputs.n }}")
        #expect(t.parts == [.literal("n="), .expression(try Expression.parse(" inputs.n "), offset: 5)])
        #expect(!t.isSingleExpression)
        #expect(t.hasExpressions)
        #expect(try t.evaluate(in: Self.context) == "n=5")
        #expect(t.check(in: Self.scope).type == .string)
    }

    @Test(arguments: [
        ("${{ inputs.n }}", Value.integer(5), ExprType.integer),
        ("  ${{ inputs.tags }}\n", .list(["a", "b"]), .list(.string)),
        ("${{ inputs.none }}", .null, .string),
        ("${{ steps.upload.outputs.media_id == 'M1' }}", true, .boolean),
    ])
    func singleExpressionKeepsItsType(text: String, expected: Value, type: ExprType) throws {
        let t = try template(text)
        #expect(t.isSingleExpression)
        #expect(try t.evaluate(in: Self.context) == expected)
        #expect(t.check(in: Self.scope).type == type)
    }

    @Test(arguments: [
        ("plain text", "plain text"),
        ("", ""),
        ("tags: ${{ inputs.tags }}, none: [${{ inputs.none }}]", #"tags: ["a","b"], none: []"#),
        ("${{ inputs.n }}${{ inputs.n }}", "55"),
        ("${{ '}}' }} and ${{ 'it''s' }}", "}} and it's"),
        ("cost: $5 {{ not an expression }} ${ {", "cost: $5 {{ not an expression }} ${ {"),
        ("id ${{ steps.upload.outputs.media_id }}}", "id M1}"),
    ])
    func textTemplates(text: String, expected: String) throws {
        let t = try template(text)
        #expect(!t.isSingleExpression)
        #expect(try t.evaluate(in: Self.context) == .string(expected))
    }

    @Test func noExpressions() throws {
        let t = try template("hello")
        #expect(!t.hasExpressions)
        #expect(t.check(in: Self.scope) == ExpressionCheck(type: .string))
    }

    @Test(arguments: [
        ("a ${{ inputs.n", DiagnosticCode.unterminatedExpression, 2),
        ("${{ inputs.n }", .unterminatedExpression, 0),
        ("ok ${{ 'x }}", .expressionSyntax, 7),
        ("n=${{ inputs.n == }}", .expressionSyntax, 18),
        ("n=${{ }}", .expressionSyntax, 6),
        ("群发 ${{ a b }}", .expressionSyntax, 9),
    ])
    func issuesPointIntoTheWholeText(text: String, code: DiagnosticCode, offset: Int) {
        let (template, issues) = Template.parse(text)
        #expect(template == nil)
        #expect(issues.map(\.code) == [code])
        #expect(issues.first?.offset == offset)
    }

    @Test func everyBrokenExpressionIsReported() {
        let (template, issues) = Template.parse("${{ a b }} and ${{ 'x' == }} and ${{ c")
        #expect(template == nil)
        #expect(issues.map(\.code) == [.expressionSyntax, .expressionSyntax, .unterminatedExpression])
        #expect(issues.map(\.offset) == [6, 26, 33])
    }

    @Test func checkShiftsOffsetsAndMergesResults() throws {
        let t = try template("${{ steps.upload.outputs.media_id }} / ${{ steps.later.outcome }} / ${{ inputs.nn }}")
        let result = t.check(in: Self.scope)
        #expect(result.references == [StepReference(stepID: "upload", offset: 10), StepReference(stepID: "later", offset: 49)])
        #expect(result.issues.map(\.code) == [.laterStep, .unknownName])
        #expect(result.issues.map(\.offset) == [49, 79])
        #expect(result.issues.last?.hint == "did you mean 'inputs.n'?")
        #expect(result.type == .string)
        #expect(result.contexts == ["steps", "inputs"])
    }

    @Test func statusFunctionsAndSecretsInTemplates() throws {
        let t = try template("${{ always() }} ${{ secrets.X }}")
        let result = t.check(in: Self.scope)
        #expect(result.usesStatusFunction)
        #expect(result.issues.map(\.code) == [.statusFunctionOutsideIf, .secretOutsideAccount])
        #expect(result.issues.map(\.offset) == [4, 20])
    }

    @Test func evaluationErrorsPointIntoTheWholeText() throws {
        let t = try template("x ${{ fromJSON('{') }}")
        do {
            _ = try t.evaluate(in: Self.context)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 15)
        }
    }
}
