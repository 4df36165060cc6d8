import Foundation
import Testing

@testable import StateSQLite

/// A new state file is given the current schema in one script (`Schema.current`); a file
/// migrated step by step must come out the same, object for object.
@Suite("State file schema")
struct SchemaTests {
    @Test("a new file's schema is the one the migrations leave, with the same version, migrations and id")
    func newFileIsTheMigratedFile() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let created = scratch.file("created.sqlite")
        let migrated = scratch.file("migrated.sqlite")
        try SQLiteStateStore(path: created).close()
        try SQLiteStateStore.createForTesting(at: migrated, version: Schema.version, sql: "SELECT 1")

        let new = try SQLiteStateStore.schemaForTesting(at: created)
        let old = try SQLiteStateStore.schemaForTesting(at: migrated)
        #expect(new.contains("user_version \(Schema.version)"))
        #expect(new.contains("migrations \(Schema.currentMigrations)"))
        #expect(new.contains("store_meta [\"store_id\"]"))
        // Every table, index and their text (columns, defaults, checks, keys) as migrated.
        for (line, expected) in zip(new, old) {
            #expect(line == expected)
        }
        #expect(new.count == old.count, "objects in the new file: \(new.count), in the migrated one: \(old.count)")
        // Opening the migrated file, or the created one again, changes nothing.
        try SQLiteStateStore(path: migrated).close()
        try SQLiteStateStore(path: created).close()
        #expect(try SQLiteStateStore.schemaForTesting(at: migrated) == old)
        #expect(try SQLiteStateStore.schemaForTesting(at: created) == new)
    }

    @Test("a file with other tables in it is left to the migrations, not overwritten")
    func fileWithTablesIsMigrated() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("partial.sqlite")
        try SQLiteStateStore.createForTesting(at: path, version: 2, sql: "SELECT 1")
        try SQLiteStateStore(path: path).close()
        let migrated = scratch.file("migrated.sqlite")
        try SQLiteStateStore.createForTesting(at: migrated, version: Schema.version, sql: "SELECT 1")
        let upgraded = try SQLiteStateStore.schemaForTesting(at: path)
        let expected = try SQLiteStateStore.schemaForTesting(at: migrated)
        #expect(upgraded.filter { !$0.hasPrefix("store_meta") } == expected.filter { !$0.hasPrefix("store_meta") })
    }
}
