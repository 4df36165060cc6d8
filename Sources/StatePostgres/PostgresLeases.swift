import Foundation
import Logging
import PostgresNIO
import RunState

/// Whose clock decides when a lease on PostgreSQL expires.
public enum LeaseClock: Sendable, Hashable {
    /// The database server's (`now()` at the start of the statement's transaction): processes on
    /// machines whose clocks disagree still agree on when a lease expires. What masscast uses.
    case database
    /// The `now` each call passes (a virtual clock; what the SQLite store always uses).
    case caller
}

// Per-broadcast leases and serials, and the store's id (`BroadcastLeases`), on PostgreSQL.
// A lease row stays after a release (marked released) so that its epoch only grows.
extension PostgresStateStore {
    /// The time, in milliseconds, that a lease call at the caller's `now` runs at (``LeaseClock``).
    func leaseNow(_ db: PostgresConnection, _ logger: Logger, caller now: Date) async throws -> Int64 {
        switch leaseClock {
        case .caller: return Millis.encode(now)
        case .database:
            guard let row = try await db.row("SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS at", logger) else {
                throw StateStoreError(
                    code: .other, path: location.description, message: "the database did not tell its time (SELECT now())")
            }
            return try row.value("at", as: Int64.self)
        }
    }

    static func ttlMillis(_ ttl: TimeInterval) -> Int64 { Millis.encode(Date(timeIntervalSince1970: ttl)) }

