import Foundation

/// The byte forms a secret takes in what masscast writes or sends, and a byte search for
/// them: one rule for the log scrubber (`Scrubber`) and the fence before a request leaves
/// (`SecretFence`).
public enum SecretBytes {
    /// Shorter values are not guarded (they would match ordinary text): 6 characters.
    public static let minimumLength = 6

    /// `secret`'s byte forms, each once: as written; percent-encoded, with upper- and
    /// lowercase hex (as in a URL's query); and as a JSON string writes it, with and without
    /// `\/` for `/` (escaped quotes, backslashes and control characters included).
    public static func forms(of secret: String) -> [[UInt8]] {
        var forms: [[UInt8]] = []
        func add(_ form: [UInt8]) {
            if !form.isEmpty && !forms.contains(form) { forms.append(form) }
        }
        add(Array(secret.utf8))
        var unreserved = CharacterSet.alphanumerics
        unreserved.insert(charactersIn: "-._~")
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: unreserved) {
            add(Array(encoded.utf8))
            add(lowercasedPercentEscapes(Array(encoded.utf8)))
        }
        for escapingSlashes in [false, true] {
            let encoder = JSONEncoder()
            if !escapingSlashes { encoder.outputFormatting = .withoutEscapingSlashes }
            if let encoded = try? encoder.encode(secret), encoded.count > 2 {
                add(Array(encoded.dropFirst().dropLast()))  // without the quotes
            }
        }
        return forms
    }

    /// `%2B` → `%2b`: some encoders write lowercase hex.
    static func lowercasedPercentEscapes(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        var i = 0
        while i < out.count {
            if out[i] == UInt8(ascii: "%") {
                for j in (i + 1)..<min(i + 3, out.count) where out[j] >= UInt8(ascii: "A") && out[j] <= UInt8(ascii: "F") {
                    out[j] |= 0x20
                }
                i += 3
            } else {
                i += 1
            }
        }
        return out
    }

    /// The offset of the first occurrence of `needle` (not empty) in `haystack` at or after
    /// `start`, or `nil`: `memchr` to each occurrence of its first byte, then `memcmp`.
    public static func firstOffset(of needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        guard let base = haystack.baseAddress, !needle.isEmpty, start >= 0,
            needle.count <= haystack.count - start
        else { return nil }
        return needle.withUnsafeBufferPointer { pattern in
            let first = Int32(pattern[0])
            let rest = pattern.count - 1
            let last = haystack.count - pattern.count  // the last offset a match can start at
            var offset = start
            while offset <= last {
                guard let found = memchr(base + offset, first, last - offset + 1) else { return nil }
                let at = UnsafeRawPointer(found) - base
                if rest == 0 || memcmp(base + at + 1, pattern.baseAddress! + 1, rest) == 0 { return at }
                offset = at + 1
            }
            return nil
        }
    }
}
