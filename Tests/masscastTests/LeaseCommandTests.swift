import Foundation
import MasscastTesting
import RunState
import StatePostgres
import StateSQLite
import Testing

/// `masscast leases` and `masscast force-unlock`, run as the binary against a SQLite file and
/// a PostgreSQL database (skipped without a test server).
@Suite("leases and force-unlock: the binary")
struct LeaseCommandTests {
    enum Kind: String, CaseIterable, Sendable { case sqlite, postgres }

    /// A fresh store of `kind` and the `--state` value that names it.
    func withStore(_ kind: Kind, _ body: (any StateStore, String) async throws -> Void) async throws {
        switch kind {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-leases-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let path = dir.appendingPathComponent("state.sqlite").path
            let store = try SQLiteStateStore(path: path)
            try await body(store, path)
            try store.close()
        case .postgres:
            if let reason = TestPostgres.skipReason {
                if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
                return
            }
            try await TestPostgres.withDatabase { location in
                let store = try await PostgresStateStore.open(location, leaseClock: .caller)
                try await body(store, location.description)
                await store.close()
            }
        }
    }

    func masscast(_ arguments: [String]) async throws -> BinaryResult {
        let r = try await MasscastBinary.run(arguments)
        #expect(!r.timedOut && !r.signalled, "\(r)")
        return r
    }

    @Test("leases lists holders and epochs; force-unlock at a moved epoch is refused, at the current one it fences the holder off", arguments: Kind.allCases)
    func listAndForceUnlock(_ kind: Kind) async throws {
        try await withStore(kind) { store, state in
            let spring = BroadcastIdentity(
                project: "mc-test", appID: "wx0000000000000001", api: "https://api.weixin.qq.com", name: "spring-sale",
                inputsJSON: "{}")
            let empty = try await masscast(["leases", "--state", state])
            #expect(empty.exited(0) && empty.out.contains("no leases held"), "\(empty)")
            _ = try await store.acquireLease(spring, owner: "ci-a:100", ttl: 600, now: Date())
            let holder = try #require(try await store.acquireLease(spring, owner: "ci-b:200", ttl: 1, now: Date(timeIntervalSinceNow: 700)).acquired)
            #expect(holder.epoch == 2)

            let text = try await masscast(["leases", "--state", state])
            #expect(text.exited(0), "\(text)")
            #expect(text.out.contains("spring-sale") && text.out.contains("ci-b:200") && text.out.contains("EPOCH"), "\(text)")
            let json = try await masscast(["leases", "--state", state, "--format", "json"])
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]], "\(json)")
            #expect(listed.count == 1)
            #expect(listed.first?["holder"] as? String == "ci-b:200" && listed.first?["epoch"] as? Int == 2)

            let moved = try await masscast(["force-unlock", "spring-sale", "--epoch", "1", "--state", state])
            #expect(moved.exited(2), "\(moved)")
            #expect(moved.err.contains("is at epoch 2"), "\(moved)")
            #expect(try await store.lease(spring)?.owner == "ci-b:200")
            let unknown = try await masscast(["force-unlock", "autumn", "--epoch", "1", "--state", state])
            #expect(unknown.exited(2) && unknown.err.contains("no lease of broadcast autumn"), "\(unknown)")

            let forced = try await masscast(["force-unlock", "spring-sale", "--epoch", "2", "--state", state])
            #expect(forced.exited(0), "\(forced)")
            #expect(forced.out.contains("from ci-b:200 at epoch 2"), "\(forced)")
            // The old holder's next journal write is refused; the broadcast is free for the next applier.
            let entry = JournalEntry(
                api: spring.api, appID: spring.appID, key: "mc2-x", runID: "run-x", stepID: "send", batch: 0,
                endpoint: "message/mass/sendall", contentDigest: "v2:ab", recipients: 0, state: .intent,
                firstAttemptAt: Date(), lastAttemptAt: Date(), updatedAt: Date())
            let error = await #expect(throws: StateStoreError.self) {
                try await store.journal(entry, fence: LeaseFence(holder))
            }
            #expect(error?.code == .leaseLost)
            #expect(try await store.lease(spring) == nil)
            #expect(try await store.acquireLease(spring, owner: "ci-c:300", ttl: 60, now: Date()).acquired?.epoch == 4)
        }
    }
}
