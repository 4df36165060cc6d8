import Foundation
import Logging
import PipelineCore
import RunState

extension RunExecutor {
    /// The last words of a finished run (`event: run.summary`): what was sent, to how many,
    /// and how much of the day's mass-send quota is left, e.g. "sent 2 messages: tag 101
    /// (1,494 followers), 20,001 OpenIDs in 3 batches; brand-main has 97 of 100 mass sends left
    /// today (UTC+8)". From this run's journal (sends adopted from an earlier run count: they
    /// are this broadcast's) and the store's count of today's accepted sends. The JSON line
    /// carries `messages`, `recipients`, `sends` (calls: batches and sends to a tag), `sends_left`, `sends_per_day`.
    func logSummary(runID: String) async {
        let entries = ((try? await store.journalEntries(runID: runID)) ?? [])
            .filter { $0.state == .sent && JournaledCall.isSendKey($0.key) }
        var order: [String] = []
        var byStep: [String: [JournalEntry]] = [:]
        for entry in entries {
            if byStep[entry.stepID] == nil { order.append(entry.stepID) }
            byStep[entry.stepID, default: []].append(entry)
        }
        // Steps in the pipeline's order.
        let position = Dictionary(uniqueKeysWithValues: pipeline.steps.enumerated().map { ($1.id.value, $0) })
        order.sort { (position[$0] ?? .max) < (position[$1] ?? .max) }
        var parts: [String] = []
        var recipients = 0
        for stepID in order {
            let sends = byStep[stepID] ?? []
            if sends.first?.endpoint == "message/mass/send" {
                let count = sends.reduce(0) { $0 + $1.recipients }
                recipients += count
                parts.append(
                    "\(ProgressText.grouped(count)) OpenIDs in \(sends.count) batch\(sends.count == 1 ? "" : "es")")
            } else {
                for send in sends {
                    var fields: [String: Value] = [:]
                    if let text = send.contentFields, case .object(let o)? = try? Value.parseJSON(text) { fields = o }
                    var what: String
                    if fields["filter.is_to_all"] == .bool(true) {
                        what = "all followers"
                    } else if let tag = fields["filter.tag_id"], tag != .null {
                        what = "tag \(tag.templateText)"
                    } else {
                        what = "step \(stepID)"
                    }
                    if let id = send.msgID, let total = pushedTotals[id] {
                        recipients += total
                        what += " (\(ProgressText.grouped(total)) follower\(total == 1 ? "" : "s"))"
                    }
                    parts.append(what)
                }
            }
        }
        let messages = order.count
        var text = messages == 0
            ? "sent nothing"
            : "sent \(messages) message\(messages == 1 ? "" : "s"): " + parts.joined(separator: ", ")
        var metadata: Logger.Metadata = [
            "event": "run.summary", "messages": .stringConvertible(messages),
            "recipients": .stringConvertible(recipients), "sends": .stringConvertible(entries.count),
        ]
        let since = account.pacing.startOfDay(containing: options.now())
        if let used = try? await store.acceptedSends(api: account.api, appID: account.appID, since: since) {
            let perDay = account.pacing.sendsPerDay
            let left = max(0, perDay - used)
            let hours = account.pacing.dayOffsetSeconds / 3600
            var zone = "UTC" + (hours == 0 ? "" : (hours > 0 ? "+\(hours)" : "\(hours)"))
            if APIIdentity.isSandbox(account.api) { zone += ", sandbox" }
            text += "; \(account.name) has \(left) of \(perDay) mass sends left today (\(zone))"
            metadata["sends_left"] = .stringConvertible(left)
            metadata["sends_per_day"] = .stringConvertible(perDay)
        }
        logger.info("\(text)", metadata: metadata)
    }
}
