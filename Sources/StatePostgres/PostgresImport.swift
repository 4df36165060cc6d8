import Foundation
import Logging
import PostgresNIO
import RunState

extension PostgresStateStore {
    /// Writes an exported store (``StoreExport``, from a SQLite file) into this database, in
    /// one transaction: all of it, or nothing (an interrupted migration leaves the target as
    /// it was). The target must hold no records, or be this very store already (the same store
    /// identity: a migration run again writes only what is missing). The target takes the
    /// source's store identity, so saved plans stay bound to it.
    ///
    /// - Throws: `StateStoreError` `.notOwner` for a target holding another store's records.
    public func importTables(_ export: StoreExport) async throws -> StoreImportSummary {
        let location = self.location
        return try await transaction("cannot migrate into") { db, logger in
            // One migration at a time into this database.
            try await db.exec("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock + 1))", logger)
            let identity = try await db.row("SELECT value FROM store_meta WHERE key = 'store_id'", logger)?
                .value("value", as: String.self) ?? ""
            var holdsRecords = false
            for table in ["broadcasts", "runs", "journal", "inbox", "tokens"] {
                if try await db.row(PostgresQuery(unsafeSQL: "SELECT 1 AS one FROM \(table) LIMIT 1"), logger) != nil {
                    holdsRecords = true
                }
            }
            let resumed = holdsRecords && identity == export.storeIdentity
            if holdsRecords && !resumed {
                throw StateStoreError(
                    code: .notOwner, path: location.description,
                    message: "cannot migrate into the PostgreSQL state store \(location): it already holds the records of another store (store id \(identity), the file's is \(export.storeIdentity))",
                    hint: "migrate into an empty database (createdb NAME, then --to postgres://…/NAME); a migration is only repeated into the database it wrote")
            }
            if !export.storeIdentity.isEmpty {
                try await db.exec(
                    """
                    INSERT INTO store_meta (key, value) VALUES ('store_id', \(export.storeIdentity))
                    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                    """, logger)
            }
            var written: [String: Int] = [:]
            var read: [String: Int] = [:]
            for table in export.tables {
                read[table.name] = table.rows.count
                let types = try await Self.columnTypes(db, logger, table: table.name)
                guard !types.isEmpty else { continue }
                // Columns both stores have; a column only the target has takes its default
                // (a lease's epoch: 1, its first).
                let shared = table.columns.enumerated().filter { types[$0.element] != nil }
                var extra: [(String, Int64)] = []
                if table.name == "leases", !table.columns.contains("epoch"), types["epoch"] != nil {
                    extra.append(("epoch", 1))
                }
                let names = (shared.map(\.element) + extra.map(\.0)).map { "\"\($0)\"" }.joined(separator: ", ")
                var count = 0
                for row in table.rows {
                    var bindings = PostgresBindings(capacity: shared.count + extra.count)
                    for (index, column) in shared {
                        try Self.bind(row[index], as: types[column] ?? "text", into: &bindings, table: table.name, column: column)
                    }
                    for (_, value) in extra { try bindings.append(value) }
                    let placeholders = (1...(shared.count + extra.count)).map { "$\($0)" }.joined(separator: ", ")
                    let sql = "INSERT INTO \"\(table.name)\" (\(names)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING RETURNING 1"
                    count += try await db.changes(PostgresQuery(unsafeSQL: sql, binds: bindings), logger)
                }
                written[table.name] = count
            }
            // Serial columns continue after the copied rows.
            for (table, column) in [("broadcasts", "id"), ("runs", "seq"), ("steps", "seq"), ("attempts", "id")] {
                try await db.exec(
                    PostgresQuery(unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'),
                                      GREATEST((SELECT COALESCE(MAX(\(column)), 0) FROM \(table)), 1))
                        """), logger)
            }
            return StoreImportSummary(written: written, read: read, resumed: resumed)
        }
    }

    /// The target's columns of `table` and their types (`information_schema`'s `data_type`).
    static func columnTypes(_ db: PostgresConnection, _ logger: Logger, table: String) async throws -> [String: String] {
        var types: [String: String] = [:]
        for row in try await db.rows(
            """
            SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table)
            """, logger)
        {
            types[try row.value("name", as: String.self)] = try row.value("type", as: String.self)
        }
        return types
    }

    static func bind(
        _ cell: StoreCell, as type: String, into bindings: inout PostgresBindings, table: String, column: String
    ) throws {
        switch (cell, type) {
        case (.null, _): bindings.appendNull()
        case (.integer(let value), "boolean"): try bindings.append(value != 0)
        case (.integer(let value), "bigint"): try bindings.append(value)
        case (.integer(let value), "integer"): try bindings.append(Int32(clamping: value))
        case (.integer(let value), "double precision"): try bindings.append(Double(value))
        case (.integer(let value), "text"): try bindings.append(String(value))
        case (.real(let value), "double precision"): try bindings.append(value)
        case (.real(let value), "bigint") where value == value.rounded(): try bindings.append(Int64(value))
        case (.text(let value), "text"): try bindings.append(value)
        case (.blob(let bytes), "text"): try bindings.append(String(decoding: bytes, as: UTF8.self))
        default:
            throw StateStoreError(
                code: .unreadableRecord, path: table,
                message: "cannot migrate column \(table).\(column): its value does not fit the target's type \(type)",
                hint: "the state file may have been edited by hand or by another program")
        }
    }
}
