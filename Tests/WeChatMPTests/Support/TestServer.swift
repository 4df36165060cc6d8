import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on a free loopback port, for tests: each request is answered by
/// a closure, which can also delay, drop the connection, or send a huge body.
final class TestServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var query: [String: String]
        var headers: [(String, String)]
        var body: Data

        func json() -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
        }
    }

    indirect enum Reply: Sendable {
        case json(String, status: Int = 200)
        case raw(status: Int, body: Data)
        case delayed(milliseconds: Int64, Reply)
        /// Reads the whole request, then closes the connection without answering.
        case closeAfterRequest
    }

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let lock = NSLock()
    private var log: [Request] = []
    let handler: @Sendable (Request) -> Reply

    init(_ handler: @escaping @Sendable (Request) -> Reply) throws {
        self.handler = handler
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [weak self] channel in
                let server = self
                server?.countConnection()
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: server))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    var port: Int { channel?.localAddress?.port ?? 0 }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    private var accepted = 0

    /// The connections accepted so far.
    var connections: Int {
        lock.lock()
        defer { lock.unlock() }
        return accepted
    }

    func countConnection() {
        lock.lock()
        accepted += 1
        lock.unlock()
    }

    func record(_ r: Request) {
        lock.lock()
        log.append(r)
        lock.unlock()
    }

    private var stopped = false

    /// Closes the server; safe to call more than once.
    func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// The last reference may go on one of the server's own event-loop threads (a handler's
    /// temporary strong reference), where waiting for the loop would deadlock: NIO traps on it.
    /// So a server never stopped explicitly is closed without waiting.
    deinit {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        channel?.close(promise: nil)
        group.shutdownGracefully(queue: .global()) { _ in }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        weak var server: TestServer?
        var head: HTTPRequestHead?
        var body = Data()

        init(server: TestServer?) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = Data()
            case .body(var buffer):
                if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
            case .end:
                guard let head, let server else { return }
                let components = URLComponents(string: head.uri)
                var query: [String: String] = [:]
                for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
                let request = Request(method: head.method.rawValue, path: components?.path ?? head.uri, query: query,
                                      headers: head.headers.map { ($0.name, $0.value) }, body: body)
                server.record(request)
                respond(server.handler(request), context: context, keepAlive: head.isKeepAlive)
            }
        }

        func respond(_ reply: Reply, context: ChannelHandlerContext, keepAlive: Bool) {
            switch reply {
            case .delayed(let ms, let inner):
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(ms)) {
                    self.respond(inner, context: loopBound.value, keepAlive: keepAlive)
                }
            case .closeAfterRequest:
                context.close(promise: nil)
            case .json(let text, let status):
                write(status: status, body: Data(text.utf8), contentType: "application/json", context: context, keepAlive: keepAlive)
            case .raw(let status, let body):
                write(status: status, body: body, contentType: "application/octet-stream", context: context, keepAlive: keepAlive)
            }
        }

        func write(status: Int, body: Data, contentType: String, context: ChannelHandlerContext, keepAlive: Bool) {
            guard context.channel.isActive else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
