import PipelineCore

extension Value {
    /// Parses stored JSON `text` (a run's inputs, a step's outputs), or keeps it as a
    /// `.string` when it is not JSON; `nil` stays `nil`.
    public static func embedding(_ text: String?) -> Value? {
        guard let text else { return nil }
        return (try? Value.parseJSON(text)) ?? .string(text)
    }

    /// A short form for one-line displays: scalars as they are (strings unquoted),
    /// lists and objects as `[n items]` / `{n keys}`.
    var displayText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return "\(d)"
        case .string(let s): return s
        case .list(let a): return "[\(a.count) item\(a.count == 1 ? "" : "s")]"
        case .object(let o): return "{\(o.count) key\(o.count == 1 ? "" : "s")}"
        }
    }
}
