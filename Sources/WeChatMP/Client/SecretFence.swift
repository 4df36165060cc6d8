import Foundation
import PipelineCore

/// The last fence between a credential and a follower: the values of the run's secrets
/// (the app secret, `secrets.*`, the variables credentials are read from), each with the
/// name it is known by. A request body that holds one of them, as written, percent-encoded
/// or as JSON writes it, is not sent.
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
    public static let minimumLength = SecretBytes.minimumLength

    /// - Parameter secrets: each secret's value by the name a message may show (never the value).
    public init(_ secrets: [String: String] = [:]) {
        guarded = secrets.keys.sorted().compactMap { name in
            guard let value = secrets[name], value.count >= Self.minimumLength else { return nil }
            // As written, percent-encoded, and as JSON writes it (`SecretBytes.forms(of:)`).
            return Guarded(name: name, forms: SecretBytes.forms(of: value))
        }
    }

    /// Whether there is nothing to guard.
    public var isEmpty: Bool { guarded.isEmpty }

    /// The name of the first secret `body` holds, or `nil`. (The search is `memchr` and
    /// `memcmp`: Foundation's `Data.range(of:)` took about 2 ms on a 10,000-OpenID
    /// `mass/send` body of 310 KB, checked before every call.)
    public func violation(in body: Data) -> String? {
        guard !guarded.isEmpty else { return nil }
        return body.withUnsafeBytes { (haystack: UnsafeRawBufferPointer) -> String? in
            for secret in guarded
            where secret.forms.contains(where: { SecretBytes.firstOffset(of: $0, in: haystack) != nil }) {
                return secret.name
            }
            return nil
        }
    }
}
