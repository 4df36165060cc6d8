import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import WeChatMP

/// What a call with retries came to.
enum CallOutcome<T: Sendable>: Sendable {
    case ok(T)
    /// Failed; nothing was sent (or the call is harmless to have made).
    case failed(WeChatError)
    /// The request may have arrived and no answer came (after the retries allowed).
    case unknown(WeChatError)
    /// 45065: sent earlier under the same clientmsgid; its msg_id.
    case duplicate(Int64)
    /// Stopped (Ctrl-C) before an attempt could be made.
    case stopped
    /// A journaled call's next attempt was not made: its intent could not be written again
    /// (the lease was lost, or the journal cannot be written); the message says why. An
    /// earlier attempt may have arrived, so the intent stays for a later run to settle.
    case notAttempted(String)
    /// An errcode that means "already done" after an earlier attempt may have arrived
    /// (40059 for a delete repeated after a lost answer).
    case alreadyDone(WeChatError)
}

/// How to make one logical call.
struct CallSpec: Sendable {
    var step: Step
    var batch: Int = 0
    var endpoint: String
    /// Counted against the per-minute limit of `message/mass/*` calls.
    var isMass: Bool
    /// `false` for previews: once a request may have arrived it is never repeated.
    var repeatAfterMaybeReceived = true
    /// For sends: when the key was last used before this process (journal), for 45066.
    var keyLastUsed: Date?
    /// Errcodes that mean the call's work is done when an earlier attempt may have arrived.
    var doneAfterMaybeReceived: Set<Int> = []
    /// Whether an earlier attempt (before this process: the journal says so) may have arrived.
    var mayHaveArrived = false
    /// A journaled call's intent (already written before the first attempt). Every later
    /// attempt writes it again first, fenced by the broadcast's lease like the first, so a
    /// process that lost its lease while an attempt was in flight (paused, cut off from the
    /// store) makes no further attempt: the holder that took over settles the call.
    var intent: (entry: JournalEntry, call: JournaledCall)?
}

extension RunExecutor {
    func client(for step: Step) -> WeChatClient {
        WeChatClient(
            configuration: .init(baseURL: account.apiBase, timeout: step.timeout, fence: options.fence), tokens: tokens,
            transport: transport)
    }

    /// Makes the call, retrying per the step's policy and the errcode classes
    /// (``RetryPolicy/decide(_:state:rules:now:deadline:random:)``); records every attempt.
    func call<T: Sendable>(
        _ spec: CallSpec, _ body: @escaping @Sendable () async throws(WeChatError) -> T
    ) async -> CallOutcome<T> {
        let policy = spec.step.retry
        let started = options.now()
        let deadline = policy.deadline.map { started.addingTimeInterval($0.seconds) }
        let rules = CallRules(
            repeatAfterMaybeReceived: spec.repeatAfterMaybeReceived, doneAfterMaybeReceived: spec.doneAfterMaybeReceived,
            clientMsgIDWindow: account.pacing.clientMsgIDRetryWindow)
        var state = RetryState(maybeReceived: spec.mayHaveArrived, lastUse: spec.keyLastUsed)
        var attempted = false
        while true {
            if stopSignal.isStopped {
                return .stopped
            }
            if attempted, let intent = spec.intent {
                var again = intent.entry
                again.lastAttemptAt = options.now()
                again.updatedAt = again.lastAttemptAt
                if let stop = await journalIntent(again, intent.call) { return .notAttempted(stop.message) }
            }
            attempted = true
            if spec.isMass {
                guard await pacer.acquire() else { return .stopped }
            }
            let t0 = options.now()
            do {
                let value = try await body()
                await record(spec, attempt: state.attempt, start: t0, result: "ok")
                return .ok(value)
            } catch {
                state = state.after(error, start: t0)
                let decision = policy.decide(error, state: state, rules: rules, now: options.now(), deadline: deadline)
                let delay: Duration
                let wait: RetryWait
                switch decision {
                case .retry(let after, let why):
                    delay = after
                    wait = why
                case .adopt(let msgID):
                    await record(spec, attempt: state.attempt, start: t0, error: error)
                    return .duplicate(msgID)
                case .alreadyDone:
                    await record(spec, attempt: state.attempt, start: t0, error: error)
                    return .alreadyDone(error)
                case .fail(let deadlineReached), .unknown(let deadlineReached):
                    await record(
                        spec, attempt: state.attempt, start: t0, error: error,
                        note: deadlineReached ? " (retry deadline reached)" : "")
                    if case .unknown = decision { return .unknown(error) }
                    return .failed(error)
                }
                await record(spec, attempt: state.attempt, start: t0, error: error, retryDelay: delay)
                let errcode = error.errcode
                let attempt = state.attempt
                events.emit(.attemptFailed(
                    spec.attempt(attempt), RunEvent.CallError(error), retrying: wait.countsAsAttempt, delay: delay))
                let reason: RunEvent.RetryReason
                switch wait {
                case .nextMinute: reason = .nextMinute
                case .clientMsgIDWindow: reason = .clientMsgIDWindow
                case .backoff:
                    reason = .backoff(nextAttempt: attempt + 1, errcode: errcode, errorClass: error.errorClass.rawValue)
                }
                let stepID = spec.step.id.value
                if !(await sleepShowingProgress(delay, stepID: stepID, reason)) {
                    return state.maybeReceived ? .unknown(error) : .stopped
                }
                if wait.countsAsAttempt { state.attempt += 1 }
                state.lastUse = t0
            }
        }
    }

