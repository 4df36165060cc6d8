import Foundation
import Logging
import PipelineCore
import PipelineYAML
import RunLog
import Runner

/// What `run` and `resume` say themselves, besides the run's own log: setup errors, pipeline
/// and config diagnostics, the rehearsal note, signal notes and the last words. They follow
/// the run's log format, so that with `--log-format json` (the default when stderr is not a
/// terminal) every line on stderr is one JSON object (`ts`, `level`, `msg`, `event`, …), and
/// in text they are `masscast: …` lines that never land on the live progress line.
public final class Console: @unchecked Sendable {
    /// The process's active console, behind a lock.
    private final class Slot: @unchecked Sendable {
        private let lock = NSLock()
        private var console: Console?  // guarded by `lock`
        var value: Console? {
            get { lock.withLock { console } }
            set { lock.withLock { console = newValue } }
        }
    }
    private static let slot = Slot()
    private static let fallback = Console(logFormat: nil)

    /// The console of this process's `run`/`resume`, once ``start(logFormat:)`` was called.
    public static var active: Console? { slot.value }

    /// The active console, or one in the default format.
    public static var current: Console { active ?? fallback }

    /// Called first thing by `run` and `resume`: their output follows `logFormat` from here on,
    /// including an error that escapes the command.
    public static func start(logFormat: LogFormat?) {
        let console = Console(logFormat: logFormat)
        slot.value = console
    }

    /// The format its lines are written in.
    public let format: LogFormat
    /// Where they go.
    public let sink: LogSink
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var scrubber = Scrubber()
    private var progress: ProgressLine?

    /// - Parameters:
    ///   - logFormat: `--log-format`; `nil` picks text on a terminal, JSON otherwise.
    ///   - sink: standard error (shared with the run's logger and progress line).
    public init(logFormat: LogFormat?, sink: LogSink = .standardError) {
        self.sink = sink
        self.format = logFormat ?? LogFormat.default(isTerminal: sink.isTerminal)
    }

    /// Once the run's logger exists: the same secrets are scrubbed and the same progress line
    /// is cleared before the last words.
    public func attach(scrubber: Scrubber, progress: ProgressLine?) {
        lock.withLock {
            self.scrubber = scrubber
            self.progress = progress
        }
    }

    /// A line: `masscast: message` in text, a JSON log line (with `event`) in JSON.
    public func say(_ message: String, level: Logger.Level = .info, event: String, metadata: Logger.Metadata = [:]) {
        switch format {
        case .json:
            logger().log(level: level, "\(message)", metadata: metadata.merging(["event": .string(event)]) { _, new in new })
        case .text:
            sink.write(line: fitted(lock.withLock { scrubber }.scrub("masscast: " + message)))
        }
    }

    /// An error before or instead of running (exit 2 follows).
    public func error(_ message: String, event: String = "setup.failed") {
        say(message, level: .error, event: event)
    }

    /// A command's last line: the live progress line is erased first and not redrawn.
    public func final(_ message: String, level: Logger.Level = .info, event: String) {
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
    public func clearProgress() {
        lock.withLock { progress }?.finish()
    }

    /// Pipeline or config diagnostics: rendered as the compiler does in text (with the source
    /// line and a caret), one JSON line each in JSON (`file`, `line`, `column`, `code`).
    public func diagnostics(_ diagnostics: [Diagnostic], renderer: DiagnosticRenderer, event: String) {
        switch format {
        case .text:
            FileHandle.standardError.write(Data(renderer.text(diagnostics, files: 1).utf8))
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
public func useColor(_ fd: Int32) -> Bool {
    TerminalColor.enabled(isTerminal: isatty(fd) == 1)
}


extension Console {
    /// The run's logger (JSON lines or text, secrets scrubbed) and, in text on a terminal,
    /// its live progress line; this console is attached to both.
    public func runLogging(format: LogFormat?, verbose: Bool, scrub: [String]) -> (Logger, ProgressLine?) {
        let sink = LogSink.standardError
        let chosen = format ?? LogFormat.default(isTerminal: sink.isTerminal)
        let scrubber = Scrubber(secrets: scrub)
        let logger = LogFormat.makeLogger(
            label: "masscast", format: chosen, sink: sink, scrubber: scrubber, level: verbose ? .debug : .info,
            showMetadata: verbose)
        let progress = chosen == .text && sink.isTerminal ? ProgressLine(sink: sink, scrubber: scrubber) : nil
        attach(scrubber: scrubber, progress: progress)
        return (logger, progress)
    }

    /// ``runLogging(format:verbose:scrub:)`` as a ``RunSession`` takes it.
    public func sessionLogging(format: LogFormat?, verbose: Bool, scrub: [String]) -> (SessionLogging, ProgressLine?) {
        let (logger, progress) = runLogging(format: format, verbose: verbose, scrub: scrub)
        guard let progress else { return (SessionLogging(logger: logger), nil) }
        return (SessionLogging(logger: logger, progress: { progress.update($0) }, progressEnded: { progress.end(step: $0) }), progress)
    }

    /// Reports a setup error: its diagnostics as `validate` renders them (a config's with URL
    /// passwords masked), else its message.
    public func report(_ error: SetupError) {
        guard !error.diagnostics.isEmpty else { return self.error(error.message) }
        let cache = SourceCache()
        let isConfig = error.code == .invalidConfig
        let renderer = DiagnosticRenderer(color: useColor(2)) {
            isConfig ? cache.line($0, $1).map(ConfigSpec.maskingURLPasswords) : cache.line($0, $1)
        }
        diagnostics(error.diagnostics, renderer: renderer, event: isConfig ? "config.invalid" : "pipeline.invalid")
    }

    /// A pipeline's warnings, as `validate` renders them.
    public func warnings(_ warnings: [Diagnostic]) {
        guard !warnings.isEmpty else { return }
        let cache = SourceCache()
        diagnostics(warnings, renderer: DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1) }, event: "pipeline.warning")
    }

    /// The last line of `run`/`resume` when the result is not logged by the run itself:
    /// after the progress line is erased, in the console's format.
    public func lastWords(_ result: RunResult) {
        switch result {
        case .invalid(let message):
            final(message, level: .error, event: "run.invalid")
        case .notRun(let message):
            // The run logged it (`run.not_run`); a text console repeats it as the last line.
            if format == .text {
                final(message, level: .warning, event: "run.not_run")
            } else {
                clearProgress()
            }
        default:
            clearProgress()
        }
    }
}
