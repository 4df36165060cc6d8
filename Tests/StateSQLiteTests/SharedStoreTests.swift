import Foundation
import MasscastTesting
import RunState
@testable import StatePostgres
import StateSQLite
import Testing

/// Two handles on one store, standing for two processes (on two machines, for PostgreSQL):
/// each has its own connections (SQLite: its own file handle).
func withTwoHandles(
    _ kind: StoreKind, _ body: (any StateStore, any StateStore) async throws -> Void
) async throws {
    switch kind {
    case .sqlite:
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let first = try SQLiteStateStore(path: directory.file("state.sqlite"))
        let second = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await body(first, second)
        try first.close()
        try second.close()
    case .postgres:
        try await withTwoPostgresHandles { first, second in try await body(first, second) }
    }
}

func withTwoPostgresHandles(_ body: (PostgresStateStore, PostgresStateStore) async throws -> Void) async throws {
    if let reason = TestPostgres.skipReason {
        if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
        return
    }
    try await TestPostgres.withDatabase { location in
        let first = try await PostgresStateStore.open(location)
        let second = try await PostgresStateStore.open(location)
        do {
            try await body(first, second)
        } catch {
            await first.close()
            await second.close()
            throw error
        }
        await first.close()
        await second.close()
    }
}

/// A counter shared by concurrent closures.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    private var inside = 0
    private(set) var mostAtOnce = 0

    func enter() -> Int {
        lock.withLock {
            value += 1
            inside += 1
            mostAtOnce = max(mostAtOnce, inside)
            return value
        }
    }

    func leave() { lock.withLock { inside -= 1 } }
    var count: Int { lock.withLock { value } }
}

/// What the stores share between processes: one token refresher at a time, forced refreshes
/// counted for everybody; (PostgreSQL) the listeners' replay memory and inbox wake-ups.
@Suite("Shared store: token refresher, replay memory, wake-ups")
struct SharedStoreTests {
    @Test("refreshToken: of 8 processes refreshing at once, one fetches; the others find its token", arguments: StoreKind.allCases)
    func oneRefresher(_ kind: StoreKind) async throws {
        try await withTwoHandles(kind) { first, second in
            let fetches = Counter()
            let app = "wx0000000000000001"
            let expiry = Date().addingTimeInterval(7200)
            let results = try await withThrowingTaskGroup(of: StoredToken?.self) { group in
                for i in 0..<8 {
                    let store = i.isMultiple(of: 2) ? first : second
                    group.addTask {
                        try await store.refreshToken(api: testAPI, appID: app) { state in
                            let n = fetches.enter()
                            defer { fetches.leave() }
                            if let stored = state.stored, stored.expiresAt > Date() { return .keep }
                            try await Task.sleep(for: .milliseconds(100))  // the call to WeChat
                            return .fetched(StoredToken(value: "TOKEN-\(n)", expiresAt: expiry), forcedAt: nil)
                        }
                    }
                }
                var all: [StoredToken?] = []
                for try await result in group { all.append(result) }
                return all
            }
            #expect(fetches.mostAtOnce == 1, "one process at a time holds the lock")
            #expect(Set(results.map { $0?.value }) == ["TOKEN-1"], "every process got the first one's token")
            #expect(try await first.loadToken(api: testAPI, appID: app)?.value == "TOKEN-1")
        }
    }

