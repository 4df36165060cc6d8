import Crypto
import Foundation
import PipelineCore

/// What a send's journal entry says was sent: its versioned digest, the fields it covered
/// (to name an edit), and the digest the entries of earlier masscast versions hold.
struct SendContent: Sendable {
    /// `v2:` + hex SHA-256 (docs/runner.md, "Content digests").
    var digest: String
    /// JSON object: field path → value, or a short digest for long values and files.
    var fields: String
    /// The digest as masscast wrote it before digests were versioned (a bare hex SHA-256 of
    /// the request body): compared only with such entries, so that runs in flight across the
    /// upgrade are not taken for edited.
    var legacy: @Sendable () -> String
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
    func sourceDigest(_ step: Step) -> String {
        if let known = sourceDigests[step.id.value] { return known }
        let view = digestView(step)
        let digest = Idempotency.digest("masscast source v2\n\(step.uses.value)\n" + Value.object(view).jsonText)
        sourceDigests[step.id.value] = digest
        return digest
    }

    /// The step's `with` as digests see it (see above). An expression that cannot be
    /// evaluated with placeholders (one that computes with an earlier output rather than
    /// passing it on) is taken at its real value.
    func digestView(_ step: Step) -> [String: Value] {
        guard let index = pipeline.steps.firstIndex(where: { $0.id.value == step.id.value }) else { return [:] }
        var context = evaluationContext()
        for earlier in pipeline.steps[..<index] {
            let digest = sourceDigest(earlier)
            var outputs: [String: Value] = [:]
            for output in Catalog.kind(earlier.uses.value)?.outputs ?? [] {
                outputs[output.name] = .string("(output \(output.name) of step sha256:\(digest))")
            }
            var state = states[earlier.id.value] ?? StepState()
            state.outputs = outputs
            context.steps[earlier.id.value] = state
        }
        let evaluated: [String: Value]
        if let placeholders = try? WithEvaluator(context: context).evaluate(step.with) {
            evaluated = placeholders
        } else if let real = try? WithEvaluator(context: evaluationContext()).evaluate(step.with) {
            evaluated = real
        } else {
            evaluated = [:]
        }
        return replacingFiles(evaluated)
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
        guard let handle = FileHandle(forReadingAtPath: resolvePath(path)) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            guard let block = try? handle.read(upToCount: 1 << 20) else { return nil }
            if block.isEmpty { break }
            hasher.update(data: block)
        }
        return Idempotency.hex(hasher.finalize())
    }

    /// The content of a `mass/sendall`: its payload as the digest sees it.
    func sendAllContent(_ step: Step, legacyBody: [String: Value]) -> SendContent {
        var view = digestView(step)
        view["clientmsgid"] = nil
        let digest = Self.sendAllDigest(view: view)
        let legacyJSON = Value.object(legacyBody).jsonText
        return SendContent(
            digest: digest, fields: Self.fieldSummary(view).jsonText, legacy: { Idempotency.digest(legacyJSON) })
    }

    /// The content digest of a `mass/sendall` whose `with` digests see as `view`.
    static func sendAllDigest(view: [String: Value]) -> String {
        var view = view
        view["clientmsgid"] = nil
        return Idempotency.contentDigestPrefix
            + Idempotency.digest("masscast mass/sendall v2\n" + Value.object(view).jsonText)
    }

    /// The payload of a `mass/send` as the digest sees it (without its audience).
    func sendPayloadView(_ step: Step) -> [String: Value] {
        var view = digestView(step)
        for key in ["touser", "touser_file", "touser_column", "clientmsgid"] { view[key] = nil }
        return view
    }

    /// The content of one `mass/send` batch.
    static func batchContent(
        payloadView: [String: Value], payloadViewJSON: String, legacyPayloadJSON: String, openIDs: [String]
    ) -> SendContent {
        let digest = Idempotency.contentDigestPrefix
            + Idempotency.batchDigest(payloadJSON: payloadViewJSON, openIDs: openIDs, version: 2)
        var fields = fieldSummary(payloadView)
        if case .object(var o) = fields {
            o["audience"] = .string(
                "\(openIDs.count) OpenIDs, sha256:" + String(Idempotency.batchDigest(payloadJSON: "", openIDs: openIDs).prefix(12)))
            fields = .object(o)
        }
        return SendContent(
            digest: digest, fields: fields.jsonText,
            legacy: { Idempotency.batchDigest(payloadJSON: legacyPayloadJSON, openIDs: openIDs) })
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
