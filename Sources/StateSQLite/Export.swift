import Foundation
import GRDB
import RunState

extension SQLiteStateStore {
    /// Every record of the file as plain tables (``StoreExport/tableNames``), each in
    /// insertion order, read in one transaction (a consistent copy while others write).
    public func exportTables() async throws -> StoreExport {
        try await read("cannot read the records of") { db in
            let identity = try String.fetchOne(db, sql: "SELECT value FROM store_meta WHERE key = 'store_id'") ?? ""
            var tables: [StoreTable] = []
            for name in StoreExport.tableNames {
                guard try db.tableExists(name) else { continue }
                let columns = try db.columns(in: name).map(\.name)
                let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
                var rows: [[StoreCell]] = []
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(list) FROM \"\(name)\" ORDER BY rowid")
                while let row = try cursor.next() {
                    rows.append(row.databaseValues.map { value in
                        switch value.storage {
                        case .null: .null
                        case .int64(let value): .integer(value)
                        case .double(let value): .real(value)
                        case .string(let value): .text(value)
                        case .blob(let data): .blob([UInt8](data))
                        }
                    })
                }
                tables.append(StoreTable(name: name, columns: columns, rows: rows))
            }
            return StoreExport(storeIdentity: identity, tables: tables)
        }
    }
}
