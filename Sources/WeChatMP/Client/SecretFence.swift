import Foundation

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
        var forms: [Data]
    }

    private let guarded: [Guarded]

    /// Values shorter than this are not guarded (they would match ordinary text).
    public static let minimumLength = 6

    /// - Parameter secrets: each secret's value by the name a message may show (never the value).
    public init(_ secrets: [String: String] = [:]) {
        guarded = secrets.keys.sorted().compactMap { name in
            guard let value = secrets[name], value.count >= Self.minimumLength else { return nil }
            var forms = [Data(value.utf8)]
            // As JSON writes it, with and without `\/` for `/`.
            for slashes in [false, true] {
                let encoder = JSONEncoder()
                if !slashes { encoder.outputFormatting = .withoutEscapingSlashes }
                if let encoded = try? encoder.encode(value), encoded.count > 2 {
                    let inner = Data(encoded.dropFirst().dropLast())
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
        for secret in guarded where secret.forms.contains(where: { body.range(of: $0) != nil }) {
            return secret.name
        }
        return nil
    }
}
