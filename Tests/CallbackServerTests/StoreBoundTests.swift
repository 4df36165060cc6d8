import CallbackServer
import Foundation
import MasscastTesting
import RunState
import Testing
import WeChatPush

@testable import StateSQLite

@Suite("The store bound")
struct StoreBoundTests {
    @Test(
        "a store slower than the bound: 503 at the bound (WeChat retries), the nonce forgotten; the push is stored once the store frees, and the retry is answered success",
        .timeLimit(.minutes(3)))
    func storeSlowerThanTheBound() async throws {
        let rig = try Rig(Accounts.configuration(storeTimeout: .milliseconds(300)))
        let lock = try await StateFileWriteLock(path: rig.store.path)
        let push = Push.finish(Accounts.news, msgID: 1000001901)
        let first = await rig.post(push.plain())
        #expect(first.status == 503 && first.outcome == .storeFailed, "\(first)")
        // Answered by the bound (the lock is still held: the store's own busy timeout is 10 s).
        #expect(first.detail.contains("storing the push took longer than 0.3 seconds"), "\(first.detail)")
        #expect(await rig.handler.replayGuard.count == 0)
        #expect(metricValue(rig.handler.metrics.render(), "masscast_listener_store_failures_total") == 1)

        try await lock.release()
        // The push the bound gave up on is still stored once the lock is free.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(60)
        while try await rig.temp.events(Accounts.news, [1000001901]).isEmpty, clock.now < end {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await rig.temp.events(Accounts.news, [1000001901]).count == 1)
        // WeChat's retry (a new nonce, the same MsgID) is a duplicate, answered success. It
        // goes to a listener on the same store whose bound a loaded machine cannot reach (this
        // one's 0.3 s can pass again while the test run keeps the concurrency pool busy).
        let patient = try CallbackHandler(
            configuration: Accounts.configuration(storeTimeout: .seconds(3600)), store: rig.store, logger: rig.logs.logger)
        let request = push.retried().plain()
        let retry = await patient.handle(method: "POST", path: "/wechat/callback", query: request.query, body: request.body)
        #expect(retry.status == 200 && retry.body == "success" && retry.outcome.name == "duplicate", "\(retry)")
        #expect(try await rig.temp.events(Accounts.news, [1000001901]).count == 1)
        #expect(rig.logs.leaks().isEmpty)
    }
}
