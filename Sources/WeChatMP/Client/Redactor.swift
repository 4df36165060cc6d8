import Foundation

/// Removes secrets from text that is about to be shown: error messages, logs, reports.
///
/// Two layers: query parameters that carry secrets are masked in any URL (`access_token`,
/// `secret`), and every secret value the redactor was given is replaced wherever it occurs.
public struct Redactor: Sendable {
    private var secrets: [String]

    public static let mask = "[redacted]"
    static let secretParameters = ["access_token", "secret", "appsecret", "app_secret"]

    /// - Parameter secrets: values never to be shown (empty strings and very short values are
    ///   ignored: masking "a" would mangle every message).
    public init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
    }

    /// Adds a value (e.g. a token fetched at run time).
    public mutating func add(_ secret: String) {
        guard secret.count >= 6, !secrets.contains(secret) else { return }
        secrets.append(secret)
        secrets.sort { $0.count > $1.count }
    }

    /// `text` with every known secret and every secret query parameter masked.
    public func scrub(_ text: String) -> String {
        var out = Self.url(text)
        for s in secrets where out.contains(s) {
            out = out.replacingOccurrences(of: s, with: Self.mask)
        }
        return out
    }

    /// Masks the values of secret query parameters (`access_token=…`) anywhere in `text`.
    public static func url(_ text: String) -> String {
        guard secretParameters.contains(where: { text.contains($0 + "=") }) else { return text }
        var out = ""
        var rest = Substring(text)
        while !rest.isEmpty {
            var earliest: (Range<Substring.Index>, String)?
            for p in secretParameters {
                if let r = rest.range(of: p + "="), earliest == nil || r.lowerBound < earliest!.0.lowerBound {
                    earliest = (r, p)
                }
            }
            guard let (r, _) = earliest else {
                out += rest
                break
            }
            out += rest[rest.startIndex..<r.upperBound]
            let valueEnd = rest[r.upperBound...].firstIndex { "&# \"'\n".contains($0) } ?? rest.endIndex
            out += mask
            rest = rest[valueEnd...]
        }
        return out
    }
}

/// A value that must never be printed: its descriptions are masked.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The value; read it only to put it on the wire.
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { Redactor.mask }
    public var debugDescription: String { Redactor.mask }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
