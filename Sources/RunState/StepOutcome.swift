/// How a step concluded. The raw values are what the store, the logs and the reports say
/// (`StepRecord.outcome` and `conclusion`).
public enum StepOutcome: String, Sendable, Hashable {
    case success, failure, skipped, cancelled

    /// The outcome of a step recorded in the store (`nil` for a text this version does not know).
    public init?(recorded text: String?) {
        guard let text, let outcome = StepOutcome(rawValue: text) else { return nil }
        self = outcome
    }
}
