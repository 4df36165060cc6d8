import Foundation
import PipelineCore
import RunState

// WeChat's quotas as plan shows them and apply enforces them: one function (`SendQuota.quotas`)
// for both, from what a run would still make (`QuotaDemand`, from the step handlers'
// `describe`) and what the state store counts of the account (`QuotaUsage`). Pure.

/// What a run of a broadcast would still make: the calls the journal does not show as made.
public struct QuotaDemand: Sendable, Hashable {
    /// Mass sends: a `mass/sendall`, each `mass/send` batch.
    public var sends = 0
    /// `mass/sendall` calls (a subscription account's one a day).
    public var sendalls = 0
    /// `mass/sendall` calls to all followers (a service account's four a month).
    public var toAllSends = 0
    public var previews = 0
    public var uploadnews = 0
    public var deletes = 0

    public init() {}

    /// The demand of the planned calls: each batch (or the call, when it has none) whose
    /// journal state is not `sent`.
    public init(_ calls: [PlannedCall]) {
        for call in calls {
            let pending =
                call.batches.isEmpty ? 1 : call.batches.filter { $0.journal != .sent }.count
            guard pending > 0 else { continue }
            switch call.kind {
            case "mass/sendall":
                sends += pending
                sendalls += pending
                if call.audience?.toAll == true { toAllSends += pending }
            case "mass/send": sends += pending
            case "mass/preview": previews += pending
            case "media/uploadnews": uploadnews += pending
            case "mass/delete": deletes += pending
            default: continue
            }
        }
    }
}

/// What the state store counts of an account's use at a time: the day and month are WeChat's
/// (UTC+8, the account's `pacing` day offset). `nil`: the store could not be read.
public struct QuotaUsage: Sendable, Hashable {
    /// Accepted mass sends (and previews) since the start of the day.
    public var sendsToday: Int?
    /// Accepted `mass/sendall` calls since the start of the day.
    public var sendallsToday: Int?
    /// Accepted `mass/sendall` calls to all followers since the start of the month.
    public var toAllThisMonth: Int?
    /// When the day's counts start again (the next midnight, UTC+8).
    public var dayResetsAt: Date
    /// When the month's counts start again (the first of the next month, 00:00 UTC+8).
    public var monthResetsAt: Date

    public init(
        sendsToday: Int?, sendallsToday: Int?, toAllThisMonth: Int?, dayResetsAt: Date, monthResetsAt: Date
    ) {
        self.sendsToday = sendsToday
        self.sendallsToday = sendallsToday
        self.toAllThisMonth = toAllThisMonth
        self.dayResetsAt = dayResetsAt
        self.monthResetsAt = monthResetsAt
    }

    /// Nothing counted (no store), with the reset times of `now`.
    public static func unknown(now: Date, pacing: Pacing) -> QuotaUsage {
        QuotaUsage(
            sendsToday: nil, sendallsToday: nil, toAllThisMonth: nil,
            dayResetsAt: SendQuota.nextDay(after: now, pacing: pacing),
            monthResetsAt: SendQuota.nextMonth(after: now, pacing: pacing))
    }
}

/// WeChat's quotas of mass messages (docs/plan-format.md, "Quota").
public enum SendQuota {
    /// A service account's sends to all followers in a month.
    public static let toAllPerMonth = 4
    /// A subscription account's `sendall` calls in a day.
    public static let sendallsPerDay = 1
    /// Previews a day (of an account).
    public static let previewsPerDay = 100
    /// `media/uploadnews` calls a day.
    public static let uploadnewsPerDay = 10
    /// `mass/delete` calls a day.
    public static let deletesPerDay = 10

    /// The quotas a run with `demand` uses of `account`, with what the store counts as used:
    /// the day's mass sends, a subscription account's one sendall, a service account's four
    /// to-all sends a month, previews, uploadnews and deletes (those a run would make).
    public static func quotas(account: Account, usage: QuotaUsage, demand: QuotaDemand) -> [PlanQuota] {
        var out: [PlanQuota] = []
        if demand.sends > 0 {
            out.append(
                PlanQuota(
                    name: "mass sends today (UTC+8)", used: usage.sendsToday, planned: demand.sends,
                    limit: account.pacing.sendsPerDay, code: "sends_per_day", resetsAt: usage.dayResetsAt))
        }
        if account.kind == .subscription, demand.sendalls > 0 {
            out.append(
                PlanQuota(
                    name: "sendall today (subscription account)", used: usage.sendallsToday, planned: demand.sendalls,
                    limit: sendallsPerDay, code: "sendall_per_day", resetsAt: usage.dayResetsAt))
        }
        if account.kind == .service, demand.toAllSends > 0 {
            out.append(
                PlanQuota(
                    name: "to-all sends this month (service account)", used: usage.toAllThisMonth,
                    planned: demand.toAllSends, limit: toAllPerMonth, code: "to_all_per_month",
                    resetsAt: usage.monthResetsAt))
        }
        for (n, name, limit, code) in [
            (demand.previews, "previews today", previewsPerDay, "previews_per_day"),
            (demand.uploadnews, "uploadnews today", uploadnewsPerDay, "uploadnews_per_day"),
            (demand.deletes, "deletes today", deletesPerDay, "deletes_per_day"),
        ] where n > 0 {
            out.append(PlanQuota(name: name, used: nil, planned: n, limit: limit, code: code, resetsAt: usage.dayResetsAt))
        }
        return out
    }

