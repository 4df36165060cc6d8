// libFuzzer target: the `${{ }}` expression parser, the template parser, the type checker
// and the evaluator (PipelineCore). Any input must parse or give an issue; checking and
// evaluating a parsed expression must end in a value or an error.
import PipelineCore
import Foundation
import FuzzDriver

private let scope: ExpressionScope = {
    var scope = ExpressionScope(
        inputs: [:],
        earlierSteps: ["send": StepOutputs(kind: "mass/sendall", outputs: nil)],
        allSteps: ["send", "later"], isCondition: true, allowSecrets: false)
    scope.secretEnvironment = ["BRAND_MAIN_APP_SECRET"]
    return scope
}()

private let context = EvaluationContext(
    inputs: ["tag_id": .integer(100), "name": .string("秋茶"), "flag": .bool(true)],
    env: ["HOME": "/home/masscast"],
    steps: ["send": StepState(outputs: ["msg_id": .integer(1_000_000_001)], outcome: "failure",
                              conclusion: "success", errcode: 48001)],
    pipelineName: "fuzz", runID: "r1")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpression(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size <= 4096 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let expression = try? Expression.parse(text) {
        _ = expression.check(in: scope)
        _ = try? expression.evaluate(in: context)
    }
    let (template, issues) = Template.parse(text)
    if let template {
        _ = template.check(in: scope)
        _ = try? template.evaluate(in: context)
    } else {
        precondition(!issues.isEmpty, "no template and no issue")
    }
    return 0
}

@main
enum FuzzExpressionMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzExpression))
    }
}
