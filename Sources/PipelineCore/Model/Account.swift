import Foundation

/// Service accounts (服务号) or subscription accounts (订阅号).
public enum AccountKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 服务号: `mass/send` when verified; `is_to_all` 4 a month.
    case service
    /// 订阅号: one `sendall` a day, no `mass/send` (48001).
    case subscription
}

/// How an account's access token is fetched.
public enum TokenMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// `POST /cgi-bin/stable_token`: the same token while it is valid (the default).
    case stable
    /// `GET /cgi-bin/token`: every call issues a new token (the old one lasts ~5 more minutes).
    case classic
}

/// How fast masscast may call an account, and the windows WeChat applies to it. The
/// defaults are WeChat's.
public struct Pacing: Sendable, Hashable {
    /// `message/mass/*` calls in any 60 seconds (WeChat answers 45011 past 60 a minute).
    public var massCallsPerMinute: Int
    /// Accepted mass sends per day (45009 past it; WeChat: 100 for a service account).
    public var sendsPerDay: Int
    /// After a send, the same clientmsgid is refused with 45066 for this long.
    public var clientMsgIDRetryWindow: Duration
    /// The offset of the account's calendar day (WeChat counts days in UTC+8).
    public var dayOffsetSeconds: Int

    /// Pacing with the given limits; every one defaults to WeChat's.
    public init(
        massCallsPerMinute: Int = 60, sendsPerDay: Int = 100, clientMsgIDRetryWindow: Duration = .seconds(60),
        dayOffsetSeconds: Int = 8 * 3600
    ) {
        self.massCallsPerMinute = massCallsPerMinute
        self.sendsPerDay = sendsPerDay
        self.clientMsgIDRetryWindow = clientMsgIDRetryWindow
        self.dayOffsetSeconds = dayOffsetSeconds
    }

    /// Limits that never hold a run back (a sandbox whose fixture turns limits off).
    public static let unlimited = Pacing(massCallsPerMinute: 1_000_000, sendsPerDay: 1_000_000)

    /// The start of the calendar day (in the account's time zone) that contains `date`.
    public func startOfDay(containing date: Date) -> Date {
        let local = date.timeIntervalSince1970 + Double(dayOffsetSeconds)
        let start = (local / 86_400).rounded(.down) * 86_400
        return Date(timeIntervalSince1970: start - Double(dayOffsetSeconds))
    }
}

/// An Official Account: who it is and how it is called. The one model of an account, read
/// from `masscast.yaml` (``ConfigAccount``), a pipeline's inline mapping (``InlineAccount``),
/// a sandbox fixture, and used by the runner and the listener, each of which composes what
/// it needs besides (a secret's expression or value, an endpoint, callback keys) around it.
///
/// It holds no secret, so its `description` is safe to log.
public struct Account: Sendable, Hashable, CustomStringConvertible {
    /// The name pipelines use (`brand-main`); `inline` for a pipeline's inline account.
    public var name: String
    /// The AppID (`wx` and 16 hexadecimal digits). In an ``InlineAccount`` it is the text as
    /// written, which may be an expression resolved when a run starts.
    public var appID: String
    /// Service or subscription.
    public var kind: AccountKind
    /// The API base URL, without a trailing `/` (default ``defaultAPIBase``).
    public var apiBase: String
    /// The original id `gh_…`, which routes MASSSENDJOBFINISH pushes to the account.
    public var originalID: String?
    /// How the access token is fetched.
    public var tokenMode: TokenMode
    /// The limits masscast keeps to for this account.
    public var pacing: Pacing

    /// WeChat's API base URL, used when an account names none.
    public static let defaultAPIBase = "https://api.weixin.qq.com"

    /// Creates an account; a trailing `/` of `apiBase` is dropped.
    public init(
        name: String, appID: String, kind: AccountKind = .service, apiBase: String = Account.defaultAPIBase,
        originalID: String? = nil, tokenMode: TokenMode = .stable, pacing: Pacing = Pacing()
    ) {
        self.name = name
        self.appID = appID
        self.kind = kind
        self.apiBase = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        self.originalID = originalID
        self.tokenMode = tokenMode
        self.pacing = pacing
    }

    /// `account brand-main (wx… at https://api.weixin.qq.com)`.
    public var description: String { "account \(name) (\(appID) at \(apiBase))" }
}
