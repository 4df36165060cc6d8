import Foundation

/// What `beginRun` decided.
public enum BeginRunResult: Sendable, Hashable {
    /// A new run was created with this generation.
    case started(RunRecord)
    /// The broadcast's current generation already completed in `runID`; nothing to do
    /// (unless the caller asks for the next generation).
    case alreadyCompleted(runID: String, completedAt: Date?)
    /// Another run of the same broadcast is in progress and its owner is alive.
    case busy(runID: String, owner: String)
    /// The current generation has a run that stopped, failed, or whose owner is gone: the
    /// caller continues it (`claimRun`) instead of starting over.
    case unfinished(RunRecord)
    /// `nextGeneration` was asked while sends of the current generation have an unknown
    /// outcome (journal `intent` or `unknown`): starting over could send them twice.
    case rerunRefused(generation: Int, unknownSends: [JournalEntry])
}

/// The result of taking over a run for `resume`.
public enum ClaimResult: Sendable, Hashable {
    case claimed(RunRecord)
    case notFound
    /// The run succeeded: nothing to continue.
    case finished(RunStatus)
    /// Another process holds it and is alive.
    case held(owner: String)
    /// The run belongs to an earlier generation of its broadcast (completed, or abandoned
    /// by `--rerun`): it is never continued.
    case superseded(currentGeneration: Int)
}

/// Whether a run's owner still holds it: `(owner "host:pid", its last heartbeat)`.
public typealias OwnerLiveness = @Sendable (_ owner: String, _ heartbeatAt: Date?) -> Bool

/// Durable state of broadcasts, their runs, steps and attempts: what the runner records as it
/// goes and what `resume` and `masscast runs` read.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol RunStore: Sendable {
    /// The broadcast's record, or `nil` if it never ran.
    func broadcast(_ identity: BroadcastIdentity) async throws -> BroadcastRecord?

    /// Starts a run of `identity` in one transaction:
    /// - creates the broadcast at generation 1 if new (a broadcast recorded before project ids
    ///   existed, with the same identity but no project, is taken over: it gets the project
    ///   and keeps its generation and key format);
    /// - if another run of it is `running` and `isOwnerAlive` says its owner lives: `.busy`;
    /// - with `nextGeneration`: `.rerunRefused` while a send of the current generation has an
    ///   unknown outcome (a rehearsal's, whose sandbox is gone, never blocks), else the next generation starts (the current one, completed or
    ///   not, is abandoned) with `template.keyFormat`;
    /// - without: `.alreadyCompleted` when the current generation completed; `.unfinished`
    ///   with the newest run of the current generation that stopped, failed or lost its owner;
    ///   otherwise a new run.
    /// `template` supplies everything but `generation` and `keyFormat` of an existing
    /// generation (which the store sets).
    func beginRun(
        _ template: RunRecord, nextGeneration: Bool, isOwnerAlive: OwnerLiveness
    ) async throws -> BeginRunResult

    /// Takes over a `running`, `stopped` or `failed` run of the broadcast's current generation
    /// for `owner`, when its previous owner is gone.
    func claimRun(_ runID: String, owner: String, now: Date, isOwnerAlive: OwnerLiveness) async throws
        -> ClaimResult

    /// Sets a run's status and message (and `endedAt` for succeeded/failed/stopped); when
    /// `succeeded`, marks its generation of the broadcast completed.
    func finishRun(_ runID: String, status: RunStatus, message: String?, at: Date) async throws

    /// Refreshes the owner's heartbeat.
    func heartbeat(_ runID: String, owner: String, at: Date) async throws

    func run(_ runID: String) async throws -> RunRecord?
    /// Newest first.
    func runs(limit: Int) async throws -> [RunRecord]

    // MARK: Steps and attempts

    /// Inserts or replaces the step's record.
    func saveStep(_ step: StepRecord) async throws
    /// Appends `attempts` (in order), then inserts or replaces the step's record, in one
    /// transaction: how a step's last attempt and its end are recorded together.
    func saveStep(_ step: StepRecord, appending attempts: [AttemptRecord]) async throws
    /// Like `saveStep(_:appending:)`, without waiting for the commit: the write is queued
    /// behind the writes already made and is committed before any write made later returns.
    /// For records a crash may lose: a step's start, or the end of a step that makes no
    /// irreversible call (resume runs an unfinished step again; sends are in the journal,
    /// whose writes are awaited). Errors are ignored.
    func queueStepSave(_ step: StepRecord, appending attempts: [AttemptRecord]) async
    /// In pipeline order of first save.
    func steps(runID: String) async throws -> [StepRecord]
    func appendAttempt(_ attempt: AttemptRecord) async throws
    /// In the order they were appended.
    func attempts(runID: String) async throws -> [AttemptRecord]
}

extension RunStore {
    /// The attempts, then the step, each in its own transaction (a store that can do better
    /// writes them in one).
    public func saveStep(_ step: StepRecord, appending attempts: [AttemptRecord]) async throws {
        for attempt in attempts { try await appendAttempt(attempt) }
        try await saveStep(step)
    }

    /// Saves at once (a store that has a write queue only queues the write).
    public func queueStepSave(_ step: StepRecord, appending attempts: [AttemptRecord]) async {
        try? await saveStep(step, appending: attempts)
    }
}
