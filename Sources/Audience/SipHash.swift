// SipHash (Aumasson and Bernstein) with a 128-bit output, over one byte buffer at a time:
// the scanner's de-duplication key of an OpenID.

/// A SipHash key: 128 bits, two little-endian words.
struct SipKey: Sendable, Equatable {
    var k0: UInt64
    var k1: UInt64

    /// A key drawn from the system's random generator: one per scan, so that no file can
    /// be made to collide on purpose.
    static func random() -> SipKey {
        var generator = SystemRandomNumberGenerator()
        return SipKey(k0: generator.next(), k1: generator.next())
    }
}

/// SipHash-c-d with its 128-bit output (the reference implementation's `outlen == 16`):
/// `compression` rounds per 8-byte word, `finalization` rounds before each output word.
/// The scanner uses SipHash-1-3, the rounds of Swift's own `Hasher`; the reference
/// vectors (SipHash-2-4) check the code.
enum SipHash128 {
    @inline(__always)
    static func hash(
        _ bytes: UnsafeRawBufferPointer, key: SipKey, compression: Int = 1, finalization: Int = 3
    ) -> (UInt64, UInt64) {
        var v0: UInt64 = key.k0 ^ 0x736f_6d65_7073_6575
        var v1: UInt64 = key.k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee
        var v2: UInt64 = key.k0 ^ 0x6c79_6765_6e65_7261
        var v3: UInt64 = key.k1 ^ 0x7465_6462_7974_6573

        @inline(__always)
        func round() {
            v0 &+= v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32)
            v2 &+= v3; v3 = rotate(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotate(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32)
        }

        let count = bytes.count
        var offset = 0
        if let base = bytes.baseAddress {
            while offset + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                v3 ^= word
                for _ in 0..<compression { round() }
                v0 ^= word
                offset += 8
            }
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        var shift: UInt64 = 0
        while offset < count {
            last |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        v3 ^= last
        for _ in 0..<compression { round() }
        v0 ^= last

        v2 ^= 0xee
        for _ in 0..<finalization { round() }
        let first = v0 ^ v1 ^ v2 ^ v3
        v1 ^= 0xdd
        for _ in 0..<finalization { round() }
        let second = v0 ^ v1 ^ v2 ^ v3
        return (first, second)
    }

    @inline(__always)
    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 {
        (value << bits) | (value >> (64 - bits))
    }
}
