import Foundation
import PipelineCore
import Testing
import WeChatMP

@testable import Runner

/// `RetryPolicy.decide`: what follows a failed attempt, decided without I/O or a clock.
@Suite("retry decision")
struct RetryPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_741_572_030)  // 30 s past a minute

    static func api(_ code: Int, _ cls: ErrorClass, delivery: Delivery = .received, earlier: Int64? = nil) -> WeChatError {
        WeChatError.api(
            errcode: code, errmsg: "e", endpoint: "message/mass/sendall", errorClass: cls, delivery: delivery,
            earlierMsgID: earlier)
    }

    static func lost(_ delivery: Delivery = .maybeReceived) -> WeChatError {
        WeChatError.transport(
            TransportFailure(.connectionLost, delivery: delivery, message: "reset"), endpoint: "message/mass/sendall")
    }

    func decide(
        _ error: WeChatError, _ policy: RetryPolicy = RetryPolicy(), state: RetryState = RetryState(),
        rules: CallRules = CallRules(), deadline: Date? = nil
    ) -> RetryDecision {
        var s = state
        s = s.after(error, start: Self.now)
        return policy.decide(error, state: s, rules: rules, now: Self.now, deadline: deadline, random: { 1 })
    }

    @Test("a transient error is retried after the backoff; the last attempt gives up")
    func transientBackoff() {
        var policy = RetryPolicy()
        policy.jitter = .none
        #expect(decide(Self.api(-1, .transient), policy) == .retry(after: .seconds(1), wait: .backoff))
        #expect(
            decide(Self.api(-1, .transient), policy, state: RetryState(attempt: 2))
                == .retry(after: .seconds(2), wait: .backoff))
        #expect(decide(Self.api(-1, .transient), policy, state: RetryState(attempt: 3)) == .fail(deadlineReached: false))
    }

    @Test("a class the step does not name is not retried; an errcode it names is")
    func classesAndErrcodes() {
        var policy = RetryPolicy()
        policy.classes = ["rate_limit"]
        #expect(decide(Self.api(-1, .transient), policy) == .fail(deadlineReached: false))
        policy.errcodes = [-1]
        if case .retry = decide(Self.api(-1, .transient), policy) {} else { Issue.record("errcodes: -1 retries") }
        #expect(decide(Self.api(40007, .permanent)) == .fail(deadlineReached: false))
        #expect(decide(Self.api(40001, .token)) == .fail(deadlineReached: false))
        #expect(policy.retryClasses == [.rateLimit])
    }

    @Test("45011 waits for the next calendar minute plus 50–500 ms")
    func nextMinute() {
        #expect(decide(Self.api(45011, .rateLimit)) == .retry(after: .milliseconds(30_000 + 500), wait: .nextMinute))
    }

    @Test("45066 waits one window (+2 s) after the key's last use, not an attempt; a fourth gives up")
    func clientMsgIDWindow() {
        let rules = CallRules(clientMsgIDWindow: .seconds(60))
        let lastUse = Self.now.addingTimeInterval(-20)
        let d = decide(Self.api(45066, .rateLimit), state: RetryState(lastUse: lastUse), rules: rules)
        #expect(d == .retry(after: .seconds(42), wait: .clientMsgIDWindow))
        #expect(!RetryWait.clientMsgIDWindow.countsAsAttempt)
        // Without an earlier use, from this attempt's start.
        #expect(decide(Self.api(45066, .rateLimit), rules: rules) == .retry(after: .seconds(62), wait: .clientMsgIDWindow))
        #expect(
            decide(Self.api(45066, .rateLimit), state: RetryState(windowRepeats: 3), rules: rules)
                == .fail(deadlineReached: false))
        #expect(
            decide(Self.api(45066, .rateLimit), state: RetryState(maybeReceived: true, windowRepeats: 3), rules: rules)
                == .unknown(deadlineReached: false))
    }

    @Test("45065 adopts the earlier msg_id; without one it is unknown after a lost answer, else a failure")
    func duplicate() {
        #expect(decide(Self.api(45065, .duplicate, earlier: 1_000_000_007)) == .adopt(msgID: 1_000_000_007))
        #expect(decide(Self.api(45065, .duplicate)) == .fail(deadlineReached: false))
        #expect(decide(Self.api(45065, .duplicate, delivery: .maybeReceived)) == .unknown(deadlineReached: false))
    }

    @Test("a lost answer: retried (same key) while allowed, unknown when the attempts run out; a preview never repeats")
    func lostAnswer() {
        if case .retry = decide(Self.lost()) {} else { Issue.record("a lost answer is retried") }
        #expect(decide(Self.lost(), state: RetryState(attempt: 3)) == .unknown(deadlineReached: false))
        #expect(decide(Self.lost(.notSent), state: RetryState(attempt: 3)) == .fail(deadlineReached: false))
        #expect(decide(Self.lost(), rules: CallRules(repeatAfterMaybeReceived: false)) == .unknown(deadlineReached: false))
        // An errcode after an earlier lost answer: WeChat processed this request; a failure.
        #expect(
            decide(Self.api(40007, .permanent), state: RetryState(maybeReceived: true)) == .fail(deadlineReached: false))
    }

    @Test("40059 after an earlier attempt may have arrived means a delete is done")
    func alreadyDone() {
        let rules = CallRules(doneAfterMaybeReceived: [40059])
        #expect(decide(Self.api(40059, .permanent), state: RetryState(maybeReceived: true), rules: rules) == .alreadyDone)
        #expect(decide(Self.api(40059, .permanent), rules: rules) == .fail(deadlineReached: false))
    }

    @Test("a wait that would pass the retry deadline ends the call, saying so")
    func deadline() {
        var policy = RetryPolicy()
        policy.jitter = .none
        let soon = Self.now.addingTimeInterval(0.5)
        #expect(decide(Self.api(-1, .transient), policy, deadline: soon) == .fail(deadlineReached: true))
        #expect(decide(Self.lost(), policy, deadline: soon) == .unknown(deadlineReached: true))
        #expect(decide(Self.api(-1, .transient), policy, deadline: soon.addingTimeInterval(1)) != .fail(deadlineReached: true))
    }
}
