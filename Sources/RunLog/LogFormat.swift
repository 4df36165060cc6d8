import Foundation
import Logging

/// The log line formats (`--log-format json|text`).
public enum LogFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// One JSON object per line (``JSONLogHandler``).
    case json
    /// Readable lines (``TextLogHandler``).
    case text

    /// Text on a terminal, JSON otherwise.
    public static func `default`(isTerminal: Bool) -> LogFormat { isTerminal ? .text : .json }

    /// A handler for `format` writing to `sink`.
    ///
    /// Use it in `LoggingSystem.bootstrap { label in LogFormat.makeHandler(label: label, …) }`,
    /// or build a `Logger(label:factory:)` directly (see ``makeLogger(label:format:sink:scrubber:level:metadata:showMetadata:)``).
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - format: JSON lines or text.
    ///   - sink: where lines go.
    ///   - scrubber: secrets to redact.
    ///   - level: the minimum level logged.
    ///   - showMetadata: text only: write the metadata after the message (`--verbose`). JSON
    ///     lines always carry it.
    public static func makeHandler(
        label: String, format: LogFormat, sink: LogSink = .standardError, scrubber: Scrubber = Scrubber(),
        level: Logger.Level = .info, showMetadata: Bool = true
    ) -> any LogHandler {
        switch format {
        case .json: return JSONLogHandler(label: label, sink: sink, scrubber: scrubber, level: level)
        case .text:
            return TextLogHandler(label: label, sink: sink, scrubber: scrubber, level: level, showMetadata: showMetadata)
        }
    }

    /// A `Logger` with a handler for `format`, without touching the global `LoggingSystem`.
    public static func makeLogger(
        label: String, format: LogFormat, sink: LogSink = .standardError, scrubber: Scrubber = Scrubber(),
        level: Logger.Level = .info, metadata: Logger.Metadata = [:], showMetadata: Bool = true
    ) -> Logger {
        var logger = Logger(label: label) { label in
            makeHandler(
                label: label, format: format, sink: sink, scrubber: scrubber, level: level, showMetadata: showMetadata)
        }
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }
}
