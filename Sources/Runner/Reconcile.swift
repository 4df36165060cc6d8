import Foundation
import RunState

// The reconcile table (`masscast apply` and `masscast plan`): what a broadcast's state is and
// what apply does about it, decided from facts alone. Pure: no file, store, clock or network
// is read here; the caller gathers the facts (`Reconciler.Facts`) and passes `now`.

/// What apply does about one broadcast (docs/pipeline-format.md, "Apply").
public enum ReconcileAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Never run (or `--rerun`), window open: apply runs it.
    case send
    /// Its window is not open yet: a later apply sends it.
    case wait
    /// Its window closed before it was (fully) sent: nothing more is sent (`--allow-late`).
    case expire
    /// Completed with the same source: nothing to do.
    case noop
    /// Completed, and the file changed since: nothing is re-sent (`--rerun NAME` starts a new
    /// generation).
    case drift
    /// Its run was interrupted or stopped: apply continues it.
    case resume
    /// Another applier (or runner) holds it.
    case busy
    /// It cannot be sent now: quota, a missing approval or confirmation, a failed preflight.
    case blocked
    /// Completed, and its file is gone: reported, never retracted.
    case orphan
    /// Its last run failed: reported; apply runs it again only inside its window.
    case failed
    /// A required input has no value (no default, no inputs file entry).
    case needsInputs = "needs-inputs"

    /// Whether apply acts on it (starts or continues a run).
    public var acts: Bool { self == .send || self == .resume }
}

/// The exit code a broadcast's state contributes to `masscast apply` (the folder exits with
/// the worst: the highest). docs/pipeline-format.md, "Exit codes".
public enum ReconcileExitClass: Int32, Sendable, Hashable, Codable, Comparable {
    /// Done, nothing to do, or waiting for its window.
    case ok = 0
    /// Its last run failed.
    case failed = 1
    /// Invalid input: a required input has no value.
    case invalid = 2
    /// Not run: its schedule window closed.
    case outsideWindow = 4
    /// Refused or blocked: drift, a lease held by another applier, quota, a missing approval.
    case refused = 6

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Why a broadcast cannot be sent now, found by the caller (quota counts, approvals,
/// preflight are facts it gathers).
public struct ReconcileBlocker: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The day's (or month's) sends left are fewer than it needs.
        case quota
        /// `masscast.yaml` requires an approval and there is no valid one.
        case approval
        /// A to-all send without `--confirm-to-all NAME` (and no approval requirement).
        case confirmation
        /// The read-only preflight calls showed it cannot work (a tag that does not exist).
        case preflight
    }

    public var kind: Kind
    /// One line: what is missing and how to get past it.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Quota and confirmation depend on the day and the command line: a broadcast whose
    /// window is not open yet is not blocked by them (yet).
    var appliesBeforeWindow: Bool { kind == .approval || kind == .preflight }
}

/// A send the journal holds for the broadcast's current generation.
public struct ReconcileSentCall: Sendable, Hashable, Codable {
    public var step: String
    /// From 0, as the journal keeps it.
    public var batch: Int
    /// OpenIDs in the call (0 for a tag or to-all send).
    public var recipients: Int
    public var msgID: Int64?
    /// `sent`; `intent` or `unknown` when the outcome is not known.
    public var state: JournalEntry.State
    /// The journaled content digest (`v3:` + hex, or an earlier scheme).
    public var contentDigest: String
    /// Field path → value or short digest, as journaled (`nil` in old entries).
    public var fields: [String: String]?

    public init(
        step: String, batch: Int, recipients: Int, msgID: Int64? = nil, state: JournalEntry.State,
        contentDigest: String, fields: [String: String]? = nil
    ) {
        self.step = step
        self.batch = batch
        self.recipients = recipients
        self.msgID = msgID
        self.state = state
        self.contentDigest = contentDigest
        self.fields = fields
    }
}

/// What a send step would send now, from the file in git.
public struct ReconcileContent: Sendable, Hashable, Codable {
    /// The content digest in the journal's current scheme (`v3:` + hex); empty when it is not
    /// known before the run (a `mass/send` batch's digest covers its OpenIDs).
    public var contentDigest: String
    /// Field path → value or short digest (the journal's `contentFields` shape).
    public var fields: [String: String]

