import Crypto
import Foundation

/// Signature checks and AES "safe mode" encryption for WeChat Official Account callbacks.
///
/// - URL verification and plain-mode pushes: `signature = sha1(sorted(token, timestamp, nonce))`,
///   see ``verifySignature(signature:timestamp:nonce:)``.
/// - Encrypted pushes: `msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))`,
///   see ``verifyMessageSignature(_:timestamp:nonce:encrypt:)`` and
///   ``decryptMessage(body:msgSignature:timestamp:nonce:limits:)``, which checks the
///   signature before it decrypts anything.
/// - AES-256-CBC with the key `base64(EncodingAESKey + "=")`, the IV its first 16 bytes,
///   PKCS#7 padding to 32 bytes, and the plaintext
///   `16 random bytes ‖ UInt32 big-endian length ‖ message ‖ AppID`.
///
/// A key is accepted for a message only when the padding, the length field, the AppID and
/// the `<xml` start all check out; otherwise the previous EncodingAESKey, if configured,
/// is tried. Nothing secret appears in any error, in ``description`` or in a mirror.
public struct CallbackCrypto: Sendable, CustomStringConvertible, CustomReflectable {
    /// The AppID messages must be addressed to.
    public let appID: String
    private let token: String
    private let currentKey: CallbackAESKey?
    private let previousKey: CallbackAESKey?

    /// Checks the credentials and prepares the keys.
    /// - Parameter credentials: the token, the EncodingAESKey(s) and the AppID.
    /// - Throws: ``CallbackError`` with ``CallbackError/Code/invalidCredentials`` for an empty
    ///   token, or an EncodingAESKey with an empty AppID; ``CallbackError/Code/invalidEncodingAESKey``
    ///   for a key that is not 43 characters of base64 decoding to 32 bytes.
    public init(credentials: CallbackCredentials) throws(CallbackError) {
        guard !credentials.token.isEmpty else {
            throw CallbackError(.invalidCredentials, "the callback token is empty")
        }
        self.token = credentials.token
        self.appID = credentials.appID
        if let key = credentials.encodingAESKey {
            self.currentKey = try CallbackAESKey(encodingAESKey: key, role: "current")
        } else {
            self.currentKey = nil
        }
        if let key = credentials.previousEncodingAESKey {
            self.previousKey = try CallbackAESKey(encodingAESKey: key, role: "previous")
        } else {
            self.previousKey = nil
        }
        if currentKey == nil && previousKey != nil {
            throw CallbackError(
                .invalidCredentials,
                "a previous EncodingAESKey is configured without a current one"
            )
        }
        if currentKey != nil && appID.isEmpty {
            throw CallbackError(
                .invalidCredentials,
                "an EncodingAESKey is configured but the AppID is empty; encrypted messages end with the AppID"
            )
        }
    }

    /// Whether an EncodingAESKey is configured (safe or compatible mode).
    public var isEncryptionConfigured: Bool { currentKey != nil }

    /// Whether a previous EncodingAESKey is configured.
    public var hasPreviousKey: Bool { previousKey != nil }

    // MARK: Signatures

    /// Computes a callback signature: the SHA-1, in lowercase hex, of the given strings
    /// sorted by their UTF-8 bytes and joined without a separator.
    /// - Parameters:
    ///   - token: the callback token.
    ///   - timestamp: the `timestamp` query parameter.
    ///   - nonce: the `nonce` query parameter.
    ///   - encrypt: the `Encrypt` text of an encrypted body, for `msg_signature`; `nil` for `signature`.
    /// - Returns: 40 lowercase hex digits.
    public static func sign(token: String, timestamp: String, nonce: String, encrypt: String? = nil) -> String {
        var parts = [Array(token.utf8), Array(timestamp.utf8), Array(nonce.utf8)]
        if let encrypt { parts.append(Array(encrypt.utf8)) }
        parts.sort { $0.lexicographicallyPrecedes($1) }
        var hasher = Insecure.SHA1()
        for part in parts { hasher.update(data: part) }
        return CallbackEncoding.hex(hasher.finalize())
    }

