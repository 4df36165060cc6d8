import Foundation
import Logging

/// The log lines and progress texts of what happens inside a step: calls, sends, deletes,
/// waits, and the confirmation of sends to all followers.
extension RunEvent {
    /// The log line of an event inside a step, `nil` for one that only shows progress.
    var stepLogLine: RunLogLine? {
        switch self {
        case .audienceRead(let stepID, let file, let recipients, let duplicates, let blankLines, let batches):
            return RunLogLine(
                .info,
                "\(file): \(recipients) OpenIDs (\(duplicates) duplicates removed, \(blankLines) blank lines), \(batches) batch\(batches == 1 ? "" : "es")",
                ["event": "audience.read", "step.id": .string(stepID), "recipients": .stringConvertible(recipients)])
        case .batchSent(let stepID, let batch, let batches, let openIDs, let msgID, _, _):
            guard batches > 1 else { return nil }
            return RunLogLine(
                .info, "batch \(batch)/\(batches) sent (\(openIDs) OpenIDs, msg_id \(msgID))",
                [
                    "event": "batch.sent", "step.id": .string(stepID), "batch": .stringConvertible(batch),
                    "msg_id": .stringConvertible(msgID),
                ])
        case .sendAccepted(let call, let to, let msgID):
            return RunLogLine(
                .info, "sent\(to.map { " to \($0)" } ?? ""), msg_id \(msgID)", Self.metadata(call, event: "send.accepted", msgID: msgID))
        case .sendAdopted(let call, let runID, let msgID):
            return RunLogLine(
                .notice,
                "\(Self.label(call)) was already sent (run \(runID), msg_id \(msgID.map(String.init) ?? "?")); not sending again",
                Self.metadata(call, event: "send.adopted", msgID: msgID))
        case .sendAdoptedFromGoneSandbox(let call, let runID, let msgID):
            return RunLogLine(
                .warning,
                "\(Self.label(call)) was accepted by the in-process sandbox of an earlier rehearsal (run \(runID)), which ended with its process; this sandbox does not know msg_id \(msgID.map(String.init) ?? "?"), so the steps that ask about it (mass/get, mass/wait, mass/delete) fail with errcode 40059. To rehearse them, run the pipeline again with `masscast run --sandbox`: an unfinished rehearsal of another process is rehearsed again from the start",
                Self.metadata(call, event: "send.adopted_from_gone_sandbox", msgID: msgID))
        case .sendReconciled(let call, let runID):
            return RunLogLine(
                .notice,
                "\(Self.label(call)) has an unknown outcome from run \(runID); repeating it with the same clientmsgid",
                Self.metadata(call, event: "send.reconcile"))
        case .sendDuplicate(let call, let msgID, let unrecorded):
            var metadata = Self.metadata(call, event: unrecorded ? "send.adopted_unrecorded" : "send.adopted", msgID: msgID)
            metadata["errcode"] = .stringConvertible(45065)
            if unrecorded {
                return RunLogLine(
                    .warning,
                    "WeChat already has a send with this key from another state store; its content cannot be compared. Adopting msg_id \(msgID) (45065); check the account's sent messages if this broadcast was not sent from another machine",
                    metadata)
            }
            return RunLogLine(
                .notice, "WeChat already has this send (45065, clientmsgid exists); adopting msg_id \(msgID)", metadata)
        case .attemptFailed(let attempt, let error, let retrying, let delay):
            return RunLogLine(
                .warning,
                "attempt \(attempt.attempt)\(attempt.uses == "mass/send" ? " (batch \(attempt.batch + 1))" : "") failed: \(error.text); \(retrying ? "retrying" : "repeating") in \(Self.durationText(delay))",
                Self.metadata(attempt, error: error, event: "attempt.failed"))
        case .attemptSucceeded(let attempt, let duration):
            var metadata = Self.metadata(attempt, error: nil, event: "attempt.ok")
            metadata["duration_ms"] = .stringConvertible(Int(duration / .milliseconds(1)))
            metadata["http.status"] = .stringConvertible(200)
            return RunLogLine(.debug, "\(attempt.endpoint) ok", metadata)
        case .deleteAdopted(let stepID, let msgID):
            return RunLogLine(
                .notice, "\(msgID.map { "msg_id \($0)" } ?? "the article") was already deleted in this run; not deleting again",
                ["event": "delete.adopted", "step.id": .string(stepID)])
        case .deleteAlreadyDone(let stepID):
            return RunLogLine(
                .notice, "an earlier attempt may have deleted it; WeChat says 40059 (already deleted)",
                ["event": "delete.already_done", "step.id": .string(stepID)])
        case .waitPush(let stepID, let msgID, let status):
            return RunLogLine(
                .info, "MASSSENDJOBFINISH for msg_id \(msgID): \(status)",
                ["event": "wait.push", "step.id": .string(stepID), "msg_id": .stringConvertible(msgID)])
        case .waitPollFailed(let stepID, let msgID, let error):
            return RunLogLine(
                .warning, "polling msg_id \(msgID) failed: \(error); polling again later",
                ["event": "wait.poll_failed", "step.id": .string(stepID)])
        case .stillWaiting(let stepID, let uses, let waited, let states):
            return RunLogLine(
                .info, "still waiting after \(waited.components.seconds / 60)m: \(states.joined(separator: ", "))",
                ["event": "wait.progress", "step.id": .string(stepID), "uses": .string(uses)])
        case .lowDelivery(let stepID, let uses, let sent, let total, let msgIDs):
            return RunLogLine(
                .warning,
                "\(sent) of \(total) followers were sent the message (msg_id \(msgIDs.map(String.init).joined(separator: ", ")))",
                [
                    "event": "wait.low_delivery", "step.id": .string(stepID), "uses": .string(uses),
                    "sent_count": .stringConvertible(sent), "total_count": .stringConvertible(total),
                ])
        case .toAllRehearsal(let steps, let account, let appID, let pipeline):
            let what = "step \(steps.map { "'\($0)'" }.joined(separator: ", ")) sends to ALL followers of \(account) (\(appID)), which cannot be undone"
            return RunLogLine(
                .warning,
                "rehearsing a send to ALL followers without --confirm-to-all (\(what) in production); the real run needs --confirm-to-all \(pipeline)",
                ["event": "run.to_all_rehearsal"])
        case .toAllRefused(let reason):
            return RunLogLine(.error, reason, ["event": "run.to_all_refused"])
        default:
            return nil
        }
    }

