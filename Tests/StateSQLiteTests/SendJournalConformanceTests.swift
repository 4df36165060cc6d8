import Foundation
import RunState
import StateSQLite
import Testing

/// What any `SendJournal` must do. Each test sees a fresh store only through `SendJournal`.
@Suite("SendJournal conformance")
struct SendJournalConformanceTests {
    @Test("journal entries are written, replaced by key, looked up and listed per run", arguments: StoreKind.allCases)
    func journalReplaceAndLookup(_ kind: StoreKind) async throws {
        try await withSendJournal(kind) { store in
            let intent = journalEntry("mc1-aaa", batch: 0, state: .intent, updatedAt: 0)
            try await store.journal(intent)
            #expect(try await store.journalEntry(api: testAPI, appID: intent.appID, key: "mc1-aaa") == intent)
            var sent = intent
            sent.state = .sent
            sent.msgID = 1_000_000_001
            sent.msgDataID = 2_247_483_647
            sent.lastAttemptAt = at(700)
            sent.updatedAt = at(800)
            try await store.journal(sent)
            #expect(try await store.journalEntry(api: testAPI, appID: intent.appID, key: "mc1-aaa") == sent)
            // The same key under another account is another entry.
            #expect(try await store.journalEntry(api: testAPI, appID: "wx0000000000000002", key: "mc1-aaa") == nil)

            try await store.journal(journalEntry("mc1-ccc", batch: 2, updatedAt: 50))
            try await store.journal(journalEntry("mc1-bbb", batch: 1, updatedAt: 20))
            try await store.journal(journalEntry("mc1-zzz", runID: "run-2"))
            #expect(try await store.journalEntries(runID: "run-1").map(\.key) == ["mc1-aaa", "mc1-bbb", "mc1-ccc"])
            #expect(try await store.journalEntries(runID: "run-2").map(\.key) == ["mc1-zzz"])
        }
    }

    @Test("acceptedSends counts sent entries of the account at or after the instant", arguments: StoreKind.allCases)
    func acceptedSendsWindow(_ kind: StoreKind) async throws {
        try await withSendJournal(kind) { store in
            try await store.journal(journalEntry("k1", state: .sent, updatedAt: -1))  // before the window
            try await store.journal(journalEntry("k2", state: .sent, updatedAt: 0))  // at its start
            try await store.journal(journalEntry("k3", state: .sent, updatedAt: 3_600_000))
            try await store.journal(journalEntry("k4", state: .intent, updatedAt: 10))
            try await store.journal(journalEntry("k5", state: .refused, updatedAt: 10))
            try await store.journal(journalEntry("k6", state: .unknown, updatedAt: 10))
            try await store.journal(journalEntry("k7", appID: "wx0000000000000002", state: .sent, updatedAt: 10))
            #expect(try await store.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(0)) == 2)
            #expect(try await store.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(-1)) == 3)
            #expect(try await store.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(3_600_001)) == 0)
            #expect(try await store.acceptedSends(api: testAPI, appID: "wx0000000000000002", since: at(0)) == 1)
            #expect(try await store.acceptedSends(api: testAPI, appID: "wx-nobody", since: at(0)) == 0)
        }
    }
}
