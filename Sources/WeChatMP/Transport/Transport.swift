import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Whether a failed call may have reached WeChat. The runner needs this for calls that are
/// not idempotent (a mass send): only `notSent` may be repeated blindly.
public enum Delivery: String, Sendable, Codable, Hashable {
    /// Nothing was written to the connection (it could not be opened): certainly not sent.
    case notSent = "not_sent"
    /// The request was (at least partly) written and no complete answer came: it may have
    /// been received and acted on.
    case maybeReceived = "maybe_received"
    /// WeChat answered: its answer says what happened.
    case received
}

/// One HTTP request as WeChatMP builds it; the transport knows nothing of WeChat.
public struct TransportRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST" }

    public var method: Method
    /// Full URL, including the query (which may hold the access token: never log it as is).
    public var url: String
    public var headers: [(String, String)]
    public var body: Data?
    /// Bound on the whole call (connect, write, read).
    public var timeout: Duration

    public init(method: Method, url: String, headers: [(String, String)] = [], body: Data? = nil, timeout: Duration) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// An HTTP answer: status and the body, read up to the transport's size limit.
public struct TransportResponse: Sendable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// Why a call got no HTTP answer: what kind of failure (``code``), whether the request may
/// have been received (``delivery``) and a short, secret-free message.
///
/// The client library's own error is not kept: its types stay inside this module, and what it
/// said that matters is in the code and the message. New codes may be added in later
/// versions; compare against the static members of ``TransportFailure/Code`` rather than
/// switching exhaustively.
public struct TransportFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case connect
            case timeout
            case connectionLost = "connection_lost"
            case responseTooLarge = "response_too_large"
            case other
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The connection could not be opened (refused, DNS, connect timeout).
        public static let connect = Code(.connect)
        /// The call took longer than its timeout.
        public static let timeout = Code(.timeout)
        /// The connection was closed or reset before a whole answer came.
        public static let connectionLost = Code(.connectionLost)
        /// The answer was larger than the limit. It was not read, so what it said is unknown:
        /// the request may have been received and acted on (`maybeReceived`).
        public static let responseTooLarge = Code(.responseTooLarge)
        /// Anything else (TLS, a malformed answer, an invalid URL).
        public static let other = Code(.other)

        /// The code as logs show it, in `snake_case`, e.g. `connection_lost`.
        public var description: String { wrapped.rawValue }
    }

    /// What kind of failure it is.
    public var code: Code
    /// Whether the request may have reached the server.
    public var delivery: Delivery
    /// A short, secret-free explanation, e.g. `no answer within 30 seconds`.
    public var message: String

    /// Creates a failure. Secret query parameters of any URL in `message` are masked; other
    /// secrets must not be in it.
    public init(_ code: Code, delivery: Delivery, message: String) {
        self.code = code
        self.delivery = delivery
        self.message = Redactor.url(message)
    }

    /// `code (delivery): message`, e.g. `timeout (maybe_received): no answer within 30 seconds`.
    public var description: String { "\(code) (\(delivery.rawValue)): \(message)" }
}

/// Sends HTTP requests. The real one is `AsyncHTTPTransport`; tests use it too, against a
/// local server.
public protocol WeChatTransport: Sendable {
    func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse
}

/// The transport on AsyncHTTPClient: per-request deadline, a response size limit, and the
/// "certainly not sent" / "may have been received" distinction, taken from whether any byte
/// of the request was written before the failure.
public final class AsyncHTTPTransport: WeChatTransport {
    public let maxResponseBytes: Int
    private let client: HTTPClient

    /// One client for the process (its connection pool is shared and it is never shut down,
    /// like `HTTPClient.shared`): connect bounded at 5 s, no redirects, no decompression.
    private static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The event loop every request's task runs on, and where the pool opens its connections.
    /// Left to the client (`.indifferent`), a request's task is placed on any loop of the group
    /// and its connection's channel often on another, so every read, write and completion of
    /// the call crosses between two loop threads: a wake-up each way. The process makes its
    /// calls one after another or a few at a time, which one loop carries. The loop is
    /// preferred (`.delegate(on:)`), not required (`.delegateAndChannel(on:)`): a required
    /// loop makes the pool open a connection for a call that finds none idle there and close
    /// it after the call, a new connection (a TLS handshake) for most concurrent calls.
    private static let loop: any EventLoop = shared.eventLoopGroup.next()

