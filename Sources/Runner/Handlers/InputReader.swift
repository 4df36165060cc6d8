import Crypto
import FileChecks
import Foundation
import PipelineCore

/// What typing a step's `with` may read: the files the pipeline names (relative to its
/// directory, each with its size limit) and the account's original id (`mass/wait`).
struct InputReader: Sendable {
    /// The pipeline file's directory.
    var baseDirectory: String
    /// The repository root (``RepositoryRoot``): every file a step reads must resolve, after
    /// symbolic links, inside it or inside one of `allowed`.
    var root: String
    /// The folders outside the repository masscast.yaml allows (`paths.allow`, real paths).
    var allowed: [String] = []
    /// The account's original id (gh_…), if configured.
    var originalID: String?
    /// Describing before the run: a placeholder for an earlier step's output
    /// (``OutputReference``) is accepted where a message id goes.
    var planning = false

    /// A path from the pipeline, relative to the pipeline's directory.
    func resolvePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    /// `path` resolved, when it lies inside the repository root after symbolic links; a path
    /// that leads outside (`/etc/…`, `../../…`, a link out) is refused and nothing is read.
    func checkedPath(_ path: String, field: String) throws(StepInputError) -> String {
        let full = resolvePath(path)
        let access = FileAccess(root: root, allowed: allowed)
        guard access.permits(full) else {
            let real = RepositoryRoot.realPath(full)
            let viaLink = real != Self.lexical(full)
            let outside = allowed.isEmpty
                ? "outside the repository root \(root)"
                : "outside the repository root \(root) and the folders masscast.yaml allows (\(allowed.joined(separator: ", ")))"
            throw StepInputError(
                .file, path: field,
                message: "\(path) resolves\(viaLink ? " through a symbolic link" : "") to \(real), \(outside); it is not read. Keep the files a pipeline reads inside its repository (the folder of masscast.yaml, else the one holding .git), or list their folder under paths.allow in masscast.yaml")
        }
        return full
    }

    /// An absolute path with `.` and `..` removed, without following symbolic links.
    static func lexical(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Reads a file the pipeline names, with a size limit.
    func readFile(_ path: String, field: String, limit: Int) throws(StepInputError) -> Data {
        let full = try checkedPath(path, field: field)
        let handle: FileHandle
        switch RegularFile.open(full) {
        case .success(let opened): handle = opened
        case .failure(.missing):
            throw StepInputError(.file, path: field, message: "no file \(path) (looked at \(full))")
        case .failure(.notRegular(let kind)):
            throw StepInputError(.file, path: field, message: "\(path) is \(kind), not a regular file (looked at \(full))")
        case .failure(.unreadable(let reason)):
            throw StepInputError(.file, path: field, message: "cannot read \(path): \(reason) (looked at \(full))")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        if data.count > limit {
            throw StepInputError(.file, path: field, message: "\(path) is larger than \(limit) bytes")
        }
        return data
    }

    /// A file's size and SHA-256, read in blocks (for a plan; `nil` when it cannot be read).
    func plannedFile(_ path: String) -> PlannedFile? {
        guard let full = try? checkedPath(path, field: ""), let handle = try? RegularFile.open(full).get() else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes = 0
        while true {
            // At the end of the file `read` gives nil (swift-corelibs-foundation) or no bytes.
            let block: Data
            do { block = try handle.read(upToCount: 1 << 20) ?? Data() } catch { return nil }
            if block.isEmpty { break }
            bytes += block.count
            hasher.update(data: block)
        }
        return PlannedFile(path: path, bytes: bytes, sha256: Idempotency.hex(hasher.finalize()))
    }

    /// Replaces `content_file` with `content` (text payloads and articles).
    func inlineContentFiles(_ object: [String: Value], path: String) throws(StepInputError) -> [String: Value] {
        var out = object
        if case .string(let file)? = object["content_file"] {
            let data = try readFile(file, field: path + "content_file", limit: 1 << 20)
            guard let text = String(data: data, encoding: .utf8) else {
                throw StepInputError(.file, path: path + "content_file", message: "\(file) is not UTF-8 text")
            }
            out["content_file"] = nil
            out["content"] = .string(text)
        }
        return out
    }

    /// `with` with `content_file` of a text payload read in.
    func payloadWithFiles(_ with: [String: Value]) throws(StepInputError) -> [String: Value] {
        var body = with
        if case .object(let text)? = with["text"] { body["text"] = .object(try inlineContentFiles(text, path: "text.")) }
        return body
    }

    /// Decodes a WeChatMP request from the evaluated `with`.
    func decodeRequest<R: Decodable>(_ type: R.Type, _ value: [String: Value]) throws(StepInputError) -> R {
        let json = Value.object(value).jsonText
        do {
            return try JSONDecoder().decode(R.self, from: Data(json.utf8))
        } catch {
            throw StepInputError(
                .request, path: "", message: "the request cannot be built: \(Self.describe(error))", cause: error)
        }
    }

    /// A decoding error as the step's failure says it.
    static func describe(_ error: any Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .keyNotFound(let key, let ctx):
                return "missing \((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
            case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
                let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
                return (path.isEmpty ? "" : path + ": ") + ctx.debugDescription
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }

    /// A message id from `with`: a number, or (describing) an earlier step's output.
    func messageID(_ value: Value) -> MessageRef? {
        if let id = value.messageID { return .id(id) }
        if planning, case .string(let text) = value, let reference = OutputReference(placeholder: text) {
            return .pending(reference)
        }
        return nil
    }

    /// The message ids of `msg_ids`: a list, or (describing) an earlier step's list output.
    func messageIDs(_ value: Value) -> [MessageRef]? {
        if planning, case .string(let text) = value, let reference = OutputReference(placeholder: text) {
            return [.pending(reference)]
        }
        return nil
    }
}

/// A message id in a step's inputs: known, or (when describing before the run) the output
/// of an earlier step that has not run.
enum MessageRef: Sendable, Hashable {
    case id(Int64)
    case pending(OutputReference)

    /// The id; `nil` only for a reference, which a run never holds (its `with` is evaluated
    /// with the earlier steps' real outputs).
    var known: Int64? {
        if case .id(let id) = self { return id }
        return nil
    }
}
