import Logging
import Runner
import ServiceLifecycle
import UnixSignals

/// A signal that reached a run, for the command to say so.
public enum RunSignal: Sendable, Hashable {
    /// The first Ctrl-C (SIGINT): the run is stopping gracefully.
    case interrupt
    /// Ctrl-C again: the command should exit at once.
    case interruptAgain
    /// SIGTERM: the run is stopping gracefully.
    case terminate
}

/// A ``RunSession`` run as a `Service` in a `ServiceGroup`: SIGTERM shuts the group down
/// gracefully and SIGINT (Ctrl-C) stops the run the same way; either way calls in flight
/// finish (or are journaled as unknown), nothing new starts, and the run stops resumable
/// with the signal's reason. A second Ctrl-C is reported as ``RunSignal/interruptAgain``.
public struct RunService: Service {
    let session: RunSession
    let onSignal: @Sendable (RunSignal) -> Void
    let outcome = Outcome()

    /// A service running `session`; `onSignal` is told of every signal, before the run is stopped.
    public init(session: RunSession, onSignal: @escaping @Sendable (RunSignal) -> Void) {
        self.session = session
        self.onSignal = onSignal
    }

    /// Runs the session in a `ServiceGroup` that shuts down gracefully on SIGTERM, and
    /// returns its result.
    public static func run(_ session: RunSession, onSignal: @escaping @Sendable (RunSignal) -> Void) async -> RunResult {
        let service = RunService(session: session, onSignal: onSignal)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    // Named, not printed (a group names a service by reflecting all it holds).
                    .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "masscast run")
                ],
                gracefulShutdownSignals: [.sigterm],
                logger: Logger(label: "masscast.run", factory: { _ in SwiftLogNoOpLogHandler() })))
        try? await group.run()
        return await service.outcome.result ?? .invalid(message: "the run did not finish")
    }

    public func run() async throws {
        let executor = session.executor
        let onSignal = self.onSignal
        // Trapped before the run starts, so that no Ctrl-C finds SIGINT's default action.
        let interrupts = await UnixSignalsSequence(trapping: .sigint)
        await withGracefulShutdownHandler {
            // Not a child task: the run's end never waits for the signal sequence to finish.
            let watcher = Task {
                var count = 0
                for await _ in interrupts {
                    count += 1
                    if count == 1 {
                        onSignal(.interrupt)
                        executor.stop(reason: .interrupt)
                    } else {
                        onSignal(.interruptAgain)
                    }
                }
            }
            await outcome.set(await session.run())
            watcher.cancel()
        } onGracefulShutdown: {
            onSignal(.terminate)
            executor.stop(reason: .terminate)
        }
    }

    /// The run's result, once it is known.
    actor Outcome {
        var result: RunResult?
        func set(_ result: RunResult) { self.result = result }
    }
}
