import Foundation
import Logging
import PostgresNIO
import RunState

// RunStore, SendJournal, PushInbox and TokenCacheStore on PostgreSQL: the same rules as the
// SQLite store (the conformance suite runs against both). A broadcast's row is locked
// (`FOR UPDATE`) by every transaction that decides about its runs, so that racing runners
// on different machines are serialised per broadcast.

enum RunColumns {
    static let select = """
        runs.id, runs.generation, runs.pipeline_file, runs.pipeline_digest, runs.inputs_json,
        runs.account_name, runs.sandbox, runs.status, runs.message, runs.created_at, runs.updated_at,
        runs.ended_at, runs.owner, runs.heartbeat_at, runs.key_format,
        broadcasts.project, broadcasts.app_id, broadcasts.api, broadcasts.name,
        broadcasts.inputs_json AS identity_inputs_json
        """
    static let from = "runs JOIN broadcasts ON broadcasts.id = runs.broadcast_id"
}

extension PostgresStateStore {
    // MARK: - Broadcasts and runs

    public func broadcast(_ identity: BroadcastIdentity) async throws -> BroadcastRecord? {
        try await transaction("cannot read a broadcast from") { db, logger in
            try await Self.broadcastRow(db, logger, identity, lock: false).map { try BroadcastRecord(stored: $0) }
        }
    }

    public func beginRun(
        _ template: RunRecord, nextGeneration: Bool, isOwnerAlive: OwnerLiveness
    ) async throws -> BeginRunResult {
        let location = self.location
        return try await withoutActuallyEscaping(isOwnerAlive) { isOwnerAlive in
          try await transaction("cannot start a run in") { db, logger in
            let identity = template.identity
            let now = Millis.encode(Date())
            if try await Self.broadcastRow(db, logger, identity, lock: true) == nil {
                // A broadcast recorded before its project had an id: the same broadcast. It
                // takes the project and keeps its generation and key format.
                var legacy = identity
                legacy.project = ""
                if !identity.project.isEmpty, let old = try await Self.broadcastRow(db, logger, legacy, lock: true) {
                    let id: Int64 = try old.value("id")
                    try await db.exec("UPDATE broadcasts SET project = \(identity.project) WHERE id = \(id)", logger)
                } else {
                    try await db.exec(
                        """
                        INSERT INTO broadcasts (project, app_id, api, name, inputs_json, generation, key_format, created_at)
                        VALUES (\(identity.project), \(identity.appID), \(identity.api), \(identity.name),
                                \(identity.inputsJSON), 1, \(Int64(template.keyFormat)), \(now))
                        ON CONFLICT (project, api, app_id, name, inputs_json) DO NOTHING
                        """, logger)
                }
            }
            guard let row = try await Self.broadcastRow(db, logger, identity, lock: true) else {
                throw StateStoreError(code: .other, path: location.description, message: "cannot create the broadcast")
            }
            let broadcastID: Int64 = try row.value("id")
            var broadcast = try BroadcastRecord(stored: row)

            let live = try await db.rows(
                """
                SELECT \(unescaped: RunColumns.select) FROM \(unescaped: RunColumns.from)
                WHERE runs.broadcast_id = \(broadcastID) AND runs.status = 'running'
                ORDER BY runs.created_at DESC, runs.seq DESC
                """, logger
            ).map { try RunRecord(stored: $0) }
            for run in live {
                if let owner = run.owner, isOwnerAlive(owner, run.heartbeatAt) {
                    return .busy(runID: run.id, owner: owner)
                }
            }

            let generation = Int64(broadcast.generation)
            let generationHasRuns =
                try await db.row(
                    "SELECT 1 AS one FROM runs WHERE broadcast_id = \(broadcastID) AND generation = \(generation) LIMIT 1",
                    logger) != nil
            if nextGeneration && generationHasRuns {
                let unknown = try await db.rows(
                    """
                    SELECT journal.* FROM journal JOIN runs ON runs.id = journal.run_id
                    WHERE runs.broadcast_id = \(broadcastID) AND runs.generation = \(generation)
                      AND journal.state IN ('intent', 'unknown')
                      AND journal.key NOT LIKE 'preview:%' AND journal.key NOT LIKE 'delete:%'
                      AND journal.api NOT LIKE 'sandbox:%'
                    ORDER BY journal.first_attempt_at, journal.batch
                    """, logger
                ).map { try JournalEntry(stored: $0) }
                if !unknown.isEmpty {
                    return .rerunRefused(generation: broadcast.generation, unknownSends: unknown)
                }
                broadcast.generation += 1
                broadcast.keyFormat = template.keyFormat
                try await db.exec(
                    """
                    UPDATE broadcasts SET generation = \(Int64(broadcast.generation)), key_format = \(Int64(broadcast.keyFormat)),
                        completed_run_id = NULL, completed_at = NULL
                    WHERE id = \(broadcastID)
                    """, logger)
            } else if nextGeneration {
                // Nothing ran in the current generation yet: it is the new one.
            } else if let completedRunID = broadcast.completedRunID {
                return .alreadyCompleted(runID: completedRunID, completedAt: broadcast.completedAt)
            } else if let unfinished = try await db.row(
                """
                SELECT \(unescaped: RunColumns.select) FROM \(unescaped: RunColumns.from)
                WHERE runs.broadcast_id = \(broadcastID) AND runs.generation = \(generation)
                  AND runs.status IN ('running', 'stopped', 'failed')
                ORDER BY runs.created_at DESC, runs.seq DESC LIMIT 1
                """, logger)
            {
                return .unfinished(try RunRecord(stored: unfinished))
            }

            var run = template.normalized
            run.generation = broadcast.generation
            run.keyFormat = broadcast.keyFormat
            run.identity.project = identity.project
            if try await db.row("SELECT 1 AS one FROM runs WHERE id = \(run.id)", logger) != nil {
                throw StateStoreError(
                    code: .other, path: location.description,
                    message: "cannot start run \(run.id) in the PostgreSQL state store \(location): a run with this id already exists",
                    hint: "use `masscast resume \(run.id)` to continue it")
            }
            try await db.exec(
                """
                INSERT INTO runs (id, broadcast_id, generation, key_format, pipeline_file, pipeline_digest, inputs_json,
                    account_name, sandbox, status, message, created_at, updated_at, ended_at, owner, heartbeat_at)
                VALUES (\(run.id), \(broadcastID), \(Int64(run.generation)), \(Int64(run.keyFormat)), \(run.pipelineFile),
                    \(run.pipelineDigest), \(run.inputsJSON), \(run.accountName), \(run.sandbox), \(run.status.rawValue),
                    \(run.message), \(Millis.encode(run.createdAt)), \(Millis.encode(run.updatedAt)),
                    \(Millis.encode(run.endedAt)), \(run.owner), \(Millis.encode(run.heartbeatAt)))
                """, logger)
            try await Self.bumpSerial(db, logger, broadcastID: broadcastID)
            return .started(run)
          }
        }
    }

