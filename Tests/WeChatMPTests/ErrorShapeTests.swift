import Foundation
import Testing
@testable import WeChatMP

/// `WeChatError`, `TransportFailure` and `RequestValidationError`: a code to compare, the
/// payload as properties, the cause kept, and the same text a user saw before.
@Suite("WeChatMP errors: codes, messages, causes")
struct ErrorShapeTests {
    static let token = "ACCESS_TOKEN_0123456789abcdefXYZ"
    static let secret = "app-secret-0123456789abcdef0123"

    @Test("codes are equal to themselves and to nothing else")
    func codesCompare() {
        let weChat: [WeChatError.Code] = [.api, .http, .transport, .invalidResponse, .tokenRefreshLimited, .invalidRequest]
        #expect(Set(weChat).count == weChat.count)
        #expect(weChat.map(\.description) == ["api", "http", "transport", "invalidResponse", "tokenRefreshLimited", "invalidRequest"])
        #expect(WeChatError.Code.api == .api && WeChatError.Code.api != .http)

        let transport: [TransportFailure.Code] = [.connect, .timeout, .connectionLost, .responseTooLarge, .other]
        #expect(Set(transport).count == transport.count)
        #expect(transport.map(\.description) == ["connect", "timeout", "connection_lost", "response_too_large", "other"])
        #expect(TransportFailure.Code.timeout == .timeout && TransportFailure.Code.timeout != .connect)

        let validation: [RequestValidationError.Code] = [.missing, .outOfRange, .invalidValue, .wrongForm, .unsupportedFileType]
        #expect(Set(validation).count == validation.count)
        #expect(validation.map(\.description) == ["missing", "outOfRange", "invalidValue", "wrongForm", "unsupportedFileType"])
        #expect(RequestValidationError.Code.missing != .outOfRange)
    }

    @Test("each kind of WeChat failure reads as before, with its payload as properties")
    func weChatErrorMessages() {
        let known = WeChatError.api(
            errcode: 45009, errmsg: "reach max api daily quota limit rid: 1", endpoint: "message/mass/sendall",
            errorClass: .permanent)
        #expect(known.description == "message/mass/sendall: errcode 45009 (daily API quota reached); WeChat said: "
            + "reach max api daily quota limit rid: 1. Fix: Wait until tomorrow, or reset the quota in the admin console "
            + "(each reset is limited).")
        #expect(known.code == .api && known.errcode == 45009 && known.errmsg == "reach max api daily quota limit rid: 1")
        #expect(known.httpStatus == nil && known.transportFailure == nil && known.cause == nil)
        #expect(known.delivery == .received && known.errorClass == .permanent)

        let unknown = WeChatError.api(errcode: 12345, errmsg: "odd", endpoint: "message/mass/get", errorClass: .permanent)
        #expect(unknown.description == "message/mass/get: errcode 12345; WeChat said: odd")
        #expect(unknown.message == "errcode 12345; WeChat said: odd")

        let http = WeChatError.http(status: 502, endpoint: "message/mass/delete", errorClass: .transient, delivery: .maybeReceived)
        #expect(http.description == "message/mass/delete: HTTP 502 from WeChat")
        #expect(http.code == .http && http.httpStatus == 502 && http.errcode == nil)
        #expect(http != WeChatError.http(status: 503, endpoint: "message/mass/delete", errorClass: .transient, delivery: .maybeReceived))

        let response = WeChatError.invalidResponse("the answer is not JSON", endpoint: "token", errorClass: .transient,
                                                   delivery: .maybeReceived)
        #expect(response.description == "token: unreadable answer: the answer is not JSON")
        #expect(response.code == .invalidResponse)

        let limited = WeChatError.tokenRefreshLimited("the token was refused again", endpoint: "stable_token")
        #expect(limited.description == "stable_token: the token was refused again")
        #expect(limited.code == .tokenRefreshLimited && limited.errorClass == .token && limited.delivery == .received)

