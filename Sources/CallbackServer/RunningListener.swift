import Foundation
import Hummingbird
import Logging
import RunState
import ServiceLifecycle

/// A listener running in this process (for `run --sandbox` and tests): started on a
/// (free) loopback port, stopped gracefully.
public final class RunningListener: Sendable {
    /// The handler serving the callback paths (its metrics and replay guard).
    public let handler: CallbackHandler
    /// The address listened on.
    public let host: String
    /// The port bound (the free port chosen when started with port 0).
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(handler: CallbackHandler, host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.handler = handler
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// `http://HOST:PORT`.
    public var baseURL: String { "http://\(host):\(port)" }

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
    ///   ``ListenerStartError`` when the server does not start (the port is taken).
    public static func start(
        configuration: ListenerConfiguration, store: any PushInbox, host: String = "127.0.0.1", port: Int = 0,
        logger: Logger? = nil, metrics: ListenerMetrics = ListenerMetrics()
    ) async throws -> RunningListener {
        var log = logger ?? Logger(label: "masscast.listen")
        if logger == nil { log.logLevel = .warning }
        let handler = try CallbackHandler(configuration: configuration, store: store, metrics: metrics, logger: log)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = ListenerServer.application(handler: handler, host: host, port: port) { bound in
            continuation.yield(bound)
            continuation.finish()
        }
        var lifecycle = Logger(label: "masscast.listen.lifecycle")
        lifecycle.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: lifecycle))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var bound: Int?
        for await p in ports {
            bound = p
            break
        }
        guard let bound else {
            task.cancel()
            var reason = ""
            do { try await task.value } catch { reason = ": \(error)" }
            throw ListenerStartError(message: "the listener did not start on \(host):\(port)\(reason)")
        }
        return RunningListener(handler: handler, host: host, port: bound, group: group, task: task)
    }

    /// Stops the server gracefully (requests in progress finish) and waits for it.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The listener could not start (e.g. the port is taken).
public struct ListenerStartError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
