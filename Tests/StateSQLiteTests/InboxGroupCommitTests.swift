import Foundation
import MasscastTesting
import RunState
import Testing

@testable import StateSQLite

/// Waits (at most a minute) until `condition` holds.
func eventually(_ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + .seconds(60)
    while !condition() {
        guard clock.now < end else { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

@Suite("Inbox group commit (SQLite)")
struct InboxGroupCommitTests {
    @Test("pushes that arrive while a commit waits are stored together after it; each caller learns whether its push was new")
    func pushesQueuedBehindACommit() async throws {
        try await withSQLiteStore { store, _ in
            let lock = try await StateFileWriteLock(path: store.path)
            // 20 pushes, each twice (a WeChat retry racing the first try): the first waits
            // for the lock, the other 39 queue behind it.
            let calls = Task {
                try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
                    for n in 0..<40 {
                        let id = Int64(2_000_000_000 + n % 20)
                        group.addTask { (id, try await store.storeInboxEvent(inboxEvent(id))) }
                    }
                    return try await group.reduce(into: [(Int64, Bool)]()) { $0.append($1) }
                }
            }
            try await eventually { store.inboxCommits.waitingCount == 39 }
            try await lock.release()
            let results = try await calls.value
            #expect(results.count == 40)
            // Exactly one of each pair was new.
            let newIDs = results.filter(\.1).map(\.0)
            #expect(newIDs.count == 20 && Set(newIDs).count == 20)
            let stored = try await store.inboxEvents(
                api: testAPI, originalID: "gh_0123456789ab", msgIDs: (0..<20).map { 2_000_000_000 + Int64($0) })
            #expect(stored.count == 20)
            #expect(store.inboxCommits.waitingCount == 0)
            // Two transactions: the first push alone, then the 39 that queued behind it.
            #expect(store.inboxCommitCounts == InboxCommitCounts(transactions: 2, pushes: 40))
        }
    }

    @Test("a commit that fails fails every push in it, and stores none of them; the next push is stored")
    func failedCommitFailsItsBatch() async throws {
        try await withSQLiteStore { store, _ in
            // The database refuses one MsgID, as a full disk or a damaged file would refuse all.
            try store.executeForTesting(
                "CREATE TRIGGER refuse_666 BEFORE INSERT ON inbox WHEN NEW.msg_id = 666 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
            let lock = try await StateFileWriteLock(path: store.path)
            // The first push waits for the lock alone; 666 and nine more queue behind it.
            let first = Task { try await store.storeInboxEvent(inboxEvent(1)) }
            try await eventually { store.inboxCommits.isCommitting }
            let batch = Task {
                await withTaskGroup(of: (Int64, Bool?).self) { group in
                    for id in [Int64(666)] + (2...10).map({ Int64($0) }) {
                        group.addTask { (id, try? await store.storeInboxEvent(inboxEvent(id))) }
                    }
                    return await group.reduce(into: [(Int64, Bool?)]()) { $0.append($1) }
                }
            }
            try await eventually { store.inboxCommits.waitingCount == 10 }
            try await lock.release()
            #expect(try await first.value == true)
            let results = await batch.value
            #expect(results.count == 10 && results.allSatisfy { $0.1 == nil }, "\(results)")
            let ids = (1...10).map { Int64($0) } + [666]
            #expect(try await store.inboxEvents(api: testAPI, originalID: "gh_0123456789ab", msgIDs: ids).map(\.msgID) == [1])
            // The failure names the push and the file.
            do {
                _ = try await store.storeInboxEvent(inboxEvent(666))
                Issue.record("666 was stored")
            } catch {
                #expect("\(error)".contains("cannot store push 666 in state file \(store.path)"), "\(error)")
            }
            #expect(try await store.storeInboxEvent(inboxEvent(11)) == true)
        }
    }
}
