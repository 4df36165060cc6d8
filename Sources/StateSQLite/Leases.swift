import Foundation
import GRDB
import RunState

// Per-broadcast leases and serials, and the store's id (`BroadcastLeases`).
extension SQLiteStateStore {
    public func acquireLease(
        _ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date
    ) async throws -> LeaseResult {
        try await write("cannot take the lease of broadcast \(identity.name) in") { db in
            if let row = try Self.leaseRow(db, identity) {
                let holder: String = try row.value("owner")
                let until = try row.date("expires_at")
                if holder != owner, until > now { return .held(owner: holder, until: until) }
            }
            let lease = BroadcastLease(
                identity: identity, owner: owner, acquiredAt: Millis.normalize(now),
                expiresAt: Millis.normalize(now.addingTimeInterval(ttl)))
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO leases (project, api, app_id, name, inputs_json, owner, acquired_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON, owner,
                    Millis.encode(lease.acquiredAt), Millis.encode(lease.expiresAt),
                ])
            return .acquired(lease)
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
                    DELETE FROM leases
                    WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ? AND owner = ?
                    """,
                arguments: [identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON, owner])
        }
    }

    public func lease(_ identity: BroadcastIdentity) async throws -> BroadcastLease? {
        try await read("cannot read the lease of broadcast \(identity.name) from") { db in
            guard let row = try Self.leaseRow(db, identity) else { return nil }
            return BroadcastLease(
                identity: identity, owner: try row.value("owner"), acquiredAt: try row.date("acquired_at"),
                expiresAt: try row.date("expires_at"))
        }
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
            ).map { try RunRecord(row: $0) }
        }
    }

    public func storeIdentity() async throws -> String {
        try await read("cannot read the id of") { db in
            try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'store_id'") ?? ""
        }
    }

    private static func leaseRow(_ db: Database, _ identity: BroadcastIdentity) throws -> Row? {
        try Row.fetchOne(
            db,
            sql: "SELECT * FROM leases WHERE project = ? AND api = ? AND app_id = ? AND name = ? AND inputs_json = ?",
            arguments: [identity.project, identity.api, identity.appID, identity.name, identity.inputsJSON])
    }
}
