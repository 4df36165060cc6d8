import WeChatLimits

/// A request that WeChat would refuse (or that would do something other than intended),
/// found before sending it: what kind of mistake (``code``), the JSON field at fault (its
/// place in the request), what is wrong, and the errcode WeChat would answer.
///
/// New codes may be added in later versions; compare against the static members of
/// ``RequestValidationError/Code`` rather than switching exhaustively.
public struct RequestValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of mistake it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case missing, outOfRange, invalidValue, wrongForm, unsupportedFileType
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A required value is empty or absent (a title, a media_id, an audience, a file's bytes).
        public static let missing = Code(.missing)
        /// A count, size, length, duration or number outside what WeChat takes.
        public static let outOfRange = Code(.outOfRange)
        /// A value that is not one of those allowed (a switch other than 0 or 1).
        public static let invalidValue = Code(.invalidValue)
        /// A message form the endpoint does not take (the single-image form in a send, images in a preview).
        public static let wrongForm = Code(.wrongForm)
        /// A file whose extension the media type does not accept.
        public static let unsupportedFileType = Code(.unsupportedFileType)

        /// The code's name, e.g. `outOfRange`.
        public var description: String { wrapped.rawValue }
    }

    /// What kind of mistake it is.
    public let code: Code
    /// The JSON field at fault, e.g. `touser` or `filter.tag_id`.
    public let field: String
    /// What is wrong, in plain English.
    public let message: String
    /// The errcode WeChat answers for this mistake, when known.
    public let errcode: Int?

    /// Creates an error.
    public init(_ code: Code, field: String, message: String, errcode: Int? = nil) {
        self.code = code
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
        throw RequestValidationError(.missing, field: "clientmsgid", message: "is empty; leave it out or give a key")
    }
    if id.utf8.count > MassLimits.maxClientMsgIDBytes {
        throw RequestValidationError(
            .outOfRange, field: "clientmsgid",
            message: "is \(id.utf8.count) bytes; at most \(MassLimits.maxClientMsgIDBytes) are allowed",
            errcode: 45067)
    }
}

func checkSendIgnoreReprint(_ value: Int?) throws(RequestValidationError) {
    guard let value else { return }
    if value != 0 && value != 1 {
        throw RequestValidationError(
            .invalidValue, field: "send_ignore_reprint",
            message: "must be 0 (stop when an article is judged a reprint) or 1 (send anyway), not \(value)")
    }
}
