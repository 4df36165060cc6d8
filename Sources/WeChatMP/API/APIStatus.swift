import Foundation

/// The `errcode`/`errmsg` pair that any WeChat response body may carry.
///
/// Decodes from every response: a body without `errcode` is a success (`0`), a missing
/// `errmsg` is `""`, an `errcode` written as a string is accepted, other fields are ignored.
/// Never match ``errmsg`` as a whole: real ones end with ` rid: …` or ` hint: [...]`;
/// use ``errcode`` (or ``message`` for display).
public struct APIStatus: Codable, Sendable, Hashable {
    /// The error code; `0` means success.
    public let errcode: Int
    /// The error text as received, request id suffix included.
    public let errmsg: String

    /// Creates a status.
    public init(errcode: Int = 0, errmsg: String = "ok") {
        self.errcode = errcode
        self.errmsg = errmsg
    }

    /// `true` when ``errcode`` is `0`.
    public var isSuccess: Bool { errcode == 0 }

    /// The class of a failure, or `nil` on success.
    public var errorClass: ErrorClass? { isSuccess ? nil : Errcodes.classify(errcode) }

    /// The errcode table's row for ``errcode``, when known.
    public var info: ErrcodeInfo? { Errcodes.info(errcode) }

    /// ``errmsg`` without its ` rid: …` or ` hint: [...]` suffix.
    public var message: String { Self.split(errmsg).message }

    /// The request id WeChat appended to ``errmsg`` (the `rid` value, or the text inside
    /// `hint: [...]`), useful when asking WeChat support about a call.
    public var requestID: String? { Self.split(errmsg).requestID }

    private enum CodingKeys: String, CodingKey { case errcode, errmsg }

    /// Decodes tolerantly; see the type's documentation.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        errcode = try container.lenientIntIfPresent(forKey: .errcode) ?? 0
        errmsg = try container.lenientStringIfPresent(forKey: .errmsg) ?? ""
    }

    /// Encodes `{"errcode":…,"errmsg":…}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(errcode, forKey: .errcode)
        try container.encode(errmsg, forKey: .errmsg)
    }

    static func split(_ text: String) -> (message: String, requestID: String?) {
        if let range = text.range(of: " rid: ", options: .backwards) {
            let id = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
            return (String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces),
                    id.isEmpty ? nil : id)
        }
        if let range = text.range(of: " hint: [", options: .backwards) {
            var id = Substring(text[range.upperBound...])
            if let close = id.firstIndex(of: "]") { id = id[..<close] }
            let trimmed = id.trimmingCharacters(in: .whitespaces)
            return (String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces),
                    trimmed.isEmpty ? nil : trimmed)
        }
        return (text.trimmingCharacters(in: .whitespaces), nil)
    }
}