    /// Checks the `signature` of a URL verification (GET) or of a plain-mode push.
    ///
    /// The comparison takes the same time wherever the strings differ. Note that this
    /// signature does not cover the body: a plain-mode push can be replayed with other XML.
    /// - Returns: `true` when `signature` matches the token, `timestamp` and `nonce`.
    public func verifySignature(signature: String, timestamp: String, nonce: String) -> Bool {
        let expected = Self.sign(token: token, timestamp: timestamp, nonce: nonce)
        return CallbackEncoding.constantTimeEqual(CallbackEncoding.asciiLowercased(signature), expected)
    }

    /// Checks the `msg_signature` of an encrypted push, which covers the `Encrypt` text.
    /// - Parameters:
    ///   - msgSignature: the `msg_signature` query parameter (not `signature`).
    ///   - timestamp: the `timestamp` query parameter.
    ///   - nonce: the `nonce` query parameter.
    ///   - encrypt: the text of the body's `Encrypt` element.
    /// - Returns: `true` when it matches.
    public func verifyMessageSignature(
        _ msgSignature: String,
        timestamp: String,
        nonce: String,
        encrypt: String
    ) -> Bool {
        let expected = Self.sign(token: token, timestamp: timestamp, nonce: nonce, encrypt: encrypt)
        return CallbackEncoding.constantTimeEqual(CallbackEncoding.asciiLowercased(msgSignature), expected)
    }

    // MARK: Decryption

    /// Decrypts an `Encrypt` text with the current key, then with the previous one.
    ///
    /// Check the `msg_signature` first (or use ``decryptMessage(body:msgSignature:timestamp:nonce:limits:)``):
    /// CBC is malleable, and only the signature proves that the text came from WeChat.
    /// - Parameter encrypt: the base64 text of the `Encrypt` element.
    /// - Returns: the decrypted XML and whether the previous EncodingAESKey was the one that fitted.
    /// - Throws: ``CallbackError``: ``CallbackError/Code/encryptionNotConfigured``,
    ///   ``CallbackError/Code/badBase64``, ``CallbackError/Code/wrongBlockSize``, or the current
    ///   key's failure (``CallbackError/Code/badPadding``, ``CallbackError/Code/badLength``,
    ///   ``CallbackError/Code/appIDMismatch``, ``CallbackError/Code/notUTF8``, ``CallbackError/Code/notXML``)
    ///   when no key fits.
    public func decrypt(_ encrypt: String) throws(CallbackError) -> (xml: String, usedPreviousKey: Bool) {
        guard let currentKey else {
            throw CallbackError(
                .encryptionNotConfigured,
                "no EncodingAESKey is configured, so an encrypted message cannot be read"
            )
        }
        guard let ciphertext = CallbackEncoding.base64Decode(encrypt.utf8) else {
            throw CallbackError(.badBase64, "the Encrypt text is not valid base64")
        }
        guard !ciphertext.isEmpty, ciphertext.count % 16 == 0 else {
            throw CallbackError(
                .wrongBlockSize,
                "the ciphertext is \(ciphertext.count) bytes, not a positive multiple of the 16-byte AES block"
            )
        }
        let first: CallbackError
        switch open(ciphertext, with: currentKey) {
        case .success(let xml): return (xml, false)
        case .failure(let error): first = error
        }
        guard let previousKey else { throw first }
        switch open(ciphertext, with: previousKey) {
        case .success(let xml): return (xml, true)
        case .failure:
            throw CallbackError(first.code, first.message + " (the previous EncodingAESKey does not fit either)")
        }
    }

    /// Reads an encrypted push body, checks its `msg_signature`, then decrypts it.
    ///
    /// Only the `Encrypt` element is used; in compatible mode the plain elements beside it
    /// are ignored, since the signature does not cover them.
    /// - Parameters:
    ///   - body: the POST body, `<xml><ToUserName>…</ToUserName><Encrypt>…</Encrypt></xml>`.
    ///   - msgSignature: the `msg_signature` query parameter.
    ///   - timestamp: the `timestamp` query parameter.
    ///   - nonce: the `nonce` query parameter.
    ///   - limits: the XML reader's limits for the body.
    /// - Returns: the decrypted XML and whether the previous EncodingAESKey was used.
    /// - Throws: ``CallbackError``: ``CallbackError/Code/malformedXML``, ``CallbackError/Code/missingField``
    ///   when there is no `Encrypt`, ``CallbackError/Code/badSignature``, or any error of ``decrypt(_:)``.
    public func decryptMessage(
        body: String,
        msgSignature: String,
        timestamp: String,
        nonce: String,
        limits: StrictXMLReader.Limits = StrictXMLReader.Limits()
    ) throws(CallbackError) -> (xml: String, usedPreviousKey: Bool) {
        let root: StrictXMLElement
        do {
            root = try StrictXMLReader(limits: limits).parse(body)
        } catch {
            throw CallbackError(.malformedXML, "the encrypted body is not well-formed XML: \(error)", xmlError: error)
        }
        guard let encrypt = root.childText("Encrypt") else {
            throw CallbackError(.missingField, "the encrypted body has no Encrypt element")
        }
        guard verifyMessageSignature(msgSignature, timestamp: timestamp, nonce: nonce, encrypt: encrypt) else {
            throw CallbackError(
                .badSignature,
                "msg_signature does not match the token, timestamp, nonce and Encrypt text"
            )
        }
        return try decrypt(encrypt)
    }

