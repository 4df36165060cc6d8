import Foundation

/// SplitMix64: a small, fast generator whose whole sequence follows from its seed, so every
/// identifier, nonce and fault roll of the sandbox is reproducible.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double in 0..<1.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// `count` characters of the OpenID/token alphabet `A-Z a-z 0-9 _ -`.
    mutating func token(_ count: Int) -> String {
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            var bits = next()
            for _ in 0..<10 where out.count < count {
                out.append(idAlphabet[Int(bits & 63)])
                bits >>= 6
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` decimal digits, the first not zero.
    mutating func digits(_ count: Int) -> String {
        var out = [UInt8]()
        out.reserveCapacity(count)
        out.append(UInt8(ascii: "1") + UInt8(next() % 9))
        while out.count < count { out.append(UInt8(ascii: "0") + UInt8(next() % 10)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` lowercase hex digits.
    mutating func hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count { out.append(digits[Int(next() & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The 64 characters OpenIDs, media ids and tokens are made of.
let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".utf8)

/// FNV-1a over UTF-8: a stable (unlike `Hasher`) 64-bit hash for deriving seeds from names.
func stableHash(_ text: String, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var hash = seed
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    return hash
}

/// Whether `text` looks like an OpenID: 28 characters of `A-Z a-z 0-9 _ -`.
func isWellFormedOpenID(_ text: String) -> Bool {
    var count = 0
    for byte in text.utf8 {
        count += 1
        if count > 28 { return false }
        let ok = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x2D
        if !ok { return false }
    }
    return count == 28
}