    /// A `mass/send` step's batches as a run would send them now, each as its journal entry's
    /// `audience` field says it (`2 OpenIDs, sha256:…`); `nil` when not read (the broadcast
    /// is not completed, or the audience cannot be read).
    public var batchAudiences: [String]?
    /// A `mass/send` step's recipients now (after dedupe), when read.
    public var recipients: Int?

    public init(contentDigest: String, fields: [String: String], batchAudiences: [String]? = nil, recipients: Int? = nil) {
        self.contentDigest = contentDigest
        self.fields = fields
        self.batchAudiences = batchAudiences
        self.recipients = recipients
    }
}

/// One difference between what was sent and what is in git now.
public struct ReconcileChange: Sendable, Hashable, Codable {
    public var step: String
    /// The field path (`text.content`, `filter.tag_id`), or `pipeline` for the file itself.
    public var field: String
    /// What was sent (`nil`: the field was not there).
    public var sent: String?
    /// What git has now (`nil`: gone).
    public var now: String?

    public init(step: String, field: String, sent: String?, now: String?) {
        self.step = step
        self.field = field
        self.sent = sent
        self.now = now
    }
}

/// The decision for one broadcast: the action, a reason a person reads, the exit class and
/// what the action needs said (when a window opens, what was sent, what differs, who holds it).
public struct ReconcileDecision: Sendable, Hashable, Codable {
    public var action: ReconcileAction
    /// One or two sentences: why, and what to do about it when something is needed.
    public var reason: String
    public var exitClass: ReconcileExitClass
    /// `wait`: when the window opens.
    public var opensAt: Date?
    /// `expire`: when the window closed.
    public var closedAt: Date?
    /// `expire`, `failed`, `resume`, `orphan`: what the journal holds of the current generation.
    public var sent: [ReconcileSentCall] = []
    /// `drift`: what differs between what was sent and what is in git.
    public var changes: [ReconcileChange] = []
    /// `blocked`: every reason it is blocked.
    public var blockers: [ReconcileBlocker] = []
    /// `busy`: who holds it.
    public var holder: String?
    /// The run concerned (`resume`, `failed`, `noop`, `drift`, `orphan`, `busy`).
    public var runID: String?
    /// `send`: it starts the broadcast's next generation (`--rerun`).
    public var newGeneration: Bool = false
    /// `failed`: whether apply runs it again (its window is open).
    public var retry: Bool = false

    public init(action: ReconcileAction, reason: String, exitClass: ReconcileExitClass) {
        self.action = action
        self.reason = reason
        self.exitClass = exitClass
    }

    /// Whether apply starts or continues a run for it.
    public var acts: Bool { action.acts || (action == .failed && retry) }
}

/// The reconcile table. `decide` is a pure function of its facts and `now`.
public enum Reconciler {
    /// What the store knows of the broadcast.
    public struct StoreFacts: Sendable, Hashable {
        /// The run that completed the current generation, and the pipeline digest it ran.
        public struct Completed: Sendable, Hashable {
            public var runID: String
            public var at: Date?
            /// SHA-256 (hex) of the pipeline file's bytes when that run started.
            public var pipelineDigest: String
            public init(runID: String, at: Date?, pipelineDigest: String) {
                self.runID = runID
                self.at = at
                self.pipelineDigest = pipelineDigest
            }
        }

        /// The newest run of the current generation that did not complete it.
        public struct Unfinished: Sendable, Hashable {
            public var runID: String
            public var status: RunStatus
            /// `running` and its owner is alive (another process is executing it now).
            public var ownerAlive: Bool
            public var owner: String?
            /// Its one-line message (why it stopped or failed).
            public var message: String?
            public init(runID: String, status: RunStatus, ownerAlive: Bool, owner: String? = nil, message: String? = nil) {
                self.runID = runID
                self.status = status
                self.ownerAlive = ownerAlive
                self.owner = owner
                self.message = message
            }
        }

        /// The per-broadcast lease (`masscast apply`).
        public struct Lease: Sendable, Hashable {
            public var owner: String
            public var expiresAt: Date
            public init(owner: String, expiresAt: Date) {
                self.owner = owner
                self.expiresAt = expiresAt
            }
        }

        /// The current generation (0: never run).
        public var generation: Int
        public var completed: Completed?
        public var unfinished: Unfinished?
        /// The journal's sends of the current generation, in order.
        public var sent: [ReconcileSentCall]
        public var lease: Lease?

