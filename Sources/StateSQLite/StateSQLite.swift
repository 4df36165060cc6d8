import Foundation
import GRDB
import RunState

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `StateStore` in one SQLite file (WAL mode), shared safely by several masscast
/// processes on the same machine.
///
/// The file is created with mode 0600 (it holds the token cache) in a directory created 0700.
/// Every method is one transaction: once it returns, the change survives `kill -9`. A send's
/// journal intent is committed with `synchronous = FULL` and so also survives a power cut
/// (with every commit before it); the other writes use `synchronous = NORMAL`, which WAL
/// makes safe against a killed process. Writers wait up to 10 s for one another.
/// See `docs/state.md` ("Durability") for the reasoning, the schema and how to inspect the file.
public final class SQLiteStateStore: StateStore, Sendable {
    /// Where masscast keeps its state unless `--state` says otherwise (relative to the
    /// working directory).
    public static let defaultPath = ".masscast/state.sqlite"

    /// The newest schema version this code knows (`PRAGMA user_version` of a current file).
    public static let schemaVersion = Schema.version

    /// The database file, as given to `init(path:)`.
    public let path: String

    /// The file's path (`StateStore.displayLocation`).
    public var displayLocation: String { path }

    /// The file's folder (`StateStore.localFolder`).
    public var localFolder: String? { (path as NSString).deletingLastPathComponent }

    private let pool: DatabasePool
    /// Step saves queued by `queueStepSave`, not yet taken by the writer.
    private let queuedSaves = QueuedStepSaves()
    /// Pushes waiting for the inbox's next group commit.
    let inboxCommits = InboxCommits()

