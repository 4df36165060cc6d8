import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A sandbox server running in this process (for `run --sandbox` and for tests): started on
/// a free loopback port, stopped gracefully.
public final class RunningSandbox: Sendable {
    public let engine: SandboxEngine
    public let port: Int
    /// `http://127.0.0.1:PORT`: the `baseURL` for `WeChatClient`.
    public var baseURL: String { "http://\(host):\(port)" }
    public let host: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(engine: SandboxEngine, host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.engine = engine
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// Starts the engine's server and returns once it accepts connections.
    public static func start(
        engine: SandboxEngine, host: String = "127.0.0.1", port: Int = 0, tickInterval: Duration = .milliseconds(50)
    ) async throws -> RunningSandbox {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = SandboxServer.application(engine: engine, host: host, port: port, tickInterval: tickInterval) { bound in
            continuation.yield(bound)
            continuation.finish()
        }
        var logger = Logger(label: "masscast.sandbox.lifecycle")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var bound: Int?
        for await p in ports {
            bound = p
            break
        }
        guard let bound else {
            task.cancel()
            throw SandboxStartError(message: "the sandbox server did not start on \(host):\(port)")
        }
        return RunningSandbox(engine: engine, host: host, port: bound, group: group, task: task)
    }

    /// Stops the server and its background work, waiting for both.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The sandbox could not start (e.g. the port is taken).
public struct SandboxStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
