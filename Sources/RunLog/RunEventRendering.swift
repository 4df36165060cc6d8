import Foundation
import Logging
import PipelineCore
import RunState

/// A log line: what a ``RunEvent`` is written as.
public struct RunLogLine: Sendable, Hashable {
    public var level: Logger.Level
    public var message: String
    public var metadata: Logger.Metadata

    public init(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }

    public static func == (a: RunLogLine, b: RunLogLine) -> Bool {
        a.level == b.level && a.message == b.message && a.metadata == b.metadata
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(level)
        hasher.combine(message)
        for key in metadata.keys.sorted() { hasher.combine(key) }
    }
}

/// What an event does to the live progress line.
public enum RunProgress: Sendable, Hashable {
    /// Show this text (it starts with `[step id]`).
    case text(String)
    /// The step's progress text, if still shown, goes.
    case ended(stepID: String)
}

extension RunEvent {
    /// The log line of the event: its message, level and metadata (`event` and the event's
    /// keys; the logger adds `pipeline` and `run.id`); `nil` for an event that only shows
    /// progress.
    public var logLine: RunLogLine? {
        switch self {
        case .notRun(let reason):
            return RunLogLine(.warning, reason, ["event": "run.not_run"])
        case .alreadyCompleted(let pipeline, let runID, let sent):
            return RunLogLine(
                .notice,
                "broadcast \(pipeline) already completed in run \(runID); nothing to do (--rerun would send it AGAIN as a new generation\(sent.isEmpty ? "" : ": " + sent))",
                ["event": "run.already_completed", "run.id": .string(runID)])
        case .rerunRefused(let generation, let unknown):
            let list = unknown.prefix(5).map { "\($0.stepID) batch \($0.batch + 1) (\($0.key), run \($0.runID))" }
                .joined(separator: ", ")
            let one = unknown.count == 1
            return RunLogLine(
                .error,
                "--rerun refused: \(unknown.count) send\(one ? "" : "s") of generation \(generation) \(one ? "has" : "have") an unknown outcome (\(list)\(unknown.count > 5 ? ", …" : "")); a new generation could send \(one ? "it" : "them") twice. Run the broadcast again without --rerun (or `masscast resume RUN_ID`) to settle \(one ? "it" : "them") with the same clientmsgid first.",
                ["event": "run.rerun_refused"])
        case .continuing(let runID, let place):
            return RunLogLine(
                .notice, "continuing \(runID) (\(place)) instead of starting over: steps that succeeded keep their results",
                ["event": "run.continuing", "run.id": .string(runID)])
        case .rehearsalRestarted(let runID, let status):
            return RunLogLine(
                .notice,
                "rehearsal \(runID) \(status == .running ? "was interrupted" : "is \(status.rawValue)"), and its in-process sandbox ended with its process, so it cannot be continued: rehearsing the broadcast again from the start (the next rehearsal generation; nothing reaches WeChat)",
                ["event": "run.rehearsal_restarted", "previous_run.id": .string(runID)])
        case .busy(let pipeline, let runID, let owner):
            return RunLogLine(
                .error, "broadcast \(pipeline) is being run by \(owner) (run \(runID)); not starting a second runner",
                ["event": "run.busy", "run.id": .string(runID)])
        case .takenOver(let pipeline, let previous, let epoch):
            return RunLogLine(
                .warning,
                "took broadcast \(pipeline) over from \(previous), whose lease had expired (or whose process is gone); lease epoch \(epoch): \(previous) can no longer send it",
                ["event": "run.taken_over", "lease.previous_owner": .string(previous), "lease.epoch": .string("\(epoch)")])
        case .forcedTakeover(let pipeline, let previous, let previousEpoch, let epoch):
            return RunLogLine(
                .warning,
                "forced the lease of broadcast \(pipeline) from \(previous) (epoch \(previousEpoch)) and released it; lease epoch \(epoch): \(previous) can no longer send it",
                [
                    "event": "run.taken_over", "lease.forced": "true", "lease.previous_owner": .string(previous),
                    "lease.previous_epoch": .string("\(previousEpoch)"), "lease.epoch": .string("\(epoch)"),
                ])
        case .leaseHeld(let pipeline, let runID, let owner, let until):
            let at = ISO8601DateFormatter().string(from: until)
            var metadata: Logger.Metadata = [
                "event": "run.lease_held", "lease.owner": .string(owner), "lease.expires_at": .string(at),
            ]
            if let runID { metadata["run.id"] = .string(runID) }
            return RunLogLine(
                .error,
                "broadcast \(pipeline) is being run by \(owner)\(runID.map { " (run \($0))" } ?? ""), whose lease runs until \(at): not starting a second runner. Try again once that lease has expired, or take it with masscast force-unlock (masscast leases shows its epoch)",
                metadata)
        case .started(let runID, let pipeline, let generation, let account, let appID, let sandbox):
            return RunLogLine(
                .info,
                "run \(runID) started: \(pipeline), generation \(generation), \(account) (\(appID))\(sandbox ? ", sandbox" : "")",
                ["event": "run.started", "generation": .stringConvertible(generation)])
        case .pipelineChanged(let runID):
            return RunLogLine(
                .warning,
                "the pipeline file changed since run \(runID) started; sends already made are checked against the journal",
                ["event": "run.pipeline_changed"])
        case .resumed(let runID, let kept, let steps):
            return RunLogLine(
                .info, "run \(runID) resumed: \(kept) of \(steps) steps keep their results; the others run",
                ["event": "run.resumed"])
        case .mediaExpired(let stepID, let uploadedAt):
            return RunLogLine(
                .notice,
                "step \(stepID) runs again: its media, uploaded \(Self.chinaTime(uploadedAt)), has passed WeChat's 3-day lifetime",
                ["event": "step.media_expired", "step.id": .string(stepID)])
        case .stepStarted(let stepID, let uses):
            return RunLogLine(
                .info, "started (\(uses))", ["event": "step.started", "step.id": .string(stepID), "uses": .string(uses)])
        case .stepFinished(let end):
            return Self.logLine(end)
        case .stepStopped(let stepID, let uses, let message):
            return RunLogLine(
                .warning, "stopped: \(message)",
                ["event": "step.stopped", "step.id": .string(stepID), "uses": .string(uses)])
        case .summary(let summary):
            return Self.logLine(summary)
        case .stopped(let runID, let reason, let resumeCommand):
            return RunLogLine(
                .warning, "run \(runID) stopped: \(reason). Resume with: \(resumeCommand)", ["event": "run.stopped"])
        case .finished(let runID, let failedSteps):
            if failedSteps.isEmpty {
                return RunLogLine(.info, "run \(runID) succeeded", ["event": "run.finished", "status": "succeeded"])
            }
            return RunLogLine(
                .error, "run \(runID) failed: \(Self.failureMessage(failedSteps))",
                ["event": "run.finished", "status": "failed"])
        default:
            return stepLogLine
        }
    }

