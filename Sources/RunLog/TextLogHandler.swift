import Foundation
import Logging
import PipelineCore

/// A swift-log handler writing readable lines for a terminal:
///
/// ```text
/// 07:00:01 INFO  send         attempt 2 failed: errcode -1 (system busy); retrying in 1.2s  batch=3 errcode=-1
/// ```
///
/// Time (`HH:mm:ss` in ``timeZone``), level (`TRACE`, `DEBUG`, `INFO`, `NOTE`, `WARN`, `ERROR`,
/// `CRIT`, padded to 5), the `step.id` metadata padded to 12 columns when present, the message,
/// then, with ``showMetadata`` (`--verbose`), the remaining metadata as `key=value` sorted by key
/// (keys in ``hiddenKeys`` — `run.id`, `pipeline`, `step.id` by default — are left out: the run
/// header shows them). Values with spaces, quotes or `=` are quoted; arrays and dictionaries are
/// written as compact JSON.
///
/// Long ids (WeChat media ids, OpenIDs, clientmsgids; see ``shortenedIDs(_:)``) are shortened
/// to their first 8 characters and `…` (the JSON lines keep them whole). On a terminal (or with
/// ``wrapWidth``) a line longer than the terminal is wrapped at spaces, its continuation lines
/// indented under the message, so that no line is wider than the terminal.
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
    /// `true` to write the metadata as `key=value` after the message (`--verbose`); `false`
    /// writes the message only.
    public var showMetadata: Bool
    /// `true` to shorten long ids (``shortenedIDs(_:)``).
    public var shortenIDs: Bool
    /// The columns lines are wrapped at; `nil`: the terminal's width when the sink is a
    /// terminal, no wrapping otherwise.
    public var wrapWidth: Int?
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
    ///   - showMetadata: write the metadata as `key=value` after the message.
    ///   - shortenIDs: shorten long ids to 8 characters and `…`.
    ///   - wrapWidth: wrap lines at this many columns (by default: the terminal's width on a terminal).
    ///   - now: the clock (tests pass a fixed one).
    public init(
        label: String, sink: LogSink = .standardError, scrubber: Scrubber = Scrubber(), level: Logger.Level = .info,
        metadata: Logger.Metadata = [:], metadataProvider: Logger.MetadataProvider? = nil, colors: Bool? = nil,
        timeZone: TimeZone = .current, hiddenKeys: Set<String> = TextLogHandler.defaultHiddenKeys,
        showMetadata: Bool = true, shortenIDs: Bool = true, wrapWidth: Int? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.showMetadata = showMetadata
        self.shortenIDs = shortenIDs
        self.wrapWidth = wrapWidth
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
        var prefixColumns = 15
        if let step = clean["step.id"] {
            let padded = TextWidth.padded(TextLogHandler.sanitize(TextLogHandler.plain(step)), 12) + " "
            out += padded
            prefixColumns += TextWidth.columns(padded)
        }
        var text = TextLogHandler.sanitize(scrubber.scrub(message))
        if shortenIDs { text = TextLogHandler.shortenedIDs(text) }
        // Words (a space between each); metadata pairs are single words, dimmed with colours.
        var pairs: [(text: String, rendered: String)] = []
        if showMetadata {
            for key in clean.keys.sorted() where !hiddenKeys.contains(key) {
                var value = TextLogHandler.quotedIfNeeded(TextLogHandler.plain(clean[key]!))
                if shortenIDs { value = TextLogHandler.shortenedIDs(value) }
                let pair = TextLogHandler.sanitize(key) + "=" + value
                pairs.append((pair, colors ? "\u{1B}[2m" + pair + "\u{1B}[0m" : pair))
            }
        }
        let width = wrapWidth ?? (sink.isTerminal ? sink.terminalWidth : nil)
        guard let width, width > prefixColumns + 10 else {
            out += text.replacingOccurrences(of: "\n", with: "\n    ")
            if !pairs.isEmpty { out += "  " + pairs.map(\.rendered).joined(separator: " ") }
            return out
        }
        // Wrapped: continuation lines are indented under the message (or by 4 on a narrow terminal).
        let indent = width - prefixColumns >= 40 ? prefixColumns : 4
        var lines: [String] = []
        for (n, paragraph) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var pieces: [(text: String, rendered: String)] = paragraph.split(separator: " ", omittingEmptySubsequences: true).map { (String($0), String($0)) }
            if n == 0 && !pairs.isEmpty && text.split(separator: "\n").count <= 1 {
                pieces += pairs
                pairs = []
            }
            lines += TextLogHandler.wrap(pieces, first: width - (n == 0 ? prefixColumns : indent), rest: width - indent)
        }
        if !pairs.isEmpty { lines += TextLogHandler.wrap(pairs, first: width - indent, rest: width - indent) }
        let pad = String(repeating: " ", count: indent)
        out += lines.enumerated().map { $0.offset == 0 ? $0.element : pad + $0.element }.joined(separator: "\n")
        return out
    }

    /// `text` wrapped at spaces to `width` columns, continuation lines indented by `indent`
    /// (for the command's own `masscast: …` lines on a terminal). Newlines in `text` are kept.
    public static func wrapped(_ text: String, width: Int, indent: Int) -> String {
        guard width > indent + 10, TextWidth.columns(text) > width || text.contains("\n") else { return text }
        var lines: [String] = []
        for (n, paragraph) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = paragraph.split(separator: " ").map { (String($0), String($0)) }
            lines += wrap(words, first: width - (n == 0 ? 0 : indent), rest: width - indent)
        }
        let pad = String(repeating: " ", count: indent)
        return lines.enumerated().map { $0.offset == 0 ? $0.element : pad + $0.element }.joined(separator: "\n")
    }

    /// Greedy word wrap: `first` columns on the first line, `rest` on the others; a plain word
    /// wider than a whole line is cut.
    static func wrap(_ words: [(text: String, rendered: String)], first: Int, rest: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        var used = 0
        var limit = max(1, first)
        for word in words {
            var pending = [(word.text, word.rendered)]
            if word.text == word.rendered && TextWidth.columns(word.text) > max(1, rest) {
                // Cut into pieces of a whole line each (the first piece may start this line).
                pending = []
                var piece = ""
                var pieceColumns = 0
                var room = used == 0 ? limit : max(0, limit - used - 1)
                if room < 8 { room = max(1, rest) }
                for ch in word.text {
                    let c = TextWidth.columns(ch)
                    if pieceColumns + c > room && !piece.isEmpty {
                        pending.append((piece, piece))
                        piece = ""
                        pieceColumns = 0
                        room = max(1, rest)
                    }
                    piece.append(ch)
                    pieceColumns += c
                }
                if !piece.isEmpty { pending.append((piece, piece)) }
            }
            for (text, rendered) in pending {
                let columns = TextWidth.columns(text)
                if used > 0 && used + 1 + columns > limit {
                    lines.append(line)
                    line = ""
                    used = 0
                    limit = max(1, rest)
                }
                if used > 0 {
                    line += " "
                    used += 1
                }
                line += rendered
                used += columns
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// Shortens the long ids in `text` to their first 8 characters and `…`: runs of letters,
    /// digits, `-` and `_` of at least 26 characters that mix upper case, lower case and
    /// digits (WeChat media ids, OpenIDs), or that are `mc1-`/`mc2-` clientmsgids or long hex
    /// digests. Run ids, step ids, file names and numbers stay whole.
    public static func shortenedIDs(_ text: String) -> String {
        guard text.utf8.count >= 26 else { return text }
        var out = ""
        var word = ""
        func isIDCharacter(_ c: Character) -> Bool {
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_")
        }
        func flushWord() {
            guard !word.isEmpty else { return }
            out += isLongID(word) ? String(word.prefix(8)) + "…" : word
            word = ""
        }
        for c in text {
            if isIDCharacter(c) {
                word.append(c)
            } else {
                flushWord()
                out.append(c)
            }
        }
        flushWord()
        return out
    }

    static func isLongID(_ word: String) -> Bool {
        guard word.count >= 26 else { return false }
        if word.hasPrefix("mc1-") || word.hasPrefix("mc2-") { return true }
        var upper = false, lower = false, digits = 0, hex = 0
        for c in word.unicodeScalars {
            switch c {
            case "A"..."Z": upper = true
            case "a"..."z": lower = true; if c <= "f" { hex += 1 }
            case "0"..."9": digits += 1; hex += 1
            default: break
            }
        }
        if upper && lower && digits > 0 { return true }
        return hex == word.count && digits > 0  // a long hex digest
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
        return JSONText.quoted(s)
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
