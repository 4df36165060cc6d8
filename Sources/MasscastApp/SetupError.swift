import PipelineCore

/// Why a command could not start: a pipeline or config with errors, a secret that is not
/// set, an account that is not defined, a state store that cannot be opened, a sandbox that
/// did not start. The command reports it and exits 2; nothing has run.
///
/// `message` never holds a secret's value: only the names of variables and files.
public struct SetupError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidPipeline, invalidConfig, invalidInputs, secrets, account, stateStore, sandbox, listener, run,
                file
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The pipeline has errors (its diagnostics are in ``SetupError/diagnostics``), or is missing.
        public static let invalidPipeline = Code(.invalidPipeline)
        /// The project config has errors (its diagnostics are in ``SetupError/diagnostics``), or is missing.
        public static let invalidConfig = Code(.invalidConfig)
        /// An `--input` is unknown or does not fit its declared type.
        public static let invalidInputs = Code(.invalidInputs)
        /// A secret (or a variable an AppID names) is not set, or the dotenv file is unreadable or malformed.
        public static let secrets = Code(.secrets)
        /// The pipeline's account is not defined where it is looked up.
        public static let account = Code(.account)
        /// The state store cannot be located or opened.
        public static let stateStore = Code(.stateStore)
        /// The sandbox's fixture cannot be read, or the sandbox did not start.
        public static let sandbox = Code(.sandbox)
        /// The listener's accounts or settings are unusable, or the in-process listener did not start.
        public static let listener = Code(.listener)
        /// The run to resume is missing or does not fit the account, fixture or store given.
        public static let run = Code(.run)
        /// A file cannot be read or written.
        public static let file = Code(.file)

        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// What went wrong, for the user: one line, without a secret.
    public var message: String
    /// The pipeline's or config's diagnostics, when those are the problem (to be rendered as
    /// `validate` renders them).
    public var diagnostics: [Diagnostic]

    /// Creates an error.
    public init(_ code: Code, _ message: String, diagnostics: [Diagnostic] = []) {
        self.code = code
        self.message = message
        self.diagnostics = diagnostics
    }

    public var description: String { message }
}
