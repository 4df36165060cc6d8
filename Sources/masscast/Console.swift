import Foundation
import Logging
import PipelineCore
import RunLog
import Runner

/// What `run` and `resume` say themselves, besides the run's own log: setup errors, pipeline
/// and config diagnostics, the rehearsal note, signal notes and the last words. They follow
/// the run's log format, so that with `--log-format json` (the default when stderr is not a
/// terminal) every line on stderr is one JSON object (`ts`, `level`, `msg`, `event`, …), and
/// in text they are `masscast: …` lines that never land on the live progress line.
final class Console: @unchecked Sendable {
    /// The console of this process's `run`/`resume`, once ``start(logFormat:)`` was called.
    nonisolated(unsafe) private(set) static var active: Console?
    private static let fallback = Console(logFormat: nil)

    /// The active console, or one in the default format.
    static var current: Console { active ?? fallback }

    /// Called first thing by `run` and `resume`: their output follows `logFormat` from here on,
    /// including an error that escapes the command (see `Masscast.main`).
    static func start(logFormat: LogFormat?) {
        active = Console(logFormat: logFormat)
    }

    let format: LogFormat
    let sink: LogSink
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var scrubber = Scrubber()
    private var progress: ProgressLine?

    /// - Parameters:
    ///   - logFormat: `--log-format`; `nil` picks text on a terminal, JSON otherwise.
    ///   - sink: standard error (shared with the run's logger and progress line).
    init(logFormat: LogFormat?, sink: LogSink = .standardError) {
        self.sink = sink
        self.format = logFormat ?? LogFormat.default(isTerminal: sink.isTerminal)
    }

    /// Once the run's logger exists: the same secrets are scrubbed and the same progress line
    /// is cleared before the last words.
    func attach(scrubber: Scrubber, progress: ProgressLine?) {
        lock.withLock {
            self.scrubber = scrubber
            self.progress = progress
        }
    }

    /// A line: `masscast: message` in text, a JSON log line (with `event`) in JSON.
    func say(_ message: String, level: Logger.Level = .info, event: String, metadata: Logger.Metadata = [:]) {
        switch format {
        case .json:
            logger().log(level: level, "\(message)", metadata: metadata.merging(["event": .string(event)]) { _, new in new })
        case .text:
            sink.write(line: fitted(lock.withLock { scrubber }.scrub("masscast: " + message)))
        }
    }

    /// An error before or instead of running (exit 2 follows).
    func error(_ message: String, event: String = "setup.failed") {
        say(message, level: .error, event: event)
    }

    /// A command's last line: the live progress line is erased first and not redrawn.
    func final(_ message: String, level: Logger.Level = .info, event: String) {
        switch format {
        case .json:
            lock.withLock { progress }?.finish()
            say(message, level: level, event: event)
        case .text:
            lock.lock()
            let scrubber = self.scrubber
            let progress = self.progress
            lock.unlock()
            let line = fitted(scrubber.scrub("masscast: " + message))
            if let progress { progress.finish(with: line) } else { sink.writeFinal(line: line) }
        }
    }

    /// A text line wrapped to the terminal's width (continuation lines indented under the
    /// message); as it is when stderr is not a terminal.
    private func fitted(_ line: String) -> String {
        guard sink.isTerminal else { return line }
        return TextLogHandler.wrapped(line, width: sink.terminalWidth, indent: 10)
    }

    /// Erases the live progress line, if any.
    func clearProgress() {
        lock.withLock { progress }?.finish()
    }

    /// Pipeline or config diagnostics: rendered as the compiler does in text (with the source
    /// line and a caret), one JSON line each in JSON (`file`, `line`, `column`, `code`).
    func diagnostics(_ diagnostics: [Diagnostic], renderer: DiagnosticRenderer, event: String) {
        switch format {
        case .text:
            writeStderr(renderer.text(diagnostics, files: 1))
        case .json:
            let log = logger()
            for d in diagnostics {
                var metadata: Logger.Metadata = ["event": .string(event), "code": .string(d.code.rawValue)]
                var text = ""
                if let location = d.location {
                    metadata["file"] = .string(location.file)
                    metadata["line"] = .stringConvertible(location.line)
                    metadata["column"] = .stringConvertible(location.column)
                    text = "\(location.file):\(location.line):\(location.column): "
                }
                text += "\(d.severity.rawValue): \(d.message) [\(d.code.rawValue)]"
                if let hint = d.hint { metadata["hint"] = .string(hint) }
                if let note = d.note { metadata["note"] = .string(note.message) }
                log.log(level: d.severity == .error ? .error : .warning, "\(text)", metadata: metadata)
            }
        }
    }

    private func logger() -> Logger {
        LogFormat.makeLogger(label: "masscast", format: .json, sink: sink, scrubber: lock.withLock { scrubber })
    }
}

/// Colour on `fd` only on a terminal and when `NO_COLOR` is not set to a non-empty value.
func useColor(_ fd: Int32) -> Bool {
    TerminalColor.enabled(isTerminal: isTerminal(fd))
}

extension RunSetup {
    /// ``loadPipeline(_:)`` for `run`: a missing or unreadable file is a setup error (exit 2),
    /// reported on the console like the others.
    static func loadPipelineOrExit(_ path: String) throws -> Pipeline {
        do {
            return try loadPipeline(path)
        } catch let e as SetupError {
            Console.current.error("\(e)")
            throw Exit.invalid
        }
    }

    /// The options a `masscast resume` of this run needs to find the same store, config and
    /// secrets: those given to this command, as given.
    static func resumeArguments(_ common: RunCommonOptions) -> [String] {
        var arguments: [String] = []
        if let state = common.state { arguments += ["--state", state] }
        if let config = common.config { arguments += ["--config", config] }
        if let secrets = common.secrets { arguments += ["--secrets", secrets] }
        return arguments
    }

    /// The last line of `run`/`resume` when the result is not logged by the run itself:
    /// after the progress line is erased, in the console's format.
    static func sayLastWords(_ result: RunResult) {
        let console = Console.current
        switch result {
        case .invalid(let message):
            console.final(message, level: .error, event: "run.invalid")
        case .notRun(let message):
            // The run logged it (`run.not_run`); a text console repeats it as the last line.
            if console.format == .text {
                console.final(message, level: .warning, event: "run.not_run")
            } else {
                console.clearProgress()
            }
        default:
            console.clearProgress()
        }
    }
}
