import Foundation
import WeChatMP

/// A `WeChatTransport` that hands each request to a ``SandboxEngine`` in this process, without
/// a socket: what the sandbox's HTTP server does, minus the network.
///
/// The engine's fault answers mean what they mean over a socket:
/// - an added latency is waited on the injected clock, and when it reaches the request's
///   `timeout` the call fails as a timeout after `timeout` (the request was processed:
///   `maybeReceived`);
/// - a dropped connection (before or after processing) fails as `connectionLost` with
///   `maybeReceived`, as a reset after the request was written does;
/// - a body over `maxRequestBytes` is answered 413, as the server answers it;
/// - an answer over `maxResponseBytes` fails as `responseTooLarge` (`maybeReceived`).
///
/// The engine's jobs progress on every request; pushes go out when ``SandboxEngine/tick()``
/// runs (the server's ticker does that, and so must whoever uses this transport and wants
/// pushes).
public struct InProcessTransport: WeChatTransport {
    /// The engine that answers.
    public let engine: SandboxEngine
    /// What fault latencies and timeouts sleep on.
    public let clock: any Clock<Duration>
    /// Answers larger than this fail with `responseTooLarge` (as `AsyncHTTPTransport`'s limit).
    public let maxResponseBytes: Int
    /// Request bodies larger than this are answered 413 (as the server's limit).
    public let maxRequestBytes: Int

    /// Creates a transport to `engine`.
    public init(
        engine: SandboxEngine, clock: any Clock<Duration> = ContinuousClock(), maxResponseBytes: Int = 1 << 20,
        maxRequestBytes: Int = 16 << 20
    ) {
        self.engine = engine
        self.clock = clock
        self.maxResponseBytes = maxResponseBytes
        self.maxRequestBytes = maxRequestBytes
    }

    /// The base URL to give `WeChatClient` and the token provider: any host does, only the
    /// path and query are read.
    public static let baseURL = "http://sandbox.in-process"

    public func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        guard let components = URLComponents(string: request.url), components.scheme != nil, components.host != nil else {
            throw TransportFailure(.other, delivery: .notSent, message: "invalid URL for \(Redactor.url(request.url))")
        }
        if Task.isCancelled {
            throw TransportFailure(.connect, delivery: .notSent, message: "could not connect: cancelled")
        }
        let body = request.body ?? Data()
        if body.count > maxRequestBytes {
            return TransportResponse(status: 413, body: Data())
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name.lowercased()] = value }
        if request.body != nil && headers["content-type"] == nil {
            headers["content-type"] = "application/json; charset=utf-8"
        }
        let path = components.path.isEmpty ? "/" : components.path
        let answer = await engine.handle(
            SandboxRequest(method: request.method.rawValue, path: path, query: query, headers: headers, body: body))
        if let delay = answer.delay, delay > .zero {
            let wait = min(delay, request.timeout)
            do {
                try await clock.sleep(for: wait)
            } catch {
                throw TransportFailure(
                    .connectionLost, delivery: .maybeReceived,
                    message: "the connection closed before a whole answer came")
            }
            if delay >= request.timeout {
                throw TransportFailure(.timeout, delivery: .maybeReceived, message: "no answer within \(request.timeout)")
            }
        }
        if answer.dropConnection != nil {
            throw TransportFailure(
                .connectionLost, delivery: .maybeReceived, message: "the connection closed before a whole answer came")
        }
        if answer.body.count > maxResponseBytes {
            throw TransportFailure(
                .responseTooLarge, delivery: .maybeReceived,
                message: "the answer announces \(answer.body.count) bytes, over the limit of \(maxResponseBytes)")
        }
        return TransportResponse(status: answer.status, body: answer.body)
    }
}