        let request = WeChatError.invalidRequest("a.jpg is 9 bytes; too large", endpoint: "media/upload")
        #expect(request.description == "media/upload: a.jpg is 9 bytes; too large")
        #expect(request.code == .invalidRequest && request.errorClass == .permanent && request.delivery == .notSent)
        #expect(request.code != limited.code)
    }

    @Test("a transport failure is kept as the cause, and its delivery decides the wording", arguments: [
        (Delivery.notSent, "message/mass/sendall: could not connect; nothing was sent"),
        (.maybeReceived, "message/mass/sendall: could not connect; the request may have been received"),
        (.received, "message/mass/sendall: could not connect"),
    ])
    func transportCause(delivery: Delivery, expected: String) throws {
        let failure = TransportFailure(.connect, delivery: delivery, message: "could not connect")
        let error = WeChatError.transport(failure, endpoint: "message/mass/sendall")
        #expect(error.description == expected)
        #expect(error.code == .transport && error.delivery == delivery && error.errorClass == .transient)
        #expect(error.transportFailure == failure)
        let cause = try #require(error.cause as? TransportFailure)
        #expect(cause == failure && cause.code == .connect)
    }

    @Test("a transport failure reads as `code (delivery): message`")
    func transportDescription() {
        let failure = TransportFailure(.connectionLost, delivery: .maybeReceived, message: "connection reset (104)")
        #expect(failure.description == "connection_lost (maybe_received): connection reset (104)")
        #expect(TransportFailure(.responseTooLarge, delivery: .maybeReceived, message: "x").description
            == "response_too_large (maybe_received): x")
        #expect(failure != TransportFailure(.timeout, delivery: .maybeReceived, message: "connection reset (104)"))
    }

    @Test("request checks name their code, field and errcode; the text is unchanged")
    func validationCodes() throws {
        func caught(_ body: () throws(RequestValidationError) -> Void) throws -> RequestValidationError {
            do {
                try body()
            } catch {
                return error
            }
            Issue.record("expected a validation error")
            throw CancellationError()
        }
        let few = try caught { () throws(RequestValidationError) in
            try SendRequest(toUser: ["o"], payload: .text(content: "x")).validate()
        }
        #expect(few.code == .outOfRange && few.field == "touser" && few.errcode == 40130)
        #expect(few.description == "touser: has 1 OpenIDs; mass/send takes 2 to 10000 per call (errcode 40130)")

        let noAudience = try caught { () throws(RequestValidationError) in
            try SendAllRequest(filter: MassFilter(isToAll: false, tagID: nil), payload: .text(content: "x")).validate()
        }
        #expect(noAudience.code == .missing && noAudience.errcode == nil)
        #expect(noAudience.description
            == "filter.tag_id: no audience: is_to_all is false and no tag_id is given (refusing rather than sending to all)")

        let flag = try caught { () throws(RequestValidationError) in
            try SendAllRequest(filter: .toAll, payload: .text(content: "x"), sendIgnoreReprint: 2).validate()
        }
        #expect(flag.code == .invalidValue)
        #expect(flag.description == "send_ignore_reprint: must be 0 (stop when an article is judged a reprint) or 1 (send anyway), not 2")

        let form = try caught { () throws(RequestValidationError) in
            try PreviewRequest(toUser: "o", payload: .images(mediaIDs: ["a"])).validate()
        }
        #expect(form.code == .wrongForm && form.description == "images: preview takes one image as image{media_id}")

        let speed = try caught { () throws(RequestValidationError) in try SpeedSetRequest(speed: 9).validate() }
        #expect(speed.code == .outOfRange && speed.description == "speed: must be 0...4, not 9 (errcode 45083)")
        #expect(speed.code != form.code)
    }

    @Test("a media file's extension, emptiness and size each have their code")
    func mediaCodes() {
        let cases: [(String, Int, RequestValidationError.Code)] = [
            ("a.gif.exe", 10, .unsupportedFileType), ("a.jpg", 0, .missing), ("a.jpg", 11 << 20, .outOfRange),
        ]
        for (name, bytes, code) in cases {
            do {
                try MediaType.image.limit.check(fileName: name, byteCount: bytes)
                Issue.record("expected \(name) (\(bytes) bytes) to be refused")
            } catch {
                #expect(error.code == code, "\(name): \(error)")
                #expect(error.field == "media")
            }
        }
    }

    @Test("a token or app secret placed in the input never appears in a description or message")
    func noSecrets() {
        let url = "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=\(Self.secret)"
            + "&access_token=\(Self.token)"
        let errors: [WeChatError] = [
            .invalidRequest("bad base URL \(url)", endpoint: "token"),
            .invalidResponse("unexpected fields at \(url)", endpoint: "token", errorClass: .permanent, delivery: .received),
            .api(errcode: 40001, errmsg: "invalid credential for \(url)", endpoint: "token", errorClass: .token),
            .transport(TransportFailure(.other, delivery: .notSent, message: "invalid URL for \(url)"), endpoint: "token"),
            .tokenRefreshLimited("refused again at \(url)", endpoint: "stable_token"),
        ]
        for error in errors {
            for text in [error.description, error.message, String(reflecting: error), error.errmsg ?? "",
                         error.transportFailure?.description ?? ""] {
                #expect(!text.contains(Self.token), "token in: \(text)")
                #expect(!text.contains(Self.secret), "secret in: \(text)")
            }
        }

        // A request check names the field and the size, never the value it refused.
        let requests: [any MassRequestCheck] = [
            SendAllRequest(filter: .toAll, payload: .text(content: Self.secret), clientMsgID: String(repeating: Self.token, count: 3)),
            SendRequest(toUser: [Self.token, " "], payload: .text(content: Self.secret)),
            SendAllRequest(filter: .toAll, payload: .text(content: Self.secret), sendIgnoreReprint: 7),
        ]
        var refused: [RequestValidationError] = []
        for request in requests {
            do { try request.validate() } catch { refused.append(error) }
        }
        #expect(refused.map(\.code) == [.outOfRange, .missing, .invalidValue])
        for error in refused {
            for text in [error.description, error.message, String(reflecting: error)] {
                #expect(!text.contains(Self.token) && !text.contains(Self.secret), "secret in: \(text)")
            }
        }
    }
}