    /// The finding that blocks a broadcast whose quotas are exceeded: which limit, what is
    /// left, and when it resets (`nil` when none is exceeded).
    public static func blocker(_ quotas: [PlanQuota], account: String) -> ReconcileBlocker? {
        let over = quotas.filter(\.exceeded)
        guard !over.isEmpty else { return nil }
        return ReconcileBlocker(.quota, over.map { message($0, account: account) }.joined(separator: "; "))
    }

    static func message(_ q: PlanQuota, account: String) -> String {
        let used = q.used ?? 0
        let left = max(0, q.limit - used)
        let resets = q.resetsAt.map { " (it resets \(stamp($0)))" } ?? ""
        let s = q.planned == 1 ? "" : "s"
        switch q.code {
        case "sends_per_day":
            return "it needs \(q.planned) mass send\(s) and \(account) has \(left) of its \(q.limit) left today "
                + "(UTC+8; \(used) made by masscast)\(resets): apply again then, or raise pacing.sends_per_day if "
                + "WeChat allows more"
        case "sendall_per_day":
            return "\(account) is a subscription account: WeChat allows it \(q.limit) sendall a day (UTC+8), "
                + "\(used) made today by masscast and it needs \(q.planned)\(resets): apply again then"
        case "to_all_per_month":
            return "\(account) is a service account: WeChat allows it \(q.limit) sends to ALL followers a month "
                + "(UTC+8), \(used) made this month by masscast and it needs \(q.planned) more\(resets): "
                + "apply again then, or send to a tag"
        default:
            return "it needs \(q.planned) \(q.name.replacingOccurrences(of: " today", with: "")) and WeChat allows "
                + "\(q.limit) a day\(resets)"
        }
    }

    /// `2026-12-04T00:00:00+08:00`: a reset time in WeChat's day (UTC+8).
    static func stamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        return f.string(from: date)
    }

    /// The next start of a day (in the account's day offset) after `date`.
    public static func nextDay(after date: Date, pacing: Pacing) -> Date {
        pacing.startOfDay(containing: date).addingTimeInterval(86_400)
    }

    /// The start of the month (in the account's day offset) containing `date`.
    public static func startOfMonth(containing date: Date, pacing: Pacing) -> Date {
        monthStart(date, pacing: pacing, adding: 0)
    }

    /// The start of the month after the one containing `date`.
    public static func nextMonth(after date: Date, pacing: Pacing) -> Date {
        monthStart(date, pacing: pacing, adding: 1)
    }

    private static func monthStart(_ date: Date, pacing: Pacing, adding months: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let offset = Double(pacing.dayOffsetSeconds)
        let local = Date(timeIntervalSince1970: date.timeIntervalSince1970 + offset)
        var parts = calendar.dateComponents([.year, .month], from: local)
        parts.day = 1
        parts.month = (parts.month ?? 1) + months
        let start = calendar.date(from: parts) ?? local
        return Date(timeIntervalSince1970: start.timeIntervalSince1970 - offset)
    }
}

extension RunExecutor {
    /// What the store counts of this executor's account at `now` (see ``QuotaUsage``): the
    /// day's accepted sends, its `mass/sendall` calls, and the month's sends to all followers
    /// (read from the journal entries of the account's runs).
    public func quotaUsage(now: Date) async -> QuotaUsage {
        let pacing = account.pacing
        var usage = QuotaUsage.unknown(now: now, pacing: pacing)
        let day = pacing.startOfDay(containing: now)
        let month = SendQuota.startOfMonth(containing: now, pacing: pacing)
        usage.sendsToday = try? await store.acceptedSends(api: account.api, appID: account.appID, since: day)
        do {
            var sendalls = 0
            var toAll = 0
            var seen = Set<String>()
            for run in try await store.runs(limit: 100_000)
            where run.identity.api == account.api && run.identity.appID == account.appID && run.updatedAt >= month {
                for entry in try await store.journalEntries(runID: run.id)
                where entry.endpoint == "message/mass/sendall" && entry.state == .sent && entry.updatedAt >= month
                    && seen.insert(entry.key).inserted
                {
                    if entry.updatedAt >= day { sendalls += 1 }
                    if let text = entry.contentFields, case .object(let fields)? = try? Value.parseJSON(text),
                        fields["filter.is_to_all"] == .bool(true)
                    {
                        toAll += 1
                    }
                }
            }
            usage.sendallsToday = sendalls
            usage.toAllThisMonth = toAll
        } catch {
            // Not counted: the plan says so ("earlier use not counted by the store").
        }
        return usage
    }
}
