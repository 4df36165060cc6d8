import Foundation
import PipelineCore
import RunState

/// Renderers for `masscast runs list` and `masscast runs show RUN_ID`: text tables and
/// timelines, JSON, and Mermaid gantt charts.
public enum RunTimeline {
    /// UTC, the default zone of the renderings.
    public static let utc = TimeZone(identifier: "UTC")!

    // MARK: - runs list

    /// A text table of runs (id, pipeline, account, generation, status, started, duration),
    /// in the order given (newest first, as the store lists them). `No runs.` when empty.
    /// - Parameters:
    ///   - runs: the runs.
    ///   - timeZone: the zone of the STARTED column (UTC by default; the header names it).
    ///   - liveness: whether each run's owner still holds it; a `running` run whose owner is
    ///     gone shows as `interrupted`.
    public static func renderRunList(
        _ runs: [RunRecord], timeZone: TimeZone = RunTimeline.utc, liveness: OwnerLiveness? = nil
    ) -> String {
        if runs.isEmpty { return "No runs.\n" }
        let zone = TimeText.zoneLabel(runs[0].createdAt, timeZone)
        let header = ["ID", "PIPELINE", "ACCOUNT", "GEN", "STATUS", "STARTED (\(zone))", "DURATION"]
        let rows: [[String]] = runs.map { run in
            [
                run.id,
                run.identity.name,
                run.accountName + (run.sandbox ? " (sandbox)" : ""),
                String(run.generation),
                run.status.display(ownerAlive: run.owner.map { liveness?($0, run.heartbeatAt) ?? true } ?? true),
                TimeText.dateTime(run.createdAt, timeZone: timeZone, millis: false, zone: false),
                RunReport.durationMS(run.createdAt, run.endedAt).map { NumberText.duration(ms: $0) } ?? "-",
            ].map { sanitizeLine($0) }
        }
        return table([header] + rows)
    }

    /// `runs list --format json`: an array of run objects (the `run` object of ``RunReport``),
    /// pretty-printed with sorted keys.
    public static func renderRunListJSON(
        _ runs: [RunRecord], scrubber: Scrubber = Scrubber(), liveness: OwnerLiveness? = nil
    ) throws -> Data {
        try RunReport.makeEncoder().encode(runs.map { run in
            RunReport.Run(
                run, scrubber: scrubber,
                ownerAlive: run.owner.map { liveness?($0, run.heartbeatAt) ?? true } ?? true)
        })
    }

    /// `runs show --format json`: the run's ``RunReport``.
    public static func renderJSON(
        run: RunRecord, steps: [StepRecord], attempts: [AttemptRecord], journal: [JournalEntry],
        scrubber: Scrubber = Scrubber()
    ) throws -> Data {
        try RunReport(run: run, steps: steps, attempts: attempts, journal: journal, scrubber: scrubber).jsonData()
    }

    // MARK: - runs show

    /// The symbol of a step's result: ✓ success, ✗ failure, – skipped, ⊘ cancelled, … otherwise.
    public static func symbol(for result: String) -> String {
        switch result {
        case "success": return "✓"
        case "failure": return "✗"
        case "skipped": return "–"
        case "cancelled": return "⊘"
        default: return "…"
        }
    }

    /// A run as text: a header (id, pipeline, account, status, message, started, ended,
    /// duration), then each step in order —
    ///
    /// ```text
    /// ✓ send  mass/sendall  success  2.1s  msg_id=1000000001
    ///     attempt 1  09:00:01.120  +0.31s  error  errcode -1 transient  retry in 1.0s
    ///     attempt 2  09:00:02.450  +0.20s  ok
    ///     batch 1  clientmsgid mc1-…  sent  msg_id 1000000001
    /// ```
    ///
    /// — its top-level scalar outputs, its message, its attempts (`+` is the attempt's
    /// duration; `batch N` leads when the step sends in batches) and its sends.
    /// - Parameters:
    ///   - timeZone: the zone of the times shown (UTC by default; the header names it).
    ///   - scrubber: secrets to redact.
    public static func renderText(
        run: RunRecord, steps: [StepRecord], attempts: [AttemptRecord], journal: [JournalEntry],
        timeZone: TimeZone = RunTimeline.utc, scrubber: Scrubber = Scrubber()
    ) -> String {
        let report = RunReport(run: run, steps: steps, attempts: attempts, journal: journal, scrubber: scrubber)
        return renderText(report, timeZone: timeZone)
    }

