import Foundation
import Testing

@testable import WeChatPush

/// Keys and identities used across the callback tests. None is a real account's.
enum CallbackTestKeys {
    static let token = "masscastToken"
    static let appID = "wx0123456789abcdef"
    static let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    static let oldKey = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
    static let otherKey = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"

    static func crypto(
        key: String? = CallbackTestKeys.key,
        previous: String? = nil,
        appID: String = CallbackTestKeys.appID,
        token: String = CallbackTestKeys.token
    ) throws(CallbackError) -> CallbackCrypto {
        try CallbackCrypto(
            credentials: CallbackCredentials(
                token: token,
                encodingAESKey: key,
                previousEncodingAESKey: previous,
                appID: appID
            )
        )
    }

    static let fixedRandom = Array("0123456789abcdef".utf8)
    static let chineseMessage =
        "<xml><ToUserName><![CDATA[gh_6b9aa8a6f1e2]]></ToUserName><Content><![CDATA[你好]]></Content></xml>"
    /// wechatpy 1.8.18 `encrypt_message(chineseMessage, "1514711492", "1714036504")` with the
    /// random prefix fixed to `0123456789abcdef`, token `masscastToken`, key `key`, `appID`.
    static let chineseMessageEncrypt =
        "Q3stYC6hdFzMh9T8HCvyDJ0+cRNTIljXjz5zVGL+63fyyJfI64WNlA5r4R9BXtgyPmv4R0Cls9vuXWwV/BbcwFvcgX3Y0x2A32AX1N813Lu8nH5q5ON+VfF55fqMZuz/2aWstuAqIR/kW+OToAThkvajwb7nG+aPnrBmrO56vRXfsceCYysTdlgo4dYW+10avgn5A9qNRkJ1/nlWPEdHqw=="
    static let chineseMessageSignature = "13489fa8026b430e9dbb7eb1ad99b0ead8b5d555"
}

@Suite("Callback signatures and AES")
struct CallbackCryptoTests {
    // MARK: Signatures