    public func claimRun(
        _ runID: String, owner: String, now: Date, isOwnerAlive: OwnerLiveness
    ) async throws -> ClaimResult {
        try await withoutActuallyEscaping(isOwnerAlive) { isOwnerAlive in
          try await transaction("cannot claim run \(runID) in") { db, logger in
            // Lock the broadcast first (the order beginRun takes), then read the run.
            guard
                let broadcastRow = try await db.row(
                    """
                    SELECT broadcasts.id, broadcasts.generation FROM \(unescaped: RunColumns.from)
                    WHERE runs.id = \(runID) FOR UPDATE OF broadcasts
                    """, logger),
                var run = try await Self.runRow(db, logger, runID)
            else { return .notFound }
            let current = try broadcastRow.int("generation")
            switch run.status {
            case .succeeded:
                return .finished(run.status)
            case .running, .stopped, .failed:
                if current != run.generation { return .superseded(currentGeneration: current) }
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
            try await db.exec(
                """
                UPDATE runs SET status = 'running', owner = \(owner), heartbeat_at = \(Millis.encode(at)),
                    updated_at = \(Millis.encode(at)), ended_at = NULL, message = NULL
                WHERE id = \(runID)
                """, logger)
            try await Self.bumpSerial(db, logger, runID: runID)
            return .claimed(run)
          }
        }
    }

    public func finishRun(_ runID: String, status: RunStatus, message: String?, at: Date) async throws {
        try await transaction("cannot finish run \(runID) in") { db, logger in
            let ms = Millis.encode(at)
            let ends = status != .running
            let changed = try await db.changes(
                """
                UPDATE runs SET status = \(status.rawValue), message = \(message), updated_at = \(ms),
                    ended_at = CASE WHEN \(ends) THEN \(ms) ELSE ended_at END
                WHERE id = \(runID) RETURNING 1
                """, logger)
            guard changed > 0 else { throw self.notFound(runID, action: "cannot finish") }
            try await Self.bumpSerial(db, logger, runID: runID)
            if status == .succeeded {
                try await db.exec(
                    """
                    UPDATE broadcasts SET completed_run_id = \(runID), completed_at = \(ms)
                    FROM runs
                    WHERE broadcasts.completed_run_id IS NULL AND runs.id = \(runID)
                      AND broadcasts.id = runs.broadcast_id AND broadcasts.generation = runs.generation
                    """, logger)
            }
        }
    }

    public func heartbeat(_ runID: String, owner: String, at: Date) async throws {
        let location = self.location
        try await transaction("cannot record a heartbeat of run \(runID) in") { db, logger in
            let changed = try await db.changes(
                """
                UPDATE runs SET heartbeat_at = \(Millis.encode(at))
                WHERE id = \(runID) AND owner IS NOT DISTINCT FROM \(owner) RETURNING 1
                """, logger)
            guard changed == 0 else { return }
            guard let run = try await Self.runRow(db, logger, runID) else {
                throw self.notFound(runID, action: "cannot record a heartbeat of")
            }
            throw StateStoreError(
                code: .notOwner, path: location.description,
                message: "run \(runID) in the PostgreSQL state store \(location) is now owned by \(run.owner ?? "nobody"), not \(owner)",
                hint: "another masscast process took it over; this one must stop working on it")
        }
    }

    public func run(_ runID: String) async throws -> RunRecord? {
        try await transaction("cannot read run \(runID) from") { db, logger in try await Self.runRow(db, logger, runID) }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        guard limit > 0 else { return [] }
        return try await transaction("cannot list runs in") { db, logger in
            try await db.rows(
                """
                SELECT \(unescaped: RunColumns.select) FROM \(unescaped: RunColumns.from)
                ORDER BY runs.created_at DESC, runs.seq DESC LIMIT \(Int64(limit))
                """, logger
            ).map { try RunRecord(stored: $0) }
        }
    }

    // MARK: - Steps and attempts

    public func saveStep(_ step: StepRecord) async throws {
        try await transaction("cannot save step \(step.stepID) in") { db, logger in
            try await Self.upsertStep(db, logger, step)
        }
    }

    public func saveStep(_ step: StepRecord, appending attempts: [AttemptRecord]) async throws {
        try await transaction("cannot save step \(step.stepID) in") { db, logger in
            for attempt in attempts { try await Self.insertAttempt(db, logger, attempt) }
            try await Self.upsertStep(db, logger, step)
        }
    }

    public func steps(runID: String) async throws -> [StepRecord] {
        try await transaction("cannot read the steps of run \(runID) from") { db, logger in
            try await db.rows("SELECT * FROM steps WHERE run_id = \(runID) ORDER BY seq", logger).map { try StepRecord(stored: $0) }
        }
    }

    public func appendAttempt(_ attempt: AttemptRecord) async throws {
        try await transaction("cannot record an attempt of step \(attempt.stepID) in") { db, logger in
            try await Self.insertAttempt(db, logger, attempt)
        }
    }

    public func attempts(runID: String) async throws -> [AttemptRecord] {
        try await transaction("cannot read the attempts of run \(runID) from") { db, logger in
            try await db.rows("SELECT * FROM attempts WHERE run_id = \(runID) ORDER BY id", logger)
                .map { try AttemptRecord(stored: $0) }
        }
    }

    static func upsertStep(_ db: PostgresConnection, _ logger: Logger, _ step: StepRecord) async throws {
        try await db.exec(
            """
            INSERT INTO steps (run_id, step_id, uses, state, outcome, conclusion, errcode, outputs_json,
                message, started_at, ended_at)
            VALUES (\(step.runID), \(step.stepID), \(step.uses), \(step.state.rawValue), \(step.outcome),
                \(step.conclusion), \(step.errcode.map(Int64.init)), \(step.outputsJSON), \(step.message),
                \(Millis.encode(step.startedAt)), \(Millis.encode(step.endedAt)))
            ON CONFLICT (run_id, step_id) DO UPDATE SET
                uses = excluded.uses, state = excluded.state, outcome = excluded.outcome,
                conclusion = excluded.conclusion, errcode = excluded.errcode,
                outputs_json = excluded.outputs_json, message = excluded.message,
                started_at = excluded.started_at, ended_at = excluded.ended_at
            """, logger)
    }

    static func insertAttempt(_ db: PostgresConnection, _ logger: Logger, _ attempt: AttemptRecord) async throws {
        try await db.exec(
            """
            INSERT INTO attempts (run_id, step_id, batch, number, endpoint, started_at, ended_at, result,
                http_status, errcode, error_class, message, retry_delay_ms)
            VALUES (\(attempt.runID), \(attempt.stepID), \(Int64(attempt.batch)), \(Int64(attempt.number)),
                \(attempt.endpoint), \(Millis.encode(attempt.startedAt)), \(Millis.encode(attempt.endedAt)),
                \(attempt.result), \(attempt.httpStatus.map(Int64.init)), \(attempt.errcode.map(Int64.init)),
                \(attempt.errorClass), \(attempt.message), \(attempt.retryDelayMS.map(Int64.init)))
            """, logger)
    }

    // MARK: - Journal

    public func journal(_ entry: JournalEntry) async throws {
        try await transaction("cannot write journal entry \(entry.key) in") { db, logger in
            try await Self.upsertJournal(db, logger, entry)
            try await Self.bumpSerial(db, logger, runID: entry.runID)
        }
    }

    static func upsertJournal(_ db: PostgresConnection, _ logger: Logger, _ entry: JournalEntry) async throws {
        try await db.exec(
            """
            INSERT INTO journal (api, app_id, key, run_id, step_id, batch, endpoint, content_digest,
                content_fields, instance, recipients, state, msg_id, msg_data_id, errcode, adopted_unrecorded,
                first_attempt_at, last_attempt_at, updated_at)
            VALUES (\(entry.api), \(entry.appID), \(entry.key), \(entry.runID), \(entry.stepID), \(Int64(entry.batch)),
                \(entry.endpoint), \(entry.contentDigest), \(entry.contentFields), \(entry.instance),
                \(Int64(entry.recipients)), \(entry.state.rawValue), \(entry.msgID), \(entry.msgDataID),
                \(entry.errcode.map(Int64.init)), \(entry.adoptedUnrecorded), \(Millis.encode(entry.firstAttemptAt)),
                \(Millis.encode(entry.lastAttemptAt)), \(Millis.encode(entry.updatedAt)))
            ON CONFLICT (api, app_id, key) DO UPDATE SET
                run_id = excluded.run_id, step_id = excluded.step_id, batch = excluded.batch,
                endpoint = excluded.endpoint, content_digest = excluded.content_digest,
                content_fields = excluded.content_fields, instance = excluded.instance,
                recipients = excluded.recipients, state = excluded.state, msg_id = excluded.msg_id,
                msg_data_id = excluded.msg_data_id, errcode = excluded.errcode,
                adopted_unrecorded = excluded.adopted_unrecorded, first_attempt_at = excluded.first_attempt_at,
                last_attempt_at = excluded.last_attempt_at, updated_at = excluded.updated_at
            """, logger)
    }

    public func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry? {
        try await transaction("cannot read journal entry \(key) from") { db, logger in
            try await db.row("SELECT * FROM journal WHERE api = \(api) AND app_id = \(appID) AND key = \(key)", logger)
                .map { try JournalEntry(stored: $0) }
        }
    }

    public func journalEntries(runID: String) async throws -> [JournalEntry] {
        try await transaction("cannot read the journal of run \(runID) from") { db, logger in
            try await db.rows(
                "SELECT * FROM journal WHERE run_id = \(runID) ORDER BY first_attempt_at, batch, key COLLATE \"C\"", logger
            ).map { try JournalEntry(stored: $0) }
        }
    }

    public func acceptedSends(api: String, appID: String, since: Date) async throws -> Int {
        try await transaction("cannot count the sends of \(appID) in") { db, logger in
            let row = try await db.row(
                """
                SELECT COUNT(*) AS n FROM journal WHERE api = \(api) AND app_id = \(appID) AND state = 'sent'
                  AND key NOT LIKE 'delete:%' AND updated_at >= \(Millis.encode(since))
                """, logger)
            return try row.map { try $0.int("n") } ?? 0
        }
    }

    // MARK: - Inbox

    @discardableResult
    public func storeInboxEvent(_ event: InboxEvent) async throws -> Bool {
        try await transaction("cannot store push \(event.msgID) in") { db, logger in
            let isNew = try await db.changes(
                """
                INSERT INTO inbox (api, original_id, msg_id, status, total_count, filter_count, sent_count,
                    error_count, copyright_check_state, articles_json, created_at, received_at)
                VALUES (\(event.api), \(event.originalID), \(event.msgID), \(event.status),
                    \(event.totalCount.map(Int64.init)), \(event.filterCount.map(Int64.init)),
                    \(event.sentCount.map(Int64.init)), \(event.errorCount.map(Int64.init)),
                    \(event.copyrightCheckState.map(Int64.init)), \(event.articlesJSON),
                    \(Millis.encode(event.createdAt)), \(Millis.encode(event.receivedAt)))
                ON CONFLICT (api, original_id, msg_id) DO NOTHING RETURNING 1
                """, logger) > 0
            // Wakes the runs waiting for this account's pushes on every machine (delivered at COMMIT).
            if isNew { try await Self.notifyInbox(db, logger, api: event.api, originalID: event.originalID) }
            return isNew
        }
    }

    public func inboxEvents(api: String, originalID: String, msgIDs: [Int64]) async throws -> [InboxEvent] {
        var seen = Set<Int64>()
        let wanted = msgIDs.filter { seen.insert($0).inserted }
        guard !wanted.isEmpty else { return [] }
        let found = try await transaction("cannot read pushes from") { db, logger in
            var found: [Int64: InboxEvent] = [:]
            for row in try await db.rows(
                """
                SELECT * FROM inbox WHERE api IN (\(api), '') AND original_id = \(originalID) AND msg_id = ANY(\(wanted))
                ORDER BY api DESC
                """, logger)
            {
                let event = try InboxEvent(stored: row)
                if found[event.msgID] == nil { found[event.msgID] = event }
            }
            return found
        }
        return wanted.compactMap { found[$0] }
    }

    // MARK: - Token cache

    public func loadToken(api: String, appID: String) async throws -> StoredToken? {
        try await transaction("cannot read the cached token of \(appID) from") { db, logger in
            try await db.row("SELECT value, expires_at FROM tokens WHERE api = \(api) AND app_id = \(appID)", logger)
                .map { StoredToken(value: try $0.value("value"), expiresAt: try $0.date("expires_at")) }
        }
    }

    public func storeToken(_ token: StoredToken, api: String, appID: String) async throws {
        try await transaction("cannot cache the token of \(appID) in") { db, logger in
            try await db.exec(
                """
                INSERT INTO tokens (api, app_id, value, expires_at, stored_at)
                VALUES (\(api), \(appID), \(token.value), \(Millis.encode(token.expiresAt)), \(Millis.encode(Date())))
                ON CONFLICT (api, app_id) DO UPDATE SET
                    value = excluded.value, expires_at = excluded.expires_at, stored_at = excluded.stored_at
                """, logger)
        }
    }

    public func invalidateToken(_ value: String, api: String, appID: String) async throws {
        try await transaction("cannot forget the token of \(appID) in") { db, logger in
            try await db.exec("DELETE FROM tokens WHERE api = \(api) AND app_id = \(appID) AND value = \(value)", logger)
        }
    }

    // MARK: - Internals

    static func bumpSerial(_ db: PostgresConnection, _ logger: Logger, runID: String) async throws {
        try await db.exec(
            "UPDATE broadcasts SET serial = serial + 1 WHERE id = (SELECT broadcast_id FROM runs WHERE id = \(runID))",
            logger)
    }

    static func bumpSerial(_ db: PostgresConnection, _ logger: Logger, broadcastID: Int64) async throws {
        try await db.exec("UPDATE broadcasts SET serial = serial + 1 WHERE id = \(broadcastID)", logger)
    }

    static func broadcastRow(
        _ db: PostgresConnection, _ logger: Logger, _ identity: BroadcastIdentity, lock: Bool
    ) async throws -> PostgresRandomAccessRow? {
        try await db.row(
            """
            SELECT * FROM broadcasts WHERE project = \(identity.project) AND api = \(identity.api)
              AND app_id = \(identity.appID) AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger)
    }

    static func runRow(_ db: PostgresConnection, _ logger: Logger, _ runID: String) async throws -> RunRecord? {
        try await db.row(
            "SELECT \(unescaped: RunColumns.select) FROM \(unescaped: RunColumns.from) WHERE runs.id = \(runID)", logger
        ).map { try RunRecord(stored: $0) }
    }
}

// MARK: - Row ⇄ record

