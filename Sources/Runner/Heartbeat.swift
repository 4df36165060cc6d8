import Foundation
import RunState

/// The run's heartbeat: every `RunOptions.heartbeatInterval` (on the run's clock) the runner
/// writes that it still owns the run. Three failed writes in a row (another process took the
/// run over, or the store is gone) stop the run with `StopReason.lostOwnership`, so that
/// nothing new starts.
struct Heartbeat {
    let store: any RunStore
    let runID: String
    let options: RunOptions
    let stopSignal: StopSignal

    /// Starts beating until the task is cancelled.
    func start() -> Task<Void, Never> {
        Task { [store, runID, options, stopSignal] in
            var failures = 0
            while !Task.isCancelled {
                try? await options.clock.sleep(for: options.heartbeatInterval)
                if Task.isCancelled { break }
                do {
                    try await store.heartbeat(runID, owner: options.owner, at: options.now())
                    failures = 0
                } catch {
                    failures += 1
                    if failures >= 3 {
                        stopSignal.stop(reason: .lostOwnership)
                        break
                    }
                }
            }
        }
    }
}
