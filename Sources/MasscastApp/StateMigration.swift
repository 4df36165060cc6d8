import Foundation
import RunState
import StatePostgres
import StateSQLite

/// `masscast state migrate`: a SQLite state file's records copied into a PostgreSQL database
/// (runs, generations, steps, attempts, the journal, the inbox, leases and serials, cached
/// tokens and the store's identity), so that clientmsgids and "already sent" stay true.
public enum StateMigration {
    /// Copies the records of the SQLite file at `from` into the PostgreSQL store `to` (a
    /// `postgres://` URL without a password; `nil`: `MASSCAST_STATE_URL`). One transaction:
    /// interrupted, it leaves the target unchanged; run again, it writes only what is missing.
    ///
    /// - Throws: `SetupError` (`.stateStore`): the file is missing or unreadable, the target is
    ///   not PostgreSQL or cannot be reached, or it holds another store's records.
    public static func run(from: String, to: String?, environment: AppEnvironment) async throws(SetupError)
        -> StoreImportSummary
    {
        let path = from.hasPrefix("/") ? from : (environment.workingDirectory as NSString).appendingPathComponent(from)
        guard FileManager.default.fileExists(atPath: path) else {
            throw SetupError(.stateStore, "--from \(from): no state file there. Name the SQLite file the runs used (state.path of masscast.yaml, or .masscast/state.sqlite)")
        }
        guard case .postgres(let location) = try StateLocation.resolve(explicit: to, config: nil, environment: environment)
        else {
            throw SetupError(.stateStore, "--to \(to ?? "(MASSCAST_STATE_URL is not set)"): the target must be a postgres:// URL (without a password: set PGPASSWORD)")
        }
        let source: SQLiteStateStore
        do {
            source = try SQLiteStateStore(path: path)
        } catch {
            throw SetupError(.stateStore, "\(error)")
        }
        defer { try? source.close() }
        let target: PostgresStateStore
        do {
            target = try await PostgresStateStore.open(location)
        } catch {
            throw SetupError(.stateStore, "\(error)")
        }
        do {
            let export = try await source.exportTables()
            let summary = try await target.importTables(export)
            await target.close()
            return summary
        } catch {
            await target.close()
            throw SetupError(.stateStore, "\(error)")
        }
    }

    /// What `state migrate` prints: rows read and written per table.
    public static func render(_ summary: StoreImportSummary, from: String, to: String) -> String {
        var lines = [
            summary.resumed
                ? "migrated \(from) into \(to) again: it held this store already; only missing rows were written"
                : "migrated \(from) into \(to)"
        ]
        for table in StoreExport.tableNames {
            guard let read = summary.read[table] else { continue }
            let written = summary.written[table] ?? 0
            lines.append("  \(table): \(read) row\(read == 1 ? "" : "s")" + (written == read ? "" : " (\(written) written, \(read - written) already there)"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
