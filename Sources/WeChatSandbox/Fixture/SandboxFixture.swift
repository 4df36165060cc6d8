import Foundation
import PipelineCore

/// Everything a ``SandboxEngine`` starts from: accounts with their followers, tags and
/// media, the windows and quotas WeChat enforces, the time scale, and the faults to inject.
///
/// Read one from YAML with ``load(yaml:file:)`` (see `docs` in the module for the format),
/// or start from ``default``. Values are concrete: followers and tag members are generated
/// when the fixture is loaded, deterministically from their seeds.
public struct SandboxFixture: Sendable {
    /// Seed of the identifiers the engine generates (tokens, media ids, nonces, error rates).
    public var seed: UInt64
    /// How much faster than wall time jobs progress and pushes are timed (`1` = real time).
    /// Tokens, quotas, the clientmsgid windows and push timestamps always follow wall time.
    public var timeScale: Double
    /// `false` turns every quota off (`limits: off`): per-minute, daily and monthly limits,
    /// the per-follower monthly cap and the force-refresh spacing.
    public var limitsEnabled: Bool
    /// The wall-time windows (token lifetime and overlap, clientmsgid memory, media lifetime).
    public var windows: Windows
    /// The quotas (each `nil` = unlimited).
    public var quotas: Quotas
    /// Job progress, push timing and delivery settings.
    public var jobs: JobSettings
    /// Payload limits WeChat enforces that the reference leaves to the sandbox.
    public var payload: PayloadLimits
    /// `true` deduplicates sends without a `clientmsgid` by a digest of audience and content
    /// (reported WeChat behaviour, not confirmed by its docs); `false` (the default) does not.
    public var dedupeKeyless: Bool
    /// The accounts, in fixture order.
    public var accounts: [Account]
    /// Faults injected from the start.
    public var faults: [SandboxFault]
    /// Seed of the fault dice (rates), so a run with the same calls injects the same faults.
    public var faultSeed: UInt64

    /// Creates a fixture; every setting but the accounts has WeChat's documented default.
    public init(
        accounts: [Account], seed: UInt64 = 1, timeScale: Double = 1, limitsEnabled: Bool = true,
        windows: Windows = Windows(), quotas: Quotas = Quotas(), jobs: JobSettings = JobSettings(),
        payload: PayloadLimits = PayloadLimits(), dedupeKeyless: Bool = false,
        faults: [SandboxFault] = [], faultSeed: UInt64 = 1
    ) {
        self.accounts = accounts
        self.seed = seed
        self.timeScale = timeScale
        self.limitsEnabled = limitsEnabled
        self.windows = windows
        self.quotas = quotas
        self.jobs = jobs
        self.payload = payload
        self.dedupeKeyless = dedupeKeyless
        self.faults = faults
        self.faultSeed = faultSeed
    }

    /// The pacing a runner keeps to against this sandbox: its per-minute and daily quotas
    /// (WeChat's defaults where the fixture sets none), no limits when `limits: off`, and its
    /// clientmsgid retry window.
    public var pacing: Pacing {
        var pacing = limitsEnabled ? Pacing() : .unlimited
        if limitsEnabled, let m = quotas.massCallsPerMinute { pacing.massCallsPerMinute = m }
        if limitsEnabled, let s = quotas.sendsPerDay { pacing.sendsPerDay = s }
        pacing.clientMsgIDRetryWindow = windows.clientMsgIDRetryWindow
        return pacing
    }

    /// The wall-time windows. Configurable so that tests against a real clock stay fast.
    public struct Windows: Sendable, Hashable {
        /// Lifetime of an access token (`token_ttl`, 2 h).
        public var tokenTTL: Duration
        /// How long a token stays valid after `/cgi-bin/token` issued a newer one, and how early
        /// `stable_token` rotates (`token_overlap`, 5 min).
        public var tokenOverlap: Duration
        /// How long a `clientmsgid` is remembered (`clientmsgid_window`, 24 h): a repeat is 45065.
        public var clientMsgIDWindow: Duration
        /// A repeat sooner than this after the send is 45066 (`clientmsgid_retry_window`, 1 min).
        public var clientMsgIDRetryWindow: Duration
        /// Lifetime of uploaded temporary media (`media_ttl`, 3 days).
        public var mediaTTL: Duration
        /// The window of the per-minute call quota (`rate_window`, 1 min).
        public var rateWindow: Duration

