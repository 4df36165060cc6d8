import Foundation

/// A failed WeChat call: what happened, its class (which decides retries), whether the
/// request may have been received, and a message that says what to do. Never holds a secret:
/// the description is scrubbed and no field carries the token, the secret or a key.
public struct WeChatError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// WeChat answered with a non-zero errcode.
        case api(errcode: Int, errmsg: String)
        /// An HTTP status other than 200.
        case http(status: Int)
        /// No HTTP answer (connect failure, timeout, reset, too large).
        case transport(TransportFailure)
        /// An answer that could not be read.
        case invalidResponse(String)
        /// A token was rejected again after a refresh, and `force_refresh` may not be used now.
        case tokenRefreshLimited(String)
        /// Something to fix before calling (a file too large, a bad argument).
        case invalidRequest(String)
    }

    public var kind: Kind
    /// The endpoint, e.g. `message/mass/sendall` (never the URL with its token).
    public var endpoint: String
    public var errorClass: ErrorClass
    public var delivery: Delivery
    /// For 45065 (clientmsgid already used): the msg_id of the earlier send.
    public var earlierMsgID: Int64?

    public init(kind: Kind, endpoint: String, errorClass: ErrorClass, delivery: Delivery, earlierMsgID: Int64? = nil) {
        self.kind = kind
        self.endpoint = endpoint
        self.errorClass = errorClass
        self.delivery = delivery
        self.earlierMsgID = earlierMsgID
    }

    /// The WeChat errcode, when WeChat answered with one.
    public var errcode: Int? {
        if case .api(let code, _) = kind { return code }
        return nil
    }

    public var description: String {
        let text: String
        switch kind {
        case .api(let code, let errmsg):
            let info = Errcodes.info(code)
            var s = "\(endpoint): errcode \(code)"
            if let meaning = info?.meaning { s += " (\(meaning))" }
            s += "; WeChat said: \(errmsg)"
            if let fix = info?.fix { s += ". Fix: \(fix)" }
            text = s
        case .http(let status):
            text = "\(endpoint): HTTP \(status) from WeChat"
        case .transport(let failure):
            switch failure.delivery {
            case .notSent: text = "\(endpoint): \(failure.detail); nothing was sent"
            case .maybeReceived: text = "\(endpoint): \(failure.detail); the request may have been received"
            case .received: text = "\(endpoint): \(failure.detail)"
            }
        case .invalidResponse(let detail):
            text = "\(endpoint): unreadable answer: \(detail)"
        case .tokenRefreshLimited(let detail):
            text = "\(endpoint): \(detail)"
        case .invalidRequest(let detail):
            text = "\(endpoint): \(detail)"
        }
        return Redactor.url(text)
    }
}
