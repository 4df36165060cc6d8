import CallbackServer
import Foundation
import MasscastTesting
import RunState
import StatePostgres
import Testing
import WeChatMP
import WeChatPush

/// Listeners behind a load balancer: two listeners (two servers on free loopback ports) over
/// one PostgreSQL store, as two machines would run them.
@Suite("Listeners sharing a PostgreSQL store")
struct SharedReplayTests {
    func post(_ listener: RunningListener, _ request: (query: [String: String], body: [UInt8]), account: String) async throws
        -> Answer
    {
        let query = request.query.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            .joined(separator: "&")
        let response = try await AsyncHTTPTransport().send(TransportRequest(
            method: .post, url: listener.callbackURL(account: account) + "?" + query,
            headers: [("Content-Type", "text/xml")], body: Data(request.body), timeout: .seconds(10)))
        return Answer(response.status, String(decoding: response.body, as: UTF8.self))
    }

    @Test("a push replayed to the other listener is refused; its first delivery is stored once")
    func replayToOtherListenerRefused() async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        try await TestPostgres.withDatabase { location in
            let storeA = try await PostgresStateStore.open(location)
            let storeB = try await PostgresStateStore.open(location)
            let a = try await RunningListener.start(configuration: Accounts.configuration(), store: storeA)
            let b = try await RunningListener.start(configuration: Accounts.configuration(), store: storeB)
            do {
                #expect(a.port != b.port)
                // Plain mode: the signature covers (token, timestamp, nonce) but not the body.
                let push = Push.finish(Accounts.news, msgID: 5001)
                let first = try await post(a, push.plain(), account: "brand-news")
                #expect(first == Answer(200, "success"), "\(first)")
                let replayed = try await post(b, push.plain(), account: "brand-news")
                #expect(replayed.status == 403, "\(replayed)")
                #expect(replayed.body != "success", "\(replayed)")
                // The same XML with other bytes under the old signature: refused too.
                var forged = Push.finish(Accounts.news, msgID: 5002)
                forged.timestamp = push.timestamp
                forged.nonce = push.nonce
                let forgedAnswer = try await post(b, forged.plain(), account: "brand-news")
                #expect(forgedAnswer.body != "success", "\(forgedAnswer)")
                let stored = try await storeB.inboxEvents(
                    api: Accounts.news.api, originalID: Accounts.news.originalID, msgIDs: [5001, 5002])
                #expect(stored.map(\.msgID) == [5001], "only the first delivery was stored")
                // WeChat's own retry (a fresh timestamp and nonce) is accepted by either listener.
                let retry = try await post(b, push.retried().plain(), account: "brand-news")
                #expect(retry == Answer(200, "success"), "\(retry)")
            } catch {
                await a.stop()
                await b.stop()
                await storeA.close()
                await storeB.close()
                throw error
            }
            await a.stop()
            await b.stop()
            await storeA.close()
            await storeB.close()
        }
    }
}
