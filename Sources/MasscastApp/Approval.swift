import FileChecks
import Foundation
import PipelineCore
import PipelineYAML
import Runner

/// One approval of a broadcast: who, and when.
public struct Approval: Sendable, Hashable {
    /// `--by`: self-asserted; who may approve is decided by who may merge `approvals/`.
    public var by: String
    public var at: Date

    public init(by: String, at: Date) {
        self.by = by
        self.at = at
    }
}

/// `approvals/NAME.yaml`: the approvals of a broadcast's source, committed beside masscast.yaml.
///
/// ```yaml
/// broadcast: spring-sale
/// source_digest: 3f1c…          # the broadcast's source when it was approved
/// approvals:
///   - by: alice
///     at: "2026-12-03T05:00:00Z"
/// ```
/// The approvals are void as soon as the broadcast's source digest changes
/// (``ApprovalFile/sourceDigest(of:file:)``).
public struct ApprovalFile: Sendable, Hashable {
    public var broadcast: String
    public var sourceDigest: String
    public var approvals: [Approval]

    public init(broadcast: String, sourceDigest: String, approvals: [Approval]) {
        self.broadcast = broadcast
        self.sourceDigest = sourceDigest
        self.approvals = approvals
    }

    /// The approvers (distinct) whose approvals hold for a source with `digest`.
    public func approvers(for digest: String) -> [String] {
        guard digest == sourceDigest else { return [] }
        var seen = Set<String>()
        return approvals.map(\.by).filter { seen.insert($0).inserted }
    }

