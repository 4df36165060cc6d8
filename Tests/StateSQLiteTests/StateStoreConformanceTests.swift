import Foundation
import RunState
import StateSQLite
import Testing

/// What any `StateStore` must do across its parts (runs with the journal, every part per API
/// identity). Each test takes a fresh store from `withStore` (SQLite here; another
/// implementation plugs in the same way).
@Suite("StateStore conformance")
struct StateStoreConformanceTests {
    // MARK: Broadcasts, generations, --rerun

    @Test("--rerun is refused while a send of the generation has an unknown outcome; otherwise it abandons it", arguments: StoreKind.allCases)
    func rerunOfUnfinishedBroadcast(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.journal(journalEntry("mc1-unknown", runID: "run-1", state: .unknown))
            try await store.finishRun("run-1", status: .stopped, message: "outcome unknown", at: at(1_000))
            let refused = try await store.beginRun(runTemplate("run-2"), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            guard case .rerunRefused(let generation, let unknown) = refused else {
                Issue.record("expected rerunRefused, got \(refused)")
                return
            }
            #expect(generation == 1 && unknown.map(\.key) == ["mc1-unknown"])
            #expect(try await store.run("run-2") == nil)
            // Settled (sent): --rerun now abandons generation 1 and starts generation 2.
            try await store.journal(journalEntry("mc1-unknown", runID: "run-1", state: .sent))
            var template = runTemplate("run-3")
            template.keyFormat = 2
            let rerun = try await store.beginRun(template, nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(rerun.started?.generation == 2 && rerun.started?.keyFormat == 2)
            // The abandoned generation's run is never continued.
            #expect(try await store.claimRun("run-1", owner: "alive:9", now: at(2_000), isOwnerAlive: ownerIsAlive)
                == .superseded(currentGeneration: 2))
            let fresh = try await store.beginRun(
                runTemplate("run-4", identity: identity(name: "other")), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(fresh.started?.generation == 1)
        }
    }

    @Test("journal, quota counts, pushes and tokens are kept per API identity", arguments: StoreKind.allCases)
    func keyedByAPI(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let sandboxAPI = APIIdentity.sandbox(fixtureDigest: "feedface")
            var rehearsed = journalEntry("mc1-same", state: .sent)
            rehearsed.api = sandboxAPI
            try await store.journal(rehearsed)
            #expect(try await store.journalEntry(api: testAPI, appID: rehearsed.appID, key: "mc1-same") == nil)
            #expect(try await store.journalEntry(api: sandboxAPI, appID: rehearsed.appID, key: "mc1-same")?.state == .sent)
            #expect(try await store.acceptedSends(api: testAPI, appID: rehearsed.appID, since: at(-1)) == 0)
            #expect(try await store.acceptedSends(api: sandboxAPI, appID: rehearsed.appID, since: at(-1)) == 1)

            let one = APIIdentity.sandboxInstance(fixtureDigest: "feedface", instance: "one")
            let two = APIIdentity.sandboxInstance(fixtureDigest: "feedface", instance: "two")
            var push = inboxEvent(1_000_000_001)
            push.api = one
            #expect(try await store.storeInboxEvent(push) == true)
            push.api = two
            push.totalCount = 7
            #expect(try await store.storeInboxEvent(push) == true, "the same msg_id from another sandbox is another push")
            #expect(try await store.inboxEvents(api: one, originalID: push.originalID, msgIDs: [1_000_000_001]).first?.totalCount == 100)
            #expect(try await store.inboxEvents(api: two, originalID: push.originalID, msgIDs: [1_000_000_001]).first?.totalCount == 7)
            #expect(try await store.inboxEvents(api: testAPI, originalID: push.originalID, msgIDs: [1_000_000_001]).isEmpty)

            try await store.storeToken(StoredToken(value: "sandbox-token", expiresAt: at(7_200_000)), api: one, appID: "wx1")
            #expect(try await store.loadToken(api: testAPI, appID: "wx1") == nil)
            #expect(try await store.loadToken(api: one, appID: "wx1")?.value == "sandbox-token")
        }
    }
}
