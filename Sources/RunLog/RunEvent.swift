import Foundation
import PipelineCore
import RunState

/// What happens in a run, as the runner reports it: the run's and its steps' lifecycle, and
/// the run's summary. The runner emits events; ``RunEvent/logLine`` renders each as the log
/// line it has always been (message, level, `event` and the other metadata keys, which JSON
/// log consumers read), and ``RunEvent/progress`` as the live progress line's part of it.
public enum RunEvent: Sendable, Hashable {
    /// The schedule window refuses to run the pipeline now (`run.not_run`).
    case notRun(reason: String)
    /// The broadcast completed in an earlier run (`run.already_completed`); `sent` says what
    /// it sent ("20,001 OpenIDs in 3 batches"; empty for nothing).
    case alreadyCompleted(pipeline: String, runID: String, sent: String)
    /// `--rerun` refused: sends of the current generation have an unknown outcome (`run.rerun_refused`).
    case rerunRefused(generation: Int, unknownSends: [JournalEntry])
    /// An unfinished run is continued instead of starting a new one (`run.continuing`).
    case continuing(runID: String, place: String)
    /// Another live runner holds the broadcast (`run.busy`).
    case busy(pipeline: String, runID: String, owner: String)
    /// A new run started (`run.started`).
    case started(runID: String, pipeline: String, generation: Int, account: String, appID: String, sandbox: Bool)
    /// The pipeline file changed since the resumed run started (`run.pipeline_changed`).
    case pipelineChanged(runID: String)
    /// A run resumed; `kept` of its `steps` keep their results (`run.resumed`).
    case resumed(runID: String, kept: Int, steps: Int)
    /// A step of a resumed run runs again: its temporary media has expired (`step.media_expired`).
    case mediaExpired(stepID: String, uploadedAt: Date)
    /// A step started (`step.started`).
    case stepStarted(stepID: String, uses: String)
    /// A step finished, ran or not (`step.finished`): success, failure, skipped, cancelled.
    case stepFinished(StepEnd)
    /// A step stopped unfinished; the run stops and can be resumed (`step.stopped`).
    case stepStopped(stepID: String, uses: String, message: String)
    /// What the run sent (`run.summary`).
    case summary(RunSummary)
    /// The run stopped, resumable (`run.stopped`).
    case stopped(runID: String, reason: String, resumeCommand: String)
    /// The run ended: `failedSteps` empty for success (`run.finished`).
    case finished(runID: String, failedSteps: [String])

    /// The end of a step.
    public struct StepEnd: Sendable, Hashable {
        public var stepID: String
        public var uses: String
        public var outcome: StepOutcome
        /// The outcome after `continue_on_error`.
        public var conclusion: StepOutcome
        public var errcode: Int?
        /// Since the step started (`nil` if its start is not known).
        public var duration: Duration?
        public var outputs: [String: Value]
        public var message: String?
        public var continueOnError: Bool

        public init(
            stepID: String, uses: String, outcome: StepOutcome, conclusion: StepOutcome, errcode: Int? = nil,
            duration: Duration? = nil, outputs: [String: Value] = [:], message: String? = nil,
            continueOnError: Bool = false
        ) {
            self.stepID = stepID
            self.uses = uses
            self.outcome = outcome
            self.conclusion = conclusion
            self.errcode = errcode
            self.duration = duration
            self.outputs = outputs
            self.message = message
            self.continueOnError = continueOnError
        }
    }

    /// What a run sent, from its journal, and the day's quota left.
    public struct RunSummary: Sendable, Hashable {
        /// Messages sent: steps that sent, in the pipeline's order.
        public var messages: Int
        /// What they went to: a part for each step's batches of OpenIDs, a part for each send
        /// to a group.
        public var parts: [SentPart]
        /// Recipients counted: OpenIDs of batches, followers of pushed jobs.
        public var recipients: Int
        /// Send calls made (batches and sends to a tag or to all).
        public var sends: Int
        /// The account's mass sends left today (`nil` when the store could not count them).
        public var quota: Quota?

        public init(messages: Int, parts: [SentPart], recipients: Int, sends: Int, quota: Quota?) {
            self.messages = messages
            self.parts = parts
            self.recipients = recipients
            self.sends = sends
            self.quota = quota
        }
    }

    /// A part of a run's summary.
    public enum SentPart: Sendable, Hashable {
        /// A step's batches of OpenIDs.
        case openIDs(count: Int, batches: Int)
        /// One send to a group.
        case group(Recipient)
    }

    /// Whom one send to a group went to.
    public struct Recipient: Sendable, Hashable {
        public enum Target: Sendable, Hashable {
            case allFollowers
            case tag(String)
            case step(String)
        }
        public var target: Target
        public var followers: Int?

        public init(_ target: Target, followers: Int? = nil) {
            self.target = target
            self.followers = followers
        }
    }

    /// An account's mass sends left in its day.
    public struct Quota: Sendable, Hashable {
        public var account: String
        public var left: Int
        public var perDay: Int
        /// The account's day starts at midnight in UTC + this many hours.
        public var utcOffsetHours: Int
        public var sandbox: Bool

        public init(account: String, left: Int, perDay: Int, utcOffsetHours: Int, sandbox: Bool) {
            self.account = account
            self.left = left
            self.perDay = perDay
            self.utcOffsetHours = utcOffsetHours
            self.sandbox = sandbox
        }
    }

    /// The message of a run that failed: "step a failed", "steps a, b failed".
    public static func failureMessage(_ failedSteps: [String]) -> String {
        "step\(failedSteps.count == 1 ? "" : "s") \(failedSteps.joined(separator: ", ")) failed"
    }
}
