import Foundation
import Testing
import WeChatMP
@testable import WeChatSandbox

/// A push sender that holds every post until ``release()``.
actor GatedPushSender: PushSender {
    private(set) var posts = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var open = false

    func post(url: String, body: Data, contentType: String, timeout: Duration) async -> Bool {
        posts += 1
        if !open { await withCheckedContinuation { waiting.append($0) } }
        return true
    }

    func release() {
        open = true
        for continuation in waiting { continuation.resume() }
        waiting.removeAll()
    }
}

/// The engine answers under a lock on the caller's thread; pushes are sent without it.
@Suite struct EngineLockTests {
    @Test("while a tick waits for a slow callback server, requests are answered and a second tick sends nothing twice")
    func requestsAnsweredDuringPushes() async throws {
        let sender = GatedPushSender()
        let fixture = try SandboxFixture.load(yaml: EngineFixtures.standard, file: "test-fixture.yaml")
        let clock = ManualClock()
        let engine = SandboxEngine(fixture: fixture, clock: clock, pushSender: sender)
        func post(_ endpoint: String, _ json: String, token: String) async -> EngineReply {
            EngineReply(await engine.handle(.post("/cgi-bin/" + endpoint, accessToken: token, json: json)))
        }
        let token = try #require(await engine.accessToken(appID: "wx00000000000000a1"))
        let msgID = try #require(
            await post("message/mass/sendall", #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"x"}}"#,
                       token: token).msgID)
        clock.advance(by: .seconds(11))
        let ticking = Task { await engine.tick() }
        let deadline = ContinuousClock.now + .seconds(30)
        while await sender.posts == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(await sender.posts == 1)

        // The push is out and unanswered: the engine still answers, and knows the push is on its way.
        #expect(await post("message/mass/get", #"{"msg_id":"\#(msgID)"}"#, token: token).string("msg_status") == "SEND_SUCCESS")
        #expect(try #require(await engine.pushRecords().first).status == "delivering")
        await engine.tick()
        #expect(await sender.posts == 1, "a push in flight was sent again")

        await sender.release()
        await ticking.value
        let record = try #require(await engine.pushRecords().first)
        #expect(record.status == "delivered" && record.attempts.count == 1 && record.attempts.first?.ok == true)
        #expect(await engine.calls().map(\.endpoint) == ["message/mass/sendall", "message/mass/get"])
    }
}
