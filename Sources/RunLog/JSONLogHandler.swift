import Foundation
import Logging
import PipelineCore

/// A swift-log handler writing one JSON object per line:
///
/// ```json
/// {"ts":"2026-11-29T07:00:01.123Z","level":"info","msg":"sent","attempt":1,"msg_id":1000000001,"step.id":"send"}
/// ```
///
/// - Keys: `ts` (RFC 3339, UTC, milliseconds), `level` (swift-log's level name), `msg`, then the
///   metadata keys sorted, flat and dotted as given (`run.id`, `step.id`, `http.status`, …).
///   A metadata key named `ts`, `level` or `msg` is written as `meta.ts`, `meta.level`, `meta.msg`.
///   An `error` passed to the log call is written as the `error` key (unless metadata has one).
/// - Values: `.string` is always a JSON string; `.stringConvertible` holding an integer type,
///   `Double`/`Float` (finite) or `Bool` is a JSON number or boolean (any other is its
///   description as a string); `.array` and `.dictionary` are JSON arrays and objects.
/// - Metadata is merged in this order, later winning: the handler's metadata, its
///   `metadataProvider`, the log call's metadata.
/// - Every string (message, keys, values) passes through the ``Scrubber`` first.
public struct JSONLogHandler: LogHandler {
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
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - label: the logger's label.
    ///   - sink: where lines go (standard error by default).
    ///   - scrubber: the secrets to redact.
    ///   - level: the minimum level logged.
    ///   - metadata: handler-level metadata (e.g. `run.id`, `pipeline`).
    ///   - metadataProvider: contextual metadata (task-locals); `LoggingSystem.metadataProvider` is not read.
    ///   - now: the clock for `ts` (tests pass a fixed one).
    public init(
        label: String, sink: LogSink = .standardError, scrubber: Scrubber = Scrubber(), level: Logger.Level = .info,
        metadata: Logger.Metadata = [:], metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.sink = sink
        self.scrubber = scrubber
        self.logLevel = level
        self.metadata = metadata
        self.metadataProvider = metadataProvider
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

    /// The JSON line for one event (without the newline), metadata already merged.
    ///
    /// Keys are scrubbed, then sorted (as bytes, as `String`'s `<` orders them); values are
    /// scrubbed as they are written. No metadata dictionary is built for the line.
    func format(level: Logger.Level, message: String, metadata: Logger.Metadata, at date: Date) -> String {
        var out = ""
        out.reserveCapacity(192 + 48 * metadata.count)
        out += "{\"ts\":\""
        out += TimeText.rfc3339(date)
        out += "\",\"level\":\""
        out += level.rawValue
        out += "\",\"msg\":"
        JSONText.appendQuoted(scrubber.scrub(message), to: &out)
        if scrubber.isEmpty {
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                Self.appendField(key, value, to: &out)
            }
        } else {
            let fields = metadata.map { (key: scrubber.scrub($0.key), value: $0.value) }.sorted { $0.key < $1.key }
            for (i, field) in fields.enumerated() {
                // Two keys that scrub to the same text: one field, as a dictionary would keep.
                if i + 1 < fields.count, fields[i + 1].key == field.key { continue }
                Self.appendField(field.key, scrubber.scrub(field.value), to: &out)
            }
        }
        out += "}"
        return out
    }

    private static func appendField(_ key: String, _ value: Logger.MetadataValue, to out: inout String) {
        out += ","
        if key == "ts" || key == "level" || key == "msg" {
            JSONText.appendQuoted("meta." + key, to: &out)
        } else {
            JSONText.appendQuoted(key, to: &out)
        }
        out += ":"
        appendValue(value, to: &out)
    }

    /// Appends a metadata value as JSON, following the type rule above.
    static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let s):
            JSONText.appendQuoted(s, to: &out)
        case .stringConvertible(let c):
            if let literal = LogMetadata.jsonLiteral(c) {
                out += literal
            } else {
                JSONText.appendQuoted(c.description, to: &out)
            }
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        case .dictionary(let dict):
            out += "{"
            for (i, key) in dict.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONText.appendQuoted(key, to: &out)
                out += ":"
                appendValue(dict[key]!, to: &out)
            }
            out += "}"
        }
    }
}

/// Metadata helpers shared by the handlers.
enum LogMetadata {
    static func merge(
        handler: Logger.Metadata, provider: Logger.MetadataProvider?, call: Logger.Metadata?, error: (any Error)?
    ) -> Logger.Metadata {
        let provided = provider?.get()
        // The common case, a logger without handler or contextual metadata: the call's own.
        if handler.isEmpty, provided?.isEmpty ?? true, error == nil { return call ?? [:] }
        var merged = handler
        if let provided, !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let call, !call.isEmpty {
            merged.merge(call) { _, new in new }
        }
        if let error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        return merged
    }

    /// The JSON literal of a number or boolean value, `nil` for anything else.
    static func jsonLiteral(_ value: any CustomStringConvertible & Sendable) -> String? {
        switch value {
        case let b as Bool: return b ? "true" : "false"
        case let v as Int: return String(v)
        case let v as Int64: return String(v)
        case let v as Int32: return String(v)
        case let v as Int16: return String(v)
        case let v as Int8: return String(v)
        case let v as UInt: return String(v)
        case let v as UInt64: return String(v)
        case let v as UInt32: return String(v)
        case let v as UInt16: return String(v)
        case let v as UInt8: return String(v)
        case let v as Double: return v.isFinite ? "\(v)" : nil
        case let v as Float: return v.isFinite ? "\(v)" : nil
        default: return nil
        }
    }
}