    private func open(_ ciphertext: [UInt8], with key: CallbackAESKey) -> Result<String, CallbackError> {
        guard let plain = AESCBC.decrypt(ciphertext, key: key.bytes, iv: key.bytes.prefix(16)) else {
            return .failure(CallbackError(.cryptoFailure, "AES-CBC decryption failed"))
        }
        // Padding: 1…32 bytes, all equal to the count.
        guard let padByte = plain.last, (1...32).contains(padByte), Int(padByte) <= plain.count else {
            return .failure(CallbackError(.badPadding, "the decrypted text has invalid PKCS#7 padding"))
        }
        let padCount = Int(padByte)
        var padDifference: UInt8 = 0
        for byte in plain[(plain.count - padCount)...] { padDifference |= byte ^ padByte }
        guard padDifference == 0 else {
            return .failure(CallbackError(.badPadding, "the decrypted text has invalid PKCS#7 padding"))
        }
        let content = plain[..<(plain.count - padCount)]
        // 16 random bytes, then a 4-byte big-endian length.
        let headerSize = 20
        guard content.count >= headerSize else {
            return .failure(CallbackError(.badLength, "the decrypted text is too short for its header"))
        }
        let lengthBytes = content[16..<20]
        let length = lengthBytes.reduce(0) { ($0 << 8) | Int($1) }
        guard length <= content.count - headerSize else {
            return .failure(
                CallbackError(.badLength, "the decrypted length field is larger than the decrypted text")
            )
        }
        let messageEnd = headerSize + length
        let receivedAppID = content[messageEnd...]
        guard receivedAppID.elementsEqual(appID.utf8) else {
            return .failure(
                CallbackError(.appIDMismatch, "the message is for another AppID (or the key is wrong)")
            )
        }
        let messageBytes = content[headerSize..<messageEnd]
        guard StrictUTF8.isValid(messageBytes) else {
            return .failure(CallbackError(.notUTF8, "the decrypted message is not valid UTF-8"))
        }
        let xml = String(decoding: messageBytes, as: UTF8.self)
        let start = messageBytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard start.starts(with: "<xml".utf8) else {
            return .failure(CallbackError(.notXML, "the decrypted message does not start with <xml"))
        }
        return .success(xml)
    }

    // MARK: Encryption

    /// Encrypts a message for a reply, with the current EncodingAESKey.
    /// - Parameters:
    ///   - xml: the message, usually a reply XML.
    ///   - randomBytes: the 16-byte random prefix; `nil` (the default) draws it from the
    ///     system's secure random generator. Give it only in tests.
    /// - Returns: the base64 text for the `Encrypt` element.
    /// - Throws: ``CallbackError``: ``CallbackError/Code/encryptionNotConfigured``,
    ///   ``CallbackError/Code/invalidRandomBytes``, ``CallbackError/Code/cryptoFailure``.
    public func encrypt(_ xml: String, randomBytes: [UInt8]? = nil) throws(CallbackError) -> String {
        guard let currentKey else {
            throw CallbackError(
                .encryptionNotConfigured,
                "no EncodingAESKey is configured, so a message cannot be encrypted"
            )
        }
        let prefix: [UInt8]
        if let randomBytes {
            guard randomBytes.count == 16 else {
                throw CallbackError(
                    .invalidRandomBytes,
                    "the random prefix must be 16 bytes, not \(randomBytes.count)"
                )
            }
            prefix = randomBytes
        } else {
            var generator = SystemRandomNumberGenerator()
            prefix = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        }
        let message = Array(xml.utf8)
        guard message.count <= Int(UInt32.max) else {
            throw CallbackError(.badLength, "the message is too long to encrypt")
        }
        let length = UInt32(message.count)
        var plain = prefix
        plain.reserveCapacity(prefix.count + 4 + message.count + appID.utf8.count + 32)
        plain.append(contentsOf: [
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ])
        plain.append(contentsOf: message)
        plain.append(contentsOf: appID.utf8)
        let padCount = 32 - plain.count % 32
        plain.append(contentsOf: repeatElement(UInt8(padCount), count: padCount))
        guard let data = AESCBC.encrypt(plain, key: currentKey.bytes, iv: currentKey.bytes.prefix(16)) else {
            throw CallbackError(.cryptoFailure, "AES-CBC encryption failed")
        }
        return CallbackEncoding.base64Encode(data)
    }

