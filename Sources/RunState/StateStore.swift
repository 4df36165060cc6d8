/// Durable state of runs, the send journal, the push inbox, the shared token cache and the
/// broadcasts' leases and serials: the five protocols a full store implements. Each user asks for the part it needs (the listener
/// takes `any PushInbox`); the runner and the command line take the whole `StateStore`.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
/// Implementations: `SQLiteStateStore` (StateSQLite). A conformance suite tests them alike.
public protocol StateStore: RunStore, SendJournal, PushInbox, TokenCacheStore, BroadcastLeases {}
