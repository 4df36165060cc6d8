import Foundation

/// A failed WeChat call: what happened (``code``), its class (which decides retries), whether
/// the request may have been received, and a message that says what to do.
///
/// What the failure carries depends on its code: ``errcode`` and ``errmsg`` for
/// ``Code/api``, ``httpStatus`` for ``Code/http``, the transport's ``transportFailure`` (also
/// the ``cause``) for ``Code/transport``. Never holds a secret: the description is scrubbed,
/// `errmsg` is scrubbed of the token and the secret before it is kept, and no field carries
/// the token, the secret or a key.
///
/// New codes may be added in later versions; compare against the static members of
/// ``WeChatError/Code`` rather than switching exhaustively.
public struct WeChatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case api, http, transport, invalidResponse, tokenRefreshLimited, invalidRequest
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// WeChat answered with a non-zero errcode (``WeChatError/errcode``, ``WeChatError/errmsg``).
        public static let api = Code(.api)
        /// An HTTP status other than 200 (``WeChatError/httpStatus``).
        public static let http = Code(.http)
        /// No HTTP answer: connect failure, timeout, reset, an answer too large
        /// (``WeChatError/transportFailure``).
        public static let transport = Code(.transport)
        /// An answer that could not be read.
        public static let invalidResponse = Code(.invalidResponse)
        /// A token was rejected again after a refresh, and `force_refresh` may not be used now.
        public static let tokenRefreshLimited = Code(.tokenRefreshLimited)
        /// Something to fix before calling (a file too large, a bad argument); nothing was sent.
        public static let invalidRequest = Code(.invalidRequest)

        /// The code's name, e.g. `api`.
        public var description: String { wrapped.rawValue }
    }

    /// What kind of failure it is.
    public let code: Code
    /// What went wrong, without the endpoint, e.g. `HTTP 502 from WeChat`; secret query
    /// parameters of any URL in it are masked.
    public let message: String
    /// The endpoint, e.g. `message/mass/sendall` (never the URL with its token).
    public var endpoint: String
    public var errorClass: ErrorClass
    public var delivery: Delivery
    /// For 45065 (clientmsgid already used): the msg_id of the earlier send.
    public var earlierMsgID: Int64?
    /// The WeChat errcode, when WeChat answered with one (``Code/api``).
    public let errcode: Int?
    /// WeChat's `errmsg` as it came, scrubbed of secrets (``Code/api``).
    public let errmsg: String?
    /// The HTTP status of an answer other than 200 (``Code/http``).
    public let httpStatus: Int?
    /// Why no answer came (``Code/transport``).
    public let transportFailure: TransportFailure?

    /// What caused this failure below WeChatMP's client: the transport's failure, if any.
    public var cause: (any Error)? { transportFailure }

    private init(
        code: Code, message: String, endpoint: String, errorClass: ErrorClass, delivery: Delivery,
        earlierMsgID: Int64? = nil, errcode: Int? = nil, errmsg: String? = nil, httpStatus: Int? = nil,
        transportFailure: TransportFailure? = nil
    ) {
        self.code = code
        self.message = Redactor.url(message)
        self.endpoint = endpoint
        self.errorClass = errorClass
        self.delivery = delivery
        self.earlierMsgID = earlierMsgID
        self.errcode = errcode
        self.errmsg = errmsg.map(Redactor.url)
        self.httpStatus = httpStatus
        self.transportFailure = transportFailure
    }

    /// WeChat answered `errcode` with `errmsg` (which must already be scrubbed of the token and
    /// the secret; secret query parameters in it are masked here too).
    /// The message adds the errcode's meaning and fix from ``Errcodes``, when known.
    public static func api(
        errcode: Int, errmsg: String, endpoint: String, errorClass: ErrorClass, delivery: Delivery = .received,
        earlierMsgID: Int64? = nil
    ) -> WeChatError {
        let info = Errcodes.info(errcode)
        var message = "errcode \(errcode)"
        if let meaning = info?.meaning { message += " (\(meaning))" }
        message += "; WeChat said: \(errmsg)"
        if let fix = info?.fix { message += ". Fix: \(fix)" }
        return WeChatError(
            code: .api, message: message, endpoint: endpoint, errorClass: errorClass, delivery: delivery,
            earlierMsgID: earlierMsgID, errcode: errcode, errmsg: errmsg)
    }

    /// An HTTP status other than 200.
    public static func http(status: Int, endpoint: String, errorClass: ErrorClass, delivery: Delivery) -> WeChatError {
        WeChatError(
            code: .http, message: "HTTP \(status) from WeChat", endpoint: endpoint, errorClass: errorClass,
            delivery: delivery, httpStatus: status)
    }

    /// No HTTP answer; the delivery is the transport's.
    public static func transport(_ failure: TransportFailure, endpoint: String, errorClass: ErrorClass = .transient)
        -> WeChatError
    {
        let message =
            switch failure.delivery {
            case .notSent: "\(failure.message); nothing was sent"
            case .maybeReceived: "\(failure.message); the request may have been received"
            case .received: failure.message
            }
        return WeChatError(
            code: .transport, message: message, endpoint: endpoint, errorClass: errorClass, delivery: failure.delivery,
            transportFailure: failure)
    }

    /// An answer that could not be read; `detail` says how (without secrets).
    public static func invalidResponse(_ detail: String, endpoint: String, errorClass: ErrorClass, delivery: Delivery)
        -> WeChatError
    {
        WeChatError(
            code: .invalidResponse, message: "unreadable answer: \(detail)", endpoint: endpoint, errorClass: errorClass,
            delivery: delivery)
    }

    /// A token rejected again after a refresh, when `force_refresh` may not be used now.
    public static func tokenRefreshLimited(
        _ detail: String, endpoint: String, errorClass: ErrorClass = .token, delivery: Delivery = .received
    ) -> WeChatError {
        WeChatError(
            code: .tokenRefreshLimited, message: detail, endpoint: endpoint, errorClass: errorClass, delivery: delivery)
    }

    /// Something to fix before calling; by default permanent and not sent.
    public static func invalidRequest(
        _ detail: String, endpoint: String, errorClass: ErrorClass = .permanent, delivery: Delivery = .notSent
    ) -> WeChatError {
        WeChatError(code: .invalidRequest, message: detail, endpoint: endpoint, errorClass: errorClass, delivery: delivery)
    }

    /// `endpoint: message`, with any URL's query scrubbed.
    public var description: String {
        Redactor.url("\(endpoint): \(message)")
    }
}
