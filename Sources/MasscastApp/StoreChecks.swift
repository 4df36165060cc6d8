import Foundation
import RunState
import StatePostgres

/// Checks of a state store made when a long-lived command starts (`run`, `resume`, `listen`).
public enum StoreChecks {
    /// What the user should know about `store` before relying on it across machines: a
    /// PostgreSQL store reached through a transaction-mode pooler (see
    /// `PostgresStateStore.poolerProblem()`); `nil` otherwise (a SQLite file, a direct connection).
    public static func poolerWarning(_ store: any StateStore) async -> String? {
        guard let postgres = store as? PostgresStateStore else { return nil }
        return await postgres.poolerProblem()
    }
}