    /// The progress text of an event inside a step, if it shows one.
    var stepProgressText: String? {
        switch self {
        case .audienceReading(let stepID, let file, let lines, let percent):
            return "[\(stepID)] reading \(file): \(lines) lines, \(percent)%"
        case .batchSending(let stepID, let batch, let batches, let sent, let audience):
            return "[\(stepID)] sending batch \(batch)/\(batches) · \(Self.grouped(sent))/\(Self.grouped(audience)) OpenIDs sent"
        case .batchSent(let stepID, let batch, let batches, _, _, let sent, let audience):
            return "[\(stepID)] batch \(batch)/\(batches) sent · \(Self.grouped(sent))/\(Self.grouped(audience)) OpenIDs sent"
        case .retryWaiting(let stepID, let left, let reason):
            let seconds = max(1, Int(Self.secondsOf(left).rounded(.up)))
            switch reason {
            case .nextMinute:
                return "[\(stepID)] waiting \(seconds) s for the next minute (45011)"
            case .clientMsgIDWindow:
                return "[\(stepID)] waiting \(seconds) s: this clientmsgid was used less than a window ago (45066)"
            case .backoff(let next, let errcode, let errorClass):
                return "[\(stepID)] retrying in \(seconds) s (attempt \(next), after \(errcode.map { "errcode \($0)" } ?? errorClass))"
            }
        case .waiting(let stepID, let waited, let states):
            return "[\(stepID)] waiting \(waited.components.seconds)s · \(states.joined(separator: ", "))"
        default:
            return nil
        }
    }

    /// `1.5s`, `250ms`, `2m05s`: a delay or a timeout in messages.
    public static func durationText(_ duration: Duration) -> String {
        let s = secondsOf(duration)
        if s < 1 { return "\(Int(s * 1000))ms" }
        if s < 60 { return String(format: "%.1fs", s) }
        return String(format: "%.0fm%02.0fs", (s / 60).rounded(.down), s.truncatingRemainder(dividingBy: 60))
    }

    private static func secondsOf(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// "send" or "send batch 2": a send as messages name it.
    private static func label(_ call: SendCall) -> String {
        "\(call.stepID)\(call.uses == "mass/send" ? " batch \(call.batch + 1)" : "")"
    }

    private static func metadata(_ call: SendCall, event: String, msgID: Int64? = nil) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "event": .string(event), "step.id": .string(call.stepID), "uses": .string(call.uses),
            "clientmsgid": .string(call.clientMsgID), "batch": .stringConvertible(call.batch + 1),
        ]
        if let msgID { m["msg_id"] = .stringConvertible(msgID) }
        return m
    }

    private static func metadata(_ attempt: CallAttempt, error: CallError?, event: String) -> Logger.Metadata {
        var m: Logger.Metadata = [
            "event": .string(event), "step.id": .string(attempt.stepID), "uses": .string(attempt.uses),
            "attempt": .stringConvertible(attempt.attempt), "endpoint": .string(attempt.endpoint),
        ]
        // Counted from 1, as the text says "batch 2/3" (the journal and attempts keep it from 0).
        if attempt.batch > 0 || attempt.uses == "mass/send" { m["batch"] = .stringConvertible(attempt.batch + 1) }
        if let error {
            if let code = error.errcode { m["errcode"] = .stringConvertible(code) }
            if let status = error.httpStatus { m["http.status"] = .stringConvertible(status) }
            m["error.class"] = .string(error.errorClass)
            m["delivery"] = .string(error.delivery)
        }
        return m
    }
}
