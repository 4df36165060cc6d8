import Foundation
import Logging

/// A swift-log handler writing readable lines for a terminal:
///
/// ```text
/// 07:00:01 INFO  send         attempt 2 failed: errcode -1 (system busy); retrying in 1.2s  batch=3 errcode=-1
/// ```
///
/// Time (`HH:mm:ss` in ``timeZone``), level (`TRACE`, `DEBUG`, `INFO`, `NOTE`, `WARN`, `ERROR`,
/// `CRIT`, padded to 5), the `step.id` metadata padded to 12 columns when present, the message,
/// then the remaining metadata as `key=value` sorted by key (keys in ``hiddenKeys`` — `run.id`,
/// `pipeline`, `step.id` by default — are left out: the run header shows them). Values with
/// spaces, quotes or `=` are quoted; arrays and dictionaries are written as compact JSON.
///
/// Control characters in the message are shown escaped (a message cannot move the cursor or
/// change colours); a newline starts an indented continuation line. With ``colors`` on, the
/// level is coloured (ANSI). Every string passes through the ``Scrubber`` first. Lines go
/// through the sink, which erases and redraws a ``ProgressLine``'s status line around them.
public struct TextLogHandler: LogHandler {
    /// The logger's label (not written to the lines).
    public let label: String
    /// Where lines go.
    public let sink: LogSink
    /// Secrets to redact.
    public var scrubber: Scrubber
    /// The minimum level logged.
    public var logLevel: Logger.Level
    /// Handler-level metadata, written with every line (per-call metadata wins on a clash).
    public var metadata: Logger.Metadata
    /// Contextual metadata, between the handler's and the call's.
    public var metadataProvider: Logger.MetadataProvider?
    /// `true` to colour the level with ANSI escapes.
    public var colors: Bool
    /// The time zone of the time column.
    public var timeZone: TimeZone
    /// Metadata keys not written as `key=value`.
    public var hiddenKeys: Set<String>
    private let now: @Sendable () -> Date

    /// The metadata keys left out by default: `run.id`, `pipeline`, `step.id`.
    public static let defaultHiddenKeys: Set<String> = ["run.id", "pipeline", "step.id"]

    /// - Parameters:
    ///   - label: the logger's label.
    ///   - sink: where lines go (standard error by default).
    ///   - scrubber: the secrets to redact.
    ///   - level: the minimum level logged.
    ///   - metadata: handler-level metadata.
    ///   - metadataProvider: contextual metadata (task-locals).
    ///   - colors: colour the level; by default on when the sink is a terminal and `NO_COLOR` is not set
    ///     to a non-empty value (``TerminalColor``).
    ///   - timeZone: the time zone of the time column (the local one by default).
    ///   - hiddenKeys: metadata keys not written.
    ///   - now: the clock (tests pass a fixed one).
    public init(
        label: String, sink: LogSink = .standardError, scrubber: Scrubber = Scrubber(), level: Logger.Level = .info,
        metadata: Logger.Metadata = [:], metadataProvider: Logger.MetadataProvider? = nil, colors: Bool? = nil,
        timeZone: TimeZone = .current, hiddenKeys: Set<String> = TextLogHandler.defaultHiddenKeys,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.sink = sink
        self.scrubber = scrubber
        self.logLevel = level
        self.metadata = metadata
        self.metadataProvider = metadataProvider
        self.colors = colors ?? TerminalColor.enabled(isTerminal: sink.isTerminal)
        self.timeZone = timeZone
        self.hiddenKeys = hiddenKeys
        self.now = now
    }

    /// One handler-level metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line for `event` to the sink.
    public func log(event: LogEvent) {
        let merged = LogMetadata.merge(
            handler: metadata, provider: metadataProvider, call: event.metadata, error: event.error)
        sink.write(line: format(level: event.level, message: event.message.description, metadata: merged, at: now()))
    }

    /// The text line for one event (without the final newline), metadata already merged.
    func format(level: Logger.Level, message: String, metadata: Logger.Metadata, at date: Date) -> String {
        let clean = scrubber.scrub(metadata)
        var out = TimeText.clock(date, timeZone: timeZone, millis: false)
        out += " "
        let name = TextLogHandler.levelName(level)
        if colors {
            out += TextLogHandler.levelColor(level) + name + "\u{1B}[0m"
            out += String(repeating: " ", count: 5 - name.count)
        } else {
            out += TextLogHandler.padded(name, 5)
        }
        out += " "
        if let step = clean["step.id"] {
            out += TextWidth.padded(TextLogHandler.sanitize(TextLogHandler.plain(step)), 12)
            out += " "
        }
        out += TextLogHandler.sanitize(scrubber.scrub(message)).replacingOccurrences(of: "\n", with: "\n    ")
        var pairs: [String] = []
        for key in clean.keys.sorted() where !hiddenKeys.contains(key) {
            let value = TextLogHandler.quotedIfNeeded(TextLogHandler.plain(clean[key]!))
            let pair = TextLogHandler.sanitize(key) + "=" + value
            pairs.append(colors ? "\u{1B}[2m" + pair + "\u{1B}[0m" : pair)
        }
        if !pairs.isEmpty {
            out += "  "
            out += pairs.joined(separator: " ")
        }
        return out
    }

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .notice: return "NOTE"
        case .warning: return "WARN"
        case .error: return "ERROR"
        case .critical: return "CRIT"
        }
    }

    static func levelColor(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "\u{1B}[2m"
        case .info: return "\u{1B}[32m"
        case .notice: return "\u{1B}[36m"
        case .warning: return "\u{1B}[33m"
        case .error: return "\u{1B}[31m"
        case .critical: return "\u{1B}[1;31m"
        }
    }

    static func padded(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// A metadata value as text: strings as they are, arrays and dictionaries as compact JSON.
    static func plain(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array, .dictionary:
            var out = ""
            JSONLogHandler.appendValue(value, to: &out)
            return out
        }
    }

    /// Quotes (JSON style) a value that is empty or holds spaces, quotes, `=` or control characters.
    static func quotedIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "\"\"" }
        let needs = s.unicodeScalars.contains {
            $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7F
        }
        if !needs || (s.first == "[" || s.first == "{") && !s.contains(" ") { return s }
        return JSONText.string(s)
    }

    /// Shows control characters (other than newline and tab) as `\u{…}`, so that logged text
    /// cannot drive the terminal; `\r` becomes `\r`.
    static func sanitize(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F })
        else { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            if scalar == "\r" {
                out += "\\r"
            } else if (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || scalar.value == 0x7F {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
