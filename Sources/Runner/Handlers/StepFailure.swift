import Foundation
import WeChatMP

/// Why a step failed. The runner keeps it typed until it is recorded or logged, where its
/// `message` is the text (the store's step message, the `step.finished` log line).
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    /// What kind of failure: extensible (new codes are not a breaking change).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidInput = "invalid input"
            case wechat = "wechat"
            case refused = "refused"
            case audience = "audience"
            case timedOut = "timed out"
            case thresholdNotMet = "threshold not met"
            case unexpectedAnswer = "unexpected answer"
            case unknownKind = "unknown kind"
            case noRun = "no run"
            case condition = "condition"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The step's `with` could not be turned into a request (nothing was called).
        public static var invalidInput: Self { Self(.invalidInput) }
        /// WeChat (or the way to it) failed the call; `errcode` says what WeChat answered.
        public static var wechat: Self { Self(.wechat) }
        /// The runner refused to make the call: a send to all followers not confirmed, the
        /// day's quota, a send edited since it was journaled, the schedule window.
        public static var refused: Self { Self(.refused) }
        /// The audience file could not be read.
        public static var audience: Self { Self(.audience) }
        /// A `mass/wait` reached its timeout.
        public static var timedOut: Self { Self(.timedOut) }
        /// A `mass/wait` ended below its `min_sent`.
        public static var thresholdNotMet: Self { Self(.thresholdNotMet) }
        /// WeChat gave an answer the call does not expect (a 45065 without a clientmsgid).
        public static var unexpectedAnswer: Self { Self(.unexpectedAnswer) }
        /// The step's kind has no handler.
        public static var unknownKind: Self { Self(.unknownKind) }
        /// The step ran outside a run.
        public static var noRun: Self { Self(.noRun) }
        /// The step's `if` decided its failure without running it (an `if` that cannot be
        /// evaluated).
        public static var condition: Self { Self(.condition) }

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The text recorded and logged for the failure.
    public var message: String
    /// WeChat's errcode, when WeChat gave one.
    public var errcode: Int?
    /// The underlying error, if any (a `WeChatError`, a `StepInputError`, an `AudienceError`).
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, errcode: Int? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.errcode = errcode
        self.cause = cause
    }

    public var description: String { message }

    /// A WeChat call failed.
    init(_ error: WeChatError) {
        self.init(.wechat, error.description, errcode: error.errcode, cause: error)
    }

    /// The step's `with` does not make a request.
    init(_ error: StepInputError) {
        self.init(.invalidInput, error.description, cause: error)
    }

    /// The step's `with` does not make a request: `message` says why.
    static func input(_ message: String) -> StepFailure { StepFailure(.invalidInput, message) }

    /// The message with a note appended ("; 1 of 3 batches were sent").
    func appending(_ note: String) -> StepFailure {
        var copy = self
        copy.message += note
        return copy
    }
}
