// `validate`'s checks of the files a pipeline will read at send time: media uploads,
// content files and audiences. PipelineCore has no I/O, so they live here.

import Audience
import Foundation
import PipelineCore
import WeChatMP

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks the files a pipeline names, as the runner will read them, so that a pull
/// request fails before merge rather than at send time:
///
/// - `file` of `media/upload` and `media/uploadimg`, `content_file` anywhere in `with`
///   (text payloads, articles) and `touser_file` of `mass/send` must be regular, readable
///   files (a folder, a FIFO, a device or a socket is refused without being opened) inside
///   the repository (``RepositoryRoot``): MC2030, MC2031.
/// - Media must be of their type's format by their first bytes, with an accepted extension
///   (MC2032), and within its size (MC2033): WeChatMP's ``MediaType/limit`` and
///   ``MediaLimit/articleImage`` are the limits. A `content_file` must be UTF-8 text of at
///   most 1 MiB, as the runner reads it.
/// - An audience is read with ``AudienceScanner/check(_:maxLines:)``, the runner's own
///   rules: a CSV's `touser_column` (MC2034), then well-formed OpenIDs in the first
///   ``sampleLines`` lines, or the whole file when ``deep`` (MC2035); with ``deep``, a note
///   gives the recipient count after removing duplicates (MC2036).
///
/// A path written as an expression (`${{ inputs.file }}`) is known only at run time and is
/// skipped. Messages never quote a file's content beyond a masked fragment.
public struct PipelineFileChecker: Sendable {
    /// Read whole audience files and report their recipient counts.
    public var deep: Bool

    /// Lines of an audience file read without ``deep`` (after a CSV's header).
    public static let sampleLines = 1000

    /// The most a `content_file` may hold (the runner's limit).
    public static let contentFileMaxBytes = 1 << 20

    /// Called while an audience file is read with ``deep`` (about once per MiB), with what
    /// is being read: `reading big.txt: 36,157 lines, 10%`.
    public var progress: (@Sendable (String) -> Void)?

    /// What this checker learned about folders and files (repository roots, real paths,
    /// `stat`, first bytes), shared by every pipeline it checks and by its threads: a path
    /// named by many pipelines is examined once. A new checker looks at the disk again.
    private let facts = FileFacts()

    public init(deep: Bool = false, progress: (@Sendable (String) -> Void)? = nil) {
        self.deep = deep
        self.progress = progress
    }

    /// The diagnostics for the files `pipeline` names; paths are relative to the folder of
    /// `pipeline.file`, which must be a path from the current folder (as `validate` loads it).
    /// `allowed`: folders outside the repository the files may be in (`paths.allow`, real paths).
    public func check(_ pipeline: Pipeline, allowed: [String] = []) -> [Diagnostic] {
        let folder = RepositoryRoot.folder(of: pipeline.file)
        let root = FileAccess(root: facts.root(ofFolder: folder), allowed: allowed)
        var out: [Diagnostic] = []
        for step in pipeline.steps {
            guard let with = step.with else { continue }
            switch step.kindName {
            case "media/upload":
                if let file = with["file"] {
                    let type = with["type"]?.scalar.flatMap { MediaType(rawValue: $0.text) }
                    let limit = type?.limit
                    let what = type.map { "media/upload type \($0.rawValue)" } ?? "media/upload"
                    out += checkFile(file, key: "file", folder: folder, root: root) { path, display, size in
                        limit.map { mediaProblems(path: path, display: display, size: size, limit: $0, what: what, at: file.location) } ?? []
                    }
                }
            case "media/uploadimg":
                if let file = with["file"] {
                    out += checkFile(file, key: "file", folder: folder, root: root) { path, display, size in
                        mediaProblems(path: path, display: display, size: size, limit: .articleImage,
                                      what: "media/uploadimg", at: file.location)
                    }
                }
            default:
                break
            }
            if let audience = with["touser_file"] {
                let column = with["touser_column"]
                out += checkFile(audience, key: "touser_file", folder: folder, root: root) { path, display, _ in
                    audienceProblems(path: path, display: display, file: audience, column: column)
                }
            }
            for node in contentFiles(in: with) {
                out += checkFile(node, key: "content_file", folder: folder, root: root) { path, display, size in
                    contentProblems(path: path, display: display, size: size, at: node.location)
                }
            }
        }
        return out
    }

