import Foundation
import Hummingbird
import Logging
import NIOCore
import RunState

/// The listener as a Hummingbird 2 application: `masscast listen`, `RunningListener` and
/// the tests use it.
///
/// Routes:
/// - `GET`/`POST` (and every other method, refused with 405) on `<path>` and `<path>/{account}`:
///   ``CallbackHandler``. The body is read with the size limit (larger: 413 without reading
///   the rest) and a time limit.
/// - `GET /healthz`: `200 {"status":"ok","accounts":N,"store":"reachable"}`, or 503 with
///   `"store":"unreachable"` when the state store does not answer a read within 2 s.
/// - `GET /metrics`: ``ListenerMetrics`` in the Prometheus text format.
public enum ListenerServer {
    /// The methods routed to the handler on the callback paths (GET and POST are served;
    /// the others get 405).
    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options]

    /// The router of the listener.
    /// - Parameter handler: the handler the callback paths use.
    public static func router(handler: CallbackHandler) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let path = handler.configuration.normalizedPath
        let limit = handler.configuration.maxBodyBytes
        let bodyTimeout = handler.configuration.bodyTimeout
        for route in ["\(path)", "\(path)/{account}"] {
            for method in methods {
                router.on(RouterPath(stringLiteral: route), method: method) { request, _ -> Response in
                    await respond(request, handler: handler, limit: limit, bodyTimeout: bodyTimeout)
                }
            }
        }
        let accounts = handler.configuration.accounts.count
        let store = handler.store
        router.get("/healthz") { _, _ -> Response in
            let reachable = await storeIsReachable(store)
            let body = #"{"status":"\#(reachable ? "ok" : "degraded")","accounts":\#(accounts),"store":"\#(reachable ? "reachable" : "unreachable")"}"#
            return text(body, status: reachable ? 200 : 503, contentType: "application/json")
        }
        let metrics = handler.metrics
        router.get("/metrics") { _, _ -> Response in
            text(metrics.render(), status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        return router
    }

    /// The Hummingbird application serving `handler` on `host:port` (port 0: a free port,
    /// reported through `onRunning`). Run it as a `Service` (graceful shutdown).
    public static func application(
        handler: CallbackHandler, host: String = "127.0.0.1", port: Int = 8081, logger: Logger? = nil,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var log = logger ?? Logger(label: "masscast.listen.server")
        if logger == nil { log.logLevel = .warning }
        return Application(
            responder: CallbackMethodGuard(inner: router(handler: handler).buildResponder(), handler: handler),
            server: .http1(
                configuration: .init(
                    idleTimeout: .seconds(60),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100))),
            configuration: .init(address: .hostname(host, port: port), serverName: "masscast-listen"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: log)
    }

    static func respond(_ request: Request, handler: CallbackHandler, limit: Int, bodyTimeout: Duration) async
        -> Response
    {
        let method = request.method.rawValue
        let path = request.uri.path
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            return response(handler.refuseOversizedBody(method: method, path: path))
        }
        let body: [UInt8]
        do {
            // Read on one task that has ended before the answer is written (`joined`): the
            // server reads the connection again after the answer.
            let buffer = try await Bounded.joined("reading the body", timeout: bodyTimeout) {
                try await request.body.collect(upTo: limit)
            }
            body = Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            return response(handler.refuseOversizedBody(method: method, path: path))
        } catch {
            return response(handler.refuse(
                .badRequest, method: method, path: path,
                detail: "the body could not be read within \(bodyTimeout): \(String(describing: error).prefix(200))"))
        }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters where query[String(name)] == nil {
            query[String(name)] = String(value)
        }
        return response(await handler.handle(method: method, path: path, query: query, body: body))
    }

    static func response(_ answer: CallbackResponse) -> Response {
        text(answer.body, status: answer.status, contentType: answer.contentType)
    }

    static func text(_ body: String, status: Int, contentType: String = "text/plain; charset=utf-8") -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        return Response(
            status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
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

/// Answers every method other than GET and POST on the callback paths with 405, counted and
/// logged like any refusal: the router alone answers 404 to a method it has no route for
/// (HEAD, TRACE, PROPFIND, …), which says the path does not exist.
struct CallbackMethodGuard<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    typealias Context = BasicRequestContext
    let inner: Inner
    let handler: CallbackHandler

    func respond(to request: Request, context: Context) async throws -> Response {
        let method = request.method
        guard method != .get, method != .post, Self.isCallbackPath(request.uri.path, base: handler.configuration.normalizedPath)
        else { return try await inner.respond(to: request, context: context) }
        let answer = await handler.handle(method: method.rawValue, path: request.uri.path, query: [:], body: [])
        return ListenerServer.response(answer)
    }

    /// `base` or `base/<one segment>`.
    static func isCallbackPath(_ path: String, base: String) -> Bool {
        if path == base { return true }
        guard path.hasPrefix(base + "/") else { return false }
        let rest = path.dropFirst(base.count + 1)
        return !rest.isEmpty && !rest.utf8.contains(UInt8(ascii: "/"))
    }
}
