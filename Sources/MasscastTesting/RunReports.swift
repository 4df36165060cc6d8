import Foundation
import RunLog

extension RunReport {
    /// The report in the file at `path` (as `--report FILE` writes it).
    public static func load(contentsOf path: String) throws -> RunReport {
        try decode(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The step with `id`.
    public func step(_ id: String) -> Step? { steps.first { $0.id == id } }
}

extension RunReport.Step {
    /// The output `key` as a plain JSON value (`String`, `Int64`, `Double`, `Bool`, arrays and
    /// dictionaries of those), or `nil` when the step has no such output.
    public func output(_ key: String) -> (any Sendable)? {
        guard let outputs, let data = try? JSONEncoder().encode(outputs),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: any Sendable]
        else { return nil }
        return object[key]
    }

    /// The output `key` as an integer (a `msg_id`).
    public func int64(_ key: String) -> Int64? {
        switch output(key) {
        case let n as Int: Int64(n)
        case let n as Int64: n
        case let n as NSNumber: n.int64Value
        default: nil
        }
    }

    /// The output `key` as a string.
    public func string(_ key: String) -> String? { output(key) as? String }
}

extension BinaryResult {
    /// The log lines whose `event` is `name` (and whose `step.id` is `step`, if given).
    public func events(_ name: String, step: String? = nil) -> [[String: any Sendable]] {
        events.filter { $0["event"] as? String == name && (step == nil || $0["step.id"] as? String == step) }
    }

    /// The `run.id` of the first log line that has one.
    public var runID: String? { events.lazy.compactMap { $0["run.id"] as? String }.first }
}