    // MARK: Any file

    /// Checks that the file `node` names is inside the repository, exists and is a
    /// readable regular file; then runs `content` on it (its path, its name for messages,
    /// its size).
    private func checkFile(
        _ node: SourceNode, key: String, folder: String, root: FileAccess,
        content: (_ path: String, _ display: String, _ size: Int) -> [Diagnostic]
    ) -> [Diagnostic] {
        guard let (written, style) = node.scalar, !node.hasExpression, !written.isEmpty else { return [] }
        _ = style
        let file = facts.file(written, inFolder: folder)
        let path = file.path
        let display = file.display
        if !root.permits(realPath: file.real) {
            let real = file.real
            return [.error(
                .pathOutsideRepository,
                "\(key) '\(written)' is outside the repository",
                at: node.location,
                note: .init("it resolves to \(real)\(real != RepositoryRoot.absolute(path) ? " (through a symbolic link)" : ""); files may be in \(root.placesDescription)"),
                hint: "keep the files a pipeline reads inside its repository (the folder of masscast.yaml, else the one holding .git), so that a review sees them, or list their folder under paths.allow in masscast.yaml")]
        }
        if file.statError != 0 {
            let code = file.statError
            if code == ENOENT || code == ENOTDIR {
                return [.error(.fileNotReadable, "\(key) '\(written)' does not exist", at: node.location,
                               note: .init("looked for \(display)"),
                               hint: "paths are relative to the pipeline's folder; check the name, or add the file to the repository")]
            }
            return [.error(.fileNotReadable, "\(key) '\(written)' cannot be read: \(String(cString: strerror(code)))",
                           at: node.location, note: .init("looked at \(display)"))]
        }
        if file.mode & S_IFMT != S_IFREG {
            let kind = RegularFile.kind(of: file.mode)
            return [.error(.fileNotReadable, "\(key) '\(written)' is \(kind), not a regular file", at: node.location,
                           note: .init("looked at \(display)"), hint: "\(key) must name a file")]
        }
        if !file.readable {
            return [.error(.fileNotReadable, "\(key) '\(written)' cannot be read (permission denied)", at: node.location,
                           note: .init("looked at \(display)"), hint: "make the file readable by the user that runs masscast")]
        }
        return content(path, display, file.size)
    }

    /// Every `content_file` scalar under `node`, at any depth (text payloads, articles).
    private func contentFiles(in node: SourceNode) -> [SourceNode] {
        if let entries = node.entries {
            return entries.flatMap { $0.key == "content_file" ? [$0.value] : contentFiles(in: $0.value) }
        }
        if let items = node.items { return items.flatMap(contentFiles) }
        return []
    }

    // MARK: Media

    private func mediaProblems(
        path: String, display: String, size: Int, limit: MediaLimit, what: String, at location: SourceLocation
    ) -> [Diagnostic] {
        let accepted = MediaFormat.accepted(by: limit)
        // Only a file with a problem needs the names spelled out (most files have none).
        var names: String { accepted.map(\.rawValue).joined(separator: " or ") }
        let a = { (name: String) in (name.hasPrefix("MP") || name.hasPrefix("A") ? "an " : "a ") + name }
        if size == 0 {
            return [.error(.mediaFormat, "\(display) is empty; \(what) takes \(a(names)) file", at: location)]
        }
        if size > limit.maxBytes {
            return [.error(.fileTooBig, "\(display) is \(Self.size(size)); \(what) takes at most \(Self.size(limit.maxBytes))",
                           at: location, hint: "WeChat refuses larger files (errcode \(limit.sizeErrcode)); make the file smaller")]
        }
        let found = facts.format(of: path)
        if found.map({ !accepted.contains($0) }) ?? true {
            let what2 = found.map { "those of \(a($0.rawValue)) file" } ?? "of no format masscast recognises"
            return [.error(.mediaFormat, "\(display) is not \(a(names)) file: its first bytes are \(what2)", at: location,
                           hint: limit.allowedExtensions.contains(MediaLimit.fileExtension(of: path))
                               ? "\(what) takes \(names); the name's extension does not change what a file holds"
                               : "\(what) takes \(names)")]
        }
        let ext = MediaLimit.fileExtension(of: path)
        if !limit.allowedExtensions.contains(ext) {
            return [.error(.mediaFormat, "\(display): .\(ext.isEmpty ? "(none)" : ext) is not accepted by \(what)", at: location,
                           hint: "name the file with one of \(limit.allowedExtensions.map { "." + $0 }.joined(separator: ", ")); WeChat goes by the extension")]
        }
        return []
    }

