import Foundation
import PipelineCore
import RunState
import Testing

@testable import Runner

/// WeChat's quota rules as plan and apply share them (``SendQuota``), and a `mass/send`'s
/// audience compared with what was sent (issue 12).
@Suite("Quota rules and audience drift")
struct QuotaAndAudienceDriftTests {
    // 2026-12-31T20:00:00Z is 2027-01-01T04:00 in UTC+8: a new day and a new month there.
    let newYearUTC8 = Date(timeIntervalSince1970: 1_798_747_200)

    func account(_ kind: AccountKind) -> Account {
        Account(name: "brand", appID: "wx1", kind: kind)
    }

    @Test func theDayAndTheMonthAreWeChatsUTC8Ones() {
        let pacing = Pacing()
        let stamp = { (d: Date) in SendQuota.stamp(d) }
        #expect(stamp(SendQuota.nextDay(after: newYearUTC8, pacing: pacing)) == "2027-01-02T00:00:00+08:00")
        #expect(stamp(SendQuota.startOfMonth(containing: newYearUTC8, pacing: pacing)) == "2027-01-01T00:00:00+08:00")
        #expect(stamp(SendQuota.nextMonth(after: newYearUTC8, pacing: pacing)) == "2027-02-01T00:00:00+08:00")
        let lastOfDecember = newYearUTC8.addingTimeInterval(-5 * 3600)  // 2026-12-31T23:00+08:00
        #expect(stamp(SendQuota.nextMonth(after: lastOfDecember, pacing: pacing)) == "2027-01-01T00:00:00+08:00")
    }

    @Test func eachRuleBlocksWithItsLimitAndReset() {
        let usage = QuotaUsage(
            sendsToday: 3, sendallsToday: 1, toAllThisMonth: 4,
            dayResetsAt: SendQuota.nextDay(after: newYearUTC8, pacing: Pacing()),
            monthResetsAt: SendQuota.nextMonth(after: newYearUTC8, pacing: Pacing()))
        var demand = QuotaDemand()
        demand.sends = 1
        demand.sendalls = 1
        demand.toAllSends = 1

        let subscription = SendQuota.quotas(account: account(.subscription), usage: usage, demand: demand)
        #expect(subscription.map(\.code) == ["sends_per_day", "sendall_per_day"])
        let sub = SendQuota.blocker(subscription, account: "brand")
        #expect(sub?.kind == .quota)
        #expect(sub?.message.contains("subscription account") == true)
        #expect(sub?.message.contains("it resets 2027-01-02T00:00:00+08:00") == true, "\(sub?.message ?? "")")

        let service = SendQuota.quotas(account: account(.service), usage: usage, demand: demand)
        #expect(service.map(\.code) == ["sends_per_day", "to_all_per_month"])
        let srv = SendQuota.blocker(service, account: "brand")
        #expect(srv?.message.contains("4 sends to ALL followers a month") == true)
        #expect(srv?.message.contains("it resets 2027-02-01T00:00:00+08:00") == true, "\(srv?.message ?? "")")

        // Under every limit: nothing blocks.
        var fresh = usage
        fresh.sendallsToday = 0
        fresh.toAllThisMonth = 3
        #expect(SendQuota.blocker(SendQuota.quotas(account: account(.subscription), usage: fresh, demand: demand), account: "brand") == nil)
        #expect(SendQuota.blocker(SendQuota.quotas(account: account(.service), usage: fresh, demand: demand), account: "brand") == nil)
        // A tag send of a service account does not count against its to-all sends.
        var toTag = demand
        toTag.toAllSends = 0
        #expect(SendQuota.quotas(account: account(.service), usage: usage, demand: toTag).map(\.code) == ["sends_per_day"])
    }

    @Test func aMassSendsAudienceIsComparedBatchByBatch() {
        let sentAudience = RunExecutor.audienceSummary(["o1", "o2", "o3"])
        let sent = [
            ReconcileSentCall(
                step: "send", batch: 0, recipients: 3, state: .sent, contentDigest: "v3:aa",
                fields: ["text.content": "Hi", "msgtype": "text", "audience": sentAudience])
        ]
        let completed = Reconciler.StoreFacts.Completed(runID: "r1", at: nil, pipelineDigest: "p")
        func changes(_ content: ReconcileContent) -> [ReconcileChange] {
            Reconciler.differences(
                sent, pipeline: .init(digest: "p", contents: ["send": content]), completed: completed)
        }
        let fields = ["text.content": "Hi", "msgtype": "text"]
        // The same OpenIDs: nothing differs.
        #expect(changes(.init(contentDigest: "", fields: fields, batchAudiences: [sentAudience], recipients: 3)).isEmpty)
        // Another audience file: the audience changed, with the counts.
        let other = changes(
            .init(
                contentDigest: "", fields: fields,
                batchAudiences: [RunExecutor.audienceSummary(["o1", "o2", "o3", "o4"])], recipients: 4))
        #expect(other.map(\.field) == ["audience"])
        #expect(other.first?.sent == "3 recipients in 1 batch")
        #expect(other.first?.now == "4 recipients in 1 batch (the audience file changed)")
        // The text edited, same audience: the field is named, not the audience.
        let text = changes(
            .init(contentDigest: "", fields: ["text.content": "Hello", "msgtype": "text"], batchAudiences: [sentAudience]))
        #expect(text.map(\.field) == ["text.content"])
        // Not read (the audience could not be compared): the pipeline's digest decides.
        #expect(changes(.init(contentDigest: "", fields: [:])).isEmpty)
    }
}
