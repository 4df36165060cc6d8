import Foundation
import WeChatMP
import WeChatPush

// The engine's mutable state. These are classes confined to `EngineCore`, behind the engine's lock:
// they never leave it (inspection copies them into the public records).

/// An account while the sandbox runs.
final class AccountState {
    let config: SandboxFixture.Account
    var callback: SandboxFixture.Callback?
    let followers: Set<String>
    let tags: [Int: SandboxFixture.Tag]
    var media: [String: MediaRecord] = [:]
    var speed: Int
    /// The system sender of pushes (`FromUserName` and the `openid` query parameter).
    let systemOpenID: String

    // Tokens.
    var classicToken: String?
    var stableToken: String?
    var lastForcedRefresh: Date?

    // Quotas: counter name → (period bucket, count).
    var counters: [String: (bucket: Int64, count: Int)] = [:]
    /// Mass messages received this month by each follower: OpenID → (month, count).
    var receipts: [String: (month: Int64, count: Int)] = [:]
    /// clientmsgid (or keyless digest) → when it was accepted and its msg_id.
    var sendKeys: [String: (at: Date, msgID: Int64)] = [:]

    init(config: SandboxFixture.Account) {
        self.config = config
        callback = config.callback
        followers = Set(config.followers)
        tags = Dictionary(config.tags.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        speed = config.speed
        var rng = SplitMix64(seed: stableHash(config.appID) ^ 0x6D61_7373)
        systemOpenID = String((config.openIDPrefix + rng.token(28)).prefix(28))
    }

    var name: String { config.name }
    var appID: String { config.appID }

    func count(_ key: String, bucket: Int64) -> Int {
        guard let entry = counters[key], entry.bucket == bucket else { return 0 }
        return entry.count
    }

    func increment(_ key: String, bucket: Int64) {
        let current = count(key, bucket: bucket)
        counters[key] = (bucket, current + 1)
    }
}

/// An uploaded (or seeded) medium.
struct MediaRecord {
    var id: String
    var kind: SandboxMediaKind
    var size: Int
    var createdAt: Date
    var expiresAt: Date
    /// For news: the number of articles.
    var articles: Int
}

/// An issued access token.
struct TokenRecord {
    var value: String
    var appID: String
    var expiresAt: Date
    /// From then on the token is refused with 40001 (superseded, force-refreshed, revoked).
    var invalidAfter: Date?
}

/// What a job will end as, decided (by faults) when it is created.
enum JobOutcome {
    case success
    case fail
    case error(Int)
    /// The article is judged a reprint; `sent` when send_ignore_reprint was 1.
    case reprint(articleIdx: Int, sent: Bool)

    var fails: Bool {
        switch self {
        case .success: false
        case .fail, .error: true
        case .reprint(_, let sent): !sent
        }
    }
}

/// A mass-send job.
final class JobState {
    enum Phase: String { case review, sending, done }

    let msgID: Int64
    let msgDataID: Int64?
    let appID: String
    let accountName: String
    let endpoint: String
    let msgtype: String
    /// mpnews / mpvideo: the media id (deleting one send disables the article for all).
    let mediaID: String?
    let articleCount: Int
    let articleURLs: [String]
    let totalCount: Int
    let filterCount: Int
    let outcome: JobOutcome
    let createdAt: Date
    let clientMsgID: String?
    let legacyShapes: [String]
    let isToAll: Bool?
    let tagID: Int?

    var phase: Phase = .review
    var reviewLeft: Double
    var delivered: Double = 0
    var status: MassStatus = .sending
    var sentCount: Int?
    var errorCount: Int?
    var deletedArticles: Set<Int> = []

    init(msgID: Int64, msgDataID: Int64?, appID: String, accountName: String, endpoint: String, msgtype: String,
         mediaID: String?, articleCount: Int, articleURLs: [String], totalCount: Int, filterCount: Int,
         outcome: JobOutcome, createdAt: Date, clientMsgID: String?, legacyShapes: [String], isToAll: Bool?,
         tagID: Int?, review: Double) {
        self.msgID = msgID
        self.msgDataID = msgDataID
        self.appID = appID
        self.accountName = accountName
        self.endpoint = endpoint
        self.msgtype = msgtype
        self.mediaID = mediaID
        self.articleCount = articleCount
        self.articleURLs = articleURLs
        self.totalCount = totalCount
        self.filterCount = filterCount
        self.outcome = outcome
        self.createdAt = createdAt
        self.clientMsgID = clientMsgID
        self.legacyShapes = legacyShapes
        self.isToAll = isToAll
        self.tagID = tagID
        self.reviewLeft = review
    }

    var statusText: String {
        switch outcome {
        case .success: "send success"
        case .fail: "send fail"
        case .error(let code): "err(\(code))"
        case .reprint(_, let sent): sent ? "send success" : "err(30003)"
        }
    }
}

/// A MASSSENDJOBFINISH push.
final class PushState {
    enum Status: String { case scheduled, delivering, delivered, failed, dropped, noCallback = "no_callback", noSender = "no_sender" }

    let id: Int
    let msgID: Int64
    let appID: String
    let accountName: String
    let isDuplicate: Bool
    /// Sandbox time (scaled seconds since start) of the next try.
    var dueAt: Double
    var status: Status = .scheduled
    var duplicateAfterDelivery: Bool
    var event: MassSendJobFinish?
    var xml: String?
    var url: String?
    var mode: SandboxFixture.Callback.Mode?
    var attempts: [SandboxPushRecord.Attempt] = []

    init(id: Int, msgID: Int64, appID: String, accountName: String, isDuplicate: Bool, dueAt: Double,
         duplicateAfterDelivery: Bool) {
        self.id = id
        self.msgID = msgID
        self.appID = appID
        self.accountName = accountName
        self.isDuplicate = isDuplicate
        self.dueAt = dueAt
        self.duplicateAfterDelivery = duplicateAfterDelivery
    }
}

/// A fault rule and its counters.
struct FaultState {
    var rule: SandboxFault
    var matched = 0
    var fired = 0
    var rng: SplitMix64

    /// Counts a matching call and says whether the rule fires on it.
    mutating func roll() -> Bool {
        let index = matched
        matched += 1
        if let limit = rule.limit, fired >= limit { return false }
        let fires: Bool
        switch rule.trigger {
        case .always: fires = true
        case .rate(let p): fires = rng.nextUnit() < p
        case .schedule(let skip, let count): fires = index >= skip && index - skip < count
        }
        if fires { fired += 1 }
        return fires
    }
}

/// Calendar periods in China Standard Time (UTC+8), when WeChat's quotas renew.
enum QuotaPeriod {
    static let offset: Double = 8 * 3600

    static func day(_ date: Date) -> Int64 {
        Int64(((date.timeIntervalSince1970 + offset) / 86_400).rounded(.down))
    }

    static func month(_ date: Date) -> Int64 {
        let (year, month, _) = civil(fromDays: day(date))
        return year * 12 + month - 1
    }

    static func window(_ date: Date, length: Double) -> Int64 {
        Int64((date.timeIntervalSince1970 / length).rounded(.down))
    }

    /// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
