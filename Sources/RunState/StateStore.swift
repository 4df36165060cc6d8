/// Durable state of runs, the send journal, the push inbox, the shared token cache and the
/// broadcasts' leases and serials: the five protocols a full store implements. Each user asks for the part it needs (the listener
/// takes `any PushInbox`); the runner and the command line take the whole `StateStore`.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
/// Implementations: `SQLiteStateStore` (StateSQLite) and `PostgresStateStore`
/// (StatePostgres). A conformance suite tests them alike.
public protocol StateStore: AnyObject, RunStore, SendJournal, PushInbox, TokenCacheStore, BroadcastLeases {
    /// How messages name the store: a file's path, or a PostgreSQL URL without its password.
    var displayLocation: String { get }
    /// A folder on this machine beside the store for a run's private files (the audience
    /// spool), or `nil` when the store is not on this machine.
    var localFolder: String? { get }
    /// Closes the store's files or connections; later calls fail.
    func close() async throws
}

extension StateStore {
    public var displayLocation: String { "the state store" }
    public var localFolder: String? { nil }
}
