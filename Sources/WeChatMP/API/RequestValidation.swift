import WeChatLimits

/// A request that WeChat would refuse (or that would do something other than intended),
/// found before sending it.
public struct RequestValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The JSON field at fault, e.g. `touser` or `filter.tag_id`.
    public let field: String
    /// What is wrong, in plain English.
    public let message: String
    /// The errcode WeChat answers for this mistake, when known.
    public let errcode: Int?

    /// Creates an error.
    public init(field: String, message: String, errcode: Int? = nil) {
        self.field = field
        self.message = message
        self.errcode = errcode
    }

    /// `field: message (errcode N)`.
    public var description: String {
        errcode.map { "\(field): \(message) (errcode \($0))" } ?? "\(field): \(message)"
    }
}

/// Limits of the mass-send endpoints, as documented (defined in ``WeChatLimits``).
public typealias MassLimits = WeChatLimits.MassSend

func checkClientMsgID(_ id: String?) throws(RequestValidationError) {
    guard let id else { return }
    if id.isEmpty {
        throw RequestValidationError(field: "clientmsgid", message: "is empty; leave it out or give a key")
    }
    if id.utf8.count > MassLimits.maxClientMsgIDBytes {
        throw RequestValidationError(
            field: "clientmsgid",
            message: "is \(id.utf8.count) bytes; at most \(MassLimits.maxClientMsgIDBytes) are allowed",
            errcode: 45067)
    }
}

func checkSendIgnoreReprint(_ value: Int?) throws(RequestValidationError) {
    guard let value else { return }
    if value != 0 && value != 1 {
        throw RequestValidationError(
            field: "send_ignore_reprint",
            message: "must be 0 (stop when an article is judged a reprint) or 1 (send anyway), not \(value)")
    }
}
