import Foundation

/// A store's records as plain tables, for `masscast state migrate` (from a SQLite file to a
/// PostgreSQL database): every run, generation, step, attempt, journal entry, push, lease,
/// serial and cached token, so that clientmsgids and "already sent" stay true.
public struct StoreTable: Sendable {
    /// The table's name (the same in both stores).
    public var name: String
    public var columns: [String]
    /// The rows, in the source's insertion order; each holds one cell per column.
    public var rows: [[StoreCell]]

    public init(name: String, columns: [String], rows: [[StoreCell]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }
}

/// One value of a stored row.
public enum StoreCell: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// What a store export holds: the store's identity and its tables.
public struct StoreExport: Sendable {
    public var storeIdentity: String
    public var tables: [StoreTable]

    public init(storeIdentity: String, tables: [StoreTable]) {
        self.storeIdentity = storeIdentity
        self.tables = tables
    }

    /// The tables a migration carries, in the order they are written (a run after its
    /// broadcast). Others (the SQLite file's token refresh claims) are not carried.
    public static let tableNames = [
        "broadcasts", "runs", "steps", "attempts", "journal", "inbox", "tokens", "token_forced_refreshes", "leases",
    ]
}

/// What a migration wrote.
public struct StoreImportSummary: Sendable, Hashable {
    /// Rows written per table (rows already there are not counted).
    public var written: [String: Int]
    /// Rows read per table from the source.
    public var read: [String: Int]
    /// Whether the target held this store already (a migration run again).
    public var resumed: Bool

    public init(written: [String: Int], read: [String: Int], resumed: Bool) {
        self.written = written
        self.read = read
        self.resumed = resumed
    }
}
