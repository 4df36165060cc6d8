import PipelineCore
import RunState

/// How a step that ran (or was decided without running) ended: its outcome, outputs and,
/// when it failed, why, kept typed until the store and the logs render it.
struct StepEnd: Sendable {
    var outcome: StepOutcome
    var outputs: [String: Value]
    /// Why the step failed (`nil` unless `outcome` is `failure`).
    var failure: StepFailure?
    /// What the record says besides a failure ("preview already sent in this run", why a
    /// step was skipped or cancelled).
    var note: String?

    /// WeChat's errcode that failed the step, if any.
    var errcode: Int? { failure?.errcode }

    /// The text recorded with the step and logged: the failure rendered, or the note.
    var message: String? { failure.map(\.message) ?? note }
}

/// What one step came to.
enum StepResult: Sendable {
    /// The step finished: `success` or `failure`, with its outputs and, for a failure, why.
    case ended(StepEnd)
    /// The run must stop here and be resumed later (outcome unknown, confirmation needed,
    /// Ctrl-C); the step stays unfinished.
    case stopped(String)

    /// A step ended with `outcome` without a typed failure (decided by its `if`: skipped,
    /// cancelled, or a failure of the condition itself), `message` saying why.
    static func finished(outcome: StepOutcome, errcode: Int?, outputs: [String: Value], message: String?) -> StepResult {
        if outcome == .failure {
            return .ended(StepEnd(
                outcome: outcome, outputs: outputs, failure: StepFailure(.condition, message ?? "", errcode: errcode)))
        }
        return .ended(StepEnd(outcome: outcome, outputs: outputs, note: message))
    }

    /// A failed step, its failure kept typed.
    static func failed(_ failure: StepFailure, outputs: [String: Value] = [:]) -> StepResult {
        .ended(StepEnd(outcome: .failure, outputs: outputs, failure: failure))
    }

    static func success(_ outputs: [String: Value], message: String? = nil) -> StepResult {
        .ended(StepEnd(outcome: .success, outputs: outputs, note: message))
    }
}
