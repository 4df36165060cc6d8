import Crypto
import FileChecks
import Foundation
import PipelineCore

/// What a send's journal entry says was sent: its versioned digest, the fields it covered
/// (to name an edit), and the digest the entries of earlier masscast versions hold.
struct SendContent: Sendable {
    /// `v3:` + hex SHA-256 (docs/runner.md, "Content digests").
    var digest: String
    /// JSON object: field path → value, or a short digest for long values and files.
    var fields: String
    /// The digest as masscast 0.1's `v2:` scheme wrote it (files named by their path, not
    /// their bytes): compared only with such entries.
    var v2: @Sendable () -> String
    /// The digest as masscast wrote it before digests were versioned (a bare hex SHA-256 of
    /// the request body): compared only with such entries, so that runs in flight across the
    /// upgrade are not taken for edited.
    var legacy: @Sendable () -> String

    /// Whether a journaled digest is this content's, in the scheme it was written in.
    func matches(_ journaled: String) -> Bool {
        if journaled.hasPrefix(Idempotency.contentDigestPrefix) { return journaled == digest }
        if journaled.hasPrefix(DigestScheme.v2.prefix) { return journaled == v2() }
        return journaled == legacy()
    }
}

/// How source digests see the files a step reads.
enum DigestScheme: Sendable {
    /// masscast 0.1's `v2:` digests: a file was named by its path (reading it failed at the
    /// end of the file on Linux, so its bytes never counted). Kept to compare with journal
    /// entries written then.
    case v2
    /// `v3:`: a file is the SHA-256 of its bytes.
    case v3

    var prefix: String {
        switch self {
        case .v2: "v2:"
        case .v3: Idempotency.contentDigestPrefix
        }
    }
}

// Source digests: what a step says, independent of the ids WeChat hands out.
//
// A step's source digest is the SHA-256 of its kind and its `with`, with every reference to
// an earlier step's output replaced by a placeholder naming that step's own source digest,
// and every file it reads (`file`, `content_file`, `touser_file`) replaced by the SHA-256 of
// the file's bytes. Uploading the same file again gives a new media_id but the same digest,
// so a send that refers to it has the same content digest; changing the file, the text or
// the audience changes it.
extension RunExecutor {
    /// The source digest (hex) of `step`, computed once per run.
    func sourceDigest(_ step: Step, scheme: DigestScheme = .v3) -> String {
        let cacheKey = scheme == .v3 ? step.id.value : "v2|" + step.id.value
        if let known = sourceDigests[cacheKey] { return known }
        let view = digestView(step, scheme: scheme)
        let digest = Idempotency.digest("masscast source v2\n\(step.uses.value)\n" + Value.object(view).jsonText)
        sourceDigests[cacheKey] = digest
        return digest
    }

    /// The step's `with` as digests see it (see above). An expression that cannot be
    /// evaluated with placeholders (one that computes with an earlier output rather than
    /// passing it on) is taken at its real value.
    /// - Parameter omitting: keys of `with` left out of the view (before any file they name
    ///   is read and hashed).
    func digestView(_ step: Step, scheme: DigestScheme = .v3, omitting: Set<String> = []) -> [String: Value] {
        guard let index = pipeline.steps.firstIndex(where: { $0.id.value == step.id.value }) else { return [:] }
        var context = evaluationContext()
        for earlier in pipeline.steps[..<index] {
            let digest = sourceDigest(earlier, scheme: scheme)
            var outputs: [String: Value] = [:]
            for output in Catalog.kind(earlier.uses.value)?.outputs ?? [] {
                outputs[output.name] = .string("(output \(output.name) of step sha256:\(digest))")
            }
            var state = states[earlier.id.value] ?? StepState()
            state.outputs = outputs
            context.steps[earlier.id.value] = state
        }
        var evaluated: [String: Value]
        if let placeholders = try? WithEvaluator(context: context).evaluate(step.with) {
            evaluated = placeholders
        } else if let real = try? WithEvaluator(context: evaluationContext()).evaluate(step.with) {
            evaluated = real
        } else {
            evaluated = [:]
        }
        for key in omitting { evaluated[key] = nil }
        return scheme == .v3 ? replacingFiles(evaluated) : evaluated
    }

    /// `file`, `content_file` and `touser_file` values replaced by `sha256:` + the digest of
    /// the file's bytes (a file that cannot be read keeps its path: the step fails anyway).
    func replacingFiles(_ object: [String: Value]) -> [String: Value] {
        var out: [String: Value] = [:]
        for (key, value) in object {
            switch value {
            case .string(let path) where ["file", "content_file", "touser_file"].contains(key):
                out[key] = fileDigest(path).map { .string("sha256:" + $0) } ?? value
            case .object(let inner):
                out[key] = .object(replacingFiles(inner))
            case .list(let items):
                out[key] = .list(items.map { item in
                    if case .object(let inner) = item { return .object(replacingFiles(inner)) }
                    return item
                })
            default:
                out[key] = value
            }
        }
        return out
    }