        /// A broadcast the store has never seen.
        public static let neverRun = StoreFacts(generation: 0)

        public init(
            generation: Int, completed: Completed? = nil, unfinished: Unfinished? = nil,
            sent: [ReconcileSentCall] = [], lease: Lease? = nil
        ) {
            self.generation = generation
            self.completed = completed
            self.unfinished = unfinished
            self.sent = sent
            self.lease = lease
        }
    }

    /// What git has now.
    public enum Source: Sendable, Hashable {
        /// The pipeline file is gone.
        case gone
        case present(Pipeline)

        public struct Pipeline: Sendable, Hashable {
            /// SHA-256 (hex) of the pipeline file's bytes.
            public var digest: String
            /// `apply: manual`: only `masscast run` runs it.
            public var manual: Bool
            /// It has a send step (`mass/sendall`, `mass/send`); without one it is not a broadcast.
            public var hasSend: Bool
            /// Required inputs with no value (no default, not in the inputs file).
            public var missingInputs: [String]
            /// What each send step would send now, by step id (`nil`: not computed, e.g. the
            /// inputs are missing); compared with the journal to name a drift.
            public var contents: [String: ReconcileContent]?
            /// The irreversible calls a complete run makes (send batches), when known.
            public var plannedSends: Int?

            public init(
                digest: String, manual: Bool = false, hasSend: Bool = true, missingInputs: [String] = [],
                contents: [String: ReconcileContent]? = nil, plannedSends: Int? = nil
            ) {
                self.digest = digest
                self.manual = manual
                self.hasSend = hasSend
                self.missingInputs = missingInputs
                self.contents = contents
                self.plannedSends = plannedSends
            }
        }
    }

    /// The schedule window (either end open).
    public struct Window: Sendable, Hashable {
        public var notBefore: Date?
        public var notAfter: Date?
        public static let always = Window()
        public init(notBefore: Date? = nil, notAfter: Date? = nil) {
            self.notBefore = notBefore
            self.notAfter = notAfter
        }
    }

    /// Everything `decide` looks at.
    public struct Facts: Sendable, Hashable {
        public var name: String
        public var source: Source
        public var store: StoreFacts
        public var window: Window
        /// Quota, approval, confirmation and preflight findings.
        public var blockers: [ReconcileBlocker]
        /// Who is asking (`host:pid`): a lease it holds itself does not make it busy.
        public var applier: String
        /// `--allow-late`.
        public var allowLate: Bool
        /// `--rerun NAME` for this broadcast.
        public var rerun: Bool

        public init(
            name: String, source: Source, store: StoreFacts, window: Window = .always,
            blockers: [ReconcileBlocker] = [], applier: String = "", allowLate: Bool = false, rerun: Bool = false
        ) {
            self.name = name
            self.source = source
            self.store = store
            self.window = window
            self.blockers = blockers
            self.applier = applier
            self.allowLate = allowLate
            self.rerun = rerun
        }
    }

    /// The decision for one broadcast at `now`.
    public static func decide(_ facts: Facts, now: Date) -> ReconcileDecision {
        let store = facts.store
        guard case .present(let pipeline) = facts.source else { return gone(facts) }
        if !pipeline.hasSend {
            return ReconcileDecision(
                action: .noop,
                reason: "not a broadcast (no mass/sendall or mass/send step): run it with `masscast run`",
                exitClass: .ok)
        }
        if pipeline.manual {
            return ReconcileDecision(
                action: .noop, reason: "apply: manual: apply leaves it alone; send it with `masscast run`",
                exitClass: .ok)
        }
        if !pipeline.missingInputs.isEmpty {
            let names = pipeline.missingInputs.joined(separator: ", ")
            var d = ReconcileDecision(
                action: .needsInputs,
                reason: "required input\(pipeline.missingInputs.count == 1 ? "" : "s") \(names) "
                    + "\(pipeline.missingInputs.count == 1 ? "has" : "have") no value: give "
                    + "\(pipeline.missingInputs.count == 1 ? "it" : "them") a default or commit "
                    + "\(facts.name).inputs.yaml beside the pipeline",
                exitClass: .invalid)
            d.runID = store.unfinished?.runID
            return d
        }
        if let busy = busy(facts, now: now) { return busy }

        let known = store.completed != nil || store.unfinished != nil
        if facts.rerun && known { return fresh(facts, now: now, newGeneration: true) }
        if let completed = store.completed { return completedState(facts, pipeline: pipeline, completed: completed) }
        if let unfinished = store.unfinished { return continuing(facts, unfinished: unfinished, now: now) }
        return fresh(facts, now: now, newGeneration: false)
    }

