import Crypto
import Foundation
import PipelineCore

/// The clientmsgid recipe of the format ("Idempotency and identity").
public enum Idempotency {
    /// The clientmsgid of one send.
    ///
    /// - Format 1 (`mc1-`): lowercase hex of the first 24 bytes of SHA-256 over the canonical
    ///   JSON of `{"account","batch","generation","inputs","name","step"}`: 52 bytes. Used by
    ///   projects without a `project:` id, and by generations that started under it.
    /// - Format 2 (`mc2-`): the same with `"project"` (masscast.yaml's `project:` id) in the
    ///   document, so that two repositories sharing an account never share keys.
    public static func clientMsgID(
        format: Int = 1, project: String = "", appID: String, name: String, inputs: [String: Value], step: String,
        batch: Int, generation: Int
    ) -> String {
        var document: [String: Value] = [
            "account": .string(appID), "batch": .integer(batch), "generation": .integer(generation),
            "inputs": .object(inputs), "name": .string(name), "step": .string(step),
        ]
        let prefix: String
        if format >= 2 {
            document["project"] = .string(project)
            prefix = "mc2-"
        } else {
            prefix = "mc1-"
        }
        let digest = SHA256.hash(data: Data(Value.object(document).jsonText.utf8))
        return prefix + hex(digest.prefix(24))
    }

    /// The key format a new generation uses: 2 with a project id, else 1.
    public static func keyFormat(project: String) -> Int { project.isEmpty ? 1 : 2 }

    /// The prefix of the content digests new journal entries hold (`v3:` + hex; entries written
    /// with `v2:` are compared in that scheme, see `DigestScheme`).
    public static let contentDigestPrefix = "v3:"

    /// Canonical JSON of the inputs (sorted keys, no spaces): part of a broadcast's identity.
    public static func canonicalInputs(_ inputs: [String: Value]) -> String {
        Value.object(inputs).jsonText
    }

    /// The content digest of one `mass/send` batch, for the journal: SHA-256 hex over a
    /// version line, the canonical JSON of the payload (everything but `touser` and
    /// `clientmsgid`), then each OpenID of the batch in order, each line ended by `\n`.
    /// OpenIDs have no line breaks, so a different payload, a different OpenID, one more or
    /// less, or another order all give another digest. Streamed: a batch of 10,000 OpenIDs
    /// is hashed without building its JSON.
    ///
    /// Version 2 (the journal's `v2:` digests) hashes the payload as the source digest sees it
    /// (docs/runner.md, "Content digests"); version 1 the request's own payload.
    public static func batchDigest(payloadJSON: String, openIDs: [String], version: Int = 1) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("masscast mass/send batch v\(version)\n".utf8))
        hasher.update(data: Data(payloadJSON.utf8))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 * 1024)
        buffer.append(0x0A)
        for id in openIDs {
            buffer.append(contentsOf: id.utf8)
            buffer.append(0x0A)
            if buffer.count >= 60 * 1024 {
                buffer.withUnsafeBytes { hasher.update(bufferPointer: $0) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        buffer.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    /// SHA-256 hex of `data`.
    public static func digest(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    /// SHA-256 hex of `text`'s UTF-8.
    public static func digest(_ text: String) -> String { digest(Data(text.utf8)) }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
