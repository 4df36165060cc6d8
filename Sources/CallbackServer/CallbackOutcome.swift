import Foundation
import RunState

/// Why the listener refused a request. Each reason has one HTTP status (``status``):
///
/// | reason | status | when |
/// |---|---|---|
/// | `bad_request` | 400 | a required query parameter (`timestamp`, `nonce`, `echostr`) is missing or malformed, `encrypt_type` is not `aes`/`raw`, an encrypted body has no `Encrypt`, a push lacks `ToUserName`, `MsgType` or a MASSSENDJOBFINISH field |
/// | `malformed_xml` | 400 | the body (or the decrypted message) is not well-formed XML, or has a DTD, an entity declaration or an unknown entity (the strict reader refuses them), or breaks the depth limit |
/// | `too_large` | 413 | the body is larger than the limit |
/// | `method_not_allowed` | 405 | a method other than GET and POST |
/// | `bad_signature` | 403 | `signature` (plain) or `msg_signature` (encrypted) missing or wrong; a plain push to an account that has an EncodingAESKey |
/// | `stale_timestamp` | 403 | `timestamp` further than the window from the listener's clock, in either direction |
/// | `replay` | 403 | this account already accepted a push with the same (`timestamp`, `nonce`) inside the window |
/// | `appid_mismatch` | 403 | the decrypted message ends with another AppID |
/// | `decrypt_failed` | 403 | the `Encrypt` text does not decrypt with the current or the previous EncodingAESKey, or the account has none |
/// | `unknown_account` | 403 | the path names no configured account, or `ToUserName` is no configured original id, or the message is addressed to another account than the one it was routed to |
///
/// Authentication failures are all 403 so that a prober learns nothing more from the status;
/// the reason is in the body, the log and the metrics.
public enum RejectionReason: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// `signature`/`msg_signature` missing or wrong (403).
    case badSignature = "bad_signature"
    /// `timestamp` outside the window (403).
    case staleTimestamp = "stale_timestamp"
    /// (timestamp, nonce) already accepted for the account (403).
    case replay
    /// The body is over the limit (413).
    case tooLarge = "too_large"
    /// Not acceptable XML: malformed, a DTD, an entity, too deep (400).
    case malformedXML = "malformed_xml"
    /// The decrypted message ends with another AppID (403).
    case appIDMismatch = "appid_mismatch"
    /// No such account, or the message is addressed to another one (403).
    case unknownAccount = "unknown_account"
    /// Neither EncodingAESKey decrypts the message (403).
    case decryptFailed = "decrypt_failed"
    /// A parameter or element missing or malformed (400).
    case badRequest = "bad_request"
    /// Not GET or POST (405).
    case methodNotAllowed = "method_not_allowed"

    /// The HTTP status the listener answers with.
    public var status: Int {
        switch self {
        case .badRequest, .malformedXML: return 400
        case .tooLarge: return 413
        case .methodNotAllowed: return 405
        case .badSignature, .staleTimestamp, .replay, .appIDMismatch, .decryptFailed, .unknownAccount: return 403
        }
    }

    /// The raw value, e.g. `bad_signature`.
    public var description: String { rawValue }
}

/// What became of one request to the callback path.
public enum CallbackOutcome: Sendable, Hashable {
    /// A GET URL verification whose signature checked out: `echostr` was echoed.
    case verified
    /// A MASSSENDJOBFINISH push stored in the inbox for the first time.
    case stored(InboxEvent)
    /// A MASSSENDJOBFINISH push whose (original id, MsgID) was already in the inbox (a retry):
    /// answered `success` again, nothing changed.
    case duplicate(InboxEvent)
    /// An authentic event of another type (`MsgType`/`Event`): acknowledged with `success`,
    /// logged, not stored.
    case acknowledged(eventType: String)
    /// Refused; nothing was stored.
    case rejected(RejectionReason)
    /// Authentic, but the state store did not take it in time: answered 503 so that WeChat
    /// retries.
    case storeFailed

    /// The rejection reason, when refused.
    public var rejection: RejectionReason? {
        if case .rejected(let reason) = self { return reason }
        return nil
    }
}

/// The listener's answer to one request: what to send back and what happened.
public struct CallbackResponse: Sendable, Hashable {
    /// The HTTP status.
    public var status: Int
    /// The `Content-Type` of ``body``.
    public var contentType: String
    /// The body: `success`, the `echostr`, or the rejection reason.
    public var body: String
    /// What happened.
    public var outcome: CallbackOutcome
    /// The account the request was routed to, when known.
    public var account: String?
    /// Why, in a sentence for the log (never a secret, a signature or a body).
    public var detail: String

    /// Creates a response.
    public init(
        status: Int, contentType: String = "text/plain; charset=utf-8", body: String, outcome: CallbackOutcome,
        account: String? = nil, detail: String = ""
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.outcome = outcome
        self.account = account
        self.detail = detail
    }
}
