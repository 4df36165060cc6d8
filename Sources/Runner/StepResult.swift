import PipelineCore
import RunState

/// What one step came to.
enum StepResult: Sendable {
    /// The step finished: `success` or `failure`, with its errcode and outputs.
    case finished(outcome: StepOutcome, errcode: Int?, outputs: [String: Value], message: String?)
    /// The run must stop here and be resumed later (outcome unknown, confirmation needed,
    /// Ctrl-C); the step stays unfinished.
    case stopped(String)

    static func failure(_ message: String, errcode: Int? = nil) -> StepResult {
        .finished(outcome: .failure, errcode: errcode, outputs: [:], message: message)
    }

    static func success(_ outputs: [String: Value], message: String? = nil) -> StepResult {
        .finished(outcome: .success, errcode: nil, outputs: outputs, message: message)
    }
}
