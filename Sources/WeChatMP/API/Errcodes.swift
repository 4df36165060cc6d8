import Foundation

/// What a caller should do about a WeChat `errcode`.
public enum ErrorClass: String, Sendable, Codable, CaseIterable {
    /// The access token is invalid, not the latest, expired or missing: get a token once
    /// more (from the shared provider) and retry once. Never loop.
    case token
    /// The platform was busy (`-1`, `9500002`): retry later with back-off. A mass send may
    /// only be retried with the same `clientmsgid`, so a send that did go through comes
    /// back as `45065` instead of reaching followers twice.
    case transient
    /// A short quota was hit (`45011` per-minute quota, `45066` same `clientmsgid` too soon):
    /// wait for the next minute, then retry the same request.
    case rateLimit = "rate_limit"
    /// The send already happened (`45065` clientmsgid exist); the response carries the
    /// earlier `msg_id`, which the caller adopts. Not a failure.
    case duplicate
    /// Retrying will not help: the request, the account or its configuration must change.
    /// Unknown codes fall here too.
    case permanent
}

/// One row of the errcode table.
public struct ErrcodeInfo: Sendable, Hashable {
    /// The numeric `errcode`.
    public let code: Int
    /// What to do about it.
    public let errorClass: ErrorClass
    /// The meaning in plain English.
    public let meaning: String
    /// What the user should do, when known.
    public let fix: String?

    /// Creates a row.
    public init(code: Int, errorClass: ErrorClass, meaning: String, fix: String?) {
        self.code = code
        self.errorClass = errorClass
        self.meaning = meaning
        self.fix = fix
    }
}

/// The errcodes of the token, mass-send and media endpoints, with their class and fix.
///
/// `0` is success and is not in the table. Check ``APIStatus/isSuccess`` before classifying:
/// ``classify(_:)`` puts every code it does not know, `0` included, in ``ErrorClass/permanent``.
public enum Errcodes {
    /// The row for `code`, or `nil` for codes the table does not know (and for `0`).
    public static func info(_ code: Int) -> ErrcodeInfo? {
        byCode[code]
    }

    /// The class of `code`; unknown codes are ``ErrorClass/permanent``.
    public static func classify(_ code: Int) -> ErrorClass {
        byCode[code]?.errorClass ?? .permanent
    }

    /// Every row, in ascending code order.
    public static let all: [ErrcodeInfo] = rows
        .map { ErrcodeInfo(code: $0.0, errorClass: $0.1, meaning: $0.2, fix: $0.3) }
        .sorted { $0.code < $1.code }

