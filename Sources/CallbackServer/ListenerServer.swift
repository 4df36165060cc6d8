import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PipelineCore
import RunState
import ServiceLifecycle
import UnixSignals

/// The listener's HTTP/1.1 server, on SwiftNIO's channel pipeline: `masscast listen`,
/// `RunningListener` and the tests run it as a `Service` (graceful shutdown).
///
/// Routes:
/// - `GET`/`POST` on `<path>` and `<path>/<account>`: ``CallbackHandler``. Every other method
///   there is answered 405 by the handler (counted and logged like any refusal), with
///   `Allow: GET, POST`.
/// - `GET /healthz`: `200 {"status":"ok","accounts":N,"store":"reachable"}`, or 503 with
///   `"store":"unreachable"` when the state store does not answer a read within 2 s.
/// - `GET /metrics`: ``ListenerMetrics`` in the Prometheus text format.
/// - Anything else: 404 (`/healthz` and `/metrics` with another method: 405).
///
/// Limits, per connection:
/// - A request head: a request target or field of at most 16 KiB, 32 KiB of them in all, at
///   most 100 fields; a larger or malformed head is answered 400 and the connection closed.
/// - A body: at most ``ListenerConfiguration/maxBodyBytes``. A `Content-Length` over it is
///   answered 413 at once, before the body is read; a body that grows over it while it
///   arrives, 413 when it does. Either way the connection is closed after the answer.
/// - Time: a request's head must have arrived ``idleTimeout`` after the connection opened or
///   the previous answer was written (else the connection is closed); its body
///   ``ListenerConfiguration/bodyTimeout`` after the head (else 400 on the callback paths,
///   408 elsewhere, and the connection is closed).
/// - One request at a time per connection: a pipelined request waits, unread, until the
///   answer before it is written.
public struct ListenerServer: Service, Sendable {
    /// The handler that answers the callback paths.
    public let handler: CallbackHandler
    /// The address listened on.
    public let host: String
    /// The port asked for (0: any free one).
    public let port: Int
    /// How long a connection may stay silent while no answer is being prepared.
    public var idleTimeout: Duration = .seconds(60)
    /// How long graceful shutdown waits for answers in progress before it closes their
    /// connections.
    public var drainTimeout: Duration = .seconds(10)
    private let logger: Logger
    private let onRunning: @Sendable (Int) async -> Void

