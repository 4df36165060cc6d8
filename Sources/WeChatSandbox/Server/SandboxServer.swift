import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import WeChatMP

/// The request context of the sandbox's server: Hummingbird's basic context plus the
/// channel, so that a fault can drop the connection without an answer.
public struct SandboxRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Hands every request to the engine and writes its answer, its added latency, or, for a
/// connection-reset fault, no answer at all.
struct EngineResponder: HTTPResponder {
    typealias Context = SandboxRequestContext

    let engine: SandboxEngine
    let maxBodyBytes: Int

    func respond(to request: Request, context: SandboxRequestContext) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        // The query text and the one header the engine reads, as they came: a parameter is
        // looked up when the engine asks for it, no dictionary is built.
        let sandboxRequest = SandboxRequest(
            method: request.method.rawValue, path: request.uri.path,
            query: SandboxQuery(encoded: request.uri.query ?? ""), contentType: request.headers[.contentType],
            body: Data(buffer.readableBytesView))
        // Answered here, under the engine's lock: no hop to another executor and back.
        let answer = engine.respond(sandboxRequest)
        if let delay = answer.delay { try await Task.sleep(for: delay) }
        if answer.dropConnection != nil {
            // The "did it send?" case and its twin: close without a word.
            try? await context.channel.close()
            throw HTTPError(.serviceUnavailable)
        }
        var fields = HTTPFields()
        fields[.contentType] = answer.contentType
        return Response(status: .init(code: answer.status), headers: fields,
                        body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Runs `engine.tick()` every `interval` until the service group shuts down: jobs progress
/// and pushes go out in the background.
struct EngineTicker: Service {
    let engine: SandboxEngine
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await engine.tick()
                try? await Task.sleep(for: interval)
            }
        }
    }
}

/// Delivers the engine's pushes over HTTP with AsyncHTTPClient (via WeChatMP's transport).
public struct HTTPPushSender: PushSender {
    private let transport: AsyncHTTPTransport

    public init() {
        transport = AsyncHTTPTransport(maxResponseBytes: 64 * 1024)
    }

    public func post(url: String, body: Data, contentType: String, timeout: Duration) async -> Bool {
        let request = TransportRequest(method: .post, url: url, headers: [("Content-Type", contentType)], body: body,
                                       timeout: timeout)
        guard let response = try? await transport.send(request), (200..<300).contains(response.status) else { return false }
        let text = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text == "success"
    }
}

/// The sandbox as an HTTP server: `masscast sandbox`, `run --sandbox` and the tests use it.
public enum SandboxServer {
    /// The Hummingbird application for `engine`, listening on `host:port` (port 0: a free port,
    /// reported through `onRunning`).
    public static func application(
        engine: SandboxEngine, host: String = "127.0.0.1", port: Int = 0, maxBodyBytes: Int = 16 << 20,
        tickInterval: Duration = .milliseconds(50), logger: Logger? = nil,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "masscast.sandbox")
        if logger == nil { log.logLevel = .warning }
        return Application(
            responder: EngineResponder(engine: engine, maxBodyBytes: maxBodyBytes),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "masscast-sandbox",
                availableConnectionsDelegate: ConnectionLimit(ConnectionLimit.forOpenFilesLimit(), logger: log)),
            services: [EngineTicker(engine: engine, interval: tickInterval)],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: log)
    }
}

/// The most connections the sandbox's server keeps open at once: half the process's
/// open-files limit (`ulimit -n`), at least 16 and at most 10,000. At the limit it stops
/// accepting until a connection closes (Hummingbird turns reads of the listening socket
/// off), and says so once each time it gets there (`sandbox.connections_full`). Without a
/// limit, connections past the open-files limit made every accept fail with EMFILE at once,
/// again and again: a core spun for as long as the descriptors stayed taken.
struct ConnectionLimit: AvailableConnectionsDelegate {
    let limit: Int
    let logger: Logger
    private var open = 0

    init(_ limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Half of `RLIMIT_NOFILE`'s soft limit, within 16...10,000.
    static func forOpenFilesLimit() -> Int {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return 512 }
        let soft = Int(clamping: limits.rlim_cur)  // RLIM_INFINITY is the largest value
        return min(max(soft / 2, 16), 10_000)
    }

    mutating func connectionOpened() {
        open += 1
        if open == limit {
            logger.warning(
                "\(open) connections open, the most this sandbox keeps (half of its open-files limit, ulimit -n): new connections wait until one closes",
                metadata: ["event": "sandbox.connections_full"])
        }
    }

    mutating func connectionClosed() { open -= 1 }

    func isAcceptingNewConnections() -> Bool { open < limit }
}
