import Foundation
import Runner

/// The summary `masscast apply` prints at the end: one line per broadcast, as text or JSON.
public struct ApplyReport: Sendable {
    public var entries: [ApplyEntry]
    public var dryRun: Bool

    public init(entries: [ApplyEntry], dryRun: Bool) {
        self.entries = entries
        self.dryRun = dryRun
    }

    /// The folder's exit code: the worst (highest) of its broadcasts'.
    public var exitCode: Int32 { entries.map(\.exitCode).max() ?? 0 }

    /// What happened to a broadcast apply acted on, in a few words.
    static func outcome(_ entry: ApplyEntry) -> String {
        guard let result = entry.result else {
            if entry.decision == nil { return "error" }
            return "-"
        }
        switch result {
        case .succeeded(let id): return "sent (run \(id))"
        case .alreadyCompleted(let id, _): return "already sent (run \(id))"
        case .failed(let id, _): return "failed (run \(id))"
        case .stopped(let id, _): return "stopped (run \(id))"
        case .busy(let id, _): return "busy (run \(id))"
        case .invalid: return "refused"
        case .notRun: return "not run"
        }
    }

    /// The reason shown: the decision's, or the problem, followed by the run's message.
    static func reason(_ entry: ApplyEntry) -> String {
        var text = entry.problem ?? entry.decision?.reason ?? ""
        switch entry.result {
        case .failed(_, let message)?, .stopped(_, let message)?: text += " — " + message
        case .invalid(let message)?, .notRun(let message)?: text += " — " + message
        default: break
        }
        return text
    }

    /// The table: BROADCAST, ACTION, RESULT, EXIT, then the reason under each line; the
    /// drift's changes and what a half-sent broadcast sent are listed below its line.
    public func text() -> String {
        if entries.isEmpty { return "no pipelines found\n" }
        let nameWidth = max(9, entries.map(\.name.count).max() ?? 0)
        let actionWidth = max(6, entries.map(\.action.count).max() ?? 0)
        let outcomes = entries.map(Self.outcome)
        let outcomeWidth = max(6, outcomes.map(\.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        var out = pad("BROADCAST", nameWidth) + "  " + pad("ACTION", actionWidth) + "  " + pad("RESULT", outcomeWidth)
            + "  EXIT\n"
        for (entry, outcome) in zip(entries, outcomes) {
            out += pad(entry.name, nameWidth) + "  " + pad(entry.action, actionWidth) + "  " + pad(outcome, outcomeWidth)
                + "  \(entry.exitCode)\n"
            out += "    " + Self.reason(entry) + "\n"
            for note in entry.notes { out += "      \(note)\n" }
            for change in entry.decision?.changes ?? [] {
                let field = change.step.isEmpty ? change.field : "\(change.step).\(change.field)"
                out += "      ~ \(field): \(change.sent ?? "(none)") → \(change.now ?? "(gone)")\n"
            }
            if let decision = entry.decision, decision.action == .expire || decision.action == .orphan {
                for call in decision.sent where call.state == .sent {
                    out += "      sent: \(call.step) batch \(call.batch)"
                        + (call.msgID.map { " msg_id \($0)" } ?? "")
                        + (call.recipients > 0 ? " (\(call.recipients) recipients)" : "") + "\n"
                }
            }
        }
        let acted = entries.filter { $0.result != nil }.count
        out += "\(entries.count) pipeline\(entries.count == 1 ? "" : "s"): "
        out += dryRun ? "dry run, nothing was sent" : "\(acted) run\(acted == 1 ? "" : "s")"
        out += "; exit \(exitCode)\n"
        return out
    }

    /// `--format json`: `format_version` 1 (docs/pipeline-format.md, "Apply").
    public func json() -> String {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        var list: [[String: Any]] = []
        for entry in entries {
            var item: [String: Any] = [
                "file": entry.file, "name": entry.name, "action": entry.action, "reason": Self.reason(entry),
                "exit_code": Int(entry.exitCode), "result": Self.outcome(entry),
            ]
            item["run_id"] = entry.result?.runID ?? entry.decision?.runID ?? NSNull()
            item["notes"] = entry.notes
            if let d = entry.decision {
                item["opens_at"] = d.opensAt.map { iso.string(from: $0) } ?? NSNull()
                item["closed_at"] = d.closedAt.map { iso.string(from: $0) } ?? NSNull()
                item["holder"] = d.holder ?? NSNull()
                item["new_generation"] = d.newGeneration
                item["changes"] = d.changes.map { c -> [String: Any] in
                    ["step": c.step, "field": c.field, "sent": c.sent ?? NSNull(), "now": c.now ?? NSNull()]
                }
                item["sent"] = d.sent.map { c -> [String: Any] in
                    [
                        "step": c.step, "batch": c.batch, "recipients": c.recipients, "state": c.state.rawValue,
                        "msg_id": c.msgID.map { NSNumber(value: $0) } ?? NSNull(),
                    ]
                }
                item["blockers"] = d.blockers.map { ["kind": $0.kind.rawValue, "message": $0.message] }
            }
            list.append(item)
        }
        let object: [String: Any] = [
            "format_version": 1, "dry_run": dryRun, "exit_code": Int(exitCode), "broadcasts": list,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
