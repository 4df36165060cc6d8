import Foundation
import PipelineCore
import RunState

/// What happens in a run, as the runner reports it: the run's and its steps' lifecycle, what
/// happens inside steps (calls, sends, deletes, waits), and the run's summary. The runner
/// emits events; ``RunEvent/logLine`` renders each as the log line it has always been
/// (message, level, `event` and the other metadata keys, which JSON log consumers read; `nil`
/// for an event that only shows progress), and ``RunEvent/progress`` as the live progress
/// line's part of it.
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
    /// An unfinished rehearsal of another process is not continued (its in-process sandbox
    /// ended with that process): the broadcast is rehearsed again from the start, as the next
    /// generation (`run.rehearsal_restarted`).
    case rehearsalRestarted(runID: String, status: RunStatus)
    /// Another live runner holds the broadcast (`run.busy`).
    case busy(pipeline: String, runID: String, owner: String)
    /// This process took the broadcast's lease over from another holder whose lease expired
    /// (or whose process on this host is gone) (`run.taken_over`).
    case takenOver(pipeline: String, previousOwner: String, epoch: Int64)
    /// `masscast force-unlock` took the broadcast's lease from `previousOwner` at
    /// `previousEpoch`; the lease is now at `epoch` (`run.taken_over`, `lease.forced`).
    case forcedTakeover(pipeline: String, previousOwner: String, previousEpoch: Int64, epoch: Int64)
    /// Another owner's lease of the broadcast is live until `until`: nothing started
    /// (`run.lease_held`).
    case leaseHeld(pipeline: String, runID: String?, owner: String, until: Date)
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

    // What happens inside a step: its calls, sends, deletes and waits.

    /// An audience file is being read (progress only).
    case audienceReading(stepID: String, file: String, lines: Int, percent: Int)
    /// An audience file was read (`audience.read`).
    case audienceRead(stepID: String, file: String, recipients: Int, duplicates: Int, blankLines: Int, batches: Int)
    /// Batch `batch` (from 1) of `batches` is being sent; `sent` of `audience` OpenIDs sent
    /// so far (progress only).
    case batchSending(stepID: String, batch: Int, batches: Int, sent: Int, audience: Int)
    /// Batch `batch` (from 1) of `batches` was sent (`batch.sent`, written when there is
    /// more than one batch).
    case batchSent(stepID: String, batch: Int, batches: Int, openIDs: Int, msgID: Int64, sent: Int, audience: Int)
    /// WeChat accepted a send (`send.accepted`); `to` names a group send's audience.
    case sendAccepted(SendCall, to: String?, msgID: Int64)
    /// The journal shows the send as made: it is adopted, not made again (`send.adopted`).
    case sendAdopted(SendCall, runID: String, msgID: Int64?)
    /// A rehearsal's adopted send was accepted by the in-process sandbox of an earlier
    /// process, which is gone: the steps that ask about its msg_id cannot be rehearsed
    /// against this sandbox (`send.adopted_from_gone_sandbox`, a warning after `send.adopted`).
    case sendAdoptedFromGoneSandbox(SendCall, runID: String, msgID: Int64?)
    /// A send with an unknown outcome is repeated under its clientmsgid (`send.reconcile`).
    case sendReconciled(SendCall, runID: String)
    /// WeChat answered 45065, the send exists: adopted (`send.adopted`), or, when this store
    /// never recorded it, adopted loudly (`send.adopted_unrecorded`).
    case sendDuplicate(SendCall, msgID: Int64, unrecorded: Bool)
    /// A call's attempt failed and is retried (or, for 45066, repeated) after `delay`
    /// (`attempt.failed`).
    case attemptFailed(CallAttempt, CallError, retrying: Bool, delay: Duration)
    /// A call's attempt succeeded (`attempt.ok`, at debug level).
    case attemptSucceeded(CallAttempt, duration: Duration)
    /// A call waits before its next attempt; `left` is what is left of the wait (progress only).
    case retryWaiting(stepID: String, left: Duration, reason: RetryReason)
    /// A delete the journal shows as made is not made again (`delete.adopted`); `msgID` nil
    /// for an article.
    case deleteAdopted(stepID: String, msgID: Int64?)
    /// WeChat says 40059 (already deleted) after an attempt that may have arrived (`delete.already_done`).
    case deleteAlreadyDone(stepID: String)
    /// The MASSSENDJOBFINISH push of a job arrived (`wait.push`).
    case waitPush(stepID: String, msgID: Int64, status: String)
    /// Polling a job's status failed; it is polled again later (`wait.poll_failed`).
    case waitPollFailed(stepID: String, msgID: Int64, error: String)
    /// A wait is waiting: `waited` so far, each job's state (progress only).
    case waiting(stepID: String, waited: Duration, states: [String])
    /// A wait still waits after whole minutes, for logs without a progress line (`wait.progress`).
    case stillWaiting(stepID: String, uses: String, waited: Duration, states: [String])
    /// A wait ended with nothing or fewer than half of the audience sent (`wait.low_delivery`).
    case lowDelivery(stepID: String, uses: String, sent: Int, total: Int, msgIDs: [Int64])
    /// A rehearsal sends to all followers without `--confirm-to-all` (`run.to_all_rehearsal`).
    case toAllRehearsal(steps: [String], account: String, appID: String, pipeline: String)
    /// A send to all followers is not confirmed: the run is refused (`run.to_all_refused`).
    case toAllRefused(reason: String)

    /// One send under its clientmsgid: `batch` from 0 (logs count from 1).
    public struct SendCall: Sendable, Hashable {
        public var stepID: String
        public var uses: String
        public var clientMsgID: String
        public var batch: Int

        public init(stepID: String, uses: String, clientMsgID: String, batch: Int) {
            self.stepID = stepID
            self.uses = uses
            self.clientMsgID = clientMsgID
            self.batch = batch
        }
    }

    /// One attempt of a call: `batch` from 0 (logs count from 1).
    public struct CallAttempt: Sendable, Hashable {
        public var stepID: String
        public var uses: String
        public var endpoint: String
        public var batch: Int
        public var attempt: Int

        public init(stepID: String, uses: String, endpoint: String, batch: Int, attempt: Int) {
            self.stepID = stepID
            self.uses = uses
            self.endpoint = endpoint
            self.batch = batch
            self.attempt = attempt
        }
    }

    /// Why a call failed, as logs show it.
    public struct CallError: Sendable, Hashable {
        /// The error's text (its `description`).
        public var text: String
        public var errcode: Int?
        public var httpStatus: Int?
        /// `transient`, `permanent`, … (`error.class`).
        public var errorClass: String
        /// Whether WeChat may have received the call (`delivery`).
        public var delivery: String

        public init(text: String, errcode: Int?, httpStatus: Int?, errorClass: String, delivery: String) {
            self.text = text
            self.errcode = errcode
            self.httpStatus = httpStatus
            self.errorClass = errorClass
            self.delivery = delivery
        }
    }

    /// What a call waits for before its next attempt.
    public enum RetryReason: Sendable, Hashable {
        /// 45011: the next minute.
        case nextMinute
        /// 45066: the clientmsgid's window.
        case clientMsgIDWindow
        /// A backoff before attempt `nextAttempt`, after errcode `errcode` (or, without one,
        /// an error of class `errorClass`).
        case backoff(nextAttempt: Int, errcode: Int?, errorClass: String)
    }

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
