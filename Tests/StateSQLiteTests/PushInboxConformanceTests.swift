import Foundation
import RunState
import StateSQLite
import Testing

/// What any `PushInbox` must do: all the listener relies on. Each test sees a fresh store only
/// through `PushInbox`.
@Suite("PushInbox conformance")
struct PushInboxConformanceTests {
    @Test("a push is stored once per (original id, msg id); the repeat returns false and changes nothing", arguments: StoreKind.allCases)
    func inboxDedupe(_ kind: StoreKind) async throws {
        try await withPushInbox(kind) { store in
            let first = inboxEvent(1_000_000_001)
            #expect(try await store.storeInboxEvent(first) == true)
            var repeated = first
            repeated.status = "send fail"
            #expect(try await store.storeInboxEvent(repeated) == false)
            #expect(try await store.storeInboxEvent(inboxEvent(1_000_000_001, originalID: "gh_other")) == true)
            #expect(try await store.storeInboxEvent(inboxEvent(1_000_000_003, status: "err(30003)")) == true)

            let found = try await store.inboxEvents(
                api: testAPI, originalID: first.originalID, msgIDs: [1_000_000_003, 42, 1_000_000_001, 1_000_000_003])
            #expect(found.map(\.msgID) == [1_000_000_003, 1_000_000_001])
            #expect(found.last == first)
            #expect(try await store.inboxEvents(api: testAPI, originalID: first.originalID, msgIDs: []).isEmpty)
            #expect(try await store.inboxEvents(api: testAPI, originalID: "gh_other", msgIDs: [1_000_000_001]).first?.originalID == "gh_other")
        }
    }

    @Test("inboxEvents handles long id lists", arguments: StoreKind.allCases)
    func inboxManyIDs(_ kind: StoreKind) async throws {
        try await withPushInbox(kind) { store in
            for id in Int64(1)...20 { try await store.storeInboxEvent(inboxEvent(id * 7)) }
            let ids = Array(Int64(1)...2_000)
            #expect(try await store.inboxEvents(api: testAPI, originalID: "gh_0123456789ab", msgIDs: ids).map(\.msgID) == (1...20).map { Int64($0) * 7 })
        }
    }
}