    // MARK: The rows

    private static func gone(_ facts: Facts) -> ReconcileDecision {
        let store = facts.store
        if let completed = store.completed {
            var d = ReconcileDecision(
                action: .orphan,
                reason: "its file is gone; it was sent\(completed.at.map { " (completed \(stamp($0)))" } ?? "") "
                    + "and a sent broadcast is never retracted",
                exitClass: .ok)
            d.runID = completed.runID
            d.sent = store.sent
            return d
        }
        if let unfinished = store.unfinished {
            var d = ReconcileDecision(
                action: .orphan,
                reason: "its file is gone while its run \(unfinished.runID) is \(display(unfinished)) "
                    + "(\(sentSummary(store.sent, planned: nil))); nothing more is sent; restore the file to continue it",
                exitClass: .ok)
            d.runID = unfinished.runID
            d.sent = store.sent
            return d
        }
        return ReconcileDecision(action: .noop, reason: "its file is gone and it never ran", exitClass: .ok)
    }

    private static func busy(_ facts: Facts, now: Date) -> ReconcileDecision? {
        if let lease = facts.store.lease, lease.owner != facts.applier, lease.expiresAt > now {
            var d = ReconcileDecision(
                action: .busy,
                reason: "another applier (\(lease.owner)) holds it until \(stamp(lease.expiresAt)); "
                    + "apply again after it is done",
                exitClass: .refused)
            d.holder = lease.owner
            d.runID = facts.store.unfinished?.runID
            return d
        }
        if let unfinished = facts.store.unfinished, unfinished.status == .running, unfinished.ownerAlive {
            var d = ReconcileDecision(
                action: .busy,
                reason: "its run \(unfinished.runID) is running\(unfinished.owner.map { " in \($0)" } ?? ""); "
                    + "apply again after it is done",
                exitClass: .refused)
            d.holder = unfinished.owner
            d.runID = unfinished.runID
            return d
        }
        return nil
    }

    private static func completedState(
        _ facts: Facts, pipeline: Source.Pipeline, completed: StoreFacts.Completed
    ) -> ReconcileDecision {
        let changes = differences(facts.store.sent, pipeline: pipeline, completed: completed)
        if changes.isEmpty {
            var d = ReconcileDecision(
                action: .noop,
                reason: "sent\(completed.at.map { " \(stamp($0))" } ?? "") in run \(completed.runID); "
                    + "its source is unchanged",
                exitClass: .ok)
            d.runID = completed.runID
            return d
        }
        let named = changes.filter { $0.field != "pipeline" }
        let what =
            named.isEmpty
            ? "the pipeline file changed; what was sent is unchanged"
            : "what was sent differs in " + named.map { "\($0.step).\($0.field)" }.joined(separator: ", ")
        var d = ReconcileDecision(
            action: .drift,
            reason: "sent\(completed.at.map { " \(stamp($0))" } ?? "") in run \(completed.runID), and \(what) since; "
                + "nothing is re-sent (`--rerun \(facts.name)` sends it again as a new broadcast)",
            exitClass: .refused)
        d.changes = changes
        d.runID = completed.runID
        return d
    }

    /// Never run, or `--rerun`: send when the window is open and nothing blocks it.
    private static func fresh(_ facts: Facts, now: Date, newGeneration: Bool) -> ReconcileDecision {
        if let closed = facts.window.notAfter, now > closed, !facts.allowLate {
            var d = ReconcileDecision(
                action: .expire,
                reason: "its window closed \(stamp(closed)) before it was sent; nothing was sent "
                    + "(`--allow-late` sends it anyway)",
                exitClass: .outsideWindow)
            d.closedAt = closed
            return d
        }
        if let blocked = blocked(facts, beforeWindow: true) { return blocked }
        if let opens = facts.window.notBefore, now < opens {
            var d = ReconcileDecision(
                action: .wait, reason: "its window opens \(stamp(opens)); an apply after that sends it",
                exitClass: .ok)
            d.opensAt = opens
            return d
        }
        if let blocked = blocked(facts, beforeWindow: false) { return blocked }
        var d = ReconcileDecision(
            action: .send,
            reason: newGeneration
                ? "--rerun: a new generation (new clientmsgids) is sent"
                : "never sent; its window is open",
            exitClass: .ok)
        if let closed = facts.window.notAfter, now > closed {
            d.reason = (newGeneration ? "--rerun: a new generation is sent" : "never sent")
                + "; its window closed \(stamp(closed)) and --allow-late sends it anyway"
        }
        d.newGeneration = newGeneration
        return d
    }

