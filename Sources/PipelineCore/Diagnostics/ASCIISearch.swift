/// Byte-level look-ups that let the secret maskers skip, without Foundation, the lines that
/// cannot hold what they mask.
enum ASCIISearch {
    /// Whether `line` may contain one of `needles` (lowercase ASCII) when compared without
    /// case after Unicode lowercasing: `false` only when it certainly does not.
    ///
    /// ASCII letters are compared without case. Two non-ASCII characters lowercase to ASCII
    /// letters (U+212A KELVIN SIGN to `k`, U+0130 to `i` and a combining dot); a line with
    /// either is answered `true`, so the caller's full search decides.
    static func mayContain(_ line: String, anyOf needles: [[UInt8]]) -> Bool {
        var line = line
        return line.withUTF8 { bytes in
            if contains(bytes, [0xE2, 0x84, 0xAA]) || contains(bytes, [0xC4, 0xB0]) { return true }
            return needles.contains { contains(bytes, $0) }
        }
    }

    /// Whether `needle` (lowercase ASCII) occurs in `bytes`, ASCII letters compared without case.
    static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return needle.isEmpty }
        let last = bytes.count - needle.count
        var i = 0
        while i <= last {
            if lower(bytes[i]) == first {
                var j = 1
                while j < needle.count && lower(bytes[i + j]) == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    @inline(__always) private static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }
}