    /// ``renderText(run:steps:attempts:journal:timeZone:scrubber:)`` from a built report.
    public static func renderText(_ report: RunReport, timeZone: TimeZone = RunTimeline.utc) -> String {
        let r = report.run
        var lines: [String] = []
        func field(_ name: String, _ value: String) { lines.append(TextWidth.padded(name, 10) + sanitizeLine(value)) }
        field("Run", r.id)
        field("Pipeline", "\(r.pipeline)  (\(r.pipelineFile))")
        field(
            "Account",
            "\(r.account)  \(r.appID)  generation \(r.generation)" + (r.sandbox ? "  sandbox \(r.apiBase)" : ""))
        field("Status", r.interrupted ? "interrupted (its runner is gone; `masscast run` or `resume` continues it)" : r.status.rawValue)
        if let message = r.message, !message.isEmpty { field("Message", message) }
        field("Started", TimeText.dateTime(r.createdAt, timeZone: timeZone))
        if let ended = r.endedAt { field("Ended", TimeText.dateTime(ended, timeZone: timeZone)) }
        field("Duration", r.durationMS.map { NumberText.duration(ms: $0) } ?? "-")
        lines.append("")

        if report.steps.isEmpty { lines.append("No steps.") }
        let idWidth = report.steps.map { TextWidth.columns(sanitizeLine($0.id)) }.max() ?? 0
        let usesWidth = report.steps.map { TextWidth.columns(sanitizeLine($0.uses)) }.max() ?? 0
        let resultWidth = report.steps.map { resultText($0).count }.max() ?? 0
        let durations = report.steps.map { $0.durationMS.map { NumberText.duration(ms: $0) } ?? "-" }
        let durationWidth = durations.map(\.count).max() ?? 0
        var sendsByStep: [String: [RunReport.Send]] = [:]
        for send in report.sends { sendsByStep[send.step, default: []].append(send) }

        for (index, step) in report.steps.enumerated() {
            var line = symbol(for: step.state == "finished" ? step.result : step.state) + " "
            line += TextWidth.padded(sanitizeLine(step.id), idWidth) + "  "
            line += TextWidth.padded(sanitizeLine(step.uses), usesWidth) + "  "
            line += TextWidth.padded(resultText(step), resultWidth) + "  "
            line += TextWidth.padded(durations[index], durationWidth)
            var extras: [String] = []
            if let errcode = step.errcode { extras.append("errcode=\(errcode)") }
            if case .object(let outputs)? = step.outputs {
                for key in outputs.keys.sorted() {
                    guard let value = outputs[key] else { continue }
                    switch value {
                    case .null, .list, .object: continue
                    default:
                        let text = TextWidth.truncated(sanitizeLine(value.displayText), 40)
                        extras.append(key + "=" + (text.contains(" ") || text.isEmpty ? JSONText.quoted(text) : text))
                    }
                }
            }
            if !extras.isEmpty { line += "  " + extras.joined(separator: "  ") }
            lines.append(trimRight(line))
            if let message = step.message, !message.isEmpty { lines.append("    " + sanitizeLine(message)) }
            let batched = step.attempts.contains { $0.batch > 1 }
            for attempt in step.attempts { lines.append("    " + attemptText(attempt, batched: batched, timeZone)) }
            for send in sendsByStep.removeValue(forKey: step.id) ?? [] { lines.append("    " + sendText(send)) }
        }
        let orphans = report.sends.filter { sendsByStep[$0.step] != nil }
        if !orphans.isEmpty {
            lines.append("")
            lines.append("Other sends")
            for send in orphans { lines.append("    step \(sanitizeLine(send.step))  " + sendText(send)) }
        }
        let s = report.summary
        lines.append("")
        var summary = "\(s.steps) step\(s.steps == 1 ? "" : "s"): \(s.succeeded) succeeded, \(s.failed) failed, "
        summary += "\(s.skipped) skipped, \(s.cancelled) cancelled"
        if s.unfinished > 0 { summary += ", \(s.unfinished) unfinished" }
        summary += " · \(s.attempts) attempt\(s.attempts == 1 ? "" : "s")"
        summary += " · \(s.sendsAccepted) send\(s.sendsAccepted == 1 ? "" : "s") accepted"
        if s.recipients > 0 { summary += " (\(NumberText.grouped(Int64(s.recipients))) recipients)" }
        lines.append(summary)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func resultText(_ step: RunReport.Step) -> String {
        guard step.state == "finished" else { return step.state }
        var text = step.result
        if let outcome = step.outcome, outcome != text { text += " (outcome \(outcome))" }
        return text
    }

    private static func attemptText(_ a: RunReport.Attempt, batched: Bool, _ timeZone: TimeZone) -> String {
        var parts: [String] = []
        if batched { parts.append("batch \(a.batch)") }
        parts.append("attempt \(a.number)")
        parts.append(TimeText.clock(a.startedAt, timeZone: timeZone, millis: true))
        parts.append(a.durationMS.map { "+" + NumberText.duration(ms: $0) } ?? "+?")
        parts.append(sanitizeLine(a.result))
        if let status = a.httpStatus, status != 200 { parts.append("http \(status)") }
        var error: [String] = []
        if let errcode = a.errcode, errcode != 0 || a.result != "ok" { error.append("errcode \(errcode)") }
        if let errorClass = a.errorClass { error.append(sanitizeLine(errorClass)) }
        if let message = a.message, !message.isEmpty { error.append("(\(sanitizeLine(message)))") }
        if !error.isEmpty { parts.append(error.joined(separator: " ")) }
        if let delay = a.retryDelayMS { parts.append("retry in " + NumberText.duration(ms: Int64(delay))) }
        return parts.joined(separator: "  ")
    }

    private static func sendText(_ s: RunReport.Send) -> String {
        var parts = ["batch \(s.batch)", "clientmsgid \(sanitizeLine(s.clientmsgid))", s.state]
        if let id = s.msgID { parts.append("msg_id \(id)") }
        if let id = s.msgDataID { parts.append("msg_data_id \(id)") }
        if let errcode = s.errcode, errcode != 0 { parts.append("errcode \(errcode)") }
        if s.recipients > 0 { parts.append("\(NumberText.grouped(Int64(s.recipients))) recipients") }
        if s.adoptedUnrecorded { parts.append("ADOPTED from another state store (45065; content not compared)") }
        return parts.joined(separator: "  ")
    }

    // MARK: - Mermaid

    /// A run as a Mermaid `gantt` chart: one `section` per step, one task per attempt
    /// (`crit` for `error`, `done` for `ok`, `active` otherwise); a step without attempts gets
    /// one task for its span, or a `milestone` when skipped or never started. Times are UTC
    /// in `dateFormat YYYY-MM-DDTHH:mm:ss.SSS`; every task lasts at least 1 ms so that it is
    /// drawn. Task ids are `a_<step>_<n>` (`a_<step>_b<batch>_<n>` for batches) and `s_<step>`,
    /// made of letters, digits and `_` only, unique; names and titles carry no `:`, `#`, `;`
    /// or `%`.
    public static func renderMermaid(
        run: RunRecord, steps: [StepRecord], attempts: [AttemptRecord], scrubber: Scrubber = Scrubber()
    ) -> String {
        let report = RunReport(run: run, steps: steps, attempts: attempts, journal: [], scrubber: scrubber)
        return renderMermaid(report)
    }

    /// ``renderMermaid(run:steps:attempts:scrubber:)`` from a built report.
    public static func renderMermaid(_ report: RunReport) -> String {
        let r = report.run
        let runEnd = r.endedAt ?? r.updatedAt
        var lines = [
            "gantt",
            "    title " + mermaidText("Run \(r.id) · \(r.pipeline)"),
            "    dateFormat YYYY-MM-DDTHH:mm:ss.SSS",
            "    axisFormat %H:%M:%S",
            "    todayMarker off",
        ]
        var usedIDs: Set<String> = []
        func uniqueID(_ base: String) -> String {
            var id = base
            var n = 2
            while usedIDs.contains(id) {
                id = "\(base)_\(n)"
                n += 1
            }
            usedIDs.insert(id)
            return id
        }
        func task(_ name: String, tags: [String], id: String, start: Date, end: Date) {
            var endDate = end
            if TimeText.milliseconds(endDate) <= TimeText.milliseconds(start) {
                endDate = Date(timeIntervalSince1970: Double(TimeText.milliseconds(start) + 1) / 1000)
            }
            let data = tags + [id, TimeText.mermaid(start), TimeText.mermaid(endDate)]
            lines.append("    " + mermaidText(name) + " :" + data.joined(separator: ", "))
        }
        var cursor = r.createdAt
        for step in report.steps {
            let sid = mermaidID(step.id)
            lines.append("    section " + mermaidText(step.id))
            if !step.attempts.isEmpty {
                let batched = step.attempts.contains { $0.batch > 1 }
                for attempt in step.attempts {
                    var name = (batched ? "batch \(attempt.batch) " : "") + "attempt \(attempt.number)"
                    if let errcode = attempt.errcode, attempt.result != "ok" { name += " errcode \(errcode)" }
                    let tag: String
                    switch attempt.result {
                    case "ok": tag = "done"
                    case "error": tag = "crit"
                    default: tag = "active"
                    }
                    let idBase = batched ? "a_\(sid)_b\(attempt.batch)_\(attempt.number)" : "a_\(sid)_\(attempt.number)"
                    let end = attempt.endedAt ?? step.endedAt ?? runEnd
                    task(name, tags: [tag], id: uniqueID(idBase), start: attempt.startedAt, end: max(end, attempt.startedAt))
                    cursor = max(cursor, end)
                }
            } else if step.startedAt == nil || (step.state == "finished" && step.result == "skipped") {
                let at = step.startedAt ?? step.endedAt ?? cursor
                let label = step.state == "finished" ? step.result : "not started"
                let stamp = TimeText.mermaid(at)
                lines.append(
                    "    " + mermaidText("\(step.uses) \(label)") + " :milestone, " + uniqueID("s_\(sid)") + ", "
                        + stamp + ", " + stamp)
                cursor = max(cursor, at)
            } else if let start = step.startedAt {
                let end = step.endedAt ?? runEnd
                let tag: [String]
                switch step.state == "finished" ? step.result : "running" {
                case "success": tag = ["done"]
                case "failure": tag = ["crit"]
                case "cancelled": tag = []
                default: tag = ["active"]
                }
                let label = step.state == "finished" ? step.result : step.state
                task("\(step.uses) \(label)", tags: tag, id: uniqueID("s_\(sid)"), start: start, end: max(end, start))
                cursor = max(cursor, end)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Letters, digits and `_` only (anything else becomes `_`); never empty. (Used after a
    /// `a_` or `s_` prefix, so a leading digit is fine.)
    static func mermaidID(_ text: String) -> String {
        var out = String(
            text.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_") ? Character(scalar) : "_"
            })
        if out.isEmpty { out = "_" }
        return out
    }

    /// Text safe in a Mermaid gantt line: no `:` `#` `;` `%` or line breaks (they become spaces), trimmed.
    static func mermaidText(_ text: String) -> String {
        let mapped = text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case ":", "#", ";", "%", "\n", "\r", "\t": return " "
            default: return scalar.value < 0x20 ? " " : Character(scalar)
            }
        }
        var out = ""
        var lastSpace = false
        for ch in mapped {
            if ch == " " {
                if !lastSpace { out.append(ch) }
                lastSpace = true
            } else {
                out.append(ch)
                lastSpace = false
            }
        }
        let trimmed = out.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? "_" : trimmed
    }

    // MARK: - Helpers

    /// One line: control characters (line breaks included) become spaces.
    static func sanitizeLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        return String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    static func trimRight(_ s: String) -> String {
        var s = s
        while s.last == " " { s.removeLast() }
        return s
    }

    /// Columns separated by two spaces, padded by display width.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], TextWidth.columns(cell)) }
        }
        return rows.map { row in
            trimRight(
                row.enumerated().map { i, cell in i == row.count - 1 ? cell : TextWidth.padded(cell, widths[i]) }
                    .joined(separator: "  "))
        }.joined(separator: "\n") + "\n"
    }
}
