import Foundation
import PipelineCore
import Testing

@testable import WeChatMP

@Suite("Secrets never appear in errors")
struct RedactionTests {
    static let token = "TOKEN-SECRET-VALUE-9f8e7d6c5b4a"

    /// Every way a user or a log could print an error.
    func renderings(_ error: any Error) -> [String] {
        [String(describing: error), String(reflecting: error), "\(error)", error.localizedDescription]
    }

    @Test("errors of every class, and WeChat echoing secrets back, print no secret", arguments: [
        #"{"errcode":40001,"errmsg":"invalid credential TOKEN-SECRET-VALUE-9f8e7d6c5b4a"}"#,
        #"{"errcode":-1,"errmsg":"system error access_token=TOKEN-SECRET-VALUE-9f8e7d6c5b4a"}"#,
        #"{"errcode":45011,"errmsg":"api minute-quota reach limit"}"#,
        #"{"errcode":45065,"errmsg":"clientmsgid exist","msg_id":1000000001}"#,
        #"{"errcode":48008,"errmsg":"no permission for this msgtype hint: [PgBA9a0938ge25] app-secret-0123456789abcdef0123"}"#,
        "not json at all",
    ])
    func apiErrors(body: String) async throws {
        let fake = try FakeWeChat(tokens: [Self.token]) { _ in .json(body) }
        do {
            _ = try await fake.client().sendAll(ClientTests.textToTag)
            Issue.record("expected an error")
        } catch {
            for text in renderings(error) {
                #expect(!text.contains(Self.token), "token in: \(text)")
                #expect(!text.contains(FakeWeChat.secret), "secret in: \(text)")
            }
        }
    }

    @Test("transport, HTTP and token-endpoint failures print no secret")
    func otherErrors() async throws {
        var errors: [any Error] = []
        let slow = try FakeWeChat(tokens: [Self.token]) { request in
            request.path.hasSuffix("get") ? .delayed(milliseconds: 1500, .json("{}")) : .json("oops", status: 503)
        }
        let client = slow.client(timeout: .milliseconds(200))
        do { _ = try await client.get(msgID: 1) } catch { errors.append(error) }
        do { try await client.setSpeed(1) } catch { errors.append(error) }
        let tokenServer = try TestServer { _ in
            .json(#"{"errcode":40125,"errmsg":"invalid appsecret app-secret-0123456789abcdef0123"}"#)
        }
        for mode in [TokenMode.stable, .classic] {
            let provider = TokenProvider(credentials: .init(appID: FakeWeChat.appID, secret: FakeWeChat.secret), mode: mode,
                                         baseURL: tokenServer.baseURL, transport: AsyncHTTPTransport())
            do { _ = try await provider.token() } catch { errors.append(error) }
            errors.append(TransportFailure(.other, delivery: .notSent,
                                           message: Redactor.url("https://x/cgi-bin/token?appid=a&secret=\(FakeWeChat.secret)")))
        }
        #expect(errors.count == 6)
        for error in errors {
            for text in renderings(error) {
                #expect(!text.contains(Self.token), "token in: \(text)")
                #expect(!text.contains(FakeWeChat.secret), "secret in: \(text)")
            }
        }
    }

    @Test("credentials, tokens and requests holding secrets print masked")
    func values() {
        let credentials = TokenProvider.Credentials(appID: FakeWeChat.appID, secret: FakeWeChat.secret)
        let cached = CachedToken(value: Self.token, expiresAt: Date())
        let request = StableTokenRequest(appid: FakeWeChat.appID, secret: FakeWeChat.secret, forceRefresh: false)
        for text in [String(describing: credentials), String(reflecting: credentials), String(describing: cached),
                     String(describing: request), String(reflecting: request), "\(Secret(FakeWeChat.secret))"]
        {
            #expect(!text.contains(FakeWeChat.secret) && !text.contains(Self.token), "\(text)")
        }
    }

    @Test("the redactor masks secret query parameters and known values")
    func redactor() {
        #expect(Redactor.url("POST /cgi-bin/x?access_token=abc123&type=image") == "POST /cgi-bin/x?access_token=[redacted]&type=image")
        #expect(Redactor.url("GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t") ==
            "GET /cgi-bin/token?grant_type=client_credential&appid=wx1&secret=[redacted]")
        let r = Redactor(secrets: ["correct-horse-battery"])
        #expect(r.scrub("the key correct-horse-battery leaked") == "the key [redacted] leaked")
    }
}
