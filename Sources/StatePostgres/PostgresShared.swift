import Foundation
import Logging
import PostgresNIO
import RunState

extension PostgresSchema {
    /// Version 2: what lets processes on many machines share one account: the token refresh
    /// lock (a row per account locked `FOR UPDATE` while one process fetches) and the forced
    /// refreshes of every process, and the listeners' shared replay memory ((account,
    /// timestamp, nonce) seen, until the timestamp leaves the window).
    static let v2: [String] = [
        """
        CREATE TABLE token_refresh_locks (
            api    text NOT NULL,
            app_id text NOT NULL,
            PRIMARY KEY (api, app_id)
        )
        """,
        """
        CREATE TABLE token_forced_refreshes (
            api    text   NOT NULL,
            app_id text   NOT NULL,
            at     bigint NOT NULL
        )
        """,
        "CREATE INDEX token_forced_refreshes_by_account ON token_forced_refreshes (api, app_id, at)",
        """
        CREATE TABLE replay_seen (
            account    text   NOT NULL,
            ts         bigint NOT NULL,
            nonce      text   NOT NULL,
            expires_at bigint NOT NULL,
            PRIMARY KEY (account, ts, nonce)
        )
        """,
        "CREATE INDEX replay_seen_by_expiry ON replay_seen (expires_at)",
    ]
}

// MARK: - One token refresher per account

extension PostgresStateStore {
    /// The token refresh under the account's lock row (`SELECT … FOR UPDATE`): the processes
    /// of every machine wait their turn, and find the token the first one stored.
    public func refreshToken(
        api: String, appID: String, _ body: @escaping @Sendable (TokenRefreshState) async throws -> TokenRefreshResult
    ) async throws -> StoredToken? {
        let outcome: Result<StoredToken?, any Error> = try await transaction("cannot refresh the token of \(appID) in") {
            db, logger in
            // A waiter gives up (`busy`) before the call's own time limit.
            try await db.exec("SET LOCAL lock_timeout = '25s'", logger)
            try await db.exec(
                "INSERT INTO token_refresh_locks (api, app_id) VALUES (\(api), \(appID)) ON CONFLICT DO NOTHING", logger)
            _ = try await db.row(
                "SELECT app_id FROM token_refresh_locks WHERE api = \(api) AND app_id = \(appID) FOR UPDATE", logger)
            let stored = try await Self.storedToken(db, logger, api: api, appID: appID)
            var forced: [Date] = []
            for row in try await db.rows(
                "SELECT at FROM token_forced_refreshes WHERE api = \(api) AND app_id = \(appID) ORDER BY at", logger)
            {
                forced.append(try row.date("at"))
            }
            let result: TokenRefreshResult
            do {
                result = try await body(TokenRefreshState(stored: stored, forcedRefreshes: forced))
            } catch {
                return .failure(error)
            }
            guard case .fetched(let token, let forcedAt) = result else { return .success(stored) }
            try await db.exec(
                """
                INSERT INTO tokens (api, app_id, value, expires_at, stored_at)
                VALUES (\(api), \(appID), \(token.value), \(Millis.encode(token.expiresAt)), \(Millis.encode(Date())))
                ON CONFLICT (api, app_id) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, stored_at = EXCLUDED.stored_at
                """, logger)
            if let forcedAt {
                try await db.exec(
                    "INSERT INTO token_forced_refreshes (api, app_id, at) VALUES (\(api), \(appID), \(Millis.encode(forcedAt)))",
                    logger)
                let old = Millis.encode(forcedAt.addingTimeInterval(-2 * 86_400))
                try await db.exec(
                    "DELETE FROM token_forced_refreshes WHERE api = \(api) AND app_id = \(appID) AND at < \(old)", logger)
            }
            return .success(StoredToken(value: token.value, expiresAt: Millis.decode(Millis.encode(token.expiresAt))))
        }
        return try outcome.get()
    }

    static func storedToken(_ db: PostgresConnection, _ logger: Logger, api: String, appID: String) async throws
        -> StoredToken?
    {
        try await db.row("SELECT value, expires_at FROM tokens WHERE api = \(api) AND app_id = \(appID)", logger).map {
            StoredToken(value: try $0.value("value"), expiresAt: try $0.date("expires_at"))
        }
    }
}

// MARK: - The listeners' shared replay memory

extension PostgresStateStore: SharedReplayMemory {
    public func admitPush(account: String, timestamp: Int64, nonce: String, now: Date, expiresAt: Date) async throws
        -> Bool
    {
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let expiry = Int64(expiresAt.timeIntervalSince1970.rounded(.up))
        return try await transaction("cannot check a push's (timestamp, nonce) in") { db, logger in
            try await db.exec("DELETE FROM replay_seen WHERE expires_at < \(nowSeconds - 60)", logger)
            return try await db.changes(
                """
                INSERT INTO replay_seen (account, ts, nonce, expires_at) VALUES (\(account), \(timestamp), \(nonce), \(expiry))
                ON CONFLICT (account, ts, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
                WHERE replay_seen.expires_at < \(nowSeconds)
                RETURNING 1
                """, logger) > 0
        }
    }

    public func forgetPush(account: String, timestamp: Int64, nonce: String) async throws {
        try await transaction("cannot forget a push's (timestamp, nonce) in") { db, logger in
            try await db.exec(
                "DELETE FROM replay_seen WHERE account = \(account) AND ts = \(timestamp) AND nonce = \(nonce)", logger)
        }
    }
}
