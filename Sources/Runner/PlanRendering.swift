import Foundation
import WeChatLimits

/// The formats a plan is printed in.
public enum PlanFormat: String, Sendable, CaseIterable {
    /// For a terminal.
    case text
    /// `format_version` 1 (docs/plan-format.md).
    case json
    /// A pull-request comment: a summary table, then each broadcast in a `<details>` block.
    case markdown
}

extension PlanDocument {
    /// The plan in `format`.
    public func rendered(_ format: PlanFormat) -> String {
        switch format {
        case .text: textReport()
        case .json: json()
        case .markdown: markdown()
        }
    }

    /// The JSON form (sorted keys, pretty-printed, dates in ISO 8601).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a plan written by ``json()``; a newer `format_version` is refused.
    public static func decode(_ data: Data) throws -> PlanDocument {
        struct Version: Decodable {
            var formatVersion: Int?
            enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let version = try decoder.decode(Version.self, from: data).formatVersion
        guard let version else { throw PlanFileError("it has no format_version: not a masscast plan") }
        guard version <= currentFormatVersion else {
            throw PlanFileError(
                "it has format_version \(version), newer than this masscast reads (\(currentFormatVersion)): use a newer masscast")
        }
        return try decoder.decode(PlanDocument.self, from: data)
    }

    /// One line: `2 broadcasts: 1 to send (3 calls), 1 up to date; 1 warning`.
    public var summaryLine: String {
        let sending = broadcasts.filter { $0.sendsPlanned > 0 && !$0.refused }
        let refusedCount = broadcasts.filter(\.refused).count
        let warningCount = broadcasts.reduce(0) { $0 + $1.warnings.count }
        var parts = ["\(broadcasts.count) broadcast\(broadcasts.count == 1 ? "" : "s")"]
        var what: [String] = []
        what.append("\(sending.count) with sends planned (\(sending.reduce(0) { $0 + $1.sendsPlanned }) send\(sending.reduce(0) { $0 + $1.sendsPlanned } == 1 ? "" : "s"))")
        if refusedCount > 0 { what.append("\(refusedCount) refused or blocked") }
        parts[0] += ": " + what.joined(separator: ", ")
        if warningCount > 0 { parts.append("\(warningCount) warning\(warningCount == 1 ? "" : "s")") }
        if !errors.isEmpty { parts.append("\(errors.count) file\(errors.count == 1 ? "" : "s") not planned") }
        return parts.joined(separator: "; ")
    }

    // MARK: Text

    func textReport() -> String {
        var out = ""
        for error in errors {
            out += "\(error.file): not planned\(error.code == "needs_inputs" ? " (needs inputs)" : ""): \(error.message)\n\n"
        }
        for plan in broadcasts { out += plan.text() + "\n" }
        out += "Plan: " + summaryLine + ". Nothing was sent.\n"
        return out
    }

    // MARK: Markdown

    func markdown() -> String {
        var out = "### masscast plan\n\n"
        out += "| broadcast | account | state | audience | sends | quota | warnings |\n"
        out += "|---|---|---|---|---:|---|---:|\n"
        for plan in broadcasts {
            let audience = plan.audiences.filter { $0.description != "one follower" }.map(\.text)
            let quota = plan.quota.first.map { q in "\((q.used ?? 0) + q.planned)/\(q.limit)\(q.exceeded ? " **over**" : "")" } ?? "—"
            out += "| `\(Self.cell(plan.name))` | \(Self.cell(plan.account.name)) | \(Self.cell(plan.actionText)) | "
            out += "\(Self.cell(audience.isEmpty ? "—" : audience.joined(separator: "; "))) | \(plan.sendsPlanned) | \(quota) | "
            out += "\(plan.warnings.isEmpty ? "0" : "⚠️ \(plan.warnings.count)") |\n"
        }
        for error in errors { out += "| `\(Self.cell(error.file))` | — | **not planned** | — | 0 | — | \(Self.cell(error.message)) |\n" }
        out += "\n" + summaryLine + ". Nothing was sent.\n"
        for plan in broadcasts {
            out += "\n<details><summary><code>\(Self.html(plan.name))</code> — \(Self.html(plan.actionText))</summary>\n\n"
            out += "```text\n" + plan.text() + "```\n\n</details>\n"
        }
        return out
    }

    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func html(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension BroadcastPlan {
    /// `send`, `noop (completed, same source)`, `2 sends planned` before reconciling.
    public var actionText: String {
        if let state {
            let n = sendsPlanned
            return state + (n > 0 ? " (\(n) send\(n == 1 ? "" : "s"))" : "")
        }
        if !problems.isEmpty { return "cannot run: \(problems.count) problem\(problems.count == 1 ? "" : "s")" }
        let n = sendsPlanned
        return n == 0 ? "nothing to send" : "\(n) send\(n == 1 ? "" : "s") planned"
    }

    /// The broadcast for a terminal (and inside markdown's details).
    public func text() -> String {
        var out = "\(name)  (\(file))\n"
        out += "  account   \(account.name) (\(account.appID), \(account.kind))\n"
        if let state {
            out += "  state     \(state)\(reason.map { ": \($0)" } ?? "")\n"
            let n = sendsPlanned
            out += "  action    \(action == "none" ? "none" : "apply would \(action ?? "send")")"
            out += n > 0 ? ": \(n) send\(n == 1 ? "" : "s") not yet made\n" : "\n"
        } else {
            out += "  action    \(actionText)\n"
        }
        if generation > 1 { out += "  generation \(generation)\n" }
        for a in audiences where a.description != "one follower" || audiences.count == 1 {
            out += "  audience  \(a.text)  [\(a.step)]\n"
        }
        if !calls.isEmpty { out += "  calls\n" }
        for (i, call) in calls.enumerated() {
            var line = "    \(i + 1). \(call.step)  \(call.endpoint)"
            if let batch = call.batch {
                line += "  batch \(batch)"
                if let size = call.batchSize { line += " (\(PlanNumbers.grouped(size)))" }
            }
            if let key = call.clientmsgid { line += "  clientmsgid \(key)" }
            out += line + "\n"
            var detail: [String] = []
            if let msgtype = call.msgtype { detail.append(msgtype) }
            if let summary = call.summary { detail.append(summary) }
            if let flag = call.sendIgnoreReprint { detail.append("send_ignore_reprint \(flag ? 1 : 0)") }
            if !detail.isEmpty { out += "       " + detail.joined(separator: "  ") + "\n" }
            for file in call.files {
                out += "       file \(file.path) (\(PlanNumbers.grouped(file.bytes)) bytes, sha256 \(file.sha256.prefix(12))…)\n"
            }
            for field in call.unknown.keys.sorted() where !(call.summary ?? "").contains("(known after") {
                out += "       \(field) = (known after \(call.unknownAfter[field] ?? "its step"))\n"
            }
            if let condition = call.condition { out += "       if \(condition)\n" }
            if let journal = call.journal {
                out += "       journal: \(journal)\(call.msgID.map { " (msg_id \($0))" } ?? "")\(journal == "sent" ? ": not sent again" : "")\n"
            }
        }
        if !quota.isEmpty { out += "  quota\n" }
        for q in quota { out += "    \(q.text)\n" }
        if let estimatedSeconds {
            let rate = PlanNumbers.grouped(speedPerMinute)
            out += "  duration  \(PlanNumbers.duration(estimatedSeconds)) at speed \(speedLevel) (\(rate) a minute\(speedKnown ? "" : ", assumed"))\n"
        } else if !audiences.isEmpty {
            out += "  duration  not known (the audience's size is not known)\n"
        }
        for p in problems { out += "  ✗ \(p)\n" }
        // A missing or too large file is a problem already listed above.
        for w in warnings where !Self.problemCodes.contains(w.code) { out += "  ! \(w.step.map { "\($0): " } ?? "")\(w.message)\n" }
        for u in unchecked { out += "  ? not checked: \(u)\n" }
        return out
    }

    /// Warnings that repeat a problem (the step cannot run).
    static let problemCodes: Set<String> = ["file_missing", "media_too_large"]

    var speedPerMinute: Int { WeChatLimits.MassSend.speedPerMinute[min(max(speedLevel, 0), 4)] * 10_000 }
}

/// A plan file that cannot be read.
public struct PlanFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