    /// - Parameter maxResponseBytes: answers larger than this fail with `responseTooLarge`.
    public init(maxResponseBytes: Int = 1 << 20) {
        self.client = Self.shared
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        let httpRequest: HTTPClient.Request
        do {
            httpRequest = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method.rawValue))
        } catch {
            throw TransportFailure(.other, delivery: .notSent, message: "invalid URL for \(Redactor.url(request.url))")
        }
        var r = httpRequest
        for (name, value) in request.headers { r.headers.add(name: name, value: value) }
        if let body = request.body {
            r.body = .bytes(body)
            if !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                r.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            }
        }
        let delegate = CollectingDelegate(limit: maxResponseBytes)
        let deadline = NIODeadline.now() + TimeAmount(request.timeout)
        let task = client.execute(request: r, delegate: delegate, eventLoop: .delegate(on: Self.loop), deadline: deadline)
        do {
            return try await task.futureResult.get()
        } catch {
            throw classify(error, wrote: delegate.wroteAnything, timeout: request.timeout)
        }
    }

    private func classify(_ error: any Error, wrote: Bool, timeout: Duration) -> TransportFailure {
        let delivery: Delivery = wrote ? .maybeReceived : .notSent
        if let failure = error as? TransportFailure { return failure }
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return TransportFailure(.timeout, delivery: delivery, message: "no answer within \(timeout)")
            case .connectTimeout:
                return TransportFailure(.connect, delivery: .notSent, message: "connect timed out")
            case .remoteConnectionClosed, .cancelled:
                return TransportFailure(
                    .connectionLost, delivery: delivery, message: "the connection closed before a whole answer came")
            default:
                break
            }
        }
        if !wrote, error is ChannelError {
            return TransportFailure(.connect, delivery: .notSent, message: "could not connect")
        }
        if let io = error as? IOError {
            if !wrote {
                return TransportFailure(.connect, delivery: .notSent, message: "could not connect (\(io.errnoCode))")
            }
            return TransportFailure(.connectionLost, delivery: .maybeReceived, message: "connection reset (\(io.errnoCode))")
        }
        if !wrote {
            return TransportFailure(.connect, delivery: .notSent, message: "could not connect: \(type(of: error))")
        }
        return TransportFailure(.connectionLost, delivery: delivery, message: "the call failed: \(type(of: error))")
    }
}

/// Collects the answer up to a limit and notes whether the request was written.
private final class CollectingDelegate: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = TransportResponse

    private let lock = NSLock()
    private let limit: Int
    private var status = 0
    private var buffer = Data()
    private var wrote = false

    init(limit: Int) { self.limit = limit }

    var wroteAnything: Bool {
        lock.lock()
        defer { lock.unlock() }
        return wrote
    }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        lock.lock()
        wrote = true
        lock.unlock()
    }

    func didSendRequestPart(task: HTTPClient.Task<Response>, _ part: IOData) {
        lock.lock()
        wrote = true
        lock.unlock()
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        lock.lock()
        status = Int(head.status.code)
        lock.unlock()
        if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
            return task.eventLoop.makeFailedFuture(TransportFailure(
                .responseTooLarge, delivery: .maybeReceived,
                message: "the answer announces \(length) bytes, over the limit of \(limit)"))
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ part: ByteBuffer) -> EventLoopFuture<Void> {
        lock.lock()
        defer { lock.unlock() }
        if buffer.count + part.readableBytes > limit {
            return task.eventLoop.makeFailedFuture(TransportFailure(
                .responseTooLarge, delivery: .maybeReceived, message: "the answer is over the limit of \(limit) bytes"))
        }
        buffer.append(contentsOf: part.readableBytesView)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        lock.lock()
        defer { lock.unlock() }
        return TransportResponse(status: status, body: buffer)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
