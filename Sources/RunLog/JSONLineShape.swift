import Foundation
import Logging
import PipelineCore

/// The keys of a log line written very often (the listener's line for each stored push),
/// checked, scrubbed, sorted and quoted once, so the line is written without building a
/// `Logger.Metadata` dictionary and without sorting its keys each time.
///
/// A shape comes from ``JSONLogHandler/lineShape(keys:)`` and is written with
/// ``JSONLogHandler/write(level:message:shape:values:)``. The line is byte for byte the one
/// the handler writes for the same message and metadata through `Logger` (same keys, same
/// order, same value types, the same scrubbing of message and values); `LogHandlerTests`
/// compare the two.
public struct JSONLineShape: Sendable {
    /// The keys in the order the caller passes values.
    public let keys: [String]
    /// The output order: `order[i]` is the index (into ``keys``) of the i-th field written.
    let order: [Int]
    /// `,"key":` for each key, in ``keys``' order.
    let prefixes: [String]
}

/// A value of a ``JSONLineShape``'s field.
public enum JSONLineValue: Sendable {
    /// A JSON string (as `Logger.MetadataValue.string`).
    case string(String)
    /// A JSON number (as `Logger.MetadataValue.stringConvertible` holding an `Int64`).
    case integer(Int64)
}

extension JSONLogHandler {
    /// A shape for lines with exactly these metadata keys, or `nil` when this handler cannot
    /// write such a line directly: it has handler-level metadata or a metadata provider (the
    /// line would merge them), a key is given twice, is `ts`, `level` or `msg`, or the
    /// scrubber would change a key. Then log through `Logger` as usual.
    public func lineShape(keys: [String]) -> JSONLineShape? {
        guard metadata.isEmpty, metadataProvider == nil, Set(keys).count == keys.count else { return nil }
        for key in keys {
            if key == "ts" || key == "level" || key == "msg" || scrubber.scrub(key) != key { return nil }
        }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        let prefixes = keys.map { key -> String in
            var text = ","
            JSONText.appendQuoted(key, to: &text)
            text += ":"
            return text
        }
        return JSONLineShape(keys: keys, order: order, prefixes: prefixes)
    }

    /// Writes one line of `shape` if `level` is logged: `values` are in the order of the
    /// shape's keys (a count that differs writes nothing). The message and every value pass
    /// through the scrubber; a number whose digits hold a secret is written as a string with
    /// the secret replaced, as ``format(level:message:metadata:at:)`` does.
    public func write(level: Logger.Level, message: String, shape: JSONLineShape, values: [JSONLineValue]) {
        guard level >= logLevel, values.count == shape.keys.count else { return }
        var out = ""
        out.reserveCapacity(160 + message.utf8.count + 40 * values.count)
        out += "{\"ts\":\""
        out += TimeText.rfc3339(now())
        out += "\",\"level\":\""
        out += level.rawValue
        out += "\",\"msg\":"
        JSONText.appendQuoted(scrubber.scrub(message), to: &out)
        for index in shape.order {
            out += shape.prefixes[index]
            switch values[index] {
            case .string(let text):
                JSONText.appendQuoted(scrubber.scrub(text), to: &out)
            case .integer(let number):
                let digits = String(number)
                let clean = scrubber.scrub(digits)
                if clean == digits { out += digits } else { JSONText.appendQuoted(clean, to: &out) }
            }
        }
        out += "}"
        sink.write(line: out)
    }
}