    /// What the event does to the live progress line, if anything: a step's start shows
    /// "[id] uses started", its end (or stop) takes its text away; sends, retries and waits
    /// show what they are doing.
    public var progress: RunProgress? {
        switch self {
        case .stepStarted(let stepID, let uses): return .text("[\(stepID)] \(uses) started")
        case .stepFinished(let end): return .ended(stepID: end.stepID)
        case .stepStopped(let stepID, _, _): return .ended(stepID: stepID)
        default: return stepProgressText.map(RunProgress.text)
        }
    }

    static func logLine(_ end: StepEnd) -> RunLogLine {
        var metadata: Logger.Metadata = [
            "event": "step.finished", "step.id": .string(end.stepID), "uses": .string(end.uses),
            "outcome": .string(end.outcome.rawValue), "conclusion": .string(end.conclusion.rawValue),
        ]
        if let duration = end.duration {
            metadata["duration_ms"] = .stringConvertible(Int(duration / .milliseconds(1)))
        }
        if let errcode = end.errcode { metadata["errcode"] = .stringConvertible(errcode) }
        let summary = outputSummary(end.outputs)
        switch end.outcome {
        case .success:
            return RunLogLine(.info, "success\(summary.isEmpty ? "" : " (\(summary))")", metadata)
        case .failure:
            let suffix = end.continueOnError ? " (continue_on_error: the run goes on)" : ""
            return RunLogLine(.error, "failed: \(end.message ?? "")\(suffix)", metadata)
        case .skipped, .cancelled:
            return RunLogLine(.info, "\(end.outcome.rawValue): \(end.message ?? "")", metadata)
        }
    }

    /// "sent 2 messages: tag 101 (1,494 followers), 20,001 OpenIDs in 3 batches; brand-main has
    /// 97 of 100 mass sends left today (UTC+8)", with `messages`, `recipients`, `sends` and,
    /// when the quota is known, `sends_left` and `sends_per_day`.
    static func logLine(_ summary: RunSummary) -> RunLogLine {
        let parts = summary.parts.map { part -> String in
            switch part {
            case .openIDs(let count, let batches):
                return "\(grouped(count)) OpenIDs in \(batches) batch\(batches == 1 ? "" : "es")"
            case .group(let recipient):
                var what: String
                switch recipient.target {
                case .allFollowers: what = "all followers"
                case .tag(let tag): what = "tag \(tag)"
                case .step(let stepID): what = "step \(stepID)"
                }
                if let total = recipient.followers {
                    what += " (\(grouped(total)) follower\(total == 1 ? "" : "s"))"
                }
                return what
            }
        }
        let messages = summary.messages
        var text = messages == 0
            ? "sent nothing"
            : "sent \(messages) message\(messages == 1 ? "" : "s"): " + parts.joined(separator: ", ")
        var metadata: Logger.Metadata = [
            "event": "run.summary", "messages": .stringConvertible(messages),
            "recipients": .stringConvertible(summary.recipients), "sends": .stringConvertible(summary.sends),
        ]
        if let quota = summary.quota {
            let hours = quota.utcOffsetHours
            var zone = "UTC" + (hours == 0 ? "" : (hours > 0 ? "+\(hours)" : "\(hours)"))
            if quota.sandbox { zone += ", sandbox" }
            text += "; \(quota.account) has \(quota.left) of \(quota.perDay) mass sends left today (\(zone))"
            metadata["sends_left"] = .stringConvertible(quota.left)
            metadata["sends_per_day"] = .stringConvertible(quota.perDay)
        }
        return RunLogLine(.info, text, metadata)
    }

    /// A step's outputs in a line: `key=value` in key order, `null`s left out, lists over 5
    /// items as their count.
    public static func outputSummary(_ outputs: [String: Value]) -> String {
        outputs.keys.sorted().compactMap { key -> String? in
            guard let v = outputs[key], v != .null else { return nil }
            if case .list(let items) = v, items.count > 5 { return "\(key)=[\(items.count) items]" }
            return "\(key)=\(v.templateText)"
        }.joined(separator: " ")
    }

    /// `20001` → `20,001`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A time in ISO 8601 at UTC+8, as WeChat's day and the runner's messages read it.
    public static func chinaTime(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        return f.string(from: date)
    }
}
