import Foundation
import GRDB
import RunState

// The token refresh lock (`TokenCacheStore.refreshToken`): a claim row per account, taken in
// a write transaction, so that of the processes sharing the file one fetches at a time. A
// claim is void after `claimTime` (its holder was killed), and waiters poll for its end.
extension SQLiteStateStore {
    /// How long a claim holds if its holder never lets it go (a token fetch times out sooner).
    static let tokenClaimTime: TimeInterval = 30
    /// How long `refreshToken` waits for another process's claim before `.busy`.
    static let tokenClaimWait: Duration = .seconds(45)

    public func refreshToken(
        api: String, appID: String, _ body: @escaping @Sendable (TokenRefreshState) async throws -> TokenRefreshResult
    ) async throws -> StoredToken? {
        let holder = UUID().uuidString
        let clock = ContinuousClock()
        let giveUp = clock.now + Self.tokenClaimWait
        var state: TokenRefreshState?
        while state == nil {
            state = try await write("cannot take the token refresh lock of \(appID) in") { db -> TokenRefreshState? in
                let now = Millis.encode(Date())
                if let claim = try Row.fetchOne(
                    db, sql: "SELECT holder, until FROM token_refresh_claims WHERE api = ? AND app_id = ?",
                    arguments: [api, appID]),
                    (try claim.value("until") as Int64) > now
                {
                    return nil
                }
                try db.execute(
                    sql: "INSERT OR REPLACE INTO token_refresh_claims (api, app_id, holder, until) VALUES (?, ?, ?, ?)",
                    arguments: [api, appID, holder, now + Int64(Self.tokenClaimTime * 1000)])
                return try Self.tokenRefreshState(db, api: api, appID: appID)
            }
            if state == nil {
                guard clock.now < giveUp else {
                    throw StateStoreError(
                        code: .busy, path: path,
                        message: "cannot refresh the token of \(appID) in state file \(path): another process has been refreshing it for \(Self.tokenClaimWait.components.seconds) s",
                        hint: "retry; a process killed while refreshing lets go of the lock after \(Int(Self.tokenClaimTime)) s")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let result: TokenRefreshResult
        do {
            result = try await body(state!)
        } catch {
            _ = try? await write("cannot let go of the token refresh lock of \(appID) in") { db in
                try Self.releaseTokenClaim(db, api: api, appID: appID, holder: holder)
            }
            throw error
        }
        return try await write("cannot store the refreshed token of \(appID) in") { db -> StoredToken? in
            if case .fetched(let token, let forcedAt) = result {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO tokens (api, app_id, value, expires_at, stored_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [api, appID, token.value, Millis.encode(token.expiresAt), Millis.encode(Date())])
                if let forcedAt {
                    try db.execute(
                        sql: "INSERT INTO token_forced_refreshes (api, app_id, at) VALUES (?, ?, ?)",
                        arguments: [api, appID, Millis.encode(forcedAt)])
                    try db.execute(
                        sql: "DELETE FROM token_forced_refreshes WHERE api = ? AND app_id = ? AND at < ?",
                        arguments: [api, appID, Millis.encode(forcedAt.addingTimeInterval(-2 * 86_400))])
                }
            }
            try Self.releaseTokenClaim(db, api: api, appID: appID, holder: holder)
            return try Row.fetchOne(
                db, sql: "SELECT value, expires_at FROM tokens WHERE api = ? AND app_id = ?", arguments: [api, appID])
                .map { StoredToken(value: try $0.value("value"), expiresAt: try $0.date("expires_at")) }
        }
    }

    private static func tokenRefreshState(_ db: Database, api: String, appID: String) throws -> TokenRefreshState {
        let stored = try Row.fetchOne(
            db, sql: "SELECT value, expires_at FROM tokens WHERE api = ? AND app_id = ?", arguments: [api, appID])
            .map { StoredToken(value: try $0.value("value"), expiresAt: try $0.date("expires_at")) }
        let forced = try Int64.fetchAll(
            db, sql: "SELECT at FROM token_forced_refreshes WHERE api = ? AND app_id = ? ORDER BY at",
            arguments: [api, appID]
        ).map { Millis.decode($0) }
        return TokenRefreshState(stored: stored, forcedRefreshes: forced)
    }

    private static func releaseTokenClaim(_ db: Database, api: String, appID: String, holder: String) throws {
        try db.execute(
            sql: "DELETE FROM token_refresh_claims WHERE api = ? AND app_id = ? AND holder = ?",
            arguments: [api, appID, holder])
    }
}