    @Test func referenceSignatureVector() throws {
        #expect(
            CallbackCrypto.sign(token: "AAAAA", timestamp: "1714036504", nonce: "1514711492")
                == "f464b24fc39322e44b38aa78f5edd27bd1441696"
        )
        let crypto = try CallbackTestKeys.crypto(key: nil, appID: "", token: "AAAAA")
        #expect(
            crypto.verifySignature(
                signature: "f464b24fc39322e44b38aa78f5edd27bd1441696",
                timestamp: "1714036504",
                nonce: "1514711492"
            )
        )
        #expect(
            crypto.verifySignature(
                signature: "F464B24FC39322E44B38AA78F5EDD27BD1441696",
                timestamp: "1714036504",
                nonce: "1514711492"
            )
        )
        #expect(
            !crypto.verifySignature(
                signature: "f464b24fc39322e44b38aa78f5edd27bd1441697",
                timestamp: "1714036504",
                nonce: "1514711492"
            )
        )
        #expect(!crypto.verifySignature(signature: "f464b24f", timestamp: "1714036504", nonce: "1514711492"))
        #expect(!crypto.verifySignature(signature: "", timestamp: "1714036504", nonce: "1514711492"))
        #expect(!crypto.verifySignature(signature: "f464b24fc39322e44b38aa78f5edd27bd1441696", timestamp: "1714036505", nonce: "1514711492"))
    }

    @Test func messageSignatureCoversEncrypt() throws {
        let crypto = try CallbackTestKeys.crypto()
        #expect(
            crypto.verifyMessageSignature(
                CallbackTestKeys.chineseMessageSignature,
                timestamp: "1714036504",
                nonce: "1514711492",
                encrypt: CallbackTestKeys.chineseMessageEncrypt
            )
        )
        #expect(
            !crypto.verifyMessageSignature(
                CallbackTestKeys.chineseMessageSignature,
                timestamp: "1714036504",
                nonce: "1514711492",
                encrypt: CallbackTestKeys.chineseMessageEncrypt + "A"
            )
        )
        // The plain signature is not the message signature (the classic bug).
        let plain = CallbackCrypto.sign(token: CallbackTestKeys.token, timestamp: "1714036504", nonce: "1514711492")
        #expect(
            !crypto.verifyMessageSignature(
                plain,
                timestamp: "1714036504",
                nonce: "1514711492",
                encrypt: CallbackTestKeys.chineseMessageEncrypt
            )
        )
    }

    @Test func signatureSortsByBytes() {
        // Sorting is of the strings themselves, not of their roles.
        let a = CallbackCrypto.sign(token: "b", timestamp: "a", nonce: "c")
        let b = CallbackCrypto.sign(token: "c", timestamp: "b", nonce: "a")
        #expect(a == b)
        #expect(a == "a9993e364706816aba3e25717850c26c9cd0d89d")  // sha1("abc")
        // Uppercase sorts before lowercase, shorter prefix first, as byte comparison does.
        #expect(
            CallbackCrypto.sign(token: "a", timestamp: "B", nonce: "ab", encrypt: "")
                == CallbackCrypto.sign(token: "", timestamp: "ab", nonce: "a", encrypt: "B")
        )
    }

    @Test func constantTimeEqual() {
        #expect(CallbackEncoding.constantTimeEqual("abc", "abc"))
        #expect(CallbackEncoding.constantTimeEqual("", ""))
        #expect(!CallbackEncoding.constantTimeEqual("abc", "abd"))
        #expect(!CallbackEncoding.constantTimeEqual("abc", "ab"))
        #expect(!CallbackEncoding.constantTimeEqual("ab", "abc"))
        #expect(!CallbackEncoding.constantTimeEqual("abc\0", "abc"))
        #expect(!CallbackEncoding.constantTimeEqual("", "a"))
    }

    // MARK: Keys and credentials

    @Test(arguments: [
        ("short", "43 characters"),
        ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH", "43 characters"),
        ("abcdefghijklmnopqrstuvwxyz0123456789ABCDE-G", "not base64"),
        ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=", "not base64"),
        ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF中", "43 characters"),
        ("", "43 characters"),
    ])
    func badKeysAreRefusedWithoutBeingPrinted(_ key: String, _ expected: String) {
        do {
            _ = try CallbackTestKeys.crypto(key: key)
            Issue.record("the key was accepted")
        } catch {
            #expect(error.code == .invalidEncodingAESKey)
            #expect(error.message.contains(expected))
            #expect(error.message.contains("current"))
            if !key.isEmpty { #expect(!error.description.contains(key)) }
        }
        do {
            _ = try CallbackTestKeys.crypto(previous: key)
            Issue.record("the previous key was accepted")
        } catch {
            #expect(error.code == .invalidEncodingAESKey)
            #expect(error.message.contains("previous"))
        }
    }

    @Test func keysWithNonCanonicalLastCharacterAreAccepted() throws {
        // "G" leaves non-zero unused bits; WeChat keys do this and every SDK accepts them.
        let crypto = try CallbackTestKeys.crypto(key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
        #expect(crypto.isEncryptionConfigured)
    }

    @Test func invalidCredentials() {
        #expect(throws: CallbackError(.invalidCredentials, "the callback token is empty")) {
            try CallbackTestKeys.crypto(token: "")
        }
        do {
            _ = try CallbackTestKeys.crypto(appID: "")
            Issue.record("an empty AppID was accepted with a key")
        } catch {
            #expect(error.code == .invalidCredentials)
        }
        do {
            _ = try CallbackTestKeys.crypto(key: nil, previous: CallbackTestKeys.oldKey)
            Issue.record("a previous key without a current one was accepted")
        } catch {
            #expect(error.code == .invalidCredentials)
        }
    }

    @Test func secretsAreRedacted() throws {
        let credentials = CallbackCredentials(
            token: CallbackTestKeys.token,
            encodingAESKey: CallbackTestKeys.key,
            previousEncodingAESKey: CallbackTestKeys.oldKey,
            appID: CallbackTestKeys.appID
        )
        let crypto = try CallbackCrypto(credentials: credentials)
        var dumped = ""
        dump(credentials, to: &dumped)
        var dumpedCrypto = ""
        dump(crypto, to: &dumpedCrypto)
        let renderings = [
            credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials),
            dumped, crypto.description, "\(crypto)", String(reflecting: crypto), dumpedCrypto,
        ]
        for text in renderings {
            #expect(!text.contains(CallbackTestKeys.token), "\(text)")
            #expect(!text.contains(CallbackTestKeys.key), "\(text)")
            #expect(!text.contains(CallbackTestKeys.oldKey), "\(text)")
            #expect(!text.contains("abcdefghij"), "\(text)")
        }
        #expect(credentials.description.contains(CallbackTestKeys.appID))
        #expect(credentials.description.contains("<redacted>"))
        #expect(
            CallbackCredentials(token: "t", appID: "wx").description.contains("encodingAESKey: <none>")
        )
    }

    // MARK: Encryption and decryption

    @Test func knownAnswerFromWechatpy() throws {
        let crypto = try CallbackTestKeys.crypto()
        let encrypted = try crypto.encrypt(CallbackTestKeys.chineseMessage, randomBytes: CallbackTestKeys.fixedRandom)
        #expect(encrypted == CallbackTestKeys.chineseMessageEncrypt)
        let decrypted = try crypto.decrypt(CallbackTestKeys.chineseMessageEncrypt)
        #expect(decrypted.xml == CallbackTestKeys.chineseMessage)
        #expect(!decrypted.usedPreviousKey)
    }

    @Test func encryptedReplyFormat() throws {
        let crypto = try CallbackTestKeys.crypto()
        let reply = try crypto.encryptedReply(
            CallbackTestKeys.chineseMessage,
            timestamp: "1714036504",
            nonce: "1514711492",
            randomBytes: CallbackTestKeys.fixedRandom
        )
        #expect(
            reply
                == "<xml><Encrypt><![CDATA[\(CallbackTestKeys.chineseMessageEncrypt)]]></Encrypt>"
                + "<MsgSignature><![CDATA[\(CallbackTestKeys.chineseMessageSignature)]]></MsgSignature>"
                + "<TimeStamp>1714036504</TimeStamp><Nonce><![CDATA[1514711492]]></Nonce></xml>"
        )
        // The reply reads back through the signed-body path.
        let opened = try crypto.decryptMessage(
            body: reply,
            msgSignature: CallbackTestKeys.chineseMessageSignature,
            timestamp: "1714036504",
            nonce: "1514711492"
        )
        #expect(opened.xml == CallbackTestKeys.chineseMessage)

        #expect(throws: CallbackError.self) {
            try crypto.encryptedReply("<xml/>", timestamp: "12a", nonce: "1")
        }
        #expect(throws: CallbackError.self) {
            try crypto.encryptedReply("<xml/>", timestamp: "1", nonce: "a]]>b")
        }
        #expect(throws: CallbackError.self) {
            try crypto.encryptedReply("<xml/>", timestamp: "1", nonce: "")
        }
        #expect(throws: CallbackError.self) {
            try crypto.encrypt("<xml/>", randomBytes: [1, 2, 3])
        }
    }

    @Test(arguments: [0, 1, 11, 12, 13, 31, 32, 33, 100, 3_000])
    func roundTripAtEveryPaddingLength(_ extra: Int) throws {
        let crypto = try CallbackTestKeys.crypto()
        let xml = "<xml>" + String(repeating: "x", count: extra) + "</xml>"
        let encrypted = try crypto.encrypt(xml)
        let bytes = try #require(CallbackEncoding.base64Decode(encrypted.utf8))
        #expect(bytes.count % 32 == 0)
        #expect(try crypto.decrypt(encrypted).xml == xml)
        // Fresh random prefixes make each encryption different.
        #expect(try crypto.encrypt(xml) != encrypted)
    }

    @Test func previousKeyFallback() throws {
        let old = try CallbackTestKeys.crypto(key: CallbackTestKeys.oldKey)
        let rotated = try CallbackTestKeys.crypto(key: CallbackTestKeys.key, previous: CallbackTestKeys.oldKey)
        let current = try CallbackTestKeys.crypto(key: CallbackTestKeys.key)
        let xml = MassSendJobFinishFixtures.referenceSample

        let fromOld = try old.encrypt(xml)
        let opened = try rotated.decrypt(fromOld)
        #expect(opened.xml == xml)
        #expect(opened.usedPreviousKey)

        let fromNew = try current.encrypt(xml)
        let openedNew = try rotated.decrypt(fromNew)
        #expect(openedNew.xml == xml)
        #expect(!openedNew.usedPreviousKey)

        // Replies always use the current key.
        #expect(try current.decrypt(rotated.encrypt(xml)).usedPreviousKey == false)
    }

    @Test func wrongKeyIsAnError() throws {
        let other = try CallbackTestKeys.crypto(key: CallbackTestKeys.otherKey)
        let encrypted = try other.encrypt(MassSendJobFinishFixtures.referenceSample)
        let current = try CallbackTestKeys.crypto()
        do {
            _ = try current.decrypt(encrypted)
            Issue.record("a wrong key decrypted the message")
        } catch {
            #expect([.badPadding, .badLength, .appIDMismatch, .notXML, .notUTF8].contains(error.code))
            #expect(!error.description.contains(CallbackTestKeys.key))
        }
        let rotated = try CallbackTestKeys.crypto(previous: CallbackTestKeys.oldKey)
        do {
            _ = try rotated.decrypt(encrypted)
            Issue.record("a wrong pair of keys decrypted the message")
        } catch {
            #expect(error.message.contains("previous EncodingAESKey does not fit either"))
        }
        // Plain mode cannot decrypt at all.
        let plain = try CallbackTestKeys.crypto(key: nil)
        #expect(throws: CallbackError.self) { try plain.decrypt(encrypted) }
        #expect(throws: CallbackError.self) { try plain.encrypt("<xml/>") }
    }

    /// A wrong key passes the padding check alone about one time in eight and a bit; the
    /// length, AppID and XML checks must still refuse every one.
    @Test func wrongKeysNeverPass() throws {
        var random = CallbackTestRandom(seed: 0xC0FF_EE00)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let sender = try CallbackTestKeys.crypto(key: CallbackTestKeys.oldKey)
        let messages = try (0..<8).map { i in
            try sender.encrypt("<xml><N>\(i)</N>" + String(repeating: "y", count: i * 7) + "</xml>")
        }
        for _ in 0..<200 {
            let key = String(decoding: (0..<43).map { _ in alphabet[random.int(in: 0...63)] }, as: UTF8.self)
            guard key != CallbackTestKeys.oldKey else { continue }
            let receiver = try CallbackTestKeys.crypto(key: key)
            let withPrevious = try CallbackTestKeys.crypto(key: key, previous: CallbackTestKeys.oldKey)
            for message in messages {
                #expect(throws: CallbackError.self) { try receiver.decrypt(message) }
                #expect(try withPrevious.decrypt(message).usedPreviousKey)
            }
        }
    }

    @Test func appIDMismatch() throws {
        let sender = try CallbackTestKeys.crypto(appID: "wxOTHERAPPID000000")
        let encrypted = try sender.encrypt("<xml/>")
        do {
            _ = try CallbackTestKeys.crypto().decrypt(encrypted)
            Issue.record("a message for another AppID was accepted")
        } catch {
            #expect(error.code == .appIDMismatch)
            #expect(error.message.contains("the message is for another AppID"))
            #expect(!error.message.contains("wxOTHERAPPID"))
        }
    }

    @Test func notXMLIsRefused() throws {
        let crypto = try CallbackTestKeys.crypto()
        #expect(try crypto.decrypt(crypto.encrypt("  \n<xml/>")).xml == "  \n<xml/>")
        do {
            _ = try crypto.decrypt(crypto.encrypt("success"))
            Issue.record("a message that is not XML was accepted")
        } catch {
            #expect(error.code == .notXML)
        }
    }

    @Test func tamperedCiphertextIsRefused() throws {
        let crypto = try CallbackTestKeys.crypto()
        let xml = MassSendJobFinishFixtures.referenceSample
        let reply = try crypto.encryptedReply(
            xml,
            timestamp: "1714036504",
            nonce: "1514711492",
            randomBytes: CallbackTestKeys.fixedRandom
        )
        let root = try StrictXMLReader().parse(reply)
        let encrypt = try #require(root.childText("Encrypt"))
        let signature = try #require(root.childText("MsgSignature"))
        let bytes = try #require(CallbackEncoding.base64Decode(encrypt.utf8))

        // Through the signed path any change is caught by msg_signature, wherever it is.
        for position in [0, 5, 16, bytes.count / 2, bytes.count - 1] {
            var tampered = bytes
            tampered[position] ^= 0x01
            let body = "<xml><Encrypt><![CDATA[\(CallbackEncoding.base64Encode(tampered))]]></Encrypt></xml>"
            do {
                _ = try crypto.decryptMessage(body: body, msgSignature: signature, timestamp: "1714036504", nonce: "1514711492")
                Issue.record("tampering at \(position) went unnoticed")
            } catch {
                #expect(error.code == .badSignature)
            }
        }
        // Without the signature, tampering with the tail breaks padding or the AppID check.
        for position in [bytes.count - 1, bytes.count - 20, bytes.count - 40] {
            var tampered = bytes
            tampered[position] ^= 0x80
            #expect(throws: CallbackError.self) { try crypto.decrypt(CallbackEncoding.base64Encode(tampered)) }
        }
        // Truncated or misaligned ciphertexts.
        #expect(throws: CallbackError.self) { try crypto.decrypt(CallbackEncoding.base64Encode(Array(bytes.dropLast(32)))) }
        do {
            _ = try crypto.decrypt(CallbackEncoding.base64Encode(Array(bytes.dropLast(5))))
            Issue.record("a misaligned ciphertext was accepted")
        } catch {
            #expect(error.code == .wrongBlockSize)
        }
        do {
            _ = try crypto.decrypt("")
            Issue.record("an empty ciphertext was accepted")
        } catch {
            #expect(error.code == .wrongBlockSize)
        }
        do {
            _ = try crypto.decrypt("not base64!")
            Issue.record("bad base64 was accepted")
        } catch {
            #expect(error.code == .badBase64)
        }
        // A body without Encrypt, or not XML at all.
        #expect(throws: CallbackError.self) {
            try crypto.decryptMessage(body: "<xml><A/></xml>", msgSignature: signature, timestamp: "1", nonce: "2")
        }
        do {
            _ = try crypto.decryptMessage(body: "<xml><!DOCTYPE x></xml>", msgSignature: signature, timestamp: "1", nonce: "2")
            Issue.record("a DOCTYPE body was accepted")
        } catch {
            #expect(error.code == .malformedXML)
            #expect(error.xmlError?.code == .doctypeNotAllowed)
        }
    }

    @Test func paddingCheckLooksAtEveryPadByte() throws {
        // Build a plaintext whose last byte claims 4 bytes of padding but whose other pad
        // bytes differ, encrypt it raw, and expect bad padding.
        let crypto = try CallbackTestKeys.crypto()
        let valid = try #require(CallbackEncoding.base64Decode(crypto.encrypt("<xml/>", randomBytes: CallbackTestKeys.fixedRandom).utf8))
        #expect(valid.count == 64)
        var forged = valid
        // Flipping a byte of the second-to-last ciphertext block flips the same byte of the
        // last plaintext block: change one pad byte, keep the last one.
        forged[valid.count - 16 - 3] ^= 0x01
        do {
            _ = try crypto.decrypt(CallbackEncoding.base64Encode(forged))
            Issue.record("inconsistent padding was accepted")
        } catch {
            #expect(error.code == .badPadding)
        }
    }

    /// 2,000 seeded garbage inputs: each must throw CallbackError, and nothing may crash.
    @Test func randomGarbageOnlyThrows() throws {
        let crypto = try CallbackTestKeys.crypto(previous: CallbackTestKeys.oldKey)
        var random = CallbackTestRandom(seed: 20_240_425)
        let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let extra = Array("= -_\n\0中".utf8)
        var codes: [CallbackError.Code: Int] = [:]
        for round in 0..<2_000 {
            let input: String
            switch round % 4 {
            case 0:
                // Random characters, mostly base64, any length.
                let length = random.int(in: 0...120)
                var chars: [UInt8] = []
                for _ in 0..<length {
                    chars.append(
                        random.int(in: 0...9) == 0
                            ? extra[random.int(in: 0...(extra.count - 1))]
                            : base64Alphabet[random.int(in: 0...63)]
                    )
                }
                input = String(decoding: chars, as: UTF8.self)
            case 1:
                // Valid base64 of a random byte count.
                input = CallbackEncoding.base64Encode(random.bytes(random.int(in: 0...200)))
            default:
                // Valid base64 of whole AES blocks: exercises padding, length and AppID checks.
                input = CallbackEncoding.base64Encode(random.bytes(16 * random.int(in: 1...12)))
            }
            do {
                let result = try crypto.decrypt(input)
                Issue.record("garbage decrypted: \(result.xml.prefix(20))")
            } catch {
                codes[error.code, default: 0] += 1
            }
        }
        #expect(codes.values.reduce(0, +) == 2_000)
        #expect(codes[.badPadding, default: 0] > 0)
        #expect(codes[.badBase64, default: 0] > 0)
        #expect(codes[.wrongBlockSize, default: 0] > 0)
    }

    @Test func base64Codec() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let encoded = CallbackEncoding.base64Encode(bytes)
            #expect(CallbackEncoding.base64Decode(encoded.utf8) == bytes)
        }
        #expect(CallbackEncoding.base64Encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(CallbackEncoding.base64Encode(Array("fo".utf8)) == "Zm8=")
        #expect(CallbackEncoding.base64Decode("Zm8".utf8) == nil)
        #expect(CallbackEncoding.base64Decode("Z=8=".utf8) == nil)
        #expect(CallbackEncoding.base64Decode("Zm8=Zm8=".utf8) == nil)
        #expect(CallbackEncoding.base64Decode("Zm 8".utf8) == nil)
        #expect(CallbackEncoding.base64Decode("====".utf8) == nil)
        #expect(CallbackEncoding.base64Decode("Zm9=".utf8) == Array("fo".utf8))  // unused bits ignored
    }

    @Test func errorCodesEncodeAsStrings() throws {
        #expect(CallbackError.Code.badSignature.rawValue == "bad_signature")
        #expect(CallbackError(.badPadding, "x").description == "bad_padding: x")
        #expect(XMLError(.tooDeep, "y", at: XMLPosition(line: 2, column: 3)).description == "2:3: y")
        let encoded = try JSONEncoder().encode([CallbackError.Code.badPadding])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"bad_padding\"]")
        #expect(try JSONDecoder().decode([XMLError.Code].self, from: Data("[\"too_deep\"]".utf8)) == [.tooDeep])
    }
}