    private static let byCode: [Int: ErrcodeInfo] =
        Dictionary(all.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })

    private static let refreshToken =
        "Fetch the token again from the shared token provider and retry once; if it keeps "
        + "happening, make sure no other process or machine calls /cgi-bin/token for this "
        + "AppID (use /cgi-bin/stable_token everywhere)."
    private static let whitelistFix =
        "Add this machine's egress IP to the IP whitelist in the Official Account admin "
        + "console (开发 → 基本配置 → IP白名单)."
    private static let verifiedService =
        "Use a verified service account (认证服务号) for this call."

    // (code, class, meaning, fix)
    private static let rows: [(Int, ErrorClass, String, String?)] = [
        // Success is not an error; -1 is.
        (-1, .transient, "system busy", "Retry later with back-off; retry a mass send only with the same clientmsgid."),

        // Token errors: refresh once, retry once.
        (40001, .token, "invalid credential: the access_token is wrong or not the latest one", refreshToken),
        (40014, .token, "invalid access_token", refreshToken),
        (41001, .token, "access_token missing", "Retry once with a fresh token; a repeated 41001 is a client bug (the token was not attached)."),
        (42001, .token, "access_token expired", refreshToken),

        // Credentials and the IP whitelist.
        (40002, .permanent, "invalid grant_type", "Use grant_type=client_credential."),
        (40013, .permanent, "invalid appid", "Check the AppID in the account config (it starts with \"wx\")."),
        (40125, .permanent, "invalid appsecret", "Check the AppSecret in the secret store, or rotate it in the admin console (开发 → 基本配置) and store the new one."),
        (40164, .permanent, "caller IP is not in the IP whitelist", whitelistFix),
        (40243, .permanent, "AppSecret is frozen", "Unfreeze the AppSecret in the admin console, then retry."),
        (41002, .permanent, "appid missing", "Set the AppID in the account config."),
        (41004, .permanent, "appsecret missing", "Put the AppSecret in the secret store."),
        (61004, .permanent, "caller IP is not in the IP whitelist", whitelistFix),
        (89501, .permanent, "this IP is waiting for the administrator's confirmation", "Ask the account administrator to confirm this IP, or add it to the IP whitelist."),
        (89503, .permanent, "calls from this IP need the administrator's confirmation", "Ask the account administrator to confirm this IP, or add it to the IP whitelist."),
        (89506, .permanent, "the administrator refused this IP twice in 24 hours; it is blocked for 24 hours", "Wait 24 hours or call from a whitelisted IP."),
        (89507, .permanent, "the administrator refused this IP in the last hour; it is blocked for 1 hour", "Wait an hour or call from a whitelisted IP."),

        // Quotas.
        (45009, .permanent, "daily API quota reached", "Wait until tomorrow, or reset the quota in the admin console (each reset is limited)."),
        (45011, .rateLimit, "per-minute API quota reached", "Retry in the next minute."),
        (45028, .permanent, "no mass-send quota left", "Wait for the quota to renew (subscription accounts: 1 a day; service accounts: 4 a month)."),

        // Permissions.
        (48001, .permanent, "api unauthorized: the account has no permission for this API", "mass/send (to OpenIDs) needs a verified service account; subscription accounts can only use sendall to a tag or to all."),
        (48003, .permanent, "the user has not agreed to the mass-send protocol", "Agree to the mass-send protocol in the admin console (群发功能) first."),
        (48004, .permanent, "API call banned (the API was blocked after a violation)", "See the notice in the admin console."),
        (48008, .permanent, "no permission for this msgtype", "This message type is not allowed for the account (e.g. mpnews on an unverified account); verify the account or send another type."),
        (50001, .permanent, "the API is not authorized for this user", verifiedService),
        (50002, .permanent, "user limited: the API may be blocked after a violation", "See the notice in the admin console."),

        // Mass-send payloads and audiences.
        (40003, .permanent, "invalid openid", "Remove the malformed OpenID (OpenIDs belong to one AppID; check it is this account's)."),
        (40007, .permanent, "invalid media_id", "Upload the material again; temporary media expire after 3 days and mpnews/mpvideo need the ids from uploadnews/uploadvideo."),
        (40008, .permanent, "invalid message type", "Use a documented msgtype: text, mpnews, voice, mpvideo, image, wxcard."),
        (40035, .permanent, "invalid parameter", "Check the request body against the documented fields."),
        (40130, .permanent, "invalid openid list size: mass/send takes 2 to 10,000 OpenIDs", "Send 2 to 10,000 OpenIDs per call; split larger lists, and use preview for a single person."),
        (40152, .permanent, "invalid group id (the tag does not exist)", "Check the tag_id against the account's user tags."),
        (45002, .permanent, "content size out of limit", "Shorten the message."),
        (45052, .permanent, "masssend msg use invalid type", "Use a message type that mass sends accept."),
        (9500002, .transient, "mass-send task too much, system busy", "Retry later with back-off, with the same clientmsgid."),

        // clientmsgid.
        (45065, .duplicate, "clientmsgid exist: a send with this clientmsgid already happened in the last 24 hours", "Nothing to resend: adopt the msg_id carried in the response (the earlier send's)."),
        (45066, .rateLimit, "the same clientmsgid was retried too fast", "Wait a minute, then retry with the same clientmsgid."),
        (45067, .permanent, "clientmsgid too long (at most 64 bytes)", "Use a clientmsgid of at most 64 bytes."),

        // delete, get, speed.
        (40059, .permanent, "invalid msg id", "Check the msg_id; only mpnews and mpvideo sends made through the API and already sent can be deleted."),
        (40060, .permanent, "invalid article idx", "article_idx is 1-based; 0 or absent deletes the whole message."),
        (45083, .permanent, "speed out of range (0..4)", "Use a speed level from 0 (fastest, 800,000/min) to 4 (100,000/min)."),

        // Tags.
        (45159, .permanent, "invalid tag id (the tag does not exist)", "Check the tag id against the account's tags (tags/get lists them)."),

        // Media upload.
        (40004, .permanent, "invalid media type", "Use type image, voice, video or thumb."),
        (40005, .permanent, "invalid file type", "Check the file's format against the media type's allowed extensions."),
        (40006, .permanent, "invalid file size", "Check the file size against the media type's limit."),
        (40009, .permanent, "invalid image size", "Images: at most 10 MB (article images: 1 MB)."),
        (40010, .permanent, "invalid voice size", "Voice: at most 2 MB and 60 s."),
        (40011, .permanent, "invalid video size", "Video: at most 10 MB."),
        (40012, .permanent, "invalid thumb size", "Thumbs: at most 64 KB, jpg."),
        (41005, .permanent, "media data missing", "Send the file in the multipart field \"media\"."),
        (45001, .permanent, "media file size out of limit", "Check the file size against the media type's limit."),
        (45003, .permanent, "title size out of limit", "Shorten the title."),
        (45004, .permanent, "description size out of limit", "Shorten the description or digest."),
        (45007, .permanent, "voice playtime out of limit (60 s)", "Cut the voice file to at most 60 seconds."),
        (45008, .permanent, "article count out of limit (1 to 8 articles)", "Put 1 to 8 articles in uploadnews."),

        // Request shape.
        (43002, .permanent, "the API requires POST", nil),
        (44002, .permanent, "empty POST body", nil),
        (47001, .permanent, "data format error: the body is not valid JSON/XML for this API", nil),
    ]
}