    public func acquireLease(
        _ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> LeaseResult {
        try await transaction("cannot take the lease of broadcast \(identity.name) in") { db, logger in
            let at = try await self.leaseNow(db, logger, caller: now)
            let until = at + Self.ttlMillis(ttl)
            // The row locked for this claim; one another process is claiming (or writing a
            // fenced intent under) right now is skipped, not queued on: it is in use.
            let locked = try await db.row(
                """
                SELECT * FROM leases
                WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
                  AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
                FOR UPDATE SKIP LOCKED
                """, logger)
            if locked == nil,
                let busy = try await db.row(
                    """
                    SELECT owner, expires_at FROM leases
                    WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
                      AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
                    """, logger)
            {
                return .held(owner: try busy.value("owner"), until: try busy.date("expires_at"))
            }
            var previous: BroadcastLease?
            if let locked {
                let holder: String = try locked.value("owner")
                let released: Bool = try locked.value("released")
                let expires: Int64 = try locked.value("expires_at")
                if !released, holder != owner {
                    if expires > at { return .held(owner: holder, until: try locked.date("expires_at")) }
                    previous = try BroadcastLease(stored: locked)
                }
            }
            // One statement: a new lease, the owner's own, or one that expired or was released.
            let taken = try await db.row(
                """
                INSERT INTO leases AS l (project, api, app_id, name, inputs_json, owner, epoch, acquired_at, expires_at, released)
                VALUES (\(identity.project), \(identity.api), \(identity.appID), \(identity.name), \(identity.inputsJSON),
                    \(owner), 1, \(at), \(until), false)
                ON CONFLICT (project, api, app_id, name, inputs_json) DO UPDATE SET
                    epoch = CASE WHEN l.owner = excluded.owner AND NOT l.released AND l.expires_at > \(at)
                                 THEN l.epoch ELSE l.epoch + 1 END,
                    owner = excluded.owner, acquired_at = excluded.acquired_at,
                    expires_at = excluded.expires_at, released = false
                WHERE l.owner = excluded.owner OR l.released OR l.expires_at <= \(at)
                RETURNING l.*
                """, logger)
            if let taken { return .acquired(try BroadcastLease(stored: taken), takenFrom: previous) }
            guard let held = try await Self.leaseRow(db, logger, identity) else {
                throw StateStoreError(
                    code: .other, path: self.location.description,
                    message: "cannot take the lease of broadcast \(identity.name): it vanished while taken")
            }
            return .held(owner: try held.value("owner"), until: try held.date("expires_at"))
        }
    }

    public func renewLease(
        _ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> Bool {
        try await transaction("cannot renew the lease of broadcast \(identity.name) in") { db, logger in
            let until = try await self.leaseNow(db, logger, caller: now) + Self.ttlMillis(ttl)
            return try await db.changes(
                """
                UPDATE leases SET expires_at = \(until)
                WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
                  AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
                  AND owner = \(owner) AND NOT released RETURNING 1
                """, logger) > 0
        }
    }

    public func releaseLease(_ identity: BroadcastIdentity, owner: String) async throws {
        try await transaction("cannot release the lease of broadcast \(identity.name) in") { db, logger in
            try await db.exec(
                """
                UPDATE leases SET released = true
                WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
                  AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
                  AND owner = \(owner) AND NOT released
                """, logger)
        }
    }

    public func lease(_ identity: BroadcastIdentity) async throws -> BroadcastLease? {
        try await transaction("cannot read the lease of broadcast \(identity.name) from") { db, logger in
            try await Self.leaseRow(db, logger, identity).map { try BroadcastLease(stored: $0) }
        }
    }

    public func leases() async throws -> [BroadcastLease] {
        try await transaction("cannot list the leases in") { db, logger in
            try await db.rows(
                """
                SELECT * FROM leases WHERE NOT released
                ORDER BY name COLLATE "C", project COLLATE "C", api COLLATE "C", app_id COLLATE "C", inputs_json COLLATE "C"
                """, logger
            ).map { try BroadcastLease(stored: $0) }
        }
    }

    public func forceTakeLease(
        _ identity: BroadcastIdentity, epoch: Int64, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> ForceTakeResult {
        try await transaction("cannot take the lease of broadcast \(identity.name) in") { db, logger in
            guard let row = try await Self.leaseRow(db, logger, identity, lock: true) else { return .notHeld }
            let current = try BroadcastLease(stored: row)
            guard current.epoch == epoch else { return .epochMoved(current: current) }
            let at = try await self.leaseNow(db, logger, caller: now)
            let taken = try await db.row(
                """
                UPDATE leases SET owner = \(owner), epoch = epoch + 1, acquired_at = \(at),
                    expires_at = \(at + Self.ttlMillis(ttl))
                WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
                  AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON)
                RETURNING *
                """, logger)
            guard let taken else { return .notHeld }
            return .taken(try BroadcastLease(stored: taken))
        }
    }

    public func journal(_ entry: JournalEntry, fence: LeaseFence) async throws {
        let store = location.description
        try await transaction("cannot write journal entry \(entry.key) in") { db, logger in
            // The lease row locked until the commit: a takeover waits for this write or comes first.
            let row = try await db.row(
                """
                SELECT * FROM leases
                WHERE project = \(fence.identity.project) AND api = \(fence.identity.api)
                  AND app_id = \(fence.identity.appID) AND name = \(fence.identity.name)
                  AND inputs_json = \(fence.identity.inputsJSON)
                FOR UPDATE
                """, logger)
            let current = try row.map { try BroadcastLease(stored: $0) }
            let released = try row?.value("released", as: Bool.self) ?? true
            if let lost = LeaseLoss.check(fence, current: current, released: released, store: store) { throw lost }
            try await Self.upsertJournal(db, logger, entry)
            try await Self.bumpSerial(db, logger, runID: entry.runID)
        }
    }

    public func serial(_ identity: BroadcastIdentity) async throws -> Int64 {
        try await transaction("cannot read the serial of broadcast \(identity.name) from") { db, logger in
            try await Self.broadcastRow(db, logger, identity, lock: false).map { try $0.value("serial", as: Int64.self) } ?? 0
        }
    }

    public func runs(of identity: BroadcastIdentity, generation: Int) async throws -> [RunRecord] {
        try await transaction("cannot read the runs of broadcast \(identity.name) from") { db, logger in
            guard let row = try await Self.broadcastRow(db, logger, identity, lock: false) else { return [] }
            let id: Int64 = try row.value("id")
            return try await db.rows(
                """
                SELECT \(unescaped: RunColumns.select) FROM \(unescaped: RunColumns.from)
                WHERE runs.broadcast_id = \(id) AND runs.generation = \(Int64(generation))
                ORDER BY runs.created_at DESC, runs.seq DESC
                """, logger
            ).map { try RunRecord(stored: $0) }
        }
    }

    public func storeIdentity() async throws -> String {
        try await transaction("cannot read the id of") { db, logger in
            try await db.row("SELECT value FROM store_meta WHERE key = 'store_id'", logger).map { try $0.value("value") } ?? ""
        }
    }

    static func leaseRow(
        _ db: PostgresConnection, _ logger: Logger, _ identity: BroadcastIdentity, lock: Bool = false
    ) async throws -> PostgresRandomAccessRow? {
        try await db.row(
            """
            SELECT * FROM leases
            WHERE project = \(identity.project) AND api = \(identity.api) AND app_id = \(identity.appID)
              AND name = \(identity.name) AND inputs_json = \(identity.inputsJSON) AND NOT released
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger)
    }
}