    /// Sleeps `wait` (ended early by a stop: `false`), showing the seconds left as the live
    /// progress line once a second, so the line says what the run is waiting for.
    func sleepShowingProgress(_ wait: Duration, stepID: String, _ reason: RunEvent.RetryReason) async -> Bool {
        guard options.progress != nil else { return await stopSignal.sleep(wait, clock: options.clock) }
        var left = wait
        while left > .zero {
            events.emit(.retryWaiting(stepID: stepID, left: left, reason: reason))
            let chunk = min(left, .seconds(1))
            if !(await stopSignal.sleep(chunk, clock: options.clock)) { return false }
            left -= chunk
        }
        return true
    }

    static func format(_ d: Duration) -> String { RunEvent.durationText(d) }

    func record(
        _ spec: CallSpec, attempt: Int, start: Date, result: String = "error", error: WeChatError? = nil,
        retryDelay: Duration? = nil, note: String = ""
    ) async {
        guard let run else { return }
        var httpStatus: Int? = result == "ok" ? 200 : nil
        if let status = error?.httpStatus { httpStatus = status }
        if error?.errcode != nil { httpStatus = 200 }
        let r = AttemptRecord(
            runID: run.id, stepID: spec.step.id.value, batch: spec.batch, number: attempt, endpoint: spec.endpoint,
            startedAt: start, endedAt: options.now(),
            result: error.map { $0.delivery == .maybeReceived && $0.errcode == nil ? "unknown" : "error" } ?? result,
            httpStatus: httpStatus, errcode: error?.errcode, errorClass: error?.errorClass.rawValue,
            message: error.map { String(describing: $0) + note }, retryDelayMS: retryDelay?.milliseconds)
        let stepID = spec.step.id.value
        if result == "ok" && spec.step.kind?.irreversible == nil {
            // Written with the step's end (or before its next attempt), in one transaction.
            if let earlier = pendingAttempts.updateValue(r, forKey: stepID) { try? await store.appendAttempt(earlier) }
        } else {
            for earlier in takePendingAttempts(stepID) { try? await store.appendAttempt(earlier) }
            try? await store.appendAttempt(r)
        }
        if result == "ok" && logger.logLevel <= .debug {
            let duration = Duration.milliseconds(Int(options.now().timeIntervalSince(start) * 1000))
            events.emit(.attemptSucceeded(spec.attempt(attempt), duration: duration))
        }
    }

    /// The step's successful attempt not written yet (at most one), taken out.
    func takePendingAttempts(_ stepID: String) -> [AttemptRecord] {
        pendingAttempts.removeValue(forKey: stepID).map { [$0] } ?? []
    }

    /// Crash test hook (`MASSCAST_CRASH_AT`): SIGKILL this process at a named point.
    func crashPoint(_ name: String) {
        if options.crashPoint == name {
            kill(getpid(), SIGKILL)
        }
    }
}

extension CallSpec {
    /// Attempt `attempt` of this call, as events report it.
    func attempt(_ attempt: Int) -> RunEvent.CallAttempt {
        RunEvent.CallAttempt(
            stepID: step.id.value, uses: step.uses.value, endpoint: endpoint, batch: batch, attempt: attempt)
    }
}

extension RunEvent.CallError {
    init(_ error: WeChatError) {
        self.init(
            text: String(describing: error), errcode: error.errcode, httpStatus: error.httpStatus,
            errorClass: error.errorClass.rawValue, delivery: error.delivery.rawValue)
    }
}