/// The requests above, checked alike.
protocol MassRequestCheck {
    func validate() throws(RequestValidationError)
}

extension SendAllRequest: MassRequestCheck {}
extension SendRequest: MassRequestCheck {}

@Suite("SecretFence")
struct SecretFenceTests {
    @Test("a body holding a secret, as written or JSON-escaped, is caught by the secret's name; short values are not guarded")
    func violations() {
        let fence = SecretFence(["secrets.KEY": "k3y/\"quoted\"-value", "env.SHORT": "abc", "account a's app_secret": "plainsecret99"])
        #expect(fence.violation(in: Data("hello plainsecret99 there".utf8)) == "account a's app_secret")
        #expect(fence.violation(in: Data(#"{"content":"k3y/\"quoted\"-value"}"#.utf8)) == "secrets.KEY")
        #expect(fence.violation(in: Data("k3y/\"quoted\"-value".utf8)) == "secrets.KEY")
        #expect(fence.violation(in: Data("abc abc abc".utf8)) == nil)
        #expect(fence.violation(in: Data("nothing here".utf8)) == nil)
        #expect(SecretFence().isEmpty && !fence.isEmpty)
    }

    @Test("a secret is found at the start, the end and the middle of a 310 KB send body, and not when only a prefix is there")
    func largeBodies() {
        let secret = "plainsecret99"
        let fence = SecretFence(["account a's app_secret": secret])
        let openIDs = (0..<10_000).map { "\"o4WmZ0plainsecret9-\($0)\"" }.joined(separator: ",")
        // Every OpenID holds the secret but its last character: 10,000 near misses.
        let body = #"{"touser":["# + openIDs + "]}"
        #expect(body.utf8.count > 250_000)
        #expect(fence.violation(in: Data(body.utf8)) == nil)
        #expect(fence.violation(in: Data((body + "plainsecret9").utf8)) == nil)
        #expect(fence.violation(in: Data((secret + body).utf8)) == "account a's app_secret")
        #expect(fence.violation(in: Data((body + secret).utf8)) == "account a's app_secret")
        let middle = body.utf8.count / 2
        let spliced = Array(body.utf8)[..<middle] + Array(secret.utf8) + Array(body.utf8)[middle...]
        #expect(fence.violation(in: Data(spliced)) == "account a's app_secret")
        #expect(fence.violation(in: Data(secret.utf8)) == "account a's app_secret")
        #expect(fence.violation(in: Data("plainsecret9".utf8)) == nil)
    }

    @Test("a secret percent-encoded in a body (as a URL's query writes it, either hex case) is caught too")
    func percentEncoded() {
        let fence = SecretFence(["secrets.KEY": "a+b/c=d?e"])
        #expect(fence.violation(in: Data("url=https://x.example/?k=a%2Bb%2Fc%3Dd%3Fe".utf8)) == "secrets.KEY")
        #expect(fence.violation(in: Data("url=https://x.example/?k=a%2bb%2fc%3dd%3fe".utf8)) == "secrets.KEY")
        #expect(fence.violation(in: Data("a\\+b\\/c=d?e and a%2Bb only".utf8)) == nil)
    }
}