    /// A run of the current generation that did not complete: stopped, interrupted or failed.
    /// Every decision about it names the run and what it sent.
    private static func continuing(
        _ facts: Facts, unfinished: StoreFacts.Unfinished, now: Date
    ) -> ReconcileDecision {
        var d = continuingDecision(facts, unfinished: unfinished, now: now)
        d.sent = facts.store.sent
        d.runID = unfinished.runID
        return d
    }

    private static func continuingDecision(
        _ facts: Facts, unfinished: StoreFacts.Unfinished, now: Date
    ) -> ReconcileDecision {
        let sent = facts.store.sent
        let planned: Int? = {
            if case .present(let p) = facts.source { return p.plannedSends }
            return nil
        }()
        let summary = sentSummary(sent, planned: planned)
        if let closed = facts.window.notAfter, now > closed, !facts.allowLate {
            var d = ReconcileDecision(
                action: .expire,
                reason: "its window closed \(stamp(closed)) while its run \(unfinished.runID) was "
                    + "\(display(unfinished)): \(summary); no further batch is sent (`--allow-late` continues it)",
                exitClass: .outsideWindow)
            d.closedAt = closed
            return d
        }
        if let blocked = blocked(facts, beforeWindow: true) { return blocked }
        if let opens = facts.window.notBefore, now < opens {
            var d = ReconcileDecision(
                action: .wait,
                reason: "its run \(unfinished.runID) is \(display(unfinished)) (\(summary)); its window opens "
                    + "\(stamp(opens)); an apply after that continues it",
                exitClass: .ok)
            d.opensAt = opens
            return d
        }
        if let blocked = blocked(facts, beforeWindow: false) { return blocked }
        let late: String = {
            guard let closed = facts.window.notAfter, now > closed else { return "" }
            return "; its window closed \(stamp(closed)) and --allow-late continues it anyway"
        }()
        if unfinished.status == .failed {
            var d = ReconcileDecision(
                action: .failed,
                reason: "its last run \(unfinished.runID) failed"
                    + "\(unfinished.message.map { ": \($0)" } ?? "") (\(summary)); apply runs it again "
                    + "inside its window: what was sent is not sent again\(late)",
                exitClass: .failed)
            d.retry = true
            return d
        }
        return ReconcileDecision(
            action: .resume,
            reason: "its run \(unfinished.runID) is \(display(unfinished))"
                + "\(unfinished.message.map { " (\($0))" } ?? ""): \(summary); apply continues it, "
                + "what was sent is not sent again\(late)",
            exitClass: .ok)
    }

    private static func blocked(_ facts: Facts, beforeWindow: Bool) -> ReconcileDecision? {
        let found = facts.blockers.filter { beforeWindow ? $0.appliesBeforeWindow : !$0.appliesBeforeWindow }
        guard !found.isEmpty else { return nil }
        var d = ReconcileDecision(
            action: .blocked, reason: found.map(\.message).joined(separator: "; "), exitClass: .refused)
        d.blockers = found
        return d
    }

    // MARK: Drift