    /// The file `approvals/NAME.yaml` of a project whose masscast.yaml is `configFile`.
    public static func path(name: String, configFile: String) -> String {
        ((configFile as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("approvals/\(name).yaml")
    }

    /// The broadcast's source digest: SHA-256 (hex) of the pipeline file's bytes, its inputs
    /// file's, and every file its steps read (`file`, `content_file`, `touser_file`, by their
    /// bytes). Any edit to what would be sent, or to whom, changes it.
    public static func sourceDigest(of pipeline: Pipeline, file: String) -> String {
        func bytes(_ path: String) -> String {
            FileManager.default.contents(atPath: path).map { Idempotency.digest($0) } ?? "missing"
        }
        var text = "masscast approval source v1\npipeline \(bytes(file))\n"
        let inputs = InputsFile.path(forPipeline: file)
        text += "inputs \(FileManager.default.fileExists(atPath: inputs) ? bytes(inputs) : "none")\n"
        let base = (file as NSString).deletingLastPathComponent
        for path in referencedFiles(pipeline).sorted() {
            let full = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
            text += "file \(path) \(bytes(full))\n"
        }
        return Idempotency.digest(text)
    }

    /// The literal paths under `file`, `content_file` and `touser_file` in the steps' `with`.
    static func referencedFiles(_ pipeline: Pipeline) -> Set<String> {
        var found = Set<String>()
        func walk(_ node: SourceNode) {
            if let entries = node.entries {
                for e in entries {
                    if ["file", "content_file", "touser_file"].contains(e.key), case .string(let s)? = e.value.typed,
                        !s.contains("${{")
                    {
                        found.insert(s)
                    }
                    walk(e.value)
                }
            } else if let items = node.items {
                items.forEach(walk)
            }
        }
        for step in pipeline.steps { if let with = step.with { walk(with) } }
        return found
    }

    /// The largest OpenID audience of its `mass/send` steps (a `touser` list, or the
    /// non-empty lines of a `touser_file`, header included), `nil` when it has none.
    public static func largestOpenIDAudience(of pipeline: Pipeline, file: String) -> Int? {
        let base = (file as NSString).deletingLastPathComponent
        var largest: Int?
        for step in pipeline.steps where step.uses.value == "mass/send" {
            guard let with = step.with else { continue }
            var count: Int?
            if let items = with["touser"]?.items {
                count = items.count
            } else if case .string(let path)? = with["touser_file"]?.typed {
                let full = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
                count = countLines(full)
            }
            if let count { largest = max(largest ?? 0, count) }
        }
        return largest
    }

    /// Non-empty lines, read in blocks (an audience file may be large).
    static func countLines(_ path: String) -> Int? {
        guard let handle = try? RegularFile.open(path).get() else { return nil }
        defer { try? handle.close() }
        var lines = 0
        var lineHasText = false
        while let block = try? handle.read(upToCount: 1 << 20), !block.isEmpty {
            for byte in block {
                if byte == 10 {
                    if lineHasText { lines += 1 }
                    lineHasText = false
                } else if byte != 13 && byte != 32 && byte != 9 {
                    lineHasText = true
                }
            }
        }
        return lines + (lineHasText ? 1 : 0)
    }

    /// Reads `path`; `nil` when there is no such file. A file that cannot be read as an
    /// approval file is a ``SetupError`` naming it.
    public static func load(_ path: String) throws(SetupError) -> ApprovalFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let read = YAMLReader(maxBytes: 1 << 20).read(path: path)
        func bad(_ why: String) -> SetupError {
            SetupError(.file, "\(path): \(why); write it again with `masscast approve NAME --by WHO`")
        }
        if let error = read.diagnostics.first(where: { $0.severity == .error }) { throw bad(error.message) }
        guard let root = read.root, case .string(let name)? = root["broadcast"]?.typed,
            case .string(let digest)? = root["source_digest"]?.typed
        else { throw bad("it needs `broadcast` and `source_digest`") }
        var approvals: [Approval] = []
        let iso = ISO8601DateFormatter()
        for item in root["approvals"]?.items ?? [] {
            guard case .string(let by)? = item["by"]?.typed, case .string(let at)? = item["at"]?.typed,
                let date = iso.date(from: at)
            else { throw bad("each approval needs `by` and `at` (RFC 3339)") }
            approvals.append(Approval(by: by, at: date))
        }
        return ApprovalFile(broadcast: name, sourceDigest: digest, approvals: approvals)
    }

    /// The file's YAML text.
    public var yaml: String {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime]
        var text = """
            # Approvals of broadcast \(broadcast), written by `masscast approve`. They hold while the
            # broadcast's source digest below is unchanged; who may approve is decided by who may merge
            # this folder (branch protection, CODEOWNERS): `by` is self-asserted.
            broadcast: \(Self.quoted(broadcast))
            source_digest: \(Self.quoted(sourceDigest))
            approvals:

            """
        for approval in approvals {
            text += "  - by: \(Self.quoted(approval.by))\n    at: \(Self.quoted(iso.string(from: approval.at)))\n"
        }
        return text
    }

    /// A YAML double-quoted scalar (JSON string syntax is a subset of it).
    static func quoted(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}

/// `masscast approve NAME --by WHO`.
public enum Approve {
    /// Approves the broadcast `name` (found under `paths`) as `by`: writes (or adds to)
    /// `approvals/NAME.yaml` beside masscast.yaml. Approvals of an earlier source are dropped.
    /// - Returns: the file written and its content.
    public static func run(
        name: String, by: String, paths: [String], config explicit: String?, environment: AppEnvironment,
        now: Date = Date()
    ) throws(SetupError) -> (path: String, file: ApprovalFile) {
        let who = by.trimmingCharacters(in: .whitespaces)
        guard !who.isEmpty else { throw SetupError(.invalidInputs, "--by needs a name: who approves") }
        let (found, _) = PipelineFiles.discover(paths.map(environment.absolute))
        let loader = PipelineLoader()
        var match: (Pipeline, String)?
        for file in found where (file as NSString).lastPathComponent != ProjectConfigLoader.fileName {
            if let p = loader.load(path: file).pipeline, p.name.value == name {
                match = (p, file)
                break
            }
        }
        guard let (pipeline, file) = match else {
            throw SetupError(
                .invalidPipeline,
                "no pipeline named \(name) under \(paths.joined(separator: ", ")) (a pipeline's `name:`, not its file name)")
        }
        _ = try ProjectFiles.loadPipeline(file, environment: environment)  // no errors
        guard let config = try ProjectFiles.loadConfig(explicit: explicit, near: file) else {
            throw SetupError(
                .invalidConfig, "no masscast.yaml found for \(file): approvals live in approvals/ beside it")
        }
        let path = ApprovalFile.path(name: name, configFile: config.file)
        let digest = ApprovalFile.sourceDigest(of: pipeline, file: file)
        var approval = ApprovalFile(broadcast: name, sourceDigest: digest, approvals: [])
        if let existing = try ApprovalFile.load(path), existing.sourceDigest == digest {
            approval.approvals = existing.approvals.filter { $0.by != who }
        }
        approval.approvals.append(Approval(by: who, at: now))
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(approval.yaml.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SetupError(.file, "cannot write \(path): \(error.localizedDescription)")
        }
        return (path, approval)
    }
}

/// What `masscast apply` knows of a broadcast's approvals: the requirement (`approvals:` of
/// masscast.yaml, when there is one), the approvals file, and who approved its current source.
struct ApprovalState: Sendable {
    var settings: ApprovalSettings?
    /// `approvals/NAME.yaml`.
    var path: String
    /// Whether the file exists.
    var exists: Bool
    /// Who approved the broadcast's current source (empty: none, or void since it changed).
    var approvers: [String]

