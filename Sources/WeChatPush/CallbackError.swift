/// An error raised while checking, decrypting, encrypting or reading a WeChat callback.
///
/// `code` is stable and meant for programs (metrics, tests, branching); `message` is a plain
/// sentence meant for people. Neither ever contains the callback token, an EncodingAESKey
/// or a key derived from one, so an error can be logged as it is.
///
/// New codes may be added in later versions; compare against the static members of
/// ``CallbackError/Code`` rather than switching exhaustively.
public struct CallbackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable identifier of what went wrong.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        /// The identifier, in `snake_case`.
        public let rawValue: String

        /// Creates a code from its identifier.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The identifier.
        public var description: String { rawValue }

        /// The credentials are unusable: an empty token, or an EncodingAESKey configured without an AppID.
        public static let invalidCredentials = Code(rawValue: "invalid_credentials")
        /// An EncodingAESKey is not 43 characters of base64 that decode to 32 bytes.
        public static let invalidEncodingAESKey = Code(rawValue: "invalid_encoding_aes_key")
        /// Encryption or decryption was asked for, but no EncodingAESKey is configured.
        public static let encryptionNotConfigured = Code(rawValue: "encryption_not_configured")
        /// A `signature` or `msg_signature` does not match the token, timestamp, nonce (and body).
        public static let badSignature = Code(rawValue: "bad_signature")
        /// The `Encrypt` text is not valid base64.
        public static let badBase64 = Code(rawValue: "bad_base64")
        /// The ciphertext is empty or not a whole number of AES blocks.
        public static let wrongBlockSize = Code(rawValue: "wrong_block_size")
        /// The PKCS#7 padding of the decrypted text is not valid.
        public static let badPadding = Code(rawValue: "bad_padding")
        /// The length field of the decrypted text does not fit the text.
        public static let badLength = Code(rawValue: "bad_length")
        /// The decrypted text ends with an AppID other than the configured one.
        public static let appIDMismatch = Code(rawValue: "appid_mismatch")
        /// The decrypted message is not UTF-8.
        public static let notUTF8 = Code(rawValue: "not_utf8")
        /// The decrypted message does not start with `<xml`.
        public static let notXML = Code(rawValue: "not_xml")
        /// The random prefix given to `encrypt` is not exactly 16 bytes.
        public static let invalidRandomBytes = Code(rawValue: "invalid_random_bytes")
        /// The AES primitive itself failed (should not happen with a valid key).
        public static let cryptoFailure = Code(rawValue: "crypto_failure")
        /// A timestamp or nonce cannot be placed in an encrypted reply.
        public static let invalidReplyField = Code(rawValue: "invalid_reply_field")
        /// The XML of a push is not well-formed or breaks a reader limit; see ``CallbackError/xmlError``.
        public static let malformedXML = Code(rawValue: "malformed_xml")
        /// A push lacks an element it must have.
        public static let missingField = Code(rawValue: "missing_field")
        /// A push has an element whose text cannot be read as the expected type.
        public static let invalidField = Code(rawValue: "invalid_field")
        /// A push is well-formed but is not the kind of message that was expected.
        public static let unexpectedMessage = Code(rawValue: "unexpected_message")
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// What went wrong, as a plain sentence without secrets.
    public let message: String
    /// The XML reader's error, when ``code`` is ``Code/malformedXML``.
    public let xmlError: XMLError?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the stable code.
    ///   - message: a plain sentence; it must not contain secrets.
    ///   - xmlError: the underlying XML error, if any.
    public init(_ code: Code, _ message: String, xmlError: XMLError? = nil) {
        self.code = code
        self.message = message
        self.xmlError = xmlError
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
