import Foundation
import ServiceHost

/// A sandbox server running in this process (for `run --sandbox` and for tests): started on
/// a free loopback port, stopped gracefully.
public final class RunningSandbox: Sendable {
    public let engine: SandboxEngine
    private let service: RunningService

    /// The address listened on.
    public var host: String { service.host }
    /// The port bound.
    public var port: Int { service.port }
    /// `http://127.0.0.1:PORT`: the `baseURL` for `WeChatClient`.
    public var baseURL: String { service.baseURL }

    private init(engine: SandboxEngine, service: RunningService) {
        self.engine = engine
        self.service = service
    }

    /// Starts the engine's server and returns once it accepts connections.
    /// - Throws: ``ServiceStartError`` when it does not start (the port is taken).
    public static func start(
        engine: SandboxEngine, host: String = "127.0.0.1", port: Int = 0, tickInterval: Duration = .milliseconds(50)
    ) async throws -> RunningSandbox {
        let service = try await RunningService.start(name: "the sandbox server", host: host, port: port) { onRunning in
            SandboxServer.application(engine: engine, host: host, port: port, tickInterval: tickInterval,
                                      onRunning: onRunning)
        }
        return RunningSandbox(engine: engine, service: service)
    }

    /// Stops the server and its background work, waiting for both.
    public func stop() async {
        await service.stop()
    }
}
