import Foundation

/// One accepted mass send (`sendall` or `send`), as `GET /sandbox/sends` lists it.
public struct SandboxSendRecord: Sendable, Codable, Hashable {
    /// The job's `msg_id`.
    public var msgID: Int64
    /// The `msg_data_id` (mpnews only).
    public var msgDataID: Int64?
    /// The account's fixture name.
    public var account: String
    /// The account's AppID.
    public var appID: String
    /// `sendall` or `send`.
    public var endpoint: String
    /// The `clientmsgid` the send carried.
    public var clientMsgID: String?
    /// The audience size (TotalCount).
    public var audience: Int
    /// The audience after filtering (FilterCount).
    public var filterCount: Int
    /// The `msgtype`.
    public var msgtype: String
    /// `true` when the request used a legacy shape (``legacyShapes`` says which).
    public var legacy: Bool
    /// The legacy shapes used: `filter.group_id`, `image`.
    public var legacyShapes: [String]
    /// `sendall` only: whether it went to every follower.
    public var isToAll: Bool?
    /// `sendall` only: the tag.
    public var tagID: Int?
    /// The job's status now: `SENDING`, `SEND_SUCCESS`, `SEND_FAIL`, `DELETE`.
    public var status: String
    /// When it was accepted (wall time, Unix seconds).
    public var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case msgID = "msg_id", msgDataID = "msg_data_id", account, appID = "appid", endpoint
        case clientMsgID = "clientmsgid", audience, filterCount = "filter_count", msgtype, legacy
        case legacyShapes = "legacy_shapes", isToAll = "is_to_all", tagID = "tag_id", status
        case createdAt = "created_at"
    }
}

/// A mass-send job and its progress, as `GET /sandbox/jobs` lists it.
public struct SandboxJobInfo: Sendable, Codable, Hashable {
    /// The `msg_id`.
    public var msgID: Int64
    /// The account's fixture name.
    public var account: String
    /// The `msgtype`.
    public var msgtype: String
    /// `SENDING`, `SEND_SUCCESS`, `SEND_FAIL` or `DELETE`.
    public var status: String
    /// `review`, `sending` or `done`.
    public var phase: String
    /// The audience size.
    public var totalCount: Int
    /// The audience after filtering.
    public var filterCount: Int
    /// Messages handed out so far.
    public var delivered: Int
    /// `delivered / filterCount` (1 for an empty audience once done).
    public var progress: Double
    /// Received, once done.
    public var sentCount: Int?
    /// Failed, once done.
    public var errorCount: Int?
    /// The push's `Status` text once done: `send success`, `send fail`, `err(N)`.
    public var outcome: String?

    enum CodingKeys: String, CodingKey {
        case msgID = "msg_id", account, msgtype, status, phase, totalCount = "total_count"
        case filterCount = "filter_count", delivered, progress, sentCount = "sent_count"
        case errorCount = "error_count", outcome
    }
}

/// One MASSSENDJOBFINISH push and its tries, as `GET /sandbox/pushes` lists it.
public struct SandboxPushRecord: Sendable, Codable, Hashable {
    /// One try.
    public struct Attempt: Sendable, Codable, Hashable {
        /// When it was made (wall time, Unix seconds).
        public var at: Double
        /// The `timestamp` query parameter.
        public var timestamp: String
        /// The `nonce` query parameter.
        public var nonce: String
        /// The full URL posted to, query included.
        public var url: String
        /// Whether the callback server answered `success` (or empty) with 2xx in time.
        public var ok: Bool
    }

    /// The push's number (1, 2, …).
    public var id: Int
    /// The job's `msg_id`.
    public var msgID: Int64
    /// The account's fixture name.
    public var account: String
    /// The callback URL (without the signature query).
    public var url: String?
    /// `plain`, `compatible` or `safe`.
    public var mode: String?
    /// `scheduled`, `delivering`, `delivered`, `failed` (every try failed), `dropped` (a
    /// fault), `no_callback` (the account has no callback URL), `no_sender` (the engine has
    /// no push sender).
    public var status: String
    /// `true` for the extra delivery of a `duplicate` fault.
    public var duplicate: Bool
    /// The plain MASSSENDJOBFINISH XML (before encryption), once built.
    public var xml: String?
    /// The tries so far.
    public var attempts: [Attempt]

    enum CodingKeys: String, CodingKey {
        case id, msgID = "msg_id", account, url, mode, status, duplicate, xml, attempts
    }
}

/// An account as `GET /sandbox/accounts` shows it (no secrets).
public struct SandboxAccountInfo: Sendable, Codable, Hashable {
    /// One tag.
    public struct TagInfo: Sendable, Codable, Hashable {
        /// The tag id.
        public var id: Int
        /// Its name.
        public var name: String
        /// How many followers have it.
        public var count: Int
    }

    /// The fixture name.
    public var name: String
    /// The AppID.
    public var appID: String
    /// `service` or `subscription`.
    public var kind: String
    /// Verified or not.
    public var verified: Bool
    /// The original id (`gh_…`).
    public var originalID: String
    /// How many followers.
    public var followers: Int
    /// The tags.
    public var tags: [TagInfo]
    /// The speed level.
    public var speed: Int
    /// The callback URL.
    public var callbackURL: String?
    /// The callback mode.
    public var callbackMode: String?

    enum CodingKeys: String, CodingKey {
        case name, appID = "appid", kind, verified, originalID = "original_id", followers, tags, speed
        case callbackURL = "callback_url", callbackMode = "callback_mode"
    }
}

/// One accepted preview, as `GET /sandbox/previews` lists it.
public struct SandboxPreviewRecord: Sendable, Codable, Hashable {
    /// The preview's `msg_id`.
    public var msgID: Int64
    /// The account's fixture name.
    public var account: String
    /// The OpenID it went to, when `touser` was used.
    public var toUser: String?
    /// The WeChat ID it went to, when `towxname` was used (it wins over `touser`).
    public var toWXName: String?
    /// The `msgtype`.
    public var msgtype: String
    /// When (wall time, Unix seconds).
    public var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case msgID = "msg_id", account, toUser = "touser", toWXName = "towxname", msgtype, createdAt = "created_at"
    }
}