    // MARK: Content files

    private func contentProblems(path: String, display: String, size: Int, at location: SourceLocation) -> [Diagnostic] {
        let limit = Self.contentFileMaxBytes
        if size > limit {
            return [.error(.fileTooBig, "\(display) is \(Self.size(size)); content_file takes at most \(Self.size(limit))", at: location)]
        }
        if let line = facts.firstInvalidUTF8Line(of: path, limit: limit) {
            return [.error(.mediaFormat, "\(display) is not UTF-8 text", at: location,
                           note: .init("\(display):\(line): the first byte that is not UTF-8"),
                           hint: "save the file as UTF-8")]
        }
        return []
    }

    // MARK: Audiences

    private func audienceProblems(path: String, display: String, file: SourceNode, column: SourceNode?) -> [Diagnostic] {
        var csvColumn: String?
        if let column {
            guard let text = column.scalar?.text, !column.hasExpression else { return [] }
            csvColumn = text
        }
        let source = AudienceSource(path: path, csvColumn: csvColumn)
        let maxLines = deep ? nil : Self.sampleLines + (csvColumn == nil ? 0 : 1)
        let named = { (text: String) in
            text.hasPrefix(path + ":") ? display + text.dropFirst(path.count) : text
        }
        do {
            let report = progress
            let result = try AudienceScanner.check(source, maxLines: maxLines, progress: deep ? report.map { show in
                { @Sendable (p: AudienceProgress) in
                    let percent = p.totalBytes > 0 ? ", \(Int(p.bytesRead * 100 / p.totalBytes))%" : ""
                    show("reading \(display): \(Self.grouped(p.linesRead)) lines\(percent)")
                }
            } : nil)
            guard deep else { return [] }
            let n = result.uniqueCount
            let dups = result.duplicateCount
            return [Diagnostic(
                .note, .audienceCount,
                "\(display): \(Self.grouped(n)) \(n == 1 ? "recipient" : "recipients")"
                    + (dups > 0 ? " after removing \(Self.grouped(dups)) \(dups == 1 ? "duplicate" : "duplicates")" : ""),
                at: file.location)]
        } catch {
            let place = error.line.map { "\(display):\($0)" + (error.column.map { ":\($0)" } ?? "") } ?? display
            switch error.code {
            case .missingColumn:
                return [.error(.audienceColumn, "\(display) has no column '\(csvColumn ?? "")'", at: column?.location ?? file.location,
                               note: .init("\(place): \(error.message)"), hint: error.hint)]
            case .ambiguousColumn:
                return [.error(.audienceColumn, "\(display): \(error.message)", at: column?.location ?? file.location,
                               hint: error.hint)]
            case .notFound, .unreadable, .spool:
                return [.error(.fileNotReadable, "touser_file '\(file.scalar?.text ?? display)' cannot be read: \(error.message)",
                               at: file.location)]
            case .empty, .tooFew:
                return [.error(.audienceContent, "\(display): \(error.message)", at: file.location, hint: error.hint)]
            default:  // problems on lines: malformedOpenID, invalidUTF8, lineTooLong, csvSyntax
                let count = error.problemCount
                let scope = deep ? "" : " (in the first \(Self.grouped(Self.sampleLines)) lines)"
                let first = error.details.first.map(named) ?? place + ": " + error.message
                let more = count > 1 ? "; \(count - 1) more \(count == 2 ? "line" : "lines") too" : ""
                return [.error(.audienceContent,
                               "\(display) has \(count) bad \(count == 1 ? "line" : "lines")\(scope): nothing would be sent",
                               at: file.location, note: .init(first + more),
                               hint: "OpenIDs are 6–64 characters of A-Z a-z 0-9 _ -, one a line (or one a row in the CSV column); fix or remove the lines")]
            }
        }
    }

    // MARK: Helpers

