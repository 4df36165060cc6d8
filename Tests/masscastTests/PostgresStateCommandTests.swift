import Foundation
import MasscastTesting
import RunLog
import Testing

/// The commands with their state in PostgreSQL (a new database on the test server per test;
/// skipped without `MASSCAST_TEST_POSTGRES_URL`, failed under `MASSCAST_REQUIRE_TOOLS=1`).
@Suite("state in PostgreSQL: the binary")
struct PostgresStateCommandTests {
    func withDatabase(_ body: (String) async throws -> Void) async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        try await TestPostgres.withDatabase { location in try await body(location.description) }
    }

    @Test("run, run again, runs list and runs show with --state postgres:// and MASSCAST_STATE_URL: one send, one truth")
    func runAndHistory() async throws {
        try await withDatabase { url in
            try await withSandbox { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "pg-run"))
                let options = ["--config", ws.configPath, "--log-format", "json"]
                let first = try await ws.masscast(["run", pipeline, "--state", url] + options)
                #expect(first.exited(0), "\(first)")
                let runID = try #require(first.runID)
                // Run again from the environment's URL: the same store says it is done; nothing is sent.
                let again = try await ws.masscast(["run", pipeline] + options, env: ["MASSCAST_STATE_URL": url])
                #expect(again.exited(0), "\(again)")
                #expect(try await ws.sends().count == 1)
                let listed = try await ws.masscast(["runs", "list", "--state", url, "--format", "json"])
                #expect(listed.exited(0) && listed.out.contains(runID), "\(listed)")
                let shown = try await ws.masscast(["runs", "show", runID, "--format", "json"], env: ["MASSCAST_STATE_URL": url])
                #expect(shown.exited(0), "\(shown)")
                let report = try RunReport.decode(Data(shown.out.utf8))
                #expect(report.run.status == .succeeded && report.sends.count == 1)
                // No SQLite file was written anywhere in the project.
                let files = FileManager.default.enumerator(atPath: ws.dir.path)?.compactMap { $0 as? String } ?? []
                #expect(!files.contains { $0.contains("sqlite") }, "\(files)")
                await ws.expectNoSecrets()
            }
        }
    }
}