    /// The limits of a request head.
    static let headLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 16 * 1024
        limits.maxHeaderListSize = 32 * 1024
        limits.maxHeaderFieldCount = 100
        return limits
    }()

    /// A server for `handler` on `host:port`.
    /// - Parameters:
    ///   - handler: the handler the callback paths use.
    ///   - host: the address to listen on.
    ///   - port: the port; 0 picks a free one, reported through `onRunning`.
    ///   - logger: where the server's own troubles go (default: a logger at `warning`).
    ///   - onRunning: called with the bound port once connections are accepted.
    public init(
        handler: CallbackHandler, host: String = "127.0.0.1", port: Int = 8081, logger: Logger? = nil,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        var log = logger ?? Logger(label: "masscast.listen.server")
        if logger == nil { log.logLevel = .warning }
        self.handler = handler
        self.host = host
        self.port = port
        self.logger = log
        self.onRunning = onRunning
    }

    /// Runs the server until graceful shutdown (or cancellation): then it stops accepting,
    /// lets the answers in progress be written (at most ``drainTimeout``), closes every
    /// connection and returns.
    /// - Throws: NIO's error when the address cannot be bound (`Address already in use`).
    public func run() async throws {
        let connections = Connections()
        let routes = Routes(handler: handler)
        let idle = TimeAmount(idleTimeout)
        let logger = self.logger
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptPause(logger: logger, connections: connections))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: true,
                        withEncoderConfiguration: .init(), withDecoderLimitConfiguration: Self.headLimits)
                    try pipeline.addHandler(ListenerHTTPHandler(routes: routes, idleTimeout: idle))
                    connections.add(channel)
                }
            }
            .bind(host: host, port: port).get()
        await onRunning(server.localAddress?.port ?? port)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await server.closeFuture.get()
            } onGracefulShutdown: {
                server.close(promise: nil)
            }
        } onCancel: {
            server.close(promise: nil)
        }
        try? await server.closeFuture.get()
        await connections.drain(within: drainTimeout)
    }

    /// Runs the server as the only service of a `ServiceGroup` that shuts it down gracefully
    /// on the given signals (`masscast listen`: SIGTERM and SIGINT).
    public func runService(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let group = ServiceGroup(
            configuration: .init(services: [self], gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        try await group.run()
    }
}

/// What the listener does when it cannot accept a connection because a resource ran out
/// (no file descriptor left: EMFILE, ENFILE; no buffer space or memory: ENOBUFS, ENOMEM):
/// it stops accepting for ``pause`` and then tries again, and says why
/// (`listen.accept_paused`, at most once every ``logInterval``).
///
/// Without it the server retried at once: the pending connection keeps the listening socket
/// readable, so every wake-up failed the same way and a core spun for as long as the
/// descriptors stayed taken. (NIO's `AcceptBackoffHandler` only delays the next read a
/// channel asks for, and the failed accept leaves its read pending, so it did not stop
/// that loop; turning `autoRead` off unregisters the socket until it is turned back on.)
final class AcceptPause: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    static let pause = TimeAmount.seconds(1)
    static let logInterval = TimeAmount.seconds(30)
    private let logger: Logger
    private let connections: Connections
    private var paused = false
    private var loggedAt: NIODeadline?
    private var pausesSinceLine = 0

    init(logger: Logger, connections: Connections) {
        self.logger = logger
        self.connections = connections
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        pausesSinceLine += 1
        let now = NIODeadline.now()
        if loggedAt.map({ now - $0 >= Self.logInterval }) ?? true {
            let cause: String
            switch error.errnoCode {
            case EMFILE: cause = "no file descriptor left (EMFILE: this process's open-files limit)"
            case ENFILE: cause = "no file descriptor left (ENFILE: the system's limit)"
            default: cause = "\(error)"
            }
            let open = connections.count
            logger.warning(
                "cannot accept connections: \(cause), with \(open) open; accepting pauses 1 s at a time until it can (\(pausesSinceLine) pause\(pausesSinceLine == 1 ? "" : "s") since the last line). Raise the open-files limit (ulimit -n, LimitNOFILE) or limit connections at the proxy in front",
                metadata: ["event": "listen.accept_paused", "listen.open_connections": "\(open)"])
            loggedAt = now
            pausesSinceLine = 0
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) {
            self.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}

/// The open connections, to quiesce them when the server stops.
final class Connections: Sendable {
    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }
    private let state = NIOLockedValueBox(State())

    /// How many are open.
    var count: Int { state.withLockedValue { $0.open.count } }

    /// Tracks `channel` until it closes; a channel that arrives while draining is quiesced at once.
    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let draining = state.withLockedValue { state in
            state.open[id] = channel
            return state.draining
        }
        channel.closeFuture.whenComplete { [state] _ in
            state.withLockedValue { _ = $0.open.removeValue(forKey: id) }
        }
        if draining { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// Asks every connection to finish its answer in progress and close (idle ones close at
    /// once), waits for them at most `limit`, then closes the rest.
    func drain(within limit: Duration) async {
        let channels = state.withLockedValue { state in
            state.draining = true
            return Array(state.open.values)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        let deadline = ContinuousClock.now.advanced(by: limit)
        for channel in channels {
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(max(deadline - ContinuousClock.now, .zero))) {
                channel.close(promise: nil)
            }
            try? await channel.closeFuture.get()
            timer.cancel()
        }
    }
}

/// What a request head asks for.
enum RouteKind: Sendable, Equatable {
    /// The callback paths (any method: the handler answers 405 to those it does not serve).
    case callback
    case healthz
    case metrics
    /// `/healthz` or `/metrics` with a method other than GET.
    case wrongMethod
    case notFound
}

/// The routes and what answers them, shared by every connection.
struct Routes: Sendable {
    let handler: CallbackHandler
    let base: String
    let maxBody: Int
    let bodyTimeout: TimeAmount
    let accounts: Int

    init(handler: CallbackHandler) {
        self.handler = handler
        self.base = handler.configuration.normalizedPath
        self.maxBody = handler.configuration.maxBodyBytes
        self.bodyTimeout = TimeAmount(handler.configuration.bodyTimeout)
        self.accounts = handler.configuration.accounts.count
    }

    func kind(method: HTTPMethod, path: Substring) -> RouteKind {
        if Self.isCallbackPath(path, base: base) { return .callback }
        if path == "/healthz" { return method == .GET ? .healthz : .wrongMethod }
        if path == "/metrics" { return method == .GET ? .metrics : .wrongMethod }
        return .notFound
    }

    /// `base` or `base/<one segment>`.
    static func isCallbackPath(_ path: Substring, base: String) -> Bool {
        guard path.hasPrefix(base) else { return false }
        let rest = path.utf8.dropFirst(base.utf8.count)
        guard let first = rest.first else { return true }
        guard first == UInt8(ascii: "/") else { return false }
        let segment = rest.dropFirst()
        return !segment.isEmpty && !segment.contains(UInt8(ascii: "/"))
    }

    /// The answer to a complete request that needs no wait (`/metrics`, 405, 404), or `nil`.
    func immediateAnswer(_ kind: RouteKind) -> Answer? {
        switch kind {
        case .metrics:
            Answer(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: handler.metrics.render())
        case .wrongMethod: Answer(status: 405, body: "method_not_allowed", allow: "GET")
        case .notFound: Answer(status: 404, body: "not_found")
        case .callback, .healthz: nil
        }
    }

    /// The answer to a complete request to the callback paths or `/healthz`.
    func answer(_ request: HTTPRequestHead, kind: RouteKind, path: String, query: Substring?, body: [UInt8]) async
        -> Answer
    {
        if kind == .healthz {
            let reachable = await Self.storeIsReachable(handler.store)
            let body = #"{"status":"\#(reachable ? "ok" : "degraded")","accounts":\#(accounts),"store":"\#(reachable ? "reachable" : "unreachable")"}"#
            return Answer(status: reachable ? 200 : 503, contentType: "application/json", body: body)
        }
        let served = request.method == .GET || request.method == .POST
        let answer = await handler.handle(
            method: request.method.rawValue, path: path, query: served ? Self.queryParameters(query) : [:],
            body: served ? body : [])
        return Answer(answer, allow: answer.status == 405)
    }

    /// The answer when the body is over the limit (413) or did not arrive in time (400 on the
    /// callback paths, counted by the handler; 408 elsewhere).
    func refusal(_ request: HTTPRequestHead, kind: RouteKind, path: String, tooLarge: Bool) -> Answer {
        let method = request.method.rawValue
        switch (kind, tooLarge) {
        case (.callback, true):
            return Answer(handler.refuseOversizedBody(method: method, path: path), allow: false)
        case (.callback, false):
            return Answer(
                handler.refuse(
                    .badRequest, method: method, path: path,
                    detail: "the body did not arrive within \(handler.configuration.bodyTimeout)"),
                allow: false)
        case (_, true):
            return Answer(status: 413, body: "too_large")
        case (_, false):
            return Answer(status: 408, body: "request_timeout")
        }
    }

    /// The query's parameters: the first of each name; names as sent, values read by
    /// `PercentDecoding` (a value that is not valid percent-encoding is kept as sent; `+`
    /// stays `+`).
    static func queryParameters(_ query: Substring?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var parameters: [String: String] = [:]
        parameters.reserveCapacity(6)
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let name: Substring.UTF8View.SubSequence
            let value: Substring.UTF8View.SubSequence
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                name = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                name = pair
                value = pair[pair.endIndex...]
            }
            let key = String(Substring(name))
            if parameters[key] == nil { parameters[key] = PercentDecoding.decode(Substring(value)) }
        }
        return parameters
    }

    static func storeIsReachable(_ store: any PushInbox) async -> Bool {
        do {
            _ = try await Bounded.run("the health check", timeout: .seconds(2)) {
                try await store.inboxEvents(api: "", originalID: "", msgIDs: [0])
            }
            return true
        } catch {
            return false
        }
    }
}