    /// What differs between the completed generation's sends and what git would send now.
    static func differences(
        _ sent: [ReconcileSentCall], pipeline: Source.Pipeline, completed: StoreFacts.Completed
    ) -> [ReconcileChange] {
        var changes: [ReconcileChange] = []
        if let contents = pipeline.contents {
            var seen = Set<String>()
            for call in sent where call.state == .sent && seen.insert(call.step).inserted {
                guard let now = contents[call.step] else {
                    changes.append(ReconcileChange(step: call.step, field: "step", sent: call.step, now: nil))
                    continue
                }
                if let audiences = now.batchAudiences {
                    changes += sendDifferences(
                        step: call.step, sent: sent.filter { $0.step == call.step && $0.state == .sent }, now: now,
                        audiences: audiences)
                    continue
                }
                // An empty digest: the step is there, its content is not computed before the run.
                if now.contentDigest.isEmpty || call.contentDigest == now.contentDigest { continue }
                let comparable = scheme(call.contentDigest) == scheme(now.contentDigest)
                guard let old = call.fields else {
                    if comparable {
                        changes.append(
                            ReconcileChange(
                                step: call.step, field: "content", sent: call.contentDigest, now: now.contentDigest))
                    }
                    continue
                }
                let fieldChanges = diff(step: call.step, old: old, new: now.fields)
                if fieldChanges.isEmpty, comparable {
                    changes.append(
                        ReconcileChange(step: call.step, field: "content", sent: call.contentDigest, now: now.contentDigest))
                }
                changes += fieldChanges
            }
        }
        if changes.isEmpty, pipeline.digest != completed.pipelineDigest {
            changes.append(
                ReconcileChange(
                    step: "", field: "pipeline", sent: "sha256:" + completed.pipelineDigest.prefix(12),
                    now: "sha256:" + pipeline.digest.prefix(12)))
        }
        return changes
    }

    /// A completed `mass/send` step: its payload's fields (the journal's, without `audience`)
    /// and its audience, batch by batch (each journal entry's `audience` field, which depends
    /// on the OpenIDs only), against what the file in git and its audience file give now.
    /// Entries written without fields are not compared (the pipeline's digest still is).
    static func sendDifferences(
        step: String, sent: [ReconcileSentCall], now: ReconcileContent, audiences: [String]
    ) -> [ReconcileChange] {
        let journaled = sent.sorted { $0.batch < $1.batch }
        guard let first = journaled.first?.fields else { return [] }
        var payload = first
        payload["audience"] = nil
        var changes = diff(step: step, old: payload, new: now.fields)
        let before = journaled.map { $0.fields?["audience"] }
        guard before.allSatisfy({ $0 != nil }) else { return changes }
        if before.compactMap({ $0 }) != audiences {
            let sentRecipients = journaled.reduce(0) { $0 + $1.recipients }
            func batches(_ n: Int) -> String { "\(n) batch\(n == 1 ? "" : "es")" }
            changes.append(
                ReconcileChange(
                    step: step, field: "audience",
                    sent: "\(sentRecipients) recipients in \(batches(journaled.count))",
                    now: (now.recipients.map { "\($0) recipients" } ?? "other recipients") + " in \(batches(audiences.count))"
                        + " (the audience file changed)"))
        }
        return changes
    }

    private static func diff(step: String, old: [String: String], new: [String: String]) -> [ReconcileChange] {
        Set(old.keys).union(new.keys).sorted().compactMap { key in
            old[key] == new[key] ? nil : ReconcileChange(step: step, field: key, sent: old[key], now: new[key])
        }
    }

    private static func scheme(_ digest: String) -> String {
        guard let colon = digest.firstIndex(of: ":") else { return "" }
        return String(digest[...colon])
    }

    // MARK: Wording

    private static func display(_ run: StoreFacts.Unfinished) -> String {
        run.status.display(ownerAlive: run.ownerAlive)
    }

    /// "2 of 3 sends made (20000 recipients), 1 with an unknown outcome".
    static func sentSummary(_ sent: [ReconcileSentCall], planned: Int?) -> String {
        let made = sent.filter { $0.state == .sent }
        let unknown = sent.filter { $0.state == .intent || $0.state == .unknown }.count
        if made.isEmpty && unknown == 0 { return "nothing was sent" }
        let recipients = made.reduce(0) { $0 + $1.recipients }
        let plural = (planned ?? made.count) == 1 ? "" : "s"
        var text = "\(made.count)\(planned.map { " of \($0)" } ?? "") send\(plural) made"
        if recipients > 0 { text += " (\(recipients) recipients)" }
        let where_ = made.map { "\($0.step) batch \($0.batch)\($0.msgID.map { " msg_id \($0)" } ?? "")" }
        if !where_.isEmpty { text += ": " + where_.joined(separator: ", ") }
        if unknown > 0 { text += "; \(unknown) with an unknown outcome" }
        return text
    }

    static func stamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