    /// Builds an encrypted reply body:
    /// `<xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]></MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>`.
    /// - Parameters:
    ///   - xml: the plain reply message.
    ///   - timestamp: the reply's timestamp, decimal digits (usually the current Unix time).
    ///   - nonce: the reply's nonce; it must not contain `]]>` or control characters.
    ///   - randomBytes: the 16-byte random prefix, for tests; `nil` draws it securely.
    /// - Returns: the reply body.
    /// - Throws: ``CallbackError``: ``CallbackError/Code/invalidReplyField`` or any error of ``encrypt(_:randomBytes:)``.
    public func encryptedReply(
        _ xml: String,
        timestamp: String,
        nonce: String,
        randomBytes: [UInt8]? = nil
    ) throws(CallbackError) -> String {
        guard !timestamp.isEmpty, timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw CallbackError(.invalidReplyField, "the reply timestamp must be decimal digits")
        }
        guard !nonce.isEmpty, !nonce.contains("]]>"),
            nonce.unicodeScalars.allSatisfy({ $0.value >= 0x20 && StrictUTF8.isXMLCharacter($0.value) })
        else {
            throw CallbackError(
                .invalidReplyField,
                "the reply nonce must be non-empty, without ']]>' or control characters"
            )
        }
        let encrypted = try encrypt(xml, randomBytes: randomBytes)
        let signature = Self.sign(token: token, timestamp: timestamp, nonce: nonce, encrypt: encrypted)
        return "<xml><Encrypt><![CDATA[\(encrypted)]]></Encrypt>"
            + "<MsgSignature><![CDATA[\(signature)]]></MsgSignature>"
            + "<TimeStamp>\(timestamp)</TimeStamp>"
            + "<Nonce><![CDATA[\(nonce)]]></Nonce></xml>"
    }

    // MARK: Redaction

    /// A summary without secrets: the AppID and which keys are configured.
    public var description: String {
        let mode =
            currentKey == nil
            ? "plain" : (previousKey == nil ? "aes" : "aes+previous")
        return "CallbackCrypto(appID: \(appID), mode: \(mode))"
    }

    /// A mirror without secrets, so `dump` shows no token or key.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "appID": appID,
                "encryptionConfigured": isEncryptionConfigured,
                "hasPreviousKey": hasPreviousKey,
            ],
            displayStyle: .struct
        )
    }
}

/// A decoded EncodingAESKey: 32 bytes, the first 16 of which are also the IV.
struct CallbackAESKey: Sendable {
    let bytes: [UInt8]

    init(encodingAESKey: String, role: String) throws(CallbackError) {
        let characters = Array(encodingAESKey.utf8)
        guard characters.count == 43, encodingAESKey.unicodeScalars.count == 43 else {
            throw CallbackError(
                .invalidEncodingAESKey,
                "the \(role) EncodingAESKey must be 43 characters of base64; it has \(encodingAESKey.unicodeScalars.count)"
            )
        }
        guard let decoded = CallbackEncoding.base64Decode(characters + [UInt8(ascii: "=")]), decoded.count == 32
        else {
            throw CallbackError(
                .invalidEncodingAESKey,
                "the \(role) EncodingAESKey is not base64 (only A-Z, a-z, 0-9, + and / are allowed)"
            )
        }
        self.bytes = decoded
    }
}
