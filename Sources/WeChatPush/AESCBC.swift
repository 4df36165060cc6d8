import CLibCrypto

/// AES-256-CBC without padding over a whole buffer, through the system OpenSSL's EVP
/// interface: one call per message rather than one per 16-byte block. The OpenSSL types
/// stay in this file; callers see bytes in and bytes out.
enum AESCBC {
    /// The cipher, fetched from OpenSSL's default provider once per process (an
    /// `EVP_CIPHER` from `EVP_CIPHER_fetch` is immutable and may be shared by threads).
    /// `nil` when the provider has no AES-256-CBC, and each call then fails.
    nonisolated(unsafe) private static let cipher: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil)

    /// Decrypts `ciphertext` (a positive multiple of 16 bytes) with a 32-byte key and a
    /// 16-byte IV; the padding is left in place for the caller to check.
    /// - Returns: the plaintext, as long as the ciphertext; `nil` when OpenSSL fails.
    static func decrypt(_ ciphertext: [UInt8], key: [UInt8], iv: ArraySlice<UInt8>) -> [UInt8]? {
        run(ciphertext, key: key, iv: Array(iv), encrypt: false)
    }

    /// Encrypts `plaintext` (already padded to a multiple of 16 bytes).
    /// - Returns: the ciphertext, as long as the plaintext; `nil` when OpenSSL fails.
    static func encrypt(_ plaintext: [UInt8], key: [UInt8], iv: ArraySlice<UInt8>) -> [UInt8]? {
        run(plaintext, key: key, iv: Array(iv), encrypt: true)
    }

    private static func run(_ input: [UInt8], key: [UInt8], iv: [UInt8], encrypt: Bool) -> [UInt8]? {
        guard let cipher, key.count == 32, iv.count == 16, !input.isEmpty, input.count % 16 == 0,
            input.count <= Int(Int32.max) - 32
        else { return nil }
        guard let context = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(context) }
        let started = key.withUnsafeBufferPointer { keyBytes in
            iv.withUnsafeBufferPointer { ivBytes in
                EVP_CipherInit_ex2(context, cipher, keyBytes.baseAddress, ivBytes.baseAddress, encrypt ? 1 : 0, nil)
            }
        }
        guard started == 1, EVP_CIPHER_CTX_set_padding(context, 0) == 1 else { return nil }
        var ok = true
        let output = [UInt8](unsafeUninitializedCapacity: input.count + 16) { buffer, count in
            var written: Int32 = 0
            var finalWritten: Int32 = 0
            let base = buffer.baseAddress!
            ok =
                input.withUnsafeBufferPointer { inputBytes in
                    EVP_CipherUpdate(context, base, &written, inputBytes.baseAddress, Int32(inputBytes.count))
                } == 1
            if ok { ok = EVP_CipherFinal_ex(context, base + Int(written), &finalWritten) == 1 }
            count = ok ? Int(written) + Int(finalWritten) : 0
        }
        guard ok, output.count == input.count else { return nil }
        return output
    }
}
