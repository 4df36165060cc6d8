import Foundation
import Logging
import RunState
import ServiceHost

/// A listener running in this process (for `run --sandbox` and tests): started on a
/// (free) loopback port, stopped gracefully.
public final class RunningListener: Sendable {
    /// The handler serving the callback paths (its metrics and replay guard).
    public let handler: CallbackHandler
    private let service: RunningService

    private init(handler: CallbackHandler, service: RunningService) {
        self.handler = handler
        self.service = service
    }

    /// The address listened on.
    public var host: String { service.host }
    /// The port bound (the free port chosen when started with port 0).
    public var port: Int { service.port }
    /// `http://HOST:PORT`.
    public var baseURL: String { service.baseURL }

    /// The metrics the listener counts into.
    public var metrics: ListenerMetrics { handler.metrics }

    /// The callback URL of `account` (`…/wechat/callback/brand-main`), or the bare path
    /// (routed by `ToUserName`) when `account` is `nil`.
    public func callbackURL(account: String? = nil) -> String {
        let path = handler.configuration.normalizedPath
        return baseURL + path + (account.map { "/" + $0 } ?? "")
    }

    /// Starts a listener and returns once it accepts connections.
    /// - Parameters:
    ///   - configuration: the accounts and limits.
    ///   - store: the state store whose inbox receives the pushes.
    ///   - host: the address to listen on (default loopback).
    ///   - port: the port; 0 picks a free one.
    ///   - logger: where each request's outcome is logged (default: a logger at `warning`).
    ///   - metrics: the metrics to count into (default: new ones).
    /// - Throws: ``ListenerConfigurationError`` for a configuration that cannot be served;
    ///   ``ServiceStartError`` when the server does not start (the port is taken).
    public static func start(
        configuration: ListenerConfiguration, store: any PushInbox, host: String = "127.0.0.1", port: Int = 0,
        logger: Logger? = nil, metrics: ListenerMetrics = ListenerMetrics()
    ) async throws -> RunningListener {
        var log = logger ?? Logger(label: "masscast.listen")
        if logger == nil { log.logLevel = .warning }
        let handler = try CallbackHandler(configuration: configuration, store: store, metrics: metrics, logger: log)
        let service = try await RunningService.start(name: "the listener", host: host, port: port) { onRunning in
            ListenerServer(handler: handler, host: host, port: port, onRunning: onRunning)
        }
        return RunningListener(handler: handler, service: service)
    }

    /// Stops the server gracefully (requests in progress finish) and waits for it.
    public func stop() async {
        await service.stop()
    }
}