    /// Opens the state file at `path`, creating it (0600) and its directory (0700) if missing,
    /// and brings its schema up to date.
    ///
    /// - Throws: `StateStoreError` when the file cannot be created or opened, is not a
    ///   masscast state database, or was written by a newer masscast (`.newerSchema`).
    public init(path: String) throws {
        self.path = path
        guard !path.isEmpty else {
            throw StateStoreError(
                code: .invalidPath, path: path, message: "cannot open state file: the path is empty",
                hint: "pass --state PATH, or leave it out to use \(Self.defaultPath)")
        }
        try Self.prepareFile(path)

        var configuration = Configuration()
        configuration.label = "masscast.state"
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // Deleted rows (an invalidated token) are overwritten, not left in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        // GRDB sets `synchronous = NORMAL` for WAL: a commit survives a killed process (it is
        // in the WAL file, which SQLite recovers on the next open) but not necessarily a power
        // cut. A journal intent switches to FULL for its commit (`journal(_:)`), which also
        // makes every earlier commit durable.
        //
        // Switching a new file to WAL can answer SQLITE_BUSY at once (not after the busy
        // timeout) when other processes open the same new file at that moment: try again.
        var opened: DatabasePool?
        for attempt in 1...5 {
            do {
                opened = try DatabasePool(path: path, configuration: configuration)
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 5 {
                usleep(useconds_t(20_000 * attempt))
            } catch {
                throw StateStoreError.wrap(error, action: "cannot open", path: path)
            }
        }
        guard let opened else {
            throw StateStoreError(code: .busy, path: path, message: "cannot open state file \(path): it stayed busy")
        }
        pool = opened
        try Self.migrate(pool, path: path)
        Self.alignSidecarModes(path)
    }

    /// A store in a new private temporary directory, for rehearsals (`run --sandbox`) that
    /// must never block or complete the real broadcast. The files stay until the system
    /// clears its temporary directory.
    public static func temporary() throws -> SQLiteStateStore {
        let base = FileManager.default.temporaryDirectory.path
        let directory = (base as NSString).appendingPathComponent("masscast-state-\(UUID().uuidString.lowercased())")
        let path = (directory as NSString).appendingPathComponent("state.sqlite")
        try makeDirectories(directory, path: path)
        return try SQLiteStateStore(path: path)
    }

    /// Closes the database connections (later calls throw). Closing is optional: the
    /// connections also close when the store is released.
    public func close() throws {
        do {
            if !queuedSaves.isEmpty { try pool.write { db in try self.commitQueuedSaves(db) } }
            try pool.close()
        } catch { throw StateStoreError.wrap(error, action: "cannot close", path: path) }
    }

    // MARK: - Broadcasts and runs

    public func broadcast(_ identity: BroadcastIdentity) async throws -> BroadcastRecord? {
        try await read("cannot read a broadcast from") { db in
            try Self.broadcastRow(db, identity).map { try BroadcastRecord(stored: $0) }
        }
    }

    /// Starts a run of `template.identity` (see `RunStore.beginRun`).
    public func beginRun(
        _ template: RunRecord, nextGeneration: Bool, isOwnerAlive: OwnerLiveness
    ) async throws -> BeginRunResult {
        try await write("cannot start a run in") { db in
            let identity = template.identity
            let now = Millis.encode(Date())
            if try Self.broadcastRow(db, identity) == nil {
                // A broadcast recorded before its project had an id: the same broadcast. It
                // takes the project and keeps its generation and key format.
                var legacy = identity
                legacy.project = ""
                if !identity.project.isEmpty, let old = try Self.broadcastRow(db, legacy) {
                    try db.execute(
                        sql: "UPDATE broadcasts SET project = ? WHERE id = ?",
                        arguments: [identity.project, try old.value("id", as: Int64.self)])
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO broadcasts (project, app_id, api, name, inputs_json, generation, key_format, created_at)
                            VALUES (?, ?, ?, ?, ?, 1, ?, ?)
                            """,
                        arguments: [
                            identity.project, identity.appID, identity.api, identity.name, identity.inputsJSON,
                            template.keyFormat, now,
                        ])
                }
            }
            guard let row = try Self.broadcastRow(db, identity) else {
                throw StateStoreError(code: .other, path: self.path, message: "cannot create the broadcast")
            }
            let broadcastID: Int64 = try row.value("id")
            var broadcast = try BroadcastRecord(stored: row)

            let live = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Columns.run) FROM \(Columns.runFrom)
                    WHERE runs.broadcast_id = ? AND runs.status = 'running'
                    ORDER BY runs.created_at DESC, runs.rowid DESC
                    """,
                arguments: [broadcastID]
            ).map { try RunRecord(stored: $0) }
            for run in live {
                if let owner = run.owner, isOwnerAlive(owner, run.heartbeatAt) {
                    return .busy(runID: run.id, owner: owner)
                }
            }

            let generationHasRuns =
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM runs WHERE broadcast_id = ? AND generation = ? LIMIT 1",
                    arguments: [broadcastID, broadcast.generation]) == true
            if nextGeneration && generationHasRuns {
                let unknown = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT journal.* FROM journal JOIN runs ON runs.id = journal.run_id
                        WHERE runs.broadcast_id = ? AND runs.generation = ? AND journal.state IN ('intent', 'unknown')
                          AND journal.key NOT LIKE 'preview:%' AND journal.key NOT LIKE 'delete:%' AND journal.api NOT LIKE 'sandbox:%'
                        ORDER BY journal.first_attempt_at, journal.batch
                        """,
                    arguments: [broadcastID, broadcast.generation]
                ).map { try JournalEntry(stored: $0) }
                if !unknown.isEmpty {
                    return .rerunRefused(generation: broadcast.generation, unknownSends: unknown)
                }
                broadcast.generation += 1
                broadcast.keyFormat = template.keyFormat
                try db.execute(
                    sql: """
                        UPDATE broadcasts SET generation = ?, key_format = ?, completed_run_id = NULL, completed_at = NULL
                        WHERE id = ?
                        """,
                    arguments: [broadcast.generation, broadcast.keyFormat, broadcastID])
            } else if nextGeneration {
                // Nothing ran in the current generation yet: it is the new one.
            } else if let completedRunID = broadcast.completedRunID {
                return .alreadyCompleted(runID: completedRunID, completedAt: broadcast.completedAt)
            } else if let unfinished = try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Columns.run) FROM \(Columns.runFrom)
                    WHERE runs.broadcast_id = ? AND runs.generation = ? AND runs.status IN ('running', 'stopped', 'failed')
                    ORDER BY runs.created_at DESC, runs.rowid DESC LIMIT 1
                    """,
                arguments: [broadcastID, broadcast.generation])
            {
                return .unfinished(try RunRecord(stored: unfinished))
            }

            var run = template.normalized
            run.generation = broadcast.generation
            run.keyFormat = broadcast.keyFormat
            run.identity.project = identity.project
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [run.id]) == true {
                throw StateStoreError(
                    code: .other, path: self.path,
                    message: "cannot start run \(run.id) in state file \(self.path): a run with this id already exists",
                    hint: "use `masscast resume \(run.id)` to continue it")
            }
            try db.execute(
                sql: """
                    INSERT INTO runs (id, broadcast_id, generation, key_format, pipeline_file, pipeline_digest, inputs_json,
                        account_name, sandbox, status, message, created_at, updated_at, ended_at, owner, heartbeat_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.id, broadcastID, run.generation, run.keyFormat, run.pipelineFile, run.pipelineDigest,
                    run.inputsJSON, run.accountName, run.sandbox, run.status.rawValue, run.message,
                    Millis.encode(run.createdAt), Millis.encode(run.updatedAt), Millis.encode(run.endedAt), run.owner,
                    Millis.encode(run.heartbeatAt),
                ])
            try Self.bumpSerial(db, broadcastID: broadcastID)
            return .started(run)
        }
    }

    /// Takes over a `running`, `stopped` or `failed` run (see `RunStore.claimRun`). The
    /// same owner may claim its own run again. A claimed run is `running` again: its `endedAt`
    /// and `message` are cleared, `owner`, `heartbeatAt` and `updatedAt` set.
    public func claimRun(
        _ runID: String, owner: String, now: Date, isOwnerAlive: OwnerLiveness
    ) async throws -> ClaimResult {
        try await write("cannot claim run \(runID) in") { db in
            guard var run = try Self.runRow(db, runID) else { return .notFound }
            let current = try Int.fetchOne(
                db, sql: "SELECT broadcasts.generation FROM \(Columns.runFrom) WHERE runs.id = ?", arguments: [runID])
            switch run.status {
            case .succeeded:
                return .finished(run.status)
            case .running, .stopped, .failed:
                if let current, current != run.generation { return .superseded(currentGeneration: current) }
                // A failed run's runner is done with it; a running or stopped one may still
                // hold it (a stopped run's process may be waiting at a confirmation).
                if run.status != .failed, let previous = run.owner, previous != owner,
                    isOwnerAlive(previous, run.heartbeatAt)
                {
                    return .held(owner: previous)
                }
            }
            let at = Millis.normalize(now)
            run.status = .running
            run.owner = owner
            run.heartbeatAt = at
            run.updatedAt = at
            run.endedAt = nil
            run.message = nil
            try db.execute(
                sql: """
                    UPDATE runs SET status = 'running', owner = ?, heartbeat_at = ?, updated_at = ?,
                        ended_at = NULL, message = NULL
                    WHERE id = ?
                    """,
                arguments: [owner, Millis.encode(at), Millis.encode(at), runID])
            try Self.bumpSerial(db, runID: runID)
            return .claimed(run)
        }
    }

    /// Sets the run's status and message (see `RunStore.finishRun`). When `succeeded` and
    /// the run's generation is still the broadcast's current one, the generation is marked
    /// completed by this run (unless another run completed it first).
    ///
    /// - Throws: `StateStoreError` of kind `.notFound` if there is no such run.
    public func finishRun(_ runID: String, status: RunStatus, message: String?, at: Date) async throws {
        try await write("cannot finish run \(runID) in") { db in
            let ms = Millis.encode(at)
            let ends = status != .running
            try db.execute(
                sql: """
                    UPDATE runs SET status = ?, message = ?, updated_at = ?,
                        ended_at = CASE WHEN ? THEN ? ELSE ended_at END
                    WHERE id = ?
                    """,
                arguments: [status.rawValue, message, ms, ends, ms, runID])
            guard db.changesCount > 0 else { throw self.runNotFound(runID, action: "cannot finish") }
            try Self.bumpSerial(db, runID: runID)
            if status == .succeeded {
                try db.execute(
                    sql: """
                        UPDATE broadcasts SET completed_run_id = ?, completed_at = ?
                        WHERE completed_run_id IS NULL
                          AND (id, generation) = (SELECT broadcast_id, generation FROM runs WHERE id = ?)
                        """,
                    arguments: [runID, ms, runID])
            }
        }
    }

    /// Refreshes the heartbeat of `runID` held by `owner`.
    ///
    /// - Throws: `StateStoreError` of kind `.notFound` if there is no such run, `.notOwner` if
    ///   another runner has taken it over (the caller must stop working on it).
    public func heartbeat(_ runID: String, owner: String, at: Date) async throws {
        try await write("cannot record a heartbeat of run \(runID) in") { db in
            try db.execute(
                sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND owner IS ?",
                arguments: [Millis.encode(at), runID, owner])
            guard db.changesCount == 0 else { return }
            guard let run = try Self.runRow(db, runID) else {
                throw self.runNotFound(runID, action: "cannot record a heartbeat of")
            }
            throw StateStoreError(
                code: .notOwner, path: self.path,
                message: "run \(runID) in state file \(self.path) is now owned by \(run.owner ?? "nobody"), not \(owner)",
                hint: "another masscast process took it over; this one must stop working on it")
        }
    }

    public func run(_ runID: String) async throws -> RunRecord? {
        try await read("cannot read run \(runID) from") { db in try Self.runRow(db, runID) }
    }

    /// The newest `limit` runs (by `createdAt`), newest first.
    public func runs(limit: Int) async throws -> [RunRecord] {
        guard limit > 0 else { return [] }
        return try await read("cannot list runs in") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Columns.run) FROM \(Columns.runFrom) ORDER BY runs.created_at DESC, runs.rowid DESC LIMIT ?",
                arguments: [limit]
            ).map { try RunRecord(stored: $0) }
        }
    }

    // MARK: - Steps and attempts

    /// Inserts the step, or replaces the record with the same run and step id while keeping
    /// its place in the order of first save.
    public func saveStep(_ step: StepRecord) async throws {
        try await write("cannot save step \(step.stepID) in") { db in try Self.upsertStep(db, step) }
    }

    /// (A cached statement: a run saves a step or two per step, and compiling the SQL each
    /// time cost more than executing it.)
    private static func upsertStep(_ db: Database, _ step: StepRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO steps (run_id, step_id, uses, state, outcome, conclusion, errcode, outputs_json,
                    message, started_at, ended_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (run_id, step_id) DO UPDATE SET
                    uses = excluded.uses, state = excluded.state, outcome = excluded.outcome,
                    conclusion = excluded.conclusion, errcode = excluded.errcode,
                    outputs_json = excluded.outputs_json, message = excluded.message,
                    started_at = excluded.started_at, ended_at = excluded.ended_at
                """
        ).execute(arguments: [
            step.runID, step.stepID, step.uses, step.state.rawValue, step.outcome, step.conclusion,
            step.errcode, step.outputsJSON, step.message, Millis.encode(step.startedAt),
            Millis.encode(step.endedAt),
        ])
    }

    /// Appends `attempts`, then saves the step as `saveStep(_:)` does, in one transaction.
    public func saveStep(_ step: StepRecord, appending attempts: [AttemptRecord]) async throws {
        try await write("cannot save step \(step.stepID) in") { db in
            for attempt in attempts { try Self.insertAttempt(db, attempt) }
            try Self.upsertStep(db, step)
        }
    }

    /// Queues the save and returns at once. Queued saves are committed together, in the order
    /// they were queued, in one transaction: at the start of this store's next read or write
    /// (so every write made after this returns commits after it, and a read sees it), once
    /// ``queuedSaveLimit`` saves are waiting, or ``queuedSaveDelay`` after the first one
    /// waited, whichever comes first. A crash may lose the saves of that window. An error (the
    /// file became unwritable) is ignored, as a failed save of a step record always was.
    public func queueStepSave(_ step: StepRecord, appending attempts: [AttemptRecord]) async {
        switch queuedSaves.append(QueuedStepSave(step: step, attempts: attempts), limit: Self.queuedSaveLimit) {
        case .full:
            flushQueuedSaves()
        case .first:
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.queuedSaveDelay) {
                self.queuedSaves.timerFired()
                self.flushQueuedSaves()
            }
        case .queued:
            break
        }
    }