    /// SHA-256 (hex) of a file the pipeline names, read in blocks.
    func fileDigest(_ path: String) -> String? {
        guard let full = try? inputReader.checkedPath(path, field: ""),
            let handle = try? RegularFile.open(full).get()
        else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            // `nil` (on Linux) or an empty block is the end of the file; a read error throws.
            while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
                hasher.update(data: block)
            }
        } catch {
            return nil
        }
        return Idempotency.hex(hasher.finalize())
    }

    /// The content of a `mass/sendall`: its payload as the digest sees it.
    func sendAllContent(_ step: Step, legacyBody: [String: Value]) -> SendContent {
        var view = digestView(step)
        view["clientmsgid"] = nil
        let digest = Self.sendAllDigest(view: view)
        let v2Digest = Self.sendAllDigest(view: digestView(step, scheme: .v2), scheme: .v2)
        let legacyJSON = Value.object(legacyBody).jsonText
        return SendContent(
            digest: digest, fields: Self.fieldSummary(view).jsonText, v2: { v2Digest },
            legacy: { Idempotency.digest(legacyJSON) })
    }

    /// The content digest of a `mass/sendall` whose `with` digests see as `view`.
    static func sendAllDigest(view: [String: Value], scheme: DigestScheme = .v3) -> String {
        var view = view
        view["clientmsgid"] = nil
        return scheme.prefix + Idempotency.digest("masscast mass/sendall v2\n" + Value.object(view).jsonText)
    }

    /// The payload of a `mass/send` as the digest sees it (without its audience).
    func sendPayloadView(_ step: Step, scheme: DigestScheme = .v3) -> [String: Value] {
        // The audience is left out before files are hashed: a `touser_file` of a million
        // OpenIDs (29 MB) was read and hashed, then dropped, before the first batch.
        digestView(step, scheme: scheme, omitting: ["touser", "touser_file", "touser_column", "clientmsgid"])
    }

    /// The content of one `mass/send` batch; `v2PayloadViewJSON` is the payload as the `v2:`
    /// scheme saw it.
    static func batchContent(
        payloadView: [String: Value], payloadViewJSON: String, v2PayloadViewJSON: String, legacyPayloadJSON: String,
        openIDs: [String]
    ) -> SendContent {
        let digest = Idempotency.contentDigestPrefix
            + Idempotency.batchDigest(payloadJSON: payloadViewJSON, openIDs: openIDs, version: 2)
        var fields = fieldSummary(payloadView)
        if case .object(var o) = fields {
            o["audience"] = .string(audienceSummary(openIDs))
            fields = .object(o)
        }
        return SendContent(
            digest: digest, fields: fields.jsonText,
            v2: {
                DigestScheme.v2.prefix
                    + Idempotency.batchDigest(payloadJSON: v2PayloadViewJSON, openIDs: openIDs, version: 2)
            },
            legacy: { Idempotency.batchDigest(payloadJSON: legacyPayloadJSON, openIDs: openIDs) })
    }

    /// A batch's audience as its journal entry's fields name it: `2 OpenIDs, sha256:…` (12 hex
    /// digits of its OpenIDs' digest, whatever the payload).
    static func audienceSummary(_ openIDs: [String]) -> String {
        "\(openIDs.count) OpenIDs, sha256:" + String(Idempotency.batchDigest(payloadJSON: "", openIDs: openIDs).prefix(12))
    }

    /// Path → value for short scalars, `sha256:` + 12 hex digits for long text and nested
    /// values that are not objects: enough to say which field changed, and how.
    static func fieldSummary(_ view: [String: Value]) -> Value {
        var out: [String: Value] = [:]
        func walk(_ value: Value, _ path: String) {
            switch value {
            case .object(let o):
                for (k, v) in o { walk(v, path.isEmpty ? k : path + "." + k) }
            case .string(let s) where s.count > 40:
                out[path] = .string("sha256:" + String(Idempotency.digest(s).prefix(12)))
            case .list(let items) where value.jsonText.count > 40:
                out[path] = .string("[\(items.count) items] sha256:" + String(Idempotency.digest(value.jsonText).prefix(12)))
            default:
                out[path] = value
            }
        }
        walk(.object(view), "")
        return .object(out)
    }

    /// "filter.tag_id 100 → 101; text.content sha256:1a2b… → sha256:3c4d…", from two field
    /// summaries (empty when they agree or the old one is unknown).
    static func describeEdit(old: String?, new: String) -> String {
        guard let old, case .object(let before)? = try? Value.parseJSON(old),
            case .object(let after)? = try? Value.parseJSON(new)
        else { return "" }
        var changes: [String] = []
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            let a = before[key].map(\.templateText) ?? "(absent)"
            let b = after[key].map(\.templateText) ?? "(absent)"
            changes.append("\(key) \(a) → \(b)")
        }
        return changes.joined(separator: "; ")
    }
}