    /// The 1-based line of the first byte that is not UTF-8, or `nil` when all are.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput: return nil
            case .error: return line
            }
        }
    }

    /// Up to `count` bytes from the start of the (regular) file at `path`.
    static func readPrefix(_ path: String, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, count - total) }
            if n <= 0 { break }
            total += n
        }
        return Array(bytes.prefix(total))
    }

    /// A size for messages: `10 MB (10,485,760 bytes)`; MB and KB are 2²⁰ and 2¹⁰ bytes,
    /// as WeChat means them.
    static func size(_ bytes: Int) -> String {
        let unit: String
        if bytes >= 1 << 20 {
            let mb = Double(bytes) / Double(1 << 20)
            unit = (mb == mb.rounded() ? String(Int(mb)) : String(format: "%.1f", mb)) + " MB"
        } else if bytes >= 1 << 10 {
            let kb = Double(bytes) / Double(1 << 10)
            unit = (kb == kb.rounded() ? String(Int(kb)) : String(format: "%.1f", kb)) + " KB"
        } else {
            return "\(bytes) bytes"
        }
        return "\(unit) (\(grouped(bytes)) bytes)"
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}

/// What one checker learned about the disk, keyed by folder and by path as written: each
/// folder's repository root is found once, and each named file is resolved, `stat`'ed and
/// read once, however many pipelines name it. Thread-safe (the checks run in parallel).
final class FileFacts: @unchecked Sendable {
    /// A file named in a pipeline, as the checks see it.
    struct File: Sendable {
        /// The path as the runner resolves it (relative to the current folder when the
        /// pipeline's path was).
        var path: String
        /// The name in messages (``RepositoryRoot/displayPath(_:)``).
        var display: String
        /// The real path (symbolic links resolved).
        var real: String
        /// `errno` of `stat`, or 0.
        var statError: Int32
        var mode: mode_t
        var size: Int
        /// Whether `access(R_OK)` allows reading it.
        var readable: Bool
    }

    private let lock = NSLock()
    /// The current folder, absolute, when the checker was made.
    private let currentDirectory = RepositoryRoot.absolute(FileManager.default.currentDirectoryPath)
    private var roots: [String: String] = [:]
    private var files: [String: File] = [:]
    private var formats: [String: MediaFormat?] = [:]
    private var utf8Lines: [String: Int?] = [:]

    private func cached<K: Hashable, V>(_ table: ReferenceWritableKeyPath<FileFacts, [K: V]>, _ key: K, _ make: () -> V) -> V {
        lock.lock()
        if let known = self[keyPath: table][key] { lock.unlock(); return known }
        lock.unlock()
        let value = make()
        lock.lock()
        self[keyPath: table][key] = value
        lock.unlock()
        return value
    }

    /// The repository root of the pipelines in `folder` (``RepositoryRoot/find(forPipelineAt:)``).
    func root(ofFolder folder: String) -> String {
        cached(\.roots, folder) { RepositoryRoot.find(forFolder: folder) }
    }

    /// The file `written` names, for a pipeline in `folder`.
    func file(_ written: String, inFolder folder: String) -> File {
        cached(\.files, folder + "\u{0}" + written) {
            let path = written.hasPrefix("/") ? written : (folder as NSString).appendingPathComponent(written)
            var info = stat()
            let failed = stat(path, &info) != 0
            let statError = failed ? errno : 0
            return File(
                path: path, display: RepositoryRoot.displayPath(path, currentDirectory: currentDirectory), real: RepositoryRoot.realPath(path),
                statError: statError, mode: failed ? 0 : info.st_mode, size: failed ? 0 : Int(info.st_size),
                readable: !failed && access(path, R_OK) == 0)
        }
    }

    /// The format of the regular file at `path` by its first bytes.
    func format(of path: String) -> MediaFormat? {
        cached(\.formats, path) { MediaFormat.sniff(PipelineFileChecker.readPrefix(path, count: MediaFormat.sniffBytes)) }
    }

    /// The first line of the first `limit` bytes of `path` that is not UTF-8.
    func firstInvalidUTF8Line(of path: String, limit: Int) -> Int? {
        cached(\.utf8Lines, path) {
            PipelineFileChecker.firstInvalidUTF8Line(PipelineFileChecker.readPrefix(path, count: limit))
        }
    }
}
