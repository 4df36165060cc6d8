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

/// Limits of the mass-send endpoints, as documented.
public enum MassLimits {
    /// Fewest OpenIDs `message/mass/send` accepts.
    public static let minOpenIDs = 2
    /// Most OpenIDs `message/mass/send` accepts in one call.
    public static let maxOpenIDs = 10_000
    /// Longest `clientmsgid`, in UTF-8 bytes.
    public static let maxClientMsgIDBytes = 64
    /// Valid `speed/set` levels: 0 = 80, 1 = 60, 2 = 45, 3 = 30, 4 = 10 (×10,000 per minute).
    public static let speedLevels: ClosedRange<Int> = 0...4
    /// Articles per `uploadnews`.
    public static let articlesPerNews: ClosedRange<Int> = 1...8

    /// Messages per minute (×10,000) of each speed level, indexed by level.
    public static let speedPerMinute: [Int] = [80, 60, 45, 30, 10]
}

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
