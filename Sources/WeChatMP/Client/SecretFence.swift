import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The last fence between a credential and a follower: the values of the run's secrets
/// (the app secret, `secrets.*`, the variables credentials are read from), each with the
/// name it is known by. A request body that holds one of them, as written or as JSON writes
/// it, is not sent.
///
/// `validate` refuses a pipeline whose `with` reads a secret (MC3009); this catches what
/// no check of the source can see, such as a `content_file` that is `/proc/self/environ`
/// or a file that happens to hold a key. Token requests, which must carry the app secret,
/// do not go through it.
public struct SecretFence: Sendable {
    private struct Guarded: Sendable {
        var name: String
        var forms: [[UInt8]]
    }

    private let guarded: [Guarded]

    /// Values shorter than this are not guarded (they would match ordinary text).
    public static let minimumLength = 6

    /// - Parameter secrets: each secret's value by the name a message may show (never the value).
    public init(_ secrets: [String: String] = [:]) {
        guarded = secrets.keys.sorted().compactMap { name in
            guard let value = secrets[name], value.count >= Self.minimumLength else { return nil }
            var forms = [Array(value.utf8)]
            // As JSON writes it, with and without `\/` for `/`.
            for slashes in [false, true] {
                let encoder = JSONEncoder()
                if !slashes { encoder.outputFormatting = .withoutEscapingSlashes }
                if let encoded = try? encoder.encode(value), encoded.count > 2 {
                    let inner = Array(encoded.dropFirst().dropLast())
                    if !forms.contains(inner) { forms.append(inner) }
                }
            }
            return Guarded(name: name, forms: forms)
        }
    }

    /// Whether there is nothing to guard.
    public var isEmpty: Bool { guarded.isEmpty }

    /// The name of the first secret `body` holds, or `nil`.
    public func violation(in body: Data) -> String? {
        guard !guarded.isEmpty else { return nil }
        return body.withUnsafeBytes { (haystack: UnsafeRawBufferPointer) -> String? in
            for secret in guarded where secret.forms.contains(where: { Self.occurs($0, in: haystack) }) {
                return secret.name
            }
            return nil
        }
    }

    /// Whether `needle` (not empty) occurs in `haystack`: `memchr` to each occurrence of its
    /// first byte, then `memcmp`. (Foundation's `Data.range(of:)` compared byte by byte in
    /// Swift: on a 10,000-OpenID `mass/send` body, 310 KB checked before every call, it took
    /// about 2 ms.)
    static func occurs(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard let base = haystack.baseAddress, !needle.isEmpty, needle.count <= haystack.count else { return false }
        return needle.withUnsafeBufferPointer { pattern in
            let first = Int32(pattern[0])
            let rest = pattern.count - 1
            let last = haystack.count - pattern.count  // the last offset a match can start at
            var offset = 0
            while offset <= last {
                guard let found = memchr(base + offset, first, last - offset + 1) else { return false }
                let at = UnsafeRawPointer(found) - base
                if rest == 0 || memcmp(base + at + 1, pattern.baseAddress! + 1, rest) == 0 { return true }
                offset = at + 1
            }
            return false
        }
    }
}
