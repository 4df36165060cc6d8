import Logging
import RunLog

/// Where a run's events go: each ``RunEvent`` is written to the run's logger as its
/// ``RunEvent/logLine`` and shown on the live progress line as its ``RunEvent/progress``
/// (`RunOptions.progress` and `progressEnded`; the progress first, so that the line is
/// cleared before the log line is written).
struct RunEvents: Sendable {
    /// The run's logger (with `pipeline` and, once known, `run.id`).
    let logger: Logger
    let progress: (@Sendable (String) -> Void)?
    let progressEnded: (@Sendable (String) -> Void)?

    func emit(_ event: RunEvent) {
        switch event.progress {
        case .text(let text)?: progress?(text)
        case .ended(let stepID)?: progressEnded?(stepID)
        case nil: break
        }
        guard let line = event.logLine else { return }
        logger.log(level: line.level, "\(line.message)", metadata: line.metadata)
    }
}

extension RunExecutor {
    /// The run's events, for the executor and the steps: `events.emit(.stepStarted(…))`.
    var events: RunEvents {
        RunEvents(logger: logger, progress: options.progress, progressEnded: options.progressEnded)
    }
}
