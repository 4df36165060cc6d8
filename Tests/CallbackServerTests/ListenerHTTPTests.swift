@testable import CallbackServer
import Foundation
import RunState
import ServiceHost
import Testing
import WeChatPush

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP answer read off a raw socket.
struct RawAnswer: CustomStringConvertible {
    var status: Int
    /// Header names in lower case.
    var headers: [String: String]
    var body: String
    var description: String { "\(status) \(headers) \(body.prefix(120))" }
}

/// Raw HTTP/1.1 over a loopback socket: what a client sends, byte for byte, and every answer
/// it gets back until the server closes the connection.
enum HTTPExchange {
    /// One request with `Connection: close`; its answer.
    static func one(
        port: Int, method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> RawAnswer {
        let bytes = request(method: method, target: target, headers: headers + [("Connection", "close")], body: body)
        let answers = parse(await raw(port: port, bytes, readTimeout: 30).bytes, head: method == "HEAD")
        return try #require(answers.first, "no answer to \(method) \(target)")
    }

    /// The bytes of a request (`Content-Length` added when there is a body).
    static func request(method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty { text += "Content-Length: \(body.count)\r\n" }
        return Array((text + "\r\n").utf8) + body
    }

    /// Sends `bytes` at once and reads until the server closes (or `readTimeout` seconds of
    /// silence): what came back and whether the server closed.
    static func raw(port: Int, _ bytes: [UInt8], readTimeout: Int) async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: blockingExchange(port: port, [bytes], pause: 0, readTimeout: readTimeout))
            }
        }
    }

    /// Sends `parts` one after another, `pause` microseconds apart, then reads until the
    /// server closes or `readTimeout` seconds of silence. Blocking.
    static func blockingExchange(port: Int, _ parts: [[UInt8]], pause: useconds_t, readTimeout: Int) -> (bytes: [UInt8], closed: Bool) {
        guard let fd = loopbackConnection(port: port) else { return ([], false) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        for (index, part) in parts.enumerated() {
            if index > 0 && pause > 0 { usleep(pause) }
            if part.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 { break }
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (received, true) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return (received, e == ECONNRESET)
            }
            received.append(contentsOf: buffer[0..<n])
        }
    }

    /// The answers in `bytes`, in order (bodies by `Content-Length`; none for HEAD).
    static func parse(_ bytes: [UInt8], head: Bool = false) -> [RawAnswer] {
        var answers: [RawAnswer] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let headText = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { break }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
            let bodyEnd = min(rest.endIndex, end.upperBound + length)
            answers.append(RawAnswer(status: status, headers: headers, body: String(decoding: rest[end.upperBound..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return answers
    }
}

@Suite("The listener's HTTP server", .serialized)
struct ListenerHTTPTests {
    @Test("three requests pipelined on one connection are answered in order, the push stored once")
    func pipelinedRequests() async throws {
        try await LiveListener.with { live in
            let push = Push.finish(Accounts.news, msgID: 1000001401).plain()
            let query = push.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            let timestamp = String(Int64(Date().timeIntervalSince1970))
            let signature = CallbackCrypto.sign(token: Accounts.main.token, timestamp: timestamp, nonce: "1401")
            let verification = "/wechat/callback/brand-main?signature=\(signature)&timestamp=\(timestamp)&nonce=1401&echostr=8201"
            let bytes = HTTPExchange.request(method: "GET", target: verification)
                + HTTPExchange.request(method: "POST", target: "/wechat/callback?\(query)", body: push.body)
                + HTTPExchange.request(method: "GET", target: "/metrics", headers: [("Connection", "close")])
            let (answers, closed) = await HTTPExchange.raw(port: live.running.port, bytes, readTimeout: 30)
            let parsed = HTTPExchange.parse(answers)
            try #require(parsed.count == 3, "\(parsed)")
            #expect(parsed[0].status == 200 && parsed[0].body == "8201")
            #expect(parsed[1].status == 200 && parsed[1].body == "success")
            #expect(parsed[2].status == 200 && metricValue(parsed[2].body, "masscast_listener_pushes_stored_total") == 1)
            #expect(parsed[2].headers["connection"] == "close" && closed)
            #expect(parsed[0].headers["connection"] == nil)
            #expect(try await live.temp.events(Accounts.news, [1000001401]).count == 1)
        }
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent; then the push is stored")
    func expectContinue() async throws {
        try await LiveListener.with { (live: LiveListener) async throws in
            let push = Push.finish(Accounts.news, msgID: 1000001404).plain()
            let query = push.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            let head = Array(("POST /wechat/callback?\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                + "Content-Length: \(push.body.count)\r\nConnection: close\r\n\r\n").utf8)
            let port = live.running.port
            let (interim, rest) = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    guard let fd = loopbackConnection(port: port) else { return continuation.resume(returning: ("", [UInt8]())) }
                    defer { close(fd) }
                    var timeout = timeval(tv_sec: 30, tv_usec: 0)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    // Nothing more is sent until the server says to go on.
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    let interim = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
                    _ = push.body.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    var rest: [UInt8] = []
                    while true {
                        let m = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                        if m <= 0 { break }
                        rest += buffer[0..<m]
                    }
                    continuation.resume(returning: (interim, rest))
                }
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim)")
            let final = HTTPExchange.parse(Array(interim.utf8) + rest).last
            #expect(final?.status == 200 && final?.body == "success", "\(String(decoding: rest, as: UTF8.self))")
            #expect(try await live.temp.events(Accounts.news, [1000001404]).count == 1)
        }
    }

    @Test("a chunked body that grows over the limit gets 413 and the connection closes; nothing stored")
    func chunkedOverLimit() async throws {
        try await LiveListener.with(Accounts.configuration(maxBodyBytes: 4096)) { live in
            let push = Push.finish(Accounts.news, msgID: 1000001402).plain()
            let query = push.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            var bytes = HTTPExchange.request(
                method: "POST", target: "/wechat/callback?\(query)", headers: [("Transfer-Encoding", "chunked")])
            for _ in 0..<8 { bytes += Array("400\r\n".utf8) + [UInt8](repeating: 0x61, count: 1024) + Array("\r\n".utf8) }
            bytes += Array("0\r\n\r\n".utf8)
            let (answer, closed) = await HTTPExchange.raw(port: live.running.port, bytes, readTimeout: 30)
            let parsed = HTTPExchange.parse(answer)
            #expect(parsed.count == 1 && parsed.first?.status == 413 && parsed.first?.body == "too_large", "\(parsed)")
            #expect(closed)
            #expect(try await live.temp.isEmpty([1000001402]))
            let metrics = try await live.get("/metrics").body
            #expect(metricValue(metrics, #"masscast_listener_pushes_rejected_total{reason="too_large"}"#) == 1)
        }
    }

    @Test("a head over the limits (a 20 KiB field, 150 fields, a 20 KiB target) gets 400 and the connection closes")
    func headLimits() async throws {
        try await LiveListener.with { live in
            let long = HTTPExchange.request(method: "GET", target: "/healthz", headers: [("X-Long", String(repeating: "a", count: 20 * 1024))])
            let many = HTTPExchange.request(method: "GET", target: "/healthz", headers: (0..<150).map { ("X-F\($0)", "v") })
            let longTarget = HTTPExchange.request(method: "GET", target: "/healthz?" + String(repeating: "a", count: 20 * 1024))
            for bytes in [long, many, longTarget] {
                let (answer, closed) = await HTTPExchange.raw(port: live.running.port, bytes, readTimeout: 30)
                #expect(HTTPExchange.parse(answer).first?.status == 400, "\(String(decoding: answer.prefix(100), as: UTF8.self))")
                #expect(closed)
            }
            // Within the limits the same request is served.
            let fine = HTTPExchange.request(method: "GET", target: "/healthz", headers: [("X-Long", String(repeating: "a", count: 8 * 1024))])
            let (answer, _) = await HTTPExchange.raw(port: live.running.port, fine + HTTPExchange.request(method: "GET", target: "/healthz", headers: [("Connection", "close")]), readTimeout: 30)
            #expect(HTTPExchange.parse(answer).map(\.status) == [200, 200])
        }
    }

    @Test("a silent connection and a head sent a byte at a time are closed after the idle time", .timeLimit(.minutes(2)))
    func idleConnectionsClosed() async throws {
        let temp = try TempStore()
        let handler = try CallbackHandler(configuration: Accounts.configuration(), store: temp.store, logger: LogCapture().logger)
        let service = try await RunningService.start(name: "the listener", host: "127.0.0.1", port: 0) { onRunning in
            var server = ListenerServer(handler: handler, host: "127.0.0.1", port: 0, onRunning: onRunning)
            server.idleTimeout = .milliseconds(400)
            return server
        }
        let port = service.port
        let started = ContinuousClock.now
        let silent = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: HTTPExchange.blockingExchange(port: port, [], pause: 0, readTimeout: 60)) }
        }
        // A head that never ends: one byte every 100 ms, each well inside the idle time.
        let head = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8) + [UInt8](repeating: 0x61, count: 100)
        let dribble = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: HTTPExchange.blockingExchange(port: port, head.map { [$0] }, pause: 100_000, readTimeout: 60))
            }
        }
        let elapsed = ContinuousClock.now - started
        await service.stop()
        #expect(silent.closed && silent.bytes.isEmpty)
        // The dribbler was cut off long before its 150 bytes (15 s) were all sent.
        #expect(dribble.closed)
        #expect(elapsed < .seconds(45), "\(elapsed)")
    }

    @Test("stopping waits for an answer in progress, then closes idle connections")
    func gracefulStop() async throws {
        let temp = try TempStore()
        let slow = SlowInbox(inner: temp.store, delay: .milliseconds(700))
        let listener = try await RunningListener.start(configuration: Accounts.configuration(), store: slow, logger: LogCapture().logger)
        let port = listener.port
        // An idle keep-alive connection: answered once, then silent.
        let idleFD = try #require(loopbackConnection(port: port))
        defer { close(idleFD) }
        let ping = HTTPExchange.request(method: "GET", target: "/metrics")
        _ = ping.withUnsafeBytes { send(idleFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var first = [UInt8](repeating: 0, count: 64 * 1024)
        _ = first.withUnsafeMutableBytes { recv(idleFD, $0.baseAddress, $0.count, 0) }

        let push = Push.finish(Accounts.news, msgID: 1000001403).plain()
        let query = push.query.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        let bytes = HTTPExchange.request(method: "POST", target: "/wechat/callback?\(query)", body: push.body)
        async let answer = HTTPExchange.raw(port: port, bytes, readTimeout: 30)
        try await Task.sleep(for: .milliseconds(250))  // the push is in the slow store now
        await listener.stop()
        let (reply, closed) = await answer
        let parsed = HTTPExchange.parse(reply)
        #expect(parsed.first?.status == 200 && parsed.first?.body == "success", "\(parsed)")
        #expect(parsed.first?.headers["connection"] == "close" && closed)
        #expect(try await temp.events(Accounts.news, [1000001403]).count == 1)
        // The idle connection was closed by the stop.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(idleFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { recv(idleFD, $0.baseAddress, $0.count, 0) }
        #expect(n == 0)
    }

    @Test("query parameters: the first of a name wins, values percent-decoded, bad encodings kept as sent")
    func queryParameters() {
        let q = Routes.queryParameters("timestamp=1&nonce=a%20b&timestamp=2&echostr=%E4%BD%A0&bad=%zz&plus=a+b&flag&=x")
        #expect(q["timestamp"] == "1")
        #expect(q["nonce"] == "a b")
        #expect(q["echostr"] == "你")
        #expect(q["bad"] == "%zz")
        #expect(q["plus"] == "a+b")
        #expect(q["flag"] == "")
        #expect(Routes.queryParameters("v=%FFa")["v"] == "\u{FFFD}a")
        #expect(Routes.queryParameters(nil).isEmpty && Routes.queryParameters("").isEmpty)
        #expect(Routes.isCallbackPath("/wechat/callback", base: "/wechat/callback"))
        #expect(Routes.isCallbackPath("/wechat/callback/brand-main", base: "/wechat/callback"))
        #expect(!Routes.isCallbackPath("/wechat/callbackx", base: "/wechat/callback"))
        #expect(!Routes.isCallbackPath("/wechat/callback/", base: "/wechat/callback"))
        #expect(!Routes.isCallbackPath("/wechat/callback/a/b", base: "/wechat/callback"))
    }
}

/// The state store's inbox, each write held back by `delay`: an answer that takes a while.
struct SlowInbox: PushInbox {
    let inner: any PushInbox
    let delay: Duration

    func storeInboxEvent(_ event: InboxEvent) async throws -> Bool {
        try await Task.sleep(for: delay)
        return try await inner.storeInboxEvent(event)
    }

    func inboxEvents(api: String, originalID: String, msgIDs: [Int64]) async throws -> [InboxEvent] {
        try await inner.inboxEvents(api: api, originalID: originalID, msgIDs: msgIDs)
    }
}
