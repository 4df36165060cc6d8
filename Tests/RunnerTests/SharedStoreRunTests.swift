import Foundation
import MasscastTesting
import RunState
import Runner
@testable import StatePostgres
import StateSQLite
import Testing
import WeChatMP
import WeChatSandbox

/// Handles on one store, each standing for a masscast process of its own.
private func withHandles(
    _ count: Int, postgres: Bool, rig: Rig, _ body: ([any StateStore]) async throws -> Void
) async throws {
    if !postgres {
        var handles: [SQLiteStateStore] = []
        for _ in 0..<count { handles.append(try SQLiteStateStore(path: rig.store.path)) }
        try await body(handles)
        for handle in handles { try handle.close() }
        return
    }
    if let reason = TestPostgres.skipReason {
        if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
        return
    }
    try await TestPostgres.withDatabase { location in
        var handles: [PostgresStateStore] = []
        for _ in 0..<count { handles.append(try await PostgresStateStore.open(location)) }
        do { try await body(handles) } catch {
            for handle in handles { await handle.close() }
            throw error
        }
        for handle in handles { await handle.close() }
    }
}

private let waitPipeline = """
    version: 1
    name: shared-wait
    account: brand-main
    steps:
      - id: send
        uses: mass/sendall
        with:
          filter: { is_to_all: false, tag_id: 101 }
          msgtype: text
          text: { content: "one truth" }
      - id: finish
        uses: mass/wait
        with:
          msg_id: ${{ steps.send.outputs.msg_id }}
          source: callback
          timeout: 2m
    """

@Suite("runs sharing a store across processes", .serialized)
struct SharedStoreRunTests {
    @Test("12 processes needing a token at once make one token fetch (the sandbox's call log)", arguments: [false, true])
    func oneTokenFetch(postgres: Bool) async throws {
        try await Rig.with { rig in
            let account = rig.account()
            try await withHandles(12, postgres: postgres, rig: rig) { handles in
                let before = await rig.sandbox.engine.calls().filter { $0.endpoint.hasSuffix("token") }.count
                let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                    for handle in handles {
                        group.addTask {
                            let provider = TokenProvider(
                                credentials: .init(appID: account.appID, secret: Rig.secret), baseURL: account.apiBase,
                                transport: rig.transport, cache: StoreTokenCache(store: handle, api: account.endpoint))
                            return try await provider.token()
                        }
                    }
                    var all: [String] = []
                    for try await token in group { all.append(token) }
                    return all
                }
                let fetches = await rig.sandbox.engine.calls().filter { $0.endpoint.hasSuffix("token") }.count - before
                #expect(fetches == 1, "\(fetches) token fetches")
                #expect(Set(tokens).count == 1, "every process uses the one token")
            }
        }
    }

    @Test("PostgreSQL: a run waiting in mass/wait wakes at once when a push is stored through another connection")
    func waitWakesOnNotify() async throws {
        try await Rig.with { rig in
            let path = try rig.write("wait.yaml", waitPipeline)
            try await withHandles(2, postgres: true, rig: rig) { handles in
                let (waiting, waited) = AsyncStream.makeStream(of: String.self)
                let executor = try rig.executor(path, store: handles[0]) { options in
                    options.inboxFallbackInterval = .seconds(60)
                    options.progress = { text in if text.hasPrefix("[finish] waiting") { waited.yield(text) } }
                }
                let task = Task { await executor.start() }
                var iterator = waiting.makeAsyncIterator()
                #expect(await iterator.next() != nil)
                waited.finish()
                let id = try #require(await rig.sends().first?.msgID)
                let clock = ContinuousClock()
                let stored = clock.now
                #expect(try await handles[1].storeInboxEvent(InboxEvent(
                    api: rig.account().endpoint, originalID: "gh_5d1c0e8f7a93", msgID: id, status: "send success",
                    totalCount: 150, sentCount: 150, createdAt: Date(), receivedAt: Date())))
                let result = await task.value
                #expect(result.exitCode == 0, "\(result)")
                #expect(clock.now - stored < .seconds(20), "the wait ended \(clock.now - stored) after the push, its re-read interval is 60 s")
            }
        }
    }

    @Test("PostgreSQL: with the LISTEN connection cut and the push stored without a notification, the wait still ends (re-read)")
    func waitFallsBackToReading() async throws {
        try await Rig.with { rig in
            let path = try rig.write("wait.yaml", waitPipeline)
            try await withHandles(2, postgres: true, rig: rig) { handles in
                let waiter = try #require(handles[0] as? PostgresStateStore)
                let other = try #require(handles[1] as? PostgresStateStore)
                let (waiting, waited) = AsyncStream.makeStream(of: String.self)
                let executor = try rig.executor(path, store: waiter) { options in
                    options.inboxFallbackInterval = .seconds(1)
                    options.progress = { text in if text.hasPrefix("[finish] waiting") { waited.yield(text) } }
                }
                let task = Task { await executor.start() }
                var iterator = waiting.makeAsyncIterator()
                #expect(await iterator.next() != nil)
                waited.finish()
                let id = try #require(await rig.sends().first?.msgID)
                let pid = try #require(await waiter.listeningBackendPID())
                try await other.executeForTesting("SELECT pg_terminate_backend(\(pid))")
                // A row no listener announced (as if the notification were lost).
                let api = rig.account().endpoint.replacingOccurrences(of: "'", with: "''")
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                try await other.executeForTesting("""
                    INSERT INTO inbox (api, original_id, msg_id, status, total_count, sent_count, created_at, received_at)
                    VALUES ('\(api)', 'gh_5d1c0e8f7a93', \(id), 'send success', 150, 150, \(now), \(now))
                    """)
                let result = await task.value
                #expect(result.exitCode == 0, "\(result)")
            }
        }
    }
}
