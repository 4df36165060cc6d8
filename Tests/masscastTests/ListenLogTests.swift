import Foundation
import MasscastTesting
import Testing
import WeChatMP
import WeChatPush

/// `masscast listen` writes its JSON lines in batches: none may be lost when it stops.
@Suite("masscast listen's log lines")
struct ListenLogTests {
    static let token = "listen-log-test-token"

    @Test("every stored push has its line on stderr when the listener is stopped (SIGTERM) right after the last answer")
    func linesFlushedOnStop() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-listen-log-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = try BinaryProcess(
            ["listen", "--port", "0", "--state", dir.appendingPathComponent("state.sqlite").path,
             "--account-original-id", RunTestEnv.originalID, "--app-id", RunTestEnv.appID, "--log-format", "json"],
            environment: MasscastBinary.environment(["MASSCAST_CALLBACK_TOKEN": Self.token]), directory: dir)
        let started = await process.waitUntil(timeout: .seconds(90)) { process.stderrSoFar.contains("\"listen.started\"") }
        guard started else {
            process.signal(SIGTERM)
            Issue.record("the listener did not start: \(await process.wait(timeout: .seconds(30)))")
            return
        }
        let port = try #require(
            MultiProcessTests.events(process.stderrSoFar).first { $0["event"] as? String == "listen.started" }?["listen.port"]
                .map { "\($0)" })

        let msgIDs: [Int64] = (1...40).map { 3_000_000_000 + $0 }
        let transport = AsyncHTTPTransport()
        let timestamp = String(Int64(Date().timeIntervalSince1970))
        for msgID in msgIDs {
            let nonce = String(msgID)
            let signature = CallbackCrypto.sign(token: Self.token, timestamp: timestamp, nonce: nonce)
            let xml = "<xml><ToUserName><![CDATA[\(RunTestEnv.originalID)]]></ToUserName>"
                + "<FromUserName><![CDATA[oSystem]]></FromUserName><CreateTime>1714036504</CreateTime>"
                + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event>"
                + "<MsgID>\(msgID)</MsgID><Status><![CDATA[send success]]></Status><TotalCount>2</TotalCount>"
                + "<FilterCount>2</FilterCount><SentCount>2</SentCount><ErrorCount>0</ErrorCount></xml>"
            let url = "http://127.0.0.1:\(port)/wechat/callback?signature=\(signature)&timestamp=\(timestamp)&nonce=\(nonce)&openid=oSystem"
            let response = try await transport.send(TransportRequest(
                method: .post, url: url, headers: [("Content-Type", "text/xml")], body: Data(xml.utf8), timeout: .seconds(10)))
            #expect(response.status == 200 && String(decoding: response.body, as: UTF8.self) == "success")
        }
        process.signal(SIGTERM)
        let result = await process.wait(timeout: .seconds(30))
        #expect(result.exited(0), "\(result)")
        let stored = result.events.filter { $0["event"] as? String == "push.stored" }
        #expect(stored.compactMap { $0["push.msg_id"].map { "\($0)" } } == msgIDs.map { "\($0)" }, "\(result.err)")
        let events = result.events.compactMap { $0["event"] as? String }
        #expect(events.last == "listen.stopped", "\(events)")
        // Each push was answered before the next was sent: each had a transaction of its own.
        let stopped = try #require(result.events.last)
        #expect(stopped["inbox.pushes"].map { "\($0)" } == "\(msgIDs.count)")
        #expect(stopped["inbox.transactions"].map { "\($0)" } == "\(msgIDs.count)")
        #expect(!result.err.contains(Self.token) && !result.out.contains(Self.token))
    }
}