/// An answer to write: status, content type, body and, for a 405, the methods allowed.
struct Answer: Sendable {
    var status: Int
    var contentType: String = "text/plain; charset=utf-8"
    var body: String
    var allow: String?

    init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String, allow: String? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.allow = allow
    }

    init(_ response: CallbackResponse, allow: Bool) {
        self.init(
            status: response.status, contentType: response.contentType, body: response.body,
            allow: allow ? "GET, POST" : nil)
    }
}

/// One connection's requests, one at a time (the pipelining handler before it holds the next
/// request back until this one's answer is written). Runs on the connection's event loop.
///
/// Time limits: a request's head must arrive within the idle time of the connection's
/// opening or of the previous answer (else the connection is closed: an idle keep-alive
/// connection, or a head sent a byte at a time); its body within the body timeout of the
/// head (else 400 or 408 and the connection is closed). While an answer is prepared no limit
/// runs here (the handler bounds its own waits). One timer per connection, moved lazily: it
/// is scheduled again only when it fires early, so a request costs no timer of its own.
final class ListenerHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        /// A head arrived; its body is being read.
        case reading(Reading)
        /// The answer was written before the request ended (413, or the body timed out): what
        /// still arrives is dropped and the connection closes.
        case refused
        /// The request is complete; its answer is being prepared.
        case answering
    }

    private struct Reading {
        var head: HTTPRequestHead
        /// The request target's path and query (split at the first `?`).
        var path: Substring
        var query: Substring?
        var kind: RouteKind
        var body: ByteBuffer?
    }

    private let routes: Routes
    private let idleTimeout: TimeAmount
    private var state = State.idle
    /// When the current phase (waiting for a head, reading a body) ends; `nil` while answering.
    private var deadline: NIODeadline?
    /// A head arrived in this read burst: its body deadline is set when the burst ends, if the
    /// request is still incomplete then.
    private var bodyDeadlinePending: NIODeadline?
    /// The connection's timer and when it fires.
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?

    init(routes: Routes, idleTimeout: TimeAmount) {
        self.routes = routes
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        setDeadline(.now() + idleTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            begin(context: context, head: head)
        case .body(var part):
            guard case .reading(var reading) = state else { return }
            let collected = reading.body?.readableBytes ?? 0
            if collected + part.readableBytes > routes.maxBody {
                refuse(context: context, reading, tooLarge: true)
                return
            }
            state = .answering  // the state lets go of the buffer: no copy while it grows
            if reading.body == nil {
                reading.body = part
            } else {
                reading.body!.writeBuffer(&part)
            }
            state = .reading(reading)
        case .end:
            guard case .reading(let reading) = state else {
                if case .refused = state { context.close(promise: nil) }
                return
            }
            state = .answering
            bodyDeadlinePending = nil
            deadline = nil
            complete(context: context, reading)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let pending = bodyDeadlinePending {
            bodyDeadlinePending = nil
            if case .reading = state { setDeadline(pending, context: context) }
        }
        context.fireChannelReadComplete()
    }

    private func begin(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let (path, query) = Self.split(head.uri)
        let reading = Reading(head: head, path: path, query: query, kind: routes.kind(method: head.method, path: path))
        if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > routes.maxBody {
            refuse(context: context, reading, tooLarge: true)
            return
        }
        state = .reading(reading)
        if head.version == .http1_1, head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            // The client waits for this before it sends the body (curl does for bodies over
            // 1 KiB), or for about a second when it does not come.
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
        }
        // The timer moves when the read burst ends (`channelReadComplete`), and only if the
        // body is still missing then: a request that arrives whole costs no timer.
        let due = NIODeadline.now() + routes.bodyTimeout
        bodyDeadlinePending = due
        deadline = due
    }

    /// Moves the phase's deadline; the timer is scheduled again only when it would fire late.
    private func setDeadline(_ new: NIODeadline, context: ChannelHandlerContext) {
        deadline = new
        if let at = timerAt, at <= new { return }
        timer?.cancel()
        schedule(at: new, context: context)
    }

    private func schedule(at when: NIODeadline, context: ChannelHandlerContext) {
        timerAt = when
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: when) {
            let (handler, context) = loopBound.value
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerAt = nil
        guard let deadline else { return }  // answering: the next phase schedules it again
        guard deadline <= .now() else {
            schedule(at: deadline, context: context)
            return
        }
        self.deadline = nil
        switch state {
        case .reading(let reading): refuse(context: context, reading, tooLarge: false)
        case .idle, .refused: context.close(promise: nil)
        case .answering: break
        }
    }

    private func refuse(context: ChannelHandlerContext, _ reading: Reading, tooLarge: Bool) {
        state = .refused
        bodyDeadlinePending = nil
        deadline = nil
        let answer = routes.refusal(
            reading.head, kind: reading.kind, path: String(reading.path), tooLarge: tooLarge)
        write(context: context, answer, head: reading.head, close: true)
    }

    private func complete(context: ChannelHandlerContext, _ reading: Reading) {
        let head = reading.head
        if let answer = routes.immediateAnswer(reading.kind) {
            write(context: context, answer, head: head, close: !head.isKeepAlive)
            return
        }
        let routes = self.routes
        let (kind, path, query) = (reading.kind, String(reading.path), reading.query)
        let body = reading.body.map { Array($0.readableBytesView) } ?? []
        let promise = context.eventLoop.makePromise(of: Answer.self)
        promise.completeWithTask {
            await routes.answer(head, kind: kind, path: path, query: query, body: body)
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { answer in
            let (handler, context) = loopBound.value
            handler.write(context: context, answer, head: head, close: !head.isKeepAlive)
        }
    }

    private func write(context: ChannelHandlerContext, _ answer: Answer, head: HTTPRequestHead, close: Bool) {
        if case .answering = state {
            state = .idle
            if !close { setDeadline(.now() + idleTimeout, context: context) }
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "Content-Type", value: answer.contentType)
        headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
        headers.add(name: "Server", value: "masscast-listen")
        if let allow = answer.allow { headers.add(name: "Allow", value: allow) }
        if close { headers.add(name: "Connection", value: "close") }
        let version = head.version == .http1_0 ? HTTPVersion.http1_0 : .http1_1
        let status = HTTPResponseStatus(statusCode: answer.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer.body)))), promise: nil)
        if close {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// A request target split at its first `?`: the path and the query.
    static func split(_ uri: String) -> (path: Substring, query: Substring?) {
        guard let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (uri[...], nil) }
        return (uri[..<mark], uri[uri.index(after: mark)...])
    }
}
