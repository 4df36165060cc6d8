import Logging
import ServiceLifecycle

/// A server running in this process, for `run --sandbox` and for tests: started on a (free)
/// loopback port, stopped gracefully. The sandbox (`RunningSandbox`) and the listener
/// (`RunningListener`) are each one of these plus what they serve.
public final class RunningService: Sendable {
    /// The address listened on.
    public let host: String
    /// The port bound (the free port chosen when started with port 0).
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `http://HOST:PORT`.
    public var baseURL: String { "http://\(host):\(port)" }

    private init(host: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.host = host
        self.port = port
        self.group = group
        self.task = task
    }

    /// Starts the service that `make` builds and returns once it accepts connections.
    ///
    /// - Parameters:
    ///   - name: what the service is, for the error (`the sandbox server`, `the listener`).
    ///   - host: the address it listens on.
    ///   - port: the port asked for (0: any free one).
    ///   - make: builds the service, given the function it calls with the port it bound
    ///     once it is running (Hummingbird's `onServerRunning`).
    /// - Throws: ``ServiceStartError`` when the service ends before it runs (the port is
    ///   taken, say), with the reason it gave.
    public static func start(
        name: String, host: String, port: Int,
        make: (_ onRunning: @escaping @Sendable (Int) async -> Void) -> any Service
    ) async throws(ServiceStartError) -> RunningService {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let service = make { bound in
            continuation.yield(bound)
            continuation.finish()
        }
        var logger = Logger(label: "masscast.service.lifecycle")
        logger.logLevel = .warning
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            // A service that ends (or fails) before it runs must not leave the caller waiting.
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
            var cause: (any Error)?
            do { try await task.value } catch { cause = error }
            throw ServiceStartError(
                code: cause == nil ? .endedBeforeRunning : .couldNotBind,
                message: "\(name) did not start on \(host):\(port)" + (cause.map { ": \($0)" } ?? ""),
                address: "\(host):\(port)", cause: cause.map { String(describing: $0) })
        }
        return RunningService(host: host, port: bound, group: group, task: task)
    }

    /// Stops the service gracefully (requests in progress finish) and waits for it.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A service could not start (e.g. the port is taken).
public struct ServiceStartError: Error, Sendable, CustomStringConvertible {
    /// Why it did not start. Codes are extensible: new ones may be added without breaking
    /// callers, so a `switch` over them needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case couldNotBind, endedBeforeRunning }
        private var wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The server failed before it ran: the address could not be bound (taken, not
        /// local, not allowed).
        public static var couldNotBind: Self { Self(.couldNotBind) }
        /// The service ended without an error before it ran.
        public static var endedBeforeRunning: Self { Self(.endedBeforeRunning) }

        /// The code's name.
        public var description: String {
            switch wrapped {
            case .couldNotBind: "couldNotBind"
            case .endedBeforeRunning: "endedBeforeRunning"
            }
        }
    }

    /// Why it did not start.
    public var code: Code
    /// What went wrong, with the address and the reason.
    public var message: String
    /// The address asked for, `HOST:PORT`.
    public var address: String
    /// The server's own error, as text (NIO's error types do not cross this module's border).
    public var cause: String?
    /// The message.
    public var description: String { message }

    public init(code: Code, message: String, address: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.cause = cause
    }
}
