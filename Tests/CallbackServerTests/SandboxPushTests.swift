import CallbackServer
import Foundation
import RunState
import Testing
import WeChatMP
import WeChatSandbox

@Suite("The sandbox pushes to a live listener", .serialized)
struct SandboxPushTests {
    static let main = (appID: "wx8a3f2c71d905be46", secret: "sandbox-secret-brand-main-0001")
    static let news = (appID: "wx3e6b9d2f4a8c1705", secret: "sandbox-secret-brand-news-0001")

    /// The default fixture, with jobs 3,600 times faster and `faults` as given. A delivery may
    /// take a minute before the sandbox counts it failed (WeChat's 5 s): these tests are about what
    /// the listener stores, and in a full parallel run on a loaded machine the listener's answer
    /// can come later than 5 s (once, in CI), which made the sandbox deliver again.
    static func sandbox(faults: String = "[]") async throws -> RunningSandbox {
        var yaml = SandboxFixture.defaultYAML
        for (from, to) in [("time_scale: 10", "time_scale: 3600"), ("faults: []", "faults: \(faults)")] {
            #expect(yaml.contains(from), "the default fixture no longer has '\(from)'")
            yaml = yaml.replacingOccurrences(of: from, with: to)
        }
        var fixture = try SandboxFixture.load(yaml: yaml, file: "listen-test-fixture.yaml")
        fixture.jobs.pushTimeout = .seconds(60)
        let engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
        return try await RunningSandbox.start(engine: engine, tickInterval: .milliseconds(10))
    }

    static func client(_ sandbox: RunningSandbox, _ account: (appID: String, secret: String)) -> WeChatClient {
        let transport = AsyncHTTPTransport()
        let tokens = TokenProvider(
            credentials: .init(appID: account.appID, secret: account.secret), mode: .stable, baseURL: sandbox.baseURL,
            transport: transport)
        return WeChatClient(configuration: .init(baseURL: sandbox.baseURL, timeout: .seconds(5)), tokens: tokens,
                            transport: transport)
    }

    /// Polls the inbox (as `mass/wait` does) until the push is there; bounded (60 s).
    static func waitForPush(_ store: TempStore, _ account: ListenerAccount, _ msgID: Int64) async throws -> InboxEvent? {
        for _ in 0..<1200 {
            if let event = try await store.events(account, [msgID]).first { return event }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("safe mode (brand-main, on its path) and plain mode (brand-news, routed by ToUserName) land in the store once",
          .timeLimit(.minutes(3)))
    func sandboxPushesLand() async throws {
        // The first push is delivered twice (a `duplicate` fault), as WeChat may do.
        let sandbox = try await Self.sandbox(faults: "[{ on: push, duplicate: true, next: 1 }]")
        let listener = try await LiveListener.start()
        defer {
            Task {
                await sandbox.stop()
                await listener.running.stop()
            }
        }
        let engine = sandbox.engine
        #expect(await engine.setCallback(account: "brand-main", url: listener.running.callbackURL(account: "brand-main"), mode: .safe))
        #expect(await engine.setCallback(account: "brand-news", url: listener.running.callbackURL(), mode: .plain))

        let main = try await Self.client(sandbox, Self.main).sendAll(SendAllRequest(
            filter: .init(isToAll: false, tagID: 100), payload: .text(content: "listen test: safe mode"),
            clientMsgID: "mc1-listen-safe"))
        let news = try await Self.client(sandbox, Self.news).sendAll(SendAllRequest(
            filter: .init(isToAll: false, tagID: 100), payload: .text(content: "listen test: plain mode"),
            clientMsgID: "mc1-listen-plain"))

        let mainEvent = try #require(try await Self.waitForPush(listener.temp, Accounts.main, main.msgID))
        let newsEvent = try #require(try await Self.waitForPush(listener.temp, Accounts.news, news.msgID))
        #expect(mainEvent.originalID == "gh_5d1c0e8f7a93" && mainEvent.status == "send success")
        #expect(newsEvent.originalID == "gh_2b7e4f9a0c61" && newsEvent.status == "send success")
        let jobs = await engine.jobInfos()
        for (event, msgID) in [(mainEvent, main.msgID), (newsEvent, news.msgID)] {
            #expect(event.totalCount != nil && event.totalCount! > 0)
            #expect(event.sentCount.map { $0 + (event.errorCount ?? 0) } == event.filterCount)
            #expect(jobs.contains { $0.msgID == msgID })
        }

        // Every delivery was answered `success` (the sandbox retries otherwise); the duplicate
        // delivery was stored once.
        var records: [SandboxPushRecord] = []
        for _ in 0..<600 {
            records = await engine.pushRecords()
            if records.count == 3, records.allSatisfy({ $0.status == "delivered" }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.status == "delivered" && $0.attempts.allSatisfy(\.ok) }, "\(records)")
        #expect(records.filter(\.duplicate).count == 1)
        #expect(Set(records.compactMap(\.mode)) == ["safe", "plain"])
        #expect(try await listener.temp.events(Accounts.main, [main.msgID]).count == 1)
        let metrics = listener.running.metrics.render()
        #expect(metricValue(metrics, "masscast_listener_pushes_stored_total") == 2)
        #expect(metricValue(metrics, "masscast_listener_pushes_duplicate_total") == 1)
        #expect(metricValue(metrics, "masscast_listener_pushes_received_total") == 3)
        #expect(listener.logs.leaks().isEmpty, "\(listener.logs.leaks())")
    }

    @Test("compatible mode from the sandbox: the encrypted part is what is stored", .timeLimit(.minutes(3)))
    func sandboxCompatibleMode() async throws {
        let sandbox = try await Self.sandbox()
        let listener = try await LiveListener.start()
        defer {
            Task {
                await sandbox.stop()
                await listener.running.stop()
            }
        }
        #expect(await sandbox.engine.setCallback(account: "brand-main", url: listener.running.callbackURL(), mode: .compatible))
        let send = try await Self.client(sandbox, Self.main).sendAll(SendAllRequest(
            filter: .init(isToAll: false, tagID: 101), payload: .text(content: "listen test: compatible mode"),
            clientMsgID: "mc1-listen-compatible"))
        let event = try #require(try await Self.waitForPush(listener.temp, Accounts.main, send.msgID))
        #expect(event.status == "send success")
        var records: [SandboxPushRecord] = []
        for _ in 0..<100 {
            records = await sandbox.engine.pushRecords()
            if records.first?.status == "delivered" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(records.first?.status == "delivered")
        #expect(records.first?.mode == "compatible" && records.first?.attempts.first?.url.contains("msg_signature=") == true)
        #expect(listener.logs.leaks().isEmpty)
    }
}
