import Foundation
import PipelineCore
import RunState
import WeChatMP

/// How fast masscast may call an account, and the windows WeChat applies to it.
public struct Pacing: Sendable, Hashable {
    /// `message/mass/*` calls in any 60 seconds (WeChat answers 45011 past 60 a minute).
    public var massCallsPerMinute: Int = 60
    /// Accepted mass sends per day (WeChat: 100 for a service account).
    public var sendsPerDay: Int = 100
    /// After a send, the same clientmsgid is refused with 45066 for this long.
    public var clientMsgIDRetryWindow: Duration = .seconds(60)
    /// The offset of the account's calendar day (WeChat counts days in UTC+8).
    public var dayOffsetSeconds: Int = 8 * 3600

    public init() {}

    public init(massCallsPerMinute: Int, sendsPerDay: Int, clientMsgIDRetryWindow: Duration) {
        self.massCallsPerMinute = massCallsPerMinute
        self.sendsPerDay = sendsPerDay
        self.clientMsgIDRetryWindow = clientMsgIDRetryWindow
    }

    /// The start of the calendar day (in the account's time zone) that contains `date`.
    public func startOfDay(containing date: Date) -> Date {
        let local = date.timeIntervalSince1970 + Double(dayOffsetSeconds)
        let start = (local / 86_400).rounded(.down) * 86_400
        return Date(timeIntervalSince1970: start - Double(dayOffsetSeconds))
    }
}

/// The account a run talks to, resolved from the pipeline, masscast.yaml or the sandbox.
public struct AccountSettings: Sendable, CustomStringConvertible {
    /// The name the pipeline uses (`brand-main`), or `inline`.
    public var name: String
    public var appID: String
    /// The app secret; printed nowhere.
    public var secret: Secret
    public var apiBase: String
    /// The API identity the state store keys this account's journal, quota counts and
    /// broadcasts by (`APIIdentity`): `apiBase` for a real account, `sandbox:<fixture digest>`
    /// for a rehearsal.
    public var api: String
    /// The identity of the server instance calls go to, which keys pushes and tokens: `api`
    /// for a real account, `sandbox:<fixture digest>/<instance>` for a rehearsal (every
    /// sandbox numbers msg_ids from 1000000001, so two instances must never share pushes).
    public var endpoint: String
    public var kind: AccountKind
    /// `gh_…`: routes MASSSENDJOBFINISH pushes to this account.
    public var originalID: String?
    public var tokenMode: TokenMode
    public var pacing: Pacing

    public init(
        name: String, appID: String, secret: String, apiBase: String = "https://api.weixin.qq.com",
        kind: AccountKind = .service, originalID: String? = nil, tokenMode: TokenMode = .stable,
        pacing: Pacing = Pacing()
    ) {
        self.name = name
        self.appID = appID
        self.secret = Secret(secret)
        self.apiBase = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        self.api = self.apiBase
        self.endpoint = self.apiBase
        self.kind = kind
        self.originalID = originalID
        self.tokenMode = tokenMode
        self.pacing = pacing
    }

    /// Marks the account as a rehearsal's: its API identity is the fixture's digest and its
    /// endpoint the running sandbox instance.
    public mutating func rehearse(fixtureDigest: String, instance: String) {
        api = APIIdentity.sandbox(fixtureDigest: fixtureDigest)
        endpoint = APIIdentity.sandboxInstance(fixtureDigest: fixtureDigest, instance: instance)
    }

    public var description: String { "account \(name) (\(appID) at \(apiBase), secret [redacted])" }
}
