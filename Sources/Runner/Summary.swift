import Foundation
import PipelineCore
import RunLog
import RunState

extension RunExecutor {
    /// The last words of a finished run (`RunEvent.summary`, `event: run.summary`): what was
    /// sent, to how many, and how much of the day's mass-send quota is left, e.g. "sent 2
    /// messages: tag 101 (1,494 followers), 20,001 OpenIDs in 3 batches; brand-main has 97 of
    /// 100 mass sends left today (UTC+8)". From this run's journal (sends adopted from an
    /// earlier run count: they are this broadcast's) and the store's count of today's accepted
    /// sends.
    func summary(runID: String) async -> RunEvent.RunSummary {
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
        var parts: [RunEvent.SentPart] = []
        var recipients = 0
        for stepID in order {
            let sends = byStep[stepID] ?? []
            if sends.first?.endpoint == "message/mass/send" {
                let count = sends.reduce(0) { $0 + $1.recipients }
                recipients += count
                parts.append(.openIDs(count: count, batches: sends.count))
            } else {
                for send in sends {
                    var fields: [String: Value] = [:]
                    if let text = send.contentFields, case .object(let o)? = try? Value.parseJSON(text) { fields = o }
                    let target: RunEvent.Recipient.Target
                    if fields["filter.is_to_all"] == .bool(true) {
                        target = .allFollowers
                    } else if let tag = fields["filter.tag_id"], tag != .null {
                        target = .tag(tag.templateText)
                    } else {
                        target = .step(stepID)
                    }
                    let followers = send.msgID.flatMap { pushedTotals[$0] }
                    if let followers { recipients += followers }
                    parts.append(.group(RunEvent.Recipient(target, followers: followers)))
                }
            }
        }
        var quota: RunEvent.Quota?
        let since = account.pacing.startOfDay(containing: options.now())
        if let used = try? await store.acceptedSends(api: account.api, appID: account.appID, since: since) {
            let perDay = account.pacing.sendsPerDay
            quota = RunEvent.Quota(
                account: account.name, left: max(0, perDay - used), perDay: perDay,
                utcOffsetHours: account.pacing.dayOffsetSeconds / 3600, sandbox: APIIdentity.isSandbox(account.api))
        }
        return RunEvent.RunSummary(
            messages: order.count, parts: parts, recipients: recipients, sends: entries.count, quota: quota)
    }
}
