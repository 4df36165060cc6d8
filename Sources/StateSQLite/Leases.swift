import Foundation
import GRDB
import RunState

// Per-broadcast leases with a fencing epoch, serials, and the store's id (`BroadcastLeases`).
// A lease row stays after its release (marked released), so that its epoch only grows.
extension SQLiteStateStore {
    public func acquireLease(
        _ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> LeaseResult {
        try await write("cannot take the lease of broadcast \(identity.name) in") { db in
            var epoch: Int64 = 1
            var previous: BroadcastLease?
            if let row = try Self.leaseRow(db, identity, includingReleased: true) {
                let holder: String = try row.value("owner")
                let until = try row.date("expires_at")
                let released = try row.value("released", as: Bool.self)
                let current: Int64 = try row.value("epoch")
                if !released, holder != owner, until > now { return .held(owner: holder, until: until) }
                epoch = !released && holder == owner && until > now ? current : current + 1
                if !released, holder != owner { previous = try BroadcastLease(stored: row) }
            }
            let lease = BroadcastLease(
                identity: identity, owner: owner, acquiredAt: Millis.normalize(now),
                expiresAt: Millis.normalize(now.addingTimeInterval(ttl)), epoch: epoch)
            try Self.writeLease(db, lease)
            return .acquired(lease, takenFrom: previous)
        }
    }

    public func renewLease(
        _ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> Bool {
        try await write("cannot renew the lease of broadcast \(identity.name) in") { db in
            try db.execute(
                sql: """
                    UPDATE leases SET expires_at = ?
                    WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ? AND owner = ?
                      AND released = 0
                    """,
                arguments: [
                    Millis.encode(now.addingTimeInterval(ttl)), identity.project, identity.api, identity.appID,
                    identity.name, identity.inputsJSON, owner,
                ])
            return db.changesCount > 0
        }
    }

    public func releaseLease(_ identity: BroadcastIdentity, owner: String) async throws {
        try await write("cannot release the lease of broadcast \(identity.name) in") { db in
            try db.execute(
                sql: """
                    UPDATE leases SET released = 1
                    WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ? AND owner = ?
                      AND released = 0
                    """,
                arguments: [identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON, owner])
        }
    }

    public func lease(_ identity: BroadcastIdentity) async throws -> BroadcastLease? {
        try await read("cannot read the lease of broadcast \(identity.name) from") { db in
            try Self.leaseRow(db, identity, includingReleased: false).map { try BroadcastLease(stored: $0) }
        }
    }

    public func leases() async throws -> [BroadcastLease] {
        try await read("cannot list the leases in") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM leases WHERE released = 0
                    ORDER BY name, project, api, app_id, inputs_json
                    """
            ).map { try BroadcastLease(stored: $0) }
        }
    }

    public func forceTakeLease(
        _ identity: BroadcastIdentity, epoch: Int64, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> ForceTakeResult {
        try await write("cannot take the lease of broadcast \(identity.name) in") { db in
            guard let row = try Self.leaseRow(db, identity, includingReleased: false) else { return .notHeld }
            let current = try BroadcastLease(stored: row)
            guard current.epoch == epoch else { return .epochMoved(current: current) }
            let lease = BroadcastLease(
                identity: identity, owner: owner, acquiredAt: Millis.normalize(now),
                expiresAt: Millis.normalize(now.addingTimeInterval(ttl)), epoch: epoch + 1)
            try Self.writeLease(db, lease)
            return .taken(lease)
        }
    }

    public func journal(_ entry: JournalEntry, fence: LeaseFence) async throws {
        let path = self.path
        try await journal(entry, check: { db in
            let row = try Self.leaseRow(db, fence.identity, includingReleased: true)
            let current = try row.map { try BroadcastLease(stored: $0) }
            let released = try row?.value("released", as: Bool.self) ?? true
            if let lost = LeaseLoss.check(fence, current: current, released: released, store: path) { throw lost }
        })
    }

    public func serial(_ identity: BroadcastIdentity) async throws -> Int64 {
        try await read("cannot read the serial of broadcast \(identity.name) from") { db in
            try Self.broadcastRow(db, identity).map { try $0.value("serial", as: Int64.self) } ?? 0
        }
    }

    public func runs(of identity: BroadcastIdentity, generation: Int) async throws -> [RunRecord] {
        try await read("cannot read the runs of broadcast \(identity.name) from") { db in
            guard let row = try Self.broadcastRow(db, identity) else { return [] }
            let id: Int64 = try row.value("id")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Columns.run) FROM \(Columns.runFrom) WHERE runs.broadcast_id = ? AND runs.generation = ?
                    ORDER BY runs.created_at DESC, runs.rowid DESC
                    """,
                arguments: [id, generation]
            ).map { try RunRecord(stored: $0) }
        }
    }

    public func storeIdentity() async throws -> String {
        try await read("cannot read the id of") { db in
            try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'store_id'") ?? ""
        }
    }

    private static func writeLease(_ db: Database, _ lease: BroadcastLease) throws {
        let identity = lease.identity
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO leases (project, api, app_id, name, inputs_json, owner, acquired_at, expires_at,
                    epoch, released)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                """,
            arguments: [
                identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON, lease.owner,
                Millis.encode(lease.acquiredAt), Millis.encode(lease.expiresAt), lease.epoch,
            ])
    }

    private static func leaseRow(_ db: Database, _ identity: BroadcastIdentity, includingReleased: Bool) throws -> Row? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT * FROM leases WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ?
                \(includingReleased ? "" : "AND released = 0")
                """,
            arguments: [identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON])
    }
}