        /// Creates windows; the defaults are WeChat's.
        public init(
            tokenTTL: Duration = .seconds(7200), tokenOverlap: Duration = .seconds(300),
            clientMsgIDWindow: Duration = .seconds(86_400), clientMsgIDRetryWindow: Duration = .seconds(60),
            mediaTTL: Duration = .seconds(3 * 86_400), rateWindow: Duration = .seconds(60)
        ) {
            self.tokenTTL = tokenTTL
            self.tokenOverlap = tokenOverlap
            self.clientMsgIDWindow = clientMsgIDWindow
            self.clientMsgIDRetryWindow = clientMsgIDRetryWindow
            self.mediaTTL = mediaTTL
            self.rateWindow = rateWindow
        }
    }

    /// Quotas; `nil` means unlimited. Days and months are calendar days and months in
    /// China Standard Time (UTC+8), when WeChat's quotas renew.
    public struct Quotas: Sendable, Hashable {
        /// Calls to `message/mass/*` per account per ``Windows/rateWindow`` (60; 45011).
        public var massCallsPerMinute: Int?
        /// Accepted `sendall` + `send` per account per day (100; 45009, the API's daily limit).
        public var sendsPerDay: Int?
        /// Accepted `sendall` per subscription account per day (1; 45028).
        public var subscriptionSendAllPerDay: Int?
        /// Accepted `is_to_all` sends per service account per month (4; 45028).
        public var toAllPerMonth: Int?
        /// Mass messages one follower of a service account receives per month (4); followers
        /// over it are filtered out of later jobs (a lower FilterCount), not refused.
        public var followerMessagesPerMonth: Int?
        /// `media/uploadnews` calls per account per day (10; 45009).
        public var uploadNewsPerDay: Int?
        /// `message/mass/delete` calls per account per day (10; 45009).
        public var deletesPerDay: Int?
        /// Previews per account per day (100; 45009).
        public var previewsPerDay: Int?
        /// `/cgi-bin/token` calls per account per day (2000; 45009).
        public var tokenCallsPerDay: Int?
        /// `stable_token` calls with `force_refresh` per account per day (20; 45009).
        public var forceRefreshPerDay: Int?
        /// Least time between two forced refreshes (30 s; 45009).
        public var forceRefreshSpacing: Duration?

        /// Creates quotas; the defaults are WeChat's.
        public init(
            massCallsPerMinute: Int? = 60, sendsPerDay: Int? = 100, subscriptionSendAllPerDay: Int? = 1,
            toAllPerMonth: Int? = 4, followerMessagesPerMonth: Int? = 4, uploadNewsPerDay: Int? = 10,
            deletesPerDay: Int? = 10, previewsPerDay: Int? = 100, tokenCallsPerDay: Int? = 2000,
            forceRefreshPerDay: Int? = 20, forceRefreshSpacing: Duration? = .seconds(30)
        ) {
            self.massCallsPerMinute = massCallsPerMinute
            self.sendsPerDay = sendsPerDay
            self.subscriptionSendAllPerDay = subscriptionSendAllPerDay
            self.toAllPerMonth = toAllPerMonth
            self.followerMessagesPerMonth = followerMessagesPerMonth
            self.uploadNewsPerDay = uploadNewsPerDay
            self.deletesPerDay = deletesPerDay
            self.previewsPerDay = previewsPerDay
            self.tokenCallsPerDay = tokenCallsPerDay
            self.forceRefreshPerDay = forceRefreshPerDay
            self.forceRefreshSpacing = forceRefreshSpacing
        }
    }

    /// How jobs run and how their MASSSENDJOBFINISH is pushed. Durations here are sandbox
    /// time (divided by ``SandboxFixture/timeScale`` on the wall clock), except ``pushTimeout``.
    public struct JobSettings: Sendable, Hashable {
        /// Time a job spends in review before its first message goes out (`review`, 10 s).
        public var review: Duration
        /// Time from the job's end to its push (`push_delay`, 0 s).
        public var pushDelay: Duration
        /// How long the push waits for the callback server's answer, on the wall clock
        /// (`push_timeout`, 5 s, as WeChat).
        public var pushTimeout: Duration
        /// Tries per push, the first included (`push_tries`, 3, as WeChat).
        public var pushTries: Int
        /// Time between two tries of a push (`push_retry_interval`, 5 s).
        public var pushRetryInterval: Duration
        /// Fraction of a job's filtered audience that fails to receive it (`error_rate`, 0):
        /// the push's ErrorCount.
        public var errorRate: Double

        /// Creates settings with the defaults above.
        public init(
            review: Duration = .seconds(10), pushDelay: Duration = .zero, pushTimeout: Duration = .seconds(5),
            pushTries: Int = 3, pushRetryInterval: Duration = .seconds(5), errorRate: Double = 0
        ) {
            self.review = review
            self.pushDelay = pushDelay
            self.pushTimeout = pushTimeout
            self.pushTries = pushTries
            self.pushRetryInterval = pushRetryInterval
            self.errorRate = errorRate
        }
    }

