import Foundation
import PipelineCore
import WeChatMP

/// What a call's retry loop does after a failed attempt (``RetryPolicy/decide(_:state:rules:now:deadline:random:)``).
enum RetryDecision: Sendable, Equatable {
    /// Try again after `after`.
    case retry(after: Duration, wait: RetryWait)
    /// Give up: WeChat refused, or nothing may have arrived. `deadlineReached`: the next wait
    /// would pass the step's retry deadline.
    case fail(deadlineReached: Bool)
    /// Give up: an attempt may have arrived and no clear answer came; the outcome is unknown.
    case unknown(deadlineReached: Bool)
    /// 45065: WeChat already has a send under this clientmsgid; adopt its msg_id.
    case adopt(msgID: Int64)
    /// An errcode that means "already done" after an earlier attempt may have arrived (40059
    /// for a delete repeated after a lost answer).
    case alreadyDone
}

/// Why a retry waits.
enum RetryWait: Sendable, Equatable {
    /// The step's backoff (`initial_delay × factor^(n−1)`, capped, with jitter).
    case backoff
    /// 45011: until the next calendar minute, plus 50–500 ms.
    case nextMinute
    /// 45066: until one window after the key's latest use. Not an attempt.
    case clientMsgIDWindow

    /// Whether the wait uses up an attempt (45066's does not).
    var countsAsAttempt: Bool { self != .clientMsgIDWindow }
}

/// What the retry loop knows of one logical call so far.
struct RetryState: Sendable, Equatable {
    /// The attempt that failed (1-based).
    var attempt = 1
    /// Whether any attempt so far may have reached WeChat.
    var maybeReceived = false
    /// 45066 answers so far (at most 3 are waited out).
    var windowRepeats = 0
    /// When the key was used before this attempt (the journal's last attempt, or the previous
    /// attempt of this call): 45066's window runs from there.
    var lastUse: Date?
    /// When this attempt started.
    var attemptStart = Date(timeIntervalSince1970: 0)

    /// The state once `error` answered the attempt that started at `start`.
    func after(_ error: WeChatError, start: Date) -> RetryState {
        var s = self
        if error.delivery == .maybeReceived { s.maybeReceived = true }
        if error.errorClass == .rateLimit && error.errcode == 45066 { s.windowRepeats += 1 }
        s.attemptStart = start
        return s
    }
}

/// What a call allows besides the step's policy.
struct CallRules: Sendable, Equatable {
    /// `false` for previews: once a request may have arrived it is never repeated.
    var repeatAfterMaybeReceived = true
    /// Errcodes that mean the call's work is done when an earlier attempt may have arrived.
    var doneAfterMaybeReceived: Set<Int> = []
    /// The account's clientmsgid window (45066).
    var clientMsgIDWindow: Duration = .seconds(60)
}

extension RetryPolicy {
    /// The error classes named in `retry.classes`.
    var retryClasses: Set<ErrorClass> { Set(classes.compactMap(ErrorClass.init(rawValue:))) }

    /// Decides what follows a failed attempt, from the error, what the call went through so
    /// far and the time. Pure: no I/O, no clock; `random` (0…1) gives the jitter.
    /// - Parameters:
    ///   - state: already updated for this error (``RetryState/after(_:start:)``).
    ///   - deadline: when the step's `retry.deadline` ends (`nil`: none).
    func decide(
        _ error: WeChatError, state: RetryState, rules: CallRules, now: Date, deadline: Date?,
        random: () -> Double = { Double.random(in: 0...1) }
    ) -> RetryDecision {
        let errcode = error.errcode
        let delay: Duration
        let wait: RetryWait
        switch error.errorClass {
        case .duplicate:
            if let earlier = error.earlierMsgID { return .adopt(msgID: earlier) }
            // Sent earlier, but which job is unreadable: unknown, never "refused".
            return error.delivery == .maybeReceived ? .unknown(deadlineReached: false) : .fail(deadlineReached: false)
        case .rateLimit where errcode == 45066:
            // The same clientmsgid less than a window ago: wait it out; not an attempt.
            if state.windowRepeats > 3 {
                return state.maybeReceived ? .unknown(deadlineReached: false) : .fail(deadlineReached: false)
            }
            // The accepted use may have reached WeChat a little after it was sent.
            let until = (state.lastUse ?? state.attemptStart).addingTimeInterval(rules.clientMsgIDWindow.seconds + 2)
            delay = .milliseconds(Int64(max(1, until.timeIntervalSince(now)) * 1000))
            wait = .clientMsgIDWindow
        case .token:
            return .fail(deadlineReached: false)
        default:
            let classes = retryClasses
            let retryable =
                ((error.errorClass == .transient || error.errorClass == .rateLimit) && classes.contains(error.errorClass))
                || (errcode.map { errcodes.contains($0) } ?? false)
            if error.delivery == .maybeReceived && !rules.repeatAfterMaybeReceived {
                return .unknown(deadlineReached: false)
            }
            if state.maybeReceived, let code = errcode, rules.doneAfterMaybeReceived.contains(code) {
                return .alreadyDone
            }
            if !retryable || state.attempt >= maxAttempts {
                return Self.giveUp(error, maybeReceived: state.maybeReceived, deadlineReached: false)
            }
            if errcode == 45011 {
                delay = Self.untilNextMinute(now, random: random)
                wait = .nextMinute
            } else {
                delay = Backoff(self).delay(after: state.attempt, random: random)
                wait = .backoff
            }
        }
        if let deadline, now.addingTimeInterval(delay.seconds) > deadline {
            return Self.giveUp(error, maybeReceived: state.maybeReceived, deadlineReached: true)
        }
        return .retry(after: delay, wait: wait)
    }

    /// An answer from WeChat (an errcode) means it processed this request; an earlier attempt
    /// that may have arrived would have made this one a 45065. No answer after an attempt that
    /// may have arrived: unknown.
    static func giveUp(_ error: WeChatError, maybeReceived: Bool, deadlineReached: Bool) -> RetryDecision {
        if maybeReceived, error.errcode == nil { return .unknown(deadlineReached: deadlineReached) }
        return .fail(deadlineReached: deadlineReached)
    }

    /// Until the next calendar minute, plus 50–500 ms.
    static func untilNextMinute(_ now: Date, random: () -> Double = { Double.random(in: 0...1) }) -> Duration {
        let t = now.timeIntervalSince1970
        let next = (t / 60).rounded(.down) * 60 + 60
        return .milliseconds(Int64((next - t) * 1000) + 50 + Int64((random() * 450).rounded()))
    }
}
