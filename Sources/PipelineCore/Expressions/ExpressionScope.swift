/// What the checker knows about an earlier step: its kind and the outputs that kind produces.
public struct StepOutputs: Sendable, Hashable {
    /// The step kind (`mass/sendall`), used in messages.
    public var kind: String
    /// The outputs the kind produces and their types; `nil` when the kind is unknown, in
    /// which case any output name is accepted with type `any`.
    public var outputs: [String: ExprType]?

    /// Creates the description of a step's outputs.
    public init(kind: String, outputs: [String: ExprType]?) {
        self.kind = kind
        self.outputs = outputs
    }
}

/// Everything the checker needs to know about where an expression appears.
public struct ExpressionScope: Sendable {
    /// The declared inputs and their types.
    public var inputs: [String: ExprType]
    /// Steps listed before the one that holds the expression, by id.
    public var earlierSteps: [String: StepOutputs]
    /// Ids of every step in the pipeline (earlier ones, this one and later ones). The ids
    /// of `earlierSteps` count as members even when left out here.
    public var allSteps: Set<String>
    /// Whether the expression is a condition (`if`): only then are `success()`,
    /// `failure()` and `always()` allowed.
    public var isCondition: Bool
    /// Whether `secrets.` may be used (account credentials only).
    public var allowSecrets: Bool
    /// Environment variables that hold credentials (named by the account's or masscast.yaml's
    /// secret fields): where secrets are not allowed, `env.` may not read them either, nor
    /// any `MASSCAST_SECRET_*`, `MASSCAST_CALLBACK_*` or `MASSCAST_STATE_URL`.
    public var secretEnvironment: Set<String> = []

    /// Creates a scope; by default nothing is declared, and neither status functions nor
    /// secrets are allowed.
    public init(
        inputs: [String: ExprType] = [:],
        earlierSteps: [String: StepOutputs] = [:],
        allSteps: Set<String> = [],
        isCondition: Bool = false,
        allowSecrets: Bool = false
    ) {
        self.inputs = inputs
        self.earlierSteps = earlierSteps
        self.allSteps = allSteps
        self.isCondition = isCondition
        self.allowSecrets = allowSecrets
    }
}

/// A reference from an expression to a step, for the dependency graph.
public struct StepReference: Sendable, Hashable {
    /// The referenced step's id.
    public var stepID: String
    /// 0-based offset, in Unicode scalars, of the id in the source (the `x` of `steps.x`,
    /// or the quote of `steps['x']`); relative to the scalar text for a ``Template``.
    public var offset: Int

    /// Creates a reference.
    public init(stepID: String, offset: Int) {
        self.stepID = stepID
        self.offset = offset
    }
}

/// The result of checking an expression against a scope.
public struct ExpressionCheck: Sendable, Hashable {
    /// The expression's static type (`any` where it cannot be known).
    public var type: ExprType
    /// Every reference to a step that exists in the pipeline (earlier or later), in source
    /// order, including those through `outcome`, `conclusion` and `errcode`. References to
    /// ids that exist nowhere are reported as issues and not listed.
    public var references: [StepReference]
    /// Whether `success()`, `failure()` or `always()` is called.
    public var usesStatusFunction: Bool
    /// Every static problem found, in source order of discovery.
    public var issues: [ExpressionIssue]
    /// The contexts the expression reads (`inputs`, `env`, `secrets`, `steps`, `pipeline`, `run`).
    public var contexts: Set<String>

    /// Creates a check result.
    public init(
        type: ExprType, references: [StepReference] = [], usesStatusFunction: Bool = false,
        issues: [ExpressionIssue] = [], contexts: Set<String> = []
    ) {
        self.type = type
        self.references = references
        self.usesStatusFunction = usesStatusFunction
        self.issues = issues
        self.contexts = contexts
    }

    /// Whether no issue was found.
    public var isValid: Bool { issues.isEmpty }
}

/// Finds near misses for did-you-mean hints.
enum ExprSuggestions {
    /// The candidate closest to `name` by ``Suggestion/closest(to:among:)``; candidates are
    /// sorted first, so ties go to the alphabetically first whatever the order given.
    static func nearest(to name: String, in candidates: some Sequence<String>) -> String? {
        Suggestion.closest(to: name, among: candidates.sorted(by: Value.scalarLess))
    }

    /// `did you mean 'x'?`, or `nil`.
    static func didYouMean(_ name: String, in candidates: some Sequence<String>, prefix: String = "")
        -> String?
    {
        nearest(to: name, in: candidates).map { "did you mean '\(prefix)\($0)'?" }
    }

    /// Names joined for a message, sorted: `a, b, c`.
    static func list(_ names: some Sequence<String>) -> String {
        names.sorted(by: Value.scalarLess).joined(separator: ", ")
    }
}