    /// Content limits the reference leaves open; the sandbox's choices.
    public struct PayloadLimits: Sendable, Hashable {
        /// Longest text message content in UTF-8 bytes (`text_max_bytes`, 2048; 45002).
        public var textMaxBytes: Int
        /// Longest article title in characters (`title_max_chars`, 64; 45003).
        public var titleMaxChars: Int
        /// Longest article digest in characters (`digest_max_chars`, 120; 45004).
        public var digestMaxChars: Int
        /// Longest article content in characters (`content_max_chars`, 20,000; 45002).
        public var contentMaxChars: Int

        /// Creates limits with the defaults above.
        public init(textMaxBytes: Int = 2048, titleMaxChars: Int = 64, digestMaxChars: Int = 120,
                    contentMaxChars: Int = 20_000) {
            self.textMaxBytes = textMaxBytes
            self.titleMaxChars = titleMaxChars
            self.digestMaxChars = digestMaxChars
            self.contentMaxChars = contentMaxChars
        }
    }

    /// An Official Account of the sandbox: the ``PipelineCore/Account`` (name, AppID, kind,
    /// original id) and what the emulator needs besides: its secret, followers, tags, media and
    /// callback. The account's fields read through it (`fixtureAccount.kind`).
    ///
    /// `description`, `debugDescription` and the reflection mirror never show the secret or
    /// the callback's token and key.
    @dynamicMemberLookup
    public struct Account: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// The account: the fixture's name for it (e.g. `brand-main`), AppID, kind, original id.
        public var account: PipelineCore.Account
        /// The AppSecret.
        public var secret: String
        /// Verified (认证) or not: unverified accounts get 48008 for mpnews, 48001 for `mass/send`.
        public var verified: Bool
        /// The first 6 characters every OpenID of this account shares (e.g. `o4WmZ0`).
        public var openIDPrefix: String
        /// The starting speed level (0...4).
        public var speed: Int
        /// Where MASSSENDJOBFINISH is pushed; `nil`: no pushes.
        public var callback: Callback?
        /// The followers' OpenIDs (generated and listed), in a stable order.
        public var followers: [String]
        /// The user tags.
        public var tags: [Tag]
        /// Media that exist from the start.
        public var media: [Media]

        /// Creates an account; the original id and the OpenID prefix default to ones derived
        /// from the AppID.
        public init(
            name: String, appID: String, secret: String, kind: AccountKind = .service, verified: Bool = true,
            originalID: String? = nil, openIDPrefix: String? = nil, speed: Int = 0,
            callback: Callback? = nil, followers: [String] = [], tags: [Tag] = [], media: [Media] = []
        ) {
            self.account = PipelineCore.Account(
                name: name, appID: appID, kind: kind,
                originalID: originalID ?? FollowerGenerator.originalID(for: appID))
            self.secret = secret
            self.verified = verified
            self.openIDPrefix = openIDPrefix ?? FollowerGenerator.openIDPrefix(for: appID)
            self.speed = speed
            self.callback = callback
            self.followers = followers
            self.tags = tags
            self.media = media
        }

        /// The original id (`gh_…`), the push's `ToUserName` (always set in a fixture).
        public var originalID: String {
            get { account.originalID ?? "" }
            set { account.originalID = newValue }
        }

        /// A field of the account (`name`, `appID`, `kind`).
        public subscript<T>(dynamicMember field: WritableKeyPath<PipelineCore.Account, T>) -> T {
            get { account[keyPath: field] }
            set { account[keyPath: field] = newValue }
        }

        /// A summary without secrets.
        public var description: String {
            "SandboxFixture.Account(name: \(account.name), appID: \(account.appID), kind: \(account.kind.rawValue), secret: [redacted])"
        }

        /// The same summary as ``description``.
        public var debugDescription: String { description }