    /// At most this many queued step saves wait for a commit (`queueStepSave`).
    static let queuedSaveLimit = 64
    /// No queued step save waits longer than this for its commit, plus the writer's queue
    /// (`queueStepSave`): `masscast runs show` from another process sees a step's end by then.
    static let queuedSaveDelay = DispatchTimeInterval.milliseconds(200)

    /// Hands the queued step saves to the writer (without waiting for it).
    private func flushQueuedSaves() {
        guard !queuedSaves.isEmpty else { return }
        pool.asyncWrite({ db in try self.commitQueuedSaves(db) }, completion: { _, _ in })
    }

    /// Writes the queued step saves in `db`'s transaction (called on the writer, so that they
    /// are taken out in the writer's order). All or none of them: a failure drops them,
    /// without failing the write they were taken into.
    private func commitQueuedSaves(_ db: Database) throws {
        let saves = queuedSaves.take()
        guard !saves.isEmpty else { return }
        try? db.inSavepoint {
            for save in saves {
                for attempt in save.attempts { try Self.insertAttempt(db, attempt) }
                try Self.upsertStep(db, save.step)
            }
            return .commit
        }
    }

    public func steps(runID: String) async throws -> [StepRecord] {
        try await read("cannot read the steps of run \(runID) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE run_id = ? ORDER BY seq", arguments: [runID])
                .map { try StepRecord(stored: $0) }
        }
    }

    public func appendAttempt(_ attempt: AttemptRecord) async throws {
        try await write("cannot record an attempt of step \(attempt.stepID) in") { db in try Self.insertAttempt(db, attempt) }
    }

    private static func insertAttempt(_ db: Database, _ attempt: AttemptRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO attempts (run_id, step_id, batch, number, endpoint, started_at, ended_at, result,
                    http_status, errcode, error_class, message, retry_delay_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            attempt.runID, attempt.stepID, attempt.batch, attempt.number, attempt.endpoint,
            Millis.encode(attempt.startedAt), Millis.encode(attempt.endedAt), attempt.result,
            attempt.httpStatus, attempt.errcode, attempt.errorClass, attempt.message, attempt.retryDelayMS,
        ])
    }

    public func attempts(runID: String) async throws -> [AttemptRecord] {
        try await read("cannot read the attempts of run \(runID) from") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM attempts WHERE run_id = ? ORDER BY id", arguments: [runID])
                .map { try AttemptRecord(stored: $0) }
        }
    }

    // MARK: - Journal

    /// Writes the entry. An `intent` is committed with `synchronous = FULL`: when this
    /// returns, it (and every earlier commit) is on disk, so an intent survives a power cut
    /// too. The other states are committed like every other write (they survive `kill -9`);
    /// if a power cut loses one, the durable intent is still there, and the send counts as
    /// an unknown outcome, which is repeated under the same clientmsgid (or, after 23 hours,
    /// only with `--confirm-resend`): never sent twice.
    public func journal(_ entry: JournalEntry) async throws {
        try await journal(entry, check: nil)
    }

    /// Writes the entry after `check` (which throws to write nothing), in one transaction.
    func journal(_ entry: JournalEntry, check: (@Sendable (Database) throws -> Void)?) async throws {
        let action = "cannot write journal entry \(entry.key) in"
        let body: @Sendable (Database) throws -> Void = { db in
            try check?(db)
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO journal (api, app_id, key, run_id, step_id, batch, endpoint, content_digest,
                        content_fields, instance, recipients, state, msg_id, msg_data_id, errcode, adopted_unrecorded,
                        first_attempt_at, last_attempt_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    entry.api, entry.appID, entry.key, entry.runID, entry.stepID, entry.batch, entry.endpoint,
                    entry.contentDigest, entry.contentFields, entry.instance, entry.recipients, entry.state.rawValue,
                    entry.msgID, entry.msgDataID, entry.errcode, entry.adoptedUnrecorded,
                    Millis.encode(entry.firstAttemptAt), Millis.encode(entry.lastAttemptAt),
                    Millis.encode(entry.updatedAt),
                ])
            try Self.bumpSerial(db, runID: entry.runID)
        }
        if entry.state == .intent {
            try await durableWrite(action, body)
        } else {
            try await write(action, body)
        }
    }

    public func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry? {
        try await read("cannot read journal entry \(key) from") { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM journal WHERE api = ? AND app_id = ? AND key = ?", arguments: [api, appID, key])
                .map { try JournalEntry(stored: $0) }
        }
    }

    /// The run's entries, by first attempt, then batch, then key.
    public func journalEntries(runID: String) async throws -> [JournalEntry] {
        try await read("cannot read the journal of run \(runID) from") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM journal WHERE run_id = ? ORDER BY first_attempt_at, batch, key",
                arguments: [runID]
            ).map { try JournalEntry(stored: $0) }
        }
    }

    /// Entries of `appID` at `api` in state `sent` updated at or after `since` (to the millisecond).
    public func acceptedSends(api: String, appID: String, since: Date) async throws -> Int {
        try await read("cannot count the sends of \(appID) in") { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM journal WHERE api = ? AND app_id = ? AND state = 'sent' AND key NOT LIKE 'delete:%' AND updated_at >= ?",
                arguments: [api, appID, Millis.encode(since)]) ?? 0
        }
    }

    // MARK: - Inbox

    /// Stores the push (group commit): a push that arrives while another inbox commit runs
    /// is committed with the others that arrived meanwhile, in one transaction, right after
    /// it. Returns only after the transaction holding the push committed; when it fails,
    /// every push in it fails with the error.
    @discardableResult
    public func storeInboxEvent(_ event: InboxEvent) async throws -> Bool {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
            if let batch = inboxCommits.enqueue(InboxCommits.Waiter(event: event, continuation: continuation)) {
                commitInbox(batch)
            }
        }
    }

    /// The inbox transactions started since the store was opened, and the pushes they held.
    public var inboxCommitCounts: InboxCommitCounts { inboxCommits.counts }

    /// Commits `batch` on the writer's queue, answers its callers, then commits what queued
    /// meanwhile. Not cancellable: a caller that stops waiting leaves its push to be stored.
    private func commitInbox(_ batch: [InboxCommits.Waiter]) {
        pool.asyncWriteWithoutTransaction { db in
            var inserted: [Bool] = []
            inserted.reserveCapacity(batch.count)
            var failure: (any Error)?
            do {
                // The queued step saves commit even when the inserts fail (as in `write`).
                try db.inTransaction {
                    try self.commitQueuedSaves(db)
                    do {
                        try db.inSavepoint {
                            for waiter in batch { inserted.append(try Self.insertInboxEvent(db, waiter.event)) }
                            return .commit
                        }
                    } catch {
                        failure = error
                    }
                    return .commit
                }
            } catch {
                failure = error
            }
            if let failure {
                for waiter in batch {
                    waiter.continuation.resume(
                        throwing: StateStoreError.wrap(
                            failure, action: "cannot store push \(waiter.event.msgID) in", path: self.path))
                }
            } else {
                for (waiter, isNew) in zip(batch, inserted) { waiter.continuation.resume(returning: isNew) }
            }
            if let next = self.inboxCommits.next() { self.commitInbox(next) }
        }
    }

    /// One inbox row; `true` when it was new. A cached statement: the listener stores one
    /// push per request, and compiling the INSERT each time showed in its profile.
    private static func insertInboxEvent(_ db: Database, _ event: InboxEvent) throws -> Bool {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO inbox (api, original_id, msg_id, status, total_count, filter_count, sent_count,
                    error_count, copyright_check_state, articles_json, created_at, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            event.api, event.originalID, event.msgID, event.status, event.totalCount, event.filterCount,
            event.sentCount, event.errorCount, event.copyrightCheckState, event.articlesJSON,
            Millis.encode(event.createdAt), Millis.encode(event.receivedAt),
        ])
        return db.changesCount > 0
    }

    /// The stored pushes of `originalID` at `api` among `msgIDs`, in the order of `msgIDs`
    /// (each once). Pushes stored before pushes had an API identity (schema version 1) match
    /// any `api`.
    public func inboxEvents(api: String, originalID: String, msgIDs: [Int64]) async throws -> [InboxEvent] {
        var seen = Set<Int64>()
        let wanted = msgIDs.filter { seen.insert($0).inserted }
        guard !wanted.isEmpty else { return [] }
        let found = try await read("cannot read pushes from") { db in
            var found: [Int64: InboxEvent] = [:]
            var start = 0
            while start < wanted.count {
                let chunk = Array(wanted[start..<min(start + 500, wanted.count)])
                start += chunk.count
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                var arguments: StatementArguments = [api, originalID]
                arguments += StatementArguments(chunk)
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM inbox WHERE api IN (?, '') AND original_id = ? AND msg_id IN (\(marks))
                        ORDER BY api DESC
                        """,
                    arguments: arguments)
                {
                    let event = try InboxEvent(stored: row)
                    if found[event.msgID] == nil { found[event.msgID] = event }
                }
            }
            return found
        }
        return wanted.compactMap { found[$0] }
    }

    // MARK: - Token cache

    public func loadToken(api: String, appID: String) async throws -> StoredToken? {
        try await read("cannot read the cached token of \(appID) from") { db in
            try Row.fetchOne(
                db, sql: "SELECT value, expires_at FROM tokens WHERE api = ? AND app_id = ?", arguments: [api, appID])
                .map { StoredToken(value: try $0.value("value"), expiresAt: try $0.date("expires_at")) }
        }
    }

    public func storeToken(_ token: StoredToken, api: String, appID: String) async throws {
        try await write("cannot cache the token of \(appID) in") { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO tokens (api, app_id, value, expires_at, stored_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [api, appID, token.value, Millis.encode(token.expiresAt), Millis.encode(Date())])
        }
    }

    /// Deletes the cached token of `appID` only if its value is still `value` (one statement:
    /// a newer token stored by another process meanwhile is kept).
    public func invalidateToken(_ value: String, api: String, appID: String) async throws {
        try await write("cannot forget the token of \(appID) in") { db in
            try db.execute(
                sql: "DELETE FROM tokens WHERE api = ? AND app_id = ? AND value = ?", arguments: [api, appID, value])
        }
    }

    // MARK: - Internals

    /// Creates a state file as masscast 0.1 wrote it (schema version 1) and runs `sql` in
    /// it: for the upgrade tests. Not public.
    static func createVersion1ForTesting(at path: String, sql: String) throws {
        try createForTesting(at: path, version: 1, sql: sql)
    }

    /// Creates a state file with the schema of `version` (a migration's number) and runs
    /// `sql` in it: for the upgrade tests. Not public.
    static func createForTesting(at path: String, version: Int, sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: "v\(version)")
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    /// What a state file's schema is, for the test that the new file's schema is the migrated
    /// one: every object SQLite keeps (`type name table sql`, sorted), `user_version`, the
    /// applied migrations and the keys of `store_meta`. Not public.
    static func schemaForTesting(at path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let objects = try Row.fetchAll(
                db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).map { row -> String in
                let sql: String? = row["sql"]
                return "\(row["type"] as String) \(row["name"] as String) \(row["tbl_name"] as String) \(sql ?? "-")"
            }
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? -1
            let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            let meta = try String.fetchAll(db, sql: "SELECT key FROM store_meta ORDER BY key")
            return objects + ["user_version \(version)", "migrations \(migrations)", "store_meta \(meta)"]
        }
    }

    /// Runs raw SQL on the writer connection: for tests that simulate other versions of
    /// masscast or damage. Not public.
    func executeForTesting(_ sql: String) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// Reads in a snapshot that includes the queued step saves (committed first, if any).
    func read<T: Sendable>(_ action: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            if !queuedSaves.isEmpty { try await pool.write { db in try self.commitQueuedSaves(db) } }
            return try await pool.read(body)
        } catch {
            throw StateStoreError.wrap(error, action: action, path: path)
        }
    }

    /// One transaction on the writer: the queued step saves first, then `body`. When `body`
    /// throws, its changes are rolled back and the queued saves are committed all the same.
    func write<T: Sendable>(_ action: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do {
            if queuedSaves.isEmpty { return try await pool.write(body) }
            return try await pool.write { db in
                try self.commitQueuedSaves(db)
                return Result { () throws -> T in
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db)
                        return .commit
                    }
                    return value!
                }
            }.get()
        } catch {
            throw StateStoreError.wrap(error, action: action, path: path)
        }
    }

    /// `write`, committed with `synchronous = FULL` (the connection goes back to NORMAL after).
    private func durableWrite(_ action: String, _ body: @Sendable (Database) throws -> Void) async throws {
        do {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
                // The queued step saves commit even when `body` throws (its changes do not).
                var failure: (any Error)?
                try db.inTransaction {
                    try self.commitQueuedSaves(db)
                    do {
                        try db.inSavepoint {
                            try body(db)
                            return .commit
                        }
                    } catch {
                        failure = error
                    }
                    return .commit
                }
                if let failure { throw failure }
            }
        } catch {
            throw StateStoreError.wrap(error, action: action, path: path)
        }
    }

    private func runNotFound(_ runID: String, action: String) -> StateStoreError {
        StateStoreError(
            code: .notFound, path: path, message: "\(action) run \(runID): state file \(path) has no such run",
            hint: "`masscast runs list --state \(path)` shows the runs it has")
    }

    /// Increments the serial of the broadcast `runID` belongs to (`BroadcastLeases.serial`).
    static func bumpSerial(_ db: Database, runID: String) throws {
        try db.execute(
            sql: "UPDATE broadcasts SET serial = serial + 1 WHERE id = (SELECT broadcast_id FROM runs WHERE id = ?)",
            arguments: [runID])
    }

    static func bumpSerial(_ db: Database, broadcastID: Int64) throws {
        try db.execute(sql: "UPDATE broadcasts SET serial = serial + 1 WHERE id = ?", arguments: [broadcastID])
    }

    static func broadcastRow(_ db: Database, _ identity: BroadcastIdentity) throws -> Row? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT * FROM broadcasts WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ?
                """,
            arguments: [identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON])
    }

    private static func runRow(_ db: Database, _ runID: String) throws -> RunRecord? {
        try Row.fetchOne(db, sql: "SELECT \(Columns.run) FROM \(Columns.runFrom) WHERE runs.id = ?", arguments: [runID])
            .map { try RunRecord(stored: $0) }
    }

    // MARK: Opening

    /// Creates the directory (0700) and the file (0600) if missing, before SQLite sees them,
    /// and checks that an existing file can be opened for writing.
    private static func prepareFile(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try makeDirectories(directory, path: path)
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StateStoreError.posix(errno, action: "cannot open", target: "state file \(path)", path: path)
        }
        closeDescriptor(fd)
    }

    /// `mkdir -p` with mode 0700 for every directory it creates.
    private static func makeDirectories(_ directory: String, path: String) throws {
        if mkdir(directory, 0o700) == 0 { return }
        let code = errno
        switch code {
        case EEXIST:
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw StateStoreError.posix(
                    ENOTDIR, action: "cannot create the directory of", target: "state file \(path) (\(directory))",
                    path: path)
            }
        case ENOENT:
            let parent = (directory as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != directory else {
                throw StateStoreError.posix(
                    code, action: "cannot create the directory of", target: "state file \(path) (\(directory))",
                    path: path)
            }
            try makeDirectories(parent, path: path)
            if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw StateStoreError.posix(
                    errno, action: "cannot create the directory of", target: "state file \(path) (\(directory))",
                    path: path)
            }
        default:
            throw StateStoreError.posix(
                code, action: "cannot create the directory of", target: "state file \(path) (\(directory))", path: path)
        }
    }

    /// Gives a new file the current schema at once, or applies the migrations, refusing a file
    /// from a newer masscast. Two processes opening a new file at once may race on its
    /// creation or its first migration: the loser sees it done and retries.
    private static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = Schema.migrator
        var attempt = 0
        while true {
            attempt += 1
            do {
                // A file created here is current: nothing to read back or migrate.
                if attempt == 1, try createIfNew(pool) { return }
                let (userVersion, unknown) = try pool.read { db in
                    (
                        try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                        try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
                    )
                }
                if userVersion > Schema.version || !unknown.isEmpty {
                    let found = unknown.isEmpty ? "schema version \(userVersion)" : "migrations \(unknown.joined(separator: ", "))"
                    throw StateStoreError(
                        code: .newerSchema, path: path,
                        message: "cannot use state file \(path): it was written by a newer masscast (\(found); this version knows schema version \(Schema.version))",
                        hint: "upgrade masscast, or \(StateStoreError.stateFlagHint)")
                }
                try migrator.migrate(pool)
                return
            } catch let error as DatabaseError
                where attempt < 3 && (error.resultCode == .SQLITE_ERROR || error.resultCode == .SQLITE_CONSTRAINT)
            {
                continue
            } catch {
                throw StateStoreError.wrap(error, action: "cannot prepare", path: path)
            }
        }
    }

    /// A file with nothing in it gets ``Schema/current`` in one transaction, with the store's
    /// id, the migrations it stands for and its `user_version`; any other file is left to the
    /// migrations. `true` when this call created the schema.
    private static func createIfNew(_ pool: DatabasePool) throws -> Bool {
        try pool.writeWithoutTransaction { db in
            var created = false
            try db.inTransaction(.immediate) {
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 else { return .commit }
                created = true
                try db.execute(sql: Schema.current)
                try db.execute(
                    sql: "INSERT INTO store_meta (key, value) VALUES ('store_id', ?)",
                    arguments: [UUID().uuidString.lowercased()])
                for identifier in Schema.currentMigrations {
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier])
                }
                try db.execute(sql: "PRAGMA user_version = \(Schema.version)")
                return .commit
            }
            return created
        }
    }

    /// SQLite gives the -wal and -shm files the database file's mode; make sure of it, so
    /// that the token cache is never more readable in them than in the file.
    private static func alignSidecarModes(_ path: String) {
        var fileStat = stat()
        guard stat(path, &fileStat) == 0 else { return }
        let mode = fileStat.st_mode & 0o777
        for suffix in ["-wal", "-shm"] {
            var sidecar = stat()
            let sidecarPath = path + suffix
            guard stat(sidecarPath, &sidecar) == 0, sidecar.st_mode & 0o777 & ~mode != 0 else { continue }
            _ = chmod(sidecarPath, mode_t(mode))
        }
    }
}

/// A step save waiting in `SQLiteStateStore.queueStepSave`'s queue.
struct QueuedStepSave: Sendable {
    var step: StepRecord
    var attempts: [AttemptRecord]
}

/// The queue of step saves (`queueStepSave`), shared by the callers and the writer.
final class QueuedStepSaves: @unchecked Sendable {
    enum Appended { case first, queued, full }

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var saves: [QueuedStepSave] = []
    private var timerPending = false

    /// Appends `save`: `.full` when `limit` saves wait, `.first` when no timer is pending
    /// (the caller starts one), `.queued` otherwise.
    func append(_ save: QueuedStepSave, limit: Int) -> Appended {
        lock.lock()
        defer { lock.unlock() }
        saves.append(save)
        if saves.count >= limit { return .full }
        if timerPending { return .queued }
        timerPending = true
        return .first
    }

    func timerFired() {
        lock.lock()
        timerPending = false
        lock.unlock()
    }

    var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return saves.isEmpty
    }

    /// Takes every waiting save out, in the order they were queued.
    func take() -> [QueuedStepSave] {
        lock.lock()
        defer { lock.unlock() }
        let taken = saves
        saves = []
        return taken
    }
}

/// `close(2)`, out of the class whose `close()` would shadow it.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