    @Test("refreshToken: forced refreshes are recorded for every process; a failing body stores nothing and lets go", arguments: StoreKind.allCases)
    func forcedRefreshesCounted(_ kind: StoreKind) async throws {
        try await withTwoHandles(kind) { first, second in
            let app = "wx0000000000000001"
            let forcedAt = at(1000)
            _ = try await first.refreshToken(api: testAPI, appID: app) { state in
                #expect(state.forcedRefreshes.isEmpty)
                return .fetched(StoredToken(value: "FORCED", expiresAt: at(7_200_000)), forcedAt: forcedAt)
            }
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await second.refreshToken(api: testAPI, appID: app) { state in
                    #expect(state.forcedRefreshes == [forcedAt], "the other process sees the forced refresh")
                    #expect(state.stored?.value == "FORCED")
                    throw Refused()
                }
            }
            #expect(try await first.loadToken(api: testAPI, appID: app)?.value == "FORCED")
            // The lock was let go: the next refresh runs at once.
            let kept = try await second.refreshToken(api: testAPI, appID: app) { _ in .keep }
            #expect(kept?.value == "FORCED")
        }
    }

    @Test("PostgreSQL: the replay memory is shared: a pair one listener accepted is a replay for the other, until it expires")
    func sharedReplayMemory() async throws {
        try await withTwoPostgresHandles { first, second in
            let now = Date(timeIntervalSince1970: 1_750_000_000)
            let expiry = now.addingTimeInterval(300)
            let account = "https://api.weixin.qq.com\ngh_5d1c0e8f7a93"
            #expect(try await first.admitPush(account: account, timestamp: 1_750_000_000, nonce: "n1", now: now, expiresAt: expiry))
            #expect(!(try await second.admitPush(account: account, timestamp: 1_750_000_000, nonce: "n1", now: now, expiresAt: expiry)))
            #expect(try await second.admitPush(account: "other\ngh_1", timestamp: 1_750_000_000, nonce: "n1", now: now, expiresAt: expiry))
            #expect(try await second.admitPush(account: account, timestamp: 1_750_000_000, nonce: "n2", now: now, expiresAt: expiry))
            // Forgotten (its push could not be stored): the retry is accepted.
            try await first.forgetPush(account: account, timestamp: 1_750_000_000, nonce: "n2")
            #expect(try await first.admitPush(account: account, timestamp: 1_750_000_000, nonce: "n2", now: now, expiresAt: expiry))
            // After its expiry the pair may be remembered again (the window check refuses it anyway).
            let later = expiry.addingTimeInterval(1)
            #expect(try await second.admitPush(account: account, timestamp: 1_750_000_000, nonce: "n1", now: later, expiresAt: later.addingTimeInterval(300)))
        }
    }

    @Test("PostgreSQL: a push stored through one connection wakes a watch on another at once")
    func wakeUp() async throws {
        try await withTwoPostgresHandles { waiter, listener in
            let watch = await waiter.watchInbox(api: testAPI, originalID: "gh_5d1c0e8f7a93")
            let other = await waiter.watchInbox(api: testAPI, originalID: "gh_other")
            let clock = ContinuousClock()
            let started = clock.now
            let woken = Task { await watch.wait() }
            try await Task.sleep(for: .milliseconds(100))
            let stored = clock.now
            #expect(try await listener.storeInboxEvent(push(msgID: 1)))
            // A watch has no re-read of its own: only the notification (or a reconnection) wakes it.
            #expect(await woken.value)
            #expect(clock.now - stored < .seconds(10), "woken \(clock.now - stored) after the push was stored")
            _ = started
            // A duplicate push wakes nobody (nothing new); another account's watch was not woken.
            #expect(!(try await listener.storeInboxEvent(push(msgID: 1))))
            let otherWoken = Task { await other.wait() }
            try await Task.sleep(for: .milliseconds(300))
            otherWoken.cancel()
            #expect(await otherWoken.value == false, "the other account's watch stays asleep")
            withExtendedLifetime(other) {}
        }
    }

    @Test("PostgreSQL: when the LISTEN connection is cut, it reconnects and every watch is woken to catch up")
    func reconnect() async throws {
        try await withTwoPostgresHandles { waiter, listener in
            let watch = await waiter.watchInbox(api: testAPI, originalID: "gh_5d1c0e8f7a93")
            let pid = try #require(await waiter.listeningBackendPID())
            let woken = Task { await watch.wait() }
            try await listener.executeForTesting("SELECT pg_terminate_backend(\(pid))")
            #expect(await woken.value, "the cut connection wakes the watch (the reader re-reads the inbox)")
            // It listens again (a new server process), and a push wakes the watch as before.
            var newPID: Int32?
            for _ in 0..<50 {
                if let current = await waiter.listeningBackendPID(), current != pid { newPID = current; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(newPID != nil, "the LISTEN connection was reopened")
            _ = await Task { () -> Bool in
                // Drain the wake-up of the reconnection's catch-up.
                let drain = Task { await watch.wait() }
                try? await Task.sleep(for: .milliseconds(200))
                drain.cancel()
                return await drain.value
            }.value
            let again = Task { await watch.wait() }
            #expect(try await listener.storeInboxEvent(push(msgID: 2)))
            #expect(await again.value)
        }
    }

    @Test("PostgreSQL: a direct connection is not taken for a transaction-mode pooler")
    func directConnectionIsNoPooler() async throws {
        try await withTwoPostgresHandles { store, _ in
            #expect(await store.poolerProblem() == nil)
        }
    }

    func push(msgID: Int64) -> InboxEvent {
        InboxEvent(
            api: testAPI, originalID: "gh_5d1c0e8f7a93", msgID: msgID, status: "send success", totalCount: 10,
            createdAt: at(0), receivedAt: at(1))
    }
}
