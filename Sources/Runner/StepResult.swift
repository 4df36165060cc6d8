import PipelineCore

/// How a step concluded. The raw values are what the store, the logs and the reports say.
enum StepOutcome: String, Sendable, Hashable {
    case success, failure, skipped, cancelled

    /// The outcome of a step recorded in the store (`nil` for a text this version does not know).
    init?(recorded text: String?) {
        guard let text, let outcome = StepOutcome(rawValue: text) else { return nil }
        self = outcome
    }
}

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

    /// A failed step: its failure rendered for the store and the logs.
    static func failed(_ failure: StepFailure, outputs: [String: Value] = [:]) -> StepResult {
        .finished(outcome: .failure, errcode: failure.errcode, outputs: outputs, message: failure.description)
    }

    static func success(_ outputs: [String: Value], message: String? = nil) -> StepResult {
        .finished(outcome: .success, errcode: nil, outputs: outputs, message: message)
    }
}
