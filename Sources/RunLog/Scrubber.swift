import Foundation
import Logging
import PipelineCore

/// Replaces secrets (app secrets, access tokens, AES keys) with `[redacted]` wherever they
/// appear: in log messages, metadata keys and values (nested arrays and dictionaries
/// included), status lines and reports.
///
/// The runner never logs a secret on purpose; this is defence in depth. Empty strings and
/// strings shorter than ``minimumLength`` are ignored (they would redact ordinary words).
/// Besides each secret as given, its percent-encoded and JSON-escaped forms
/// (`SecretBytes.forms(of:)`) are redacted too, so a secret inside a logged URL or JSON body
/// is caught.
/// Overlapping secrets are redacted as one span, so no part of either leaks.
public struct Scrubber: Sendable, Hashable {
    /// What a secret becomes: `[redacted]`.
    public static let placeholder = "[redacted]"

    /// Secrets shorter than this many characters are ignored: 6.
    public static let minimumLength = SecretBytes.minimumLength

    /// The secrets kept (de-duplicated, each at least ``minimumLength`` characters long).
    public private(set) var secrets: [String]

    /// The byte patterns searched for: every secret and its encoded variants.
    private var patterns: [[UInt8]]

    /// A scrubber for `secrets` (empty and short strings are dropped).
    public init(secrets: [String] = []) {
        self.secrets = []
        self.patterns = []
        add(secrets)
    }

    /// `true` when there is nothing to redact.
    public var isEmpty: Bool { patterns.isEmpty }

    /// A copy that also redacts `more`.
    public func adding(_ more: [String]) -> Scrubber {
        var copy = self
        copy.add(more)
        return copy
    }

    private mutating func add(_ more: [String]) {
        for secret in more where secret.count >= Scrubber.minimumLength && !secrets.contains(secret) {
            secrets.append(secret)
            for form in SecretBytes.forms(of: secret) where !patterns.contains(form) { patterns.append(form) }
        }
    }

    /// `text` with every secret replaced by `[redacted]`.
    ///
    /// The text is searched in place (a native string's UTF-8 storage); a copy is made only
    /// when a secret is found.
    public func scrub(_ text: String) -> String {
        if patterns.isEmpty || text.utf8.count < Scrubber.minimumLength { return text }
        let searched = text.utf8.withContiguousStorageIfAvailable { buffer -> String? in
            redacted(UnsafeRawBufferPointer(buffer))
        }
        if let searched { return searched ?? text }
        return Array(text.utf8).withUnsafeBytes { redacted($0) } ?? text
    }

    /// The bytes with every secret replaced, or `nil` when they hold none.
    private func redacted(_ bytes: UnsafeRawBufferPointer) -> String? {
        var spans: [(start: Int, end: Int)] = []
        for pattern in patterns {
            var from = 0
            while let at = SecretBytes.firstOffset(of: pattern, in: bytes, from: from) {
                spans.append((at, at + pattern.count))
                from = at + 1
            }
        }
        if spans.isEmpty { return nil }
        spans.sort { $0.start < $1.start }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var cursor = 0
        var index = 0
        while index < spans.count {
            let start = spans[index].start
            var end = spans[index].end
            index += 1
            while index < spans.count, spans[index].start < end {
                end = max(end, spans[index].end)
                index += 1
            }
            out.append(contentsOf: bytes[cursor..<start])
            out.append(contentsOf: Scrubber.placeholder.utf8)
            cursor = end
        }
        out.append(contentsOf: bytes[cursor...])
        return String(decoding: out, as: UTF8.self)
    }

    /// A metadata value with every secret replaced, recursively. A `.stringConvertible`
    /// whose text holds no secret is kept as it is (so numbers stay numbers); one that does
    /// becomes a `.string` with the secret replaced.
    public func scrub(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        if patterns.isEmpty { return value }
        switch value {
        case .string(let s):
            return .string(scrub(s))
        case .stringConvertible(let c):
            let text = c.description
            let clean = scrub(text)
            return clean == text ? value : .string(clean)
        case .array(let items):
            return .array(items.map { scrub($0) })
        case .dictionary(let dict):
            return .dictionary(scrub(dict))
        }
    }

    /// Metadata with every secret replaced in keys and values, recursively.
    public func scrub(_ metadata: Logger.Metadata) -> Logger.Metadata {
        if patterns.isEmpty { return metadata }
        var out: Logger.Metadata = [:]
        for (key, value) in metadata { out[scrub(key)] = scrub(value) }
        return out
    }

    /// A JSON value with every secret replaced in strings and object keys, recursively.
    public func scrub(_ value: Value) -> Value {
        if patterns.isEmpty { return value }
        switch value {
        case .null, .bool, .integer, .number: return value
        case .string(let s): return .string(scrub(s))
        case .list(let items): return .list(items.map { scrub($0) })
        case .object(let dict):
            var out: [String: Value] = [:]
            for (key, item) in dict { out[scrub(key)] = scrub(item) }
            return .object(out)
        }
    }

    /// An optional string scrubbed.
    func scrub(_ text: String?) -> String? { text.map { scrub($0) } }
}