        /// A mirror without secrets, so `dump` shows no secret, token or key.
        public var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "account": account, "verified": verified, "followers": followers.count, "tags": tags.count,
                    "media": media.count,
                ],
                displayStyle: .struct)
        }
    }

    /// The account's callback (server URL) settings.
    public struct Callback: Sendable, Hashable {
        /// How pushes are sent: WeChat's 明文 / 兼容 / 安全 modes.
        public enum Mode: String, Sendable, Hashable, Codable {
            /// Plain XML, `signature` over token, timestamp and nonce.
            case plain
            /// Plain XML with an `Encrypt` element; both signatures.
            case compatible
            /// Only `ToUserName` and `Encrypt`; `encrypt_type=aes` and `msg_signature`.
            case safe
        }

        /// The server URL pushes are POSTed to.
        public var url: String
        /// The callback token the signatures are made with.
        public var token: String
        /// The EncodingAESKey (43 characters); required for compatible and safe mode.
        public var encodingAESKey: String?
        /// The mode.
        public var mode: Mode

        /// Creates callback settings.
        public init(url: String, token: String, encodingAESKey: String? = nil, mode: Mode = .plain) {
            self.url = url
            self.token = token
            self.encodingAESKey = encodingAESKey
            self.mode = mode
        }
    }

    /// A user tag.
    public struct Tag: Sendable, Hashable {
        /// The tag id (`tag_id`).
        public var id: Int
        /// Its name.
        public var name: String
        /// The OpenIDs with the tag (all followers).
        public var members: [String]

        /// Creates a tag.
        public init(id: Int, name: String, members: [String]) {
            self.id = id
            self.name = name
            self.members = members
        }
    }

    /// A medium that exists when the sandbox starts.
    public struct Media: Sendable, Hashable {
        /// The media id.
        public var mediaID: String
        /// What it is usable as.
        public var type: SandboxMediaKind
        /// For `news`: how many articles (1...8).
        public var articles: Int
        /// How long before the sandbox's start it was uploaded (an age over the media
        /// lifetime makes it expired).
        public var age: Duration

        /// Creates a medium.
        public init(mediaID: String, type: SandboxMediaKind, articles: Int = 1, age: Duration = .zero) {
            self.mediaID = mediaID
            self.type = type
            self.articles = articles
            self.age = age
        }
    }
}

/// What a media id stands for, and so which payloads may use it.
public enum SandboxMediaKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// `media/upload?type=image`: `images` (and `image` in preview).
    case image
    /// `media/upload?type=voice`: `voice`.
    case voice
    /// `media/upload?type=video`: only an input of `media/uploadvideo`.
    case video
    /// `media/upload?type=thumb`: article covers.
    case thumb
    /// `media/uploadnews`: `mpnews`.
    case news
    /// `media/uploadvideo`: `mpvideo`.
    case mpvideo
}

/// Why a fixture (or a set of fault rules) could not be loaded: what kind of problem
/// (``code``), every problem found, each a ``Diagnostic`` (a code, a message, its place) as
/// a pipeline's problems are, and the file system's error when the file could not be read.
///
/// New codes may be added in later versions; compare against the static members of
/// ``SandboxFixtureError/Code`` rather than switching exhaustively.
public struct SandboxFixtureError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case unreadable, syntax, invalid
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file could not be read (``SandboxFixtureError/cause`` says why).
        public static let unreadable = Code(.unreadable)
        /// The text is not YAML that masscast reads (`MC1xxx`: syntax, duplicate keys,
        /// anchors, tags, size).
        public static let syntax = Code(.syntax)
        /// The YAML breaks the fixture's format: unknown or missing keys, wrong types, values
        /// out of range, duplicate AppIDs or tag ids, a bad EncodingAESKey, a fault whose
        /// action does not fit its target, or nothing given at all.
        public static let invalid = Code(.invalid)

        /// The code's name, e.g. `invalid`.
        public var description: String { wrapped.rawValue }
    }

    /// One problem, as place and message (a view of a diagnostic).
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// Where (`file:line:column`), when the problem has a place.
        public var location: SourceLocation?
        /// What is wrong.
        public var message: String

        /// Creates an issue.
        public init(location: SourceLocation?, message: String) {
            self.location = location
            self.message = message
        }

        /// `file:line:column: error: message`.
        public var description: String {
            if let location { return "\(location): error: \(message)" }
            return "error: \(message)"
        }
    }

    /// What kind of problem it is.
    public var code: Code
    /// Every problem, in source order: YAML syntax as `YAMLReader` reports it (`MC1xxx`),
    /// the fixture's own checks with the codes of `docs/diagnostics.md` (`MC2xxx`).
    public var diagnostics: [Diagnostic]
    /// The file system's error, when the file could not be read.
    public var cause: (any Error)?

    /// The first problem's message (the whole list is ``description``).
    public var message: String { issues.first?.message ?? "the fixture could not be read" }
    /// Where the first problem is, when it has a place.
    public var location: SourceLocation? { diagnostics.first?.location }

    /// Every problem as place and message (with the diagnostic's hint after a semicolon).
    public var issues: [Issue] {
        diagnostics.map { d in Issue(location: d.location, message: d.hint.map { "\(d.message); \($0)" } ?? d.message) }
    }

    /// Creates an error from its code and diagnostics.
    public init(_ code: Code, diagnostics: [Diagnostic], cause: (any Error)? = nil) {
        self.code = code
        self.diagnostics = diagnostics
        self.cause = cause
    }

    /// One issue a line.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
