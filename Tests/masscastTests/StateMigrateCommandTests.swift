import Foundation
import MasscastTesting
import RunLog
import Testing

/// `masscast state migrate`: a SQLite file's history carried into PostgreSQL, so nothing is
/// sent twice after the move (a new database on the test server per test; skipped without
/// `MASSCAST_TEST_POSTGRES_URL`, failed under `MASSCAST_REQUIRE_TOOLS=1`).
@Suite("state migrate: the binary")
struct StateMigrateCommandTests {
    func withDatabases(_ count: Int, _ body: ([String]) async throws -> Void) async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        if count == 1 {
            try await TestPostgres.withDatabase { location in try await body([location.description]) }
        } else {
            try await TestPostgres.withDatabase { first in
                try await TestPostgres.withDatabase { second in try await body([first.description, second.description]) }
            }
        }
    }

    @Test("run on SQLite, migrate, run again on PostgreSQL: nothing is sent again; runs list is the same; a re-run of migrate writes nothing")
    func migrateKeepsAlreadySent() async throws {
        try await withDatabases(1) { urls in
            let url = urls[0]
            try await withSandbox { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "moving"))
                let file = ws.dir.appendingPathComponent("state.sqlite").path
                let options = ["--config", ws.configPath, "--log-format", "json"]
                let first = try await ws.masscast(["run", pipeline, "--state", file] + options)
                #expect(first.exited(0), "\(first)")
                let runID = try #require(first.runID)
                #expect(try await ws.sends().count == 1)
                let before = try await ws.masscast(["runs", "list", "--state", file, "--format", "json"])

                let migrated = try await ws.masscast(["state", "migrate", "--from", file, "--to", url])
                #expect(migrated.exited(0), "\(migrated)")
                #expect(migrated.out.contains("runs: 1 row"), "\(migrated)")
                let after = try await ws.masscast(["runs", "list", "--state", url, "--format", "json"])
                #expect(after.exited(0) && after.out == before.out, "before: \(before.out)\nafter: \(after.out)")

                // The same broadcast against PostgreSQL: already sent, nothing sent again.
                let again = try await ws.masscast(["run", pipeline, "--state", url] + options)
                #expect(again.exited(0), "\(again)")
                #expect(try await ws.sends().count == 1, "the migrated journal kept the send")
                let shown = try await ws.masscast(["runs", "show", runID, "--format", "json", "--state", url])
                let report = try RunReport.decode(Data(shown.out.utf8))
                #expect(report.run.status == .succeeded && report.sends.count == 1)

                // Run again (after a Ctrl-C, say): the same store, nothing missing, nothing written.
                let repeated = try await ws.masscast(["state", "migrate", "--from", file, "--to", url])
                #expect(repeated.exited(0), "\(repeated)")
                #expect(repeated.out.contains("again"), "\(repeated)")
            }
        }
    }

    @Test("a target holding another store's records is refused, and left as it was")
    func otherStoreRefused() async throws {
        try await withDatabases(1) { urls in
            let url = urls[0]
            try await withSandbox { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "elsewhere"))
                let options = ["--config", ws.configPath, "--log-format", "json"]
                // The database already has a history of its own.
                #expect(try await ws.masscast(["run", pipeline, "--state", url] + options).exited(0))
                let file = ws.dir.appendingPathComponent("state.sqlite").path
                let other = try ws.write("pipelines/q.yaml", sendAndWaitPipeline(name: "local"))
                #expect(try await ws.masscast(["run", other, "--state", file] + options).exited(0))
                let refused = try await ws.masscast(["state", "migrate", "--from", file, "--to", url])
                #expect(refused.exited(2), "\(refused)")
                #expect(refused.err.contains("another store"), "\(refused)")
                let listed = try await ws.masscast(["runs", "list", "--state", url, "--format", "json"])
                #expect(listed.exited(0))
                let runs = try JSONSerialization.jsonObject(with: Data(listed.out.utf8))
                let count = (runs as? [Any])?.count ?? ((runs as? [String: Any])?["runs"] as? [Any])?.count
                #expect(count == 1, "\(listed.out)")
            }
        }
    }
}
