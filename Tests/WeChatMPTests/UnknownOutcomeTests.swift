import Foundation
import Testing

@testable import WeChatMP

/// "Unknown means unknown": an answer to a send that is not a clear refusal (an errcode) is
/// an unknown outcome, `maybeReceived`, exactly like a lost answer. Each shape is served by a
/// local HTTP server on loopback.
@Suite("Answers to a send that are not a clear refusal are unknown outcomes")
struct UnknownOutcomeTests {
    static let sendAll = SendAllRequest(filter: MassFilter(isToAll: false, tagID: 100), payload: .text(content: "CONTENT"),
                                        sendIgnoreReprint: 0, clientMsgID: "mc1-unknown")
    static let send = SendRequest(toUser: ["OPENID1", "OPENID2"], payload: .text(content: "CONTENT"), clientMsgID: "mc1-unknown")
    static let preview = PreviewRequest(toUser: "OPENID1", payload: .text(content: "CONTENT"))

    /// Bodies answered with HTTP 200 to a send, none of which is a refusal or a usable success.
    static let unclearBodies: [String] = [
        #"{"errcode":0}"#,  // (a) success without a msg_id
        #"{"errcode":0,"errmsg":"send job submission success"}"#,
        #"{}"#,  // no errcode (= success) and no msg_id
        #"{"errcode":0,"errmsg":"send job submission success","msg_id":"abc"}"#,  // (b) not a number
        #"{"errcode":0,"errmsg":"send job submission success","msg_id":"99999999999999999999"}"#,  // (b) over Int64
        #"{"errcode":0,"errmsg":"send job submission success","msg_id":100000000000000000000}"#,
        #"{"errcode":0,"errmsg":"send job submission success","msg_id":null}"#,
        #"{"errcode":0,"msg_id":1.5}"#,
        "<html>502 Bad Gateway</html>",  // not JSON (already unknown: regression)
    ]

    @Test("sendall: an answer without a usable msg_id may have been received", arguments: unclearBodies)
    func sendAllUnclear(body: String) async throws {
        let fake = try FakeWeChat { _ in .json(body) }
        await expectUnknown(try await fake.client().sendAll(Self.sendAll), body: body)
        #expect(fake.server.requests.filter { $0.path == "/cgi-bin/message/mass/sendall" }.count == 1)
    }

    @Test("send (OpenID list): an answer without a usable msg_id may have been received", arguments: unclearBodies)
    func sendUnclear(body: String) async throws {
        let fake = try FakeWeChat { _ in .json(body) }
        await expectUnknown(try await fake.client().send(Self.send), body: body)
    }

    @Test(
        "preview: a msg_id that is not a number, or an unreadable answer, may have been received",
        arguments: [
            #"{"errcode":0,"errmsg":"preview success","msg_id":"abc"}"#,
            #"{"errcode":0,"errmsg":"preview success","msg_id":"99999999999999999999"}"#,
            "not json",
        ])
    func previewUnclear(body: String) async throws {
        let fake = try FakeWeChat { _ in .json(body) }
        await expectUnknown(try await fake.client().preview(Self.preview), body: body)
    }

    @Test("preview: errcode 0 without a msg_id is a success (the preview's msg_id is optional)")
    func previewWithoutMsgID() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"errcode":0,"errmsg":"preview success"}"#) }
        let response = try await fake.client().preview(Self.preview)
        #expect(response.msgID == nil)
    }

    @Test("(c) an answer over the size limit: the send may have been received, not 'nothing was sent'")
    func sendAllTooLarge() async throws {
        // A real success padded past the limit: WeChat accepted it, the client could not read it.
        let padding = String(repeating: " ", count: 4096)
        let fake = try FakeWeChat { _ in .json(#"{"errcode":0,"errmsg":"ok","msg_id":34182\#(padding)}"#) }
        do {
            _ = try await fake.client(maxResponseBytes: 1024).sendAll(Self.sendAll)
            Issue.record("expected a too-large answer to fail")
        } catch {
            guard error.code == .transport, let failure = error.transportFailure else {
                Issue.record("expected a transport failure, got \(error)")
                return
            }
            #expect(failure.code == .responseTooLarge)
            #expect(failure.delivery == .maybeReceived)
            #expect(error.delivery == .maybeReceived && error.errorClass == .transient)
            #expect(error.description.contains("may have been received"), "\(error)")
            #expect(!error.description.contains("nothing was sent"), "\(error)")
        }
    }

    @Test("HTTP 5xx on a send may have been received (regression)")
    func sendAllServerError() async throws {
        let fake = try FakeWeChat { _ in .json("bad gateway", status: 502) }
        await expectUnknown(try await fake.client().sendAll(Self.sendAll), body: "HTTP 502")
    }

    @Test("45065 without a readable msg_id: sent earlier, which job is unknown")
    func duplicateWithoutMsgID() async throws {
        for body in [#"{"errcode":45065,"errmsg":"clientmsgid exist"}"#,
                     #"{"errcode":45065,"errmsg":"clientmsgid exist","msg_id":"abc"}"#] {
            let fake = try FakeWeChat { _ in .json(body) }
            do {
                _ = try await fake.client().sendAll(Self.sendAll)
                Issue.record("expected 45065")
            } catch {
                #expect(error.errcode == 45065)
                #expect(error.earlierMsgID == nil)
                #expect(error.delivery == .maybeReceived, "\(body)")
            }
        }
    }

    @Test("a clear refusal (an errcode) stays received: nothing was sent, per WeChat")
    func refusalIsReceived() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"errcode":45028,"errmsg":"has no masssend quota rid: 1"}"#) }
        do {
            _ = try await fake.client().sendAll(Self.sendAll)
            Issue.record("expected 45028")
        } catch {
            #expect(error.errcode == 45028)
            #expect(error.delivery == .received && error.errorClass == .permanent)
        }
    }

    @Test("not a send: an unexpected msg_id in mass/get stays a permanent error")
    func getIsNotASend() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"msg_id":"abc","msg_status":"SEND_SUCCESS"}"#) }
        do {
            _ = try await fake.client().get(msgID: 1)
            Issue.record("expected a decode failure")
        } catch {
            #expect(error.delivery == .received && error.errorClass == .permanent)
        }
    }

    func expectUnknown<T>(_ call: @autoclosure () async throws(WeChatError) -> T, body: String,
                          sourceLocation: Testing.SourceLocation = #_sourceLocation) async
    {
        do {
            let value = try await call()
            Issue.record("expected an unknown outcome for \(body), got \(value)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.delivery == .maybeReceived, "\(body): \(error)", sourceLocation: sourceLocation)
            #expect(error.errorClass == .transient, "\(body): \(error)", sourceLocation: sourceLocation)
            #expect(error.errcode == nil, "\(body): \(error)", sourceLocation: sourceLocation)
        }
    }
}
