import Foundation
import RunLog
import Runner

extension Console {
    /// Prepares the session `request` asks for (``RunSession/prepare(_:environment:wiring:pipelineLoaded:logging:)``,
    /// in this process's environment) with this console's logging (`format`, `verbose`, the
    /// session's secrets scrubbed) and the pipeline's warnings shown; a setup error is
    /// reported here and gives `nil` (the command exits 2).
    public func session(_ request: RunRequest, format: LogFormat?, verbose: Bool) async -> (RunSession, ProgressLine?)? {
        let progress = ProgressBox()
        do {
            let session = try await RunSession.prepare(
                request, environment: .process, pipelineLoaded: { self.warnings($0.warnings) }
            ) { scrub in
                let (logging, line) = self.sessionLogging(format: format, verbose: verbose, scrub: scrub)
                progress.line = line
                return logging
            }
            return (session, progress.line)
        } catch {
            report(error)
            return nil
        }
    }

    /// Runs `session` under a ServiceGroup (``RunService``), saying what each signal does
    /// (a second Ctrl-C exits 130 at once); then writes the report, closes the session (a
    /// rehearsal's temporary state is removed, and said so) and says the last words.
    /// - Returns: the run's exit code.
    public func run(_ session: RunSession, progress: ProgressLine?, report: String?) async -> Int32 {
        if let warning = await StoreChecks.poolerWarning(session.store) {
            say(warning, level: .warning, event: "state.pooler")
        }
        let result = await RunService.run(session) { signal in
            switch signal {
            case .interrupt:
                self.say(
                    "Ctrl-C (SIGINT): stopping; calls in flight finish, nothing new starts (Ctrl-C again to exit at once)",
                    level: .warning, event: "run.stopping", metadata: ["signal": "SIGINT"])
            case .interruptAgain:
                self.final(
                    "interrupted again (SIGINT): exiting now; the journal says what may have been sent (masscast runs list)",
                    level: .warning, event: "run.interrupted")
                Foundation.exit(130)
            case .terminate:
                self.say(
                    "SIGTERM: stopping; calls in flight finish, nothing new starts", level: .warning,
                    event: "run.stopping", metadata: ["signal": "SIGTERM"])
            }
        }
        if let report, let id = result.runID {
            do {
                try await RunReports.write(runID: id, store: session.store, to: report)
            } catch {
                self.error("cannot write the report \(report): \(error)", event: "report.failed")
            }
        }
        await session.close()
        if session.temporaryStore, let runID = result.runID {
            final(
                "sandbox rehearsal \(runID) done; its state was temporary (pass --state FILE to keep it)",
                event: "run.rehearsal_done")
        }
        lastWords(result)
        progress?.finish()
        return result.exitCode
    }
}

/// The progress line, once the session's logging made it.
final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ProgressLine?
    var line: ProgressLine? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
