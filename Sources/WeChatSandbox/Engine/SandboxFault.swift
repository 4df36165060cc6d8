import Foundation

/// One fault-injection rule: which calls (or pushes, or jobs) it hits, what it does to them,
/// and when it fires.
///
/// Rules come from the fixture's `faults` and, at run time, from `POST /sandbox/faults`
/// (same shape, as JSON). A rate is rolled on a random generator seeded from the fixture's
/// fault seed and the rule's position, so the same calls meet the same faults on every run.
public struct SandboxFault: Sendable, Hashable {
    /// What a rule applies to.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// Calls of an endpoint under `/cgi-bin/`, written without that prefix
        /// (`message/mass/sendall`); `*` matches every endpoint and `message/mass/*` a family.
        case endpoint(String)
        /// MASSSENDJOBFINISH pushes.
        case push
        /// Mass-send jobs, when they are created.
        case job

        /// The `on:` text of the rule.
        public var description: String {
            switch self {
            case .endpoint(let pattern): pattern
            case .push: "push"
            case .job: "job"
            }
        }

        func matches(endpoint: String) -> Bool {
            guard case .endpoint(let pattern) = self else { return false }
            if pattern == "*" { return true }
            if pattern.hasSuffix("*") { return endpoint.hasPrefix(pattern.dropLast()) }
            return endpoint == pattern
        }
    }

    /// What the rule does when it fires.
    public enum Action: Sendable, Hashable {
        /// Answer HTTP 200 with `{"errcode":N,"errmsg":…}` (`-1`, `9500002`, `45011`, …).
        case errcode(Int)
        /// Answer with this HTTP status (5xx) and an HTML body, as WeChat's front end does.
        case httpStatus(Int)
        /// Close the connection without answering (``SandboxResponse/dropConnection``).
        case reset
        /// Answer HTTP 200 with exactly this body (`{"errcode":0}` without a msg_id, a
        /// `msg_id` of `"abc"`, text that is not JSON): an answer a client must not read as
        /// a refusal.
        case body(String)
        /// Revoke the access token the call presented (as another process fetching a new
        /// one would) and answer 40001. Every later call with it gets 40001 too.
        case revokeToken
        /// Push only: never send it (recorded as dropped).
        case dropPush
        /// Push only: send it this much sandbox time later.
        case delayPush(Duration)
        /// Push only: after it is delivered, deliver it once more (a fresh signature, same XML).
        case duplicatePush
        /// Job only: the job ends `SEND_FAIL`, pushed as `send fail`.
        case failJob
        /// Job only: the job is stopped by review, `SEND_FAIL`, pushed as `err(N)` (e.g. 20002).
        case jobError(Int)
        /// Job only (mpnews): the article at this 1-based index is judged a reprint: with
        /// `send_ignore_reprint: 1` the job succeeds with CheckState 2, else it fails with
        /// `err(30003)` and CheckState 3.
        case reprint(articleIdx: Int)
    }

    /// Whether an answer-replacing action hits before the call is processed (it has no
    /// effect) or after (it took effect, e.g. a send was accepted, but the client does not
    /// learn it).
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Nothing happens but the fault.
        case before
        /// The call takes effect first.
        case after
    }

    /// When a rule fires among the calls it matches.
    public enum Trigger: Sendable, Hashable {
        /// Every matching call.
        case always
        /// Each matching call with this probability (0...1).
        case rate(Double)
        /// Matching calls number `skip + 1` through `skip + count` (1-based), e.g. "the next 2".
        case schedule(skip: Int, count: Int)
    }

    /// What it applies to.
    public var target: Target
    /// What it does; `nil` when it only adds ``latency``.
    public var action: Action?
    /// Latency added to the answer when it fires (endpoints only).
    public var latency: Duration?
    /// Before or after processing (for ``Action/errcode(_:)``, ``Action/httpStatus(_:)``,
    /// ``Action/reset`` and ``Action/body(_:)``).
    public var phase: Phase
    /// When it fires.
    public var trigger: Trigger
    /// At most this many firings in all (`nil`: no limit).
    public var limit: Int?

    /// Creates a rule.
    public init(target: Target, action: Action?, latency: Duration? = nil, phase: Phase = .before,
                trigger: Trigger = .always, limit: Int? = nil) {
        self.target = target
        self.action = action
        self.latency = latency
        self.phase = phase
        self.trigger = trigger
        self.limit = limit
    }
}