    /// The requirement of the config found for `file` (or `--config`) and the approvals file.
    static func read(_ pipeline: Pipeline, file: String, name: String, config explicit: String?) throws(SetupError)
        -> ApprovalState
    {
        guard let config = try ProjectFiles.loadConfig(explicit: explicit, near: file), let settings = config.approvals
        else { return ApprovalState(settings: nil, path: "", exists: false, approvers: []) }
        let path = ApprovalFile.path(name: name, configFile: config.file)
        let approvals = try ApprovalFile.load(path)
        return ApprovalState(
            settings: settings, path: path, exists: approvals != nil,
            approvers: approvals?.approvers(for: ApprovalFile.sourceDigest(of: pipeline, file: file)) ?? [])
    }

    /// Whether the valid approvals meet a requirement that exists.
    func approves(toAll: Bool, recipients: Int?) -> Bool {
        guard let settings else { return false }
        let needed = settings.required(toAll: toAll, recipients: recipients)
        return needed > 0 && approvers.count >= needed
    }

    /// The approval finding that blocks the broadcast, if any: too few valid approvals for a
    /// to-all send or an audience over `over_recipients`; and, when the threshold exists and a
    /// tag's followers could not be counted (`uncountedTags`: the tag and why), the approvals
    /// an audience over it would need — an unknown size never passes silently.
    func blockers(name: String, recipients: Int?, sendsToAll: Bool, uncountedTags: [(Int, String)] = [])
        -> [ReconcileBlocker]
    {
        guard let settings else { return [] }
        var needed = settings.required(toAll: sendsToAll, recipients: recipients)
        var unknown = ""
        if let limit = settings.overRecipients, !uncountedTags.isEmpty {
            let ifOver = max(needed, max(1, settings.toAll))
            if approvers.count < ifOver {
                needed = ifOver
                unknown =
                    uncountedTags.map { tag, reason in
                        "needs preflight to count tag \(tag)'s followers against approvals.over_recipients (\(limit)) "
                            + "(\(reason))"
                    }.joined(separator: "; ") + "; "
            }
        }
        guard needed > 0, approvers.count < needed else { return [] }
        let found: String =
            if !exists { "\(path) does not exist" }
            else if approvers.isEmpty { "the approvals in \(path) are void: the broadcast changed since" }
            else { "\(approvers.count) valid (\(approvers.joined(separator: ", ")))" }
        return [
            ReconcileBlocker(
                .approval,
                unknown + "masscast.yaml requires \(needed) approval\(needed == 1 ? "" : "s") of its current source and "
                    + "\(found): run `masscast approve \(name) --by WHO` and merge approvals/\(name).yaml "
                    + "(--confirm-to-all does not replace an approval)")
        ]
    }
}
