import Foundation
import PipelineCore

/// Reads pipeline files: YAML text → located tree → checked `Pipeline`.
public struct PipelineLoader: Sendable {
    public var reader: YAMLReader
    /// Environment variables that hold credentials (masscast.yaml's secret fields name them):
    /// a step's `with` may not read them (MC3009).
    public var secretEnvironment: Set<String>

    public init(reader: YAMLReader = YAMLReader(), secretEnvironment: Set<String> = []) {
        self.reader = reader
        self.secretEnvironment = secretEnvironment
    }

    /// What loading one file produced.
    public struct Loaded: Sendable {
        /// The pipeline, when the YAML could be read into a mapping (it may still have errors).
        public var pipeline: Pipeline?
        /// Every diagnostic, sorted by position.
        public var diagnostics: [Diagnostic]
        /// The file's bytes as read (``load(path:displayName:)`` only): hand them to a
        /// ``SourceCache`` for the diagnostics' snippets instead of reading the file again.
        public var source: [UInt8]? = nil
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    /// Loads the file at `path`; `displayName` is how diagnostics name it (default: `path`).
    public func load(path: String, displayName: String? = nil) -> Loaded {
        let name = displayName ?? path
        let read = reader.read(path: path, displayName: name)
        var loaded = finish(read, file: name)
        loaded.source = read.source
        return loaded
    }

    /// Loads pipeline text (tests, stdin).
    public func load(text: String, file: String) -> Loaded {
        finish(reader.read(text: text, file: file), file: file)
    }

    private func finish(_ read: YAMLReader.Result, file: String) -> Loaded {
        var diagnostics = read.diagnostics
        var pipeline: Pipeline?
        if let root = read.root {
            let decoded = PipelineDecoder.decode(root, file: file, secretEnvironment: secretEnvironment)
            pipeline = decoded.pipeline
            diagnostics += decoded.diagnostics
        }
        return Loaded(pipeline: pipeline, diagnostics: diagnostics.sortedByLocation())
    }
}

extension PipelineLoader {
    /// What reading a pipeline's inputs file produced.
    public struct LoadedInputs: Sendable {
        /// The file's values (empty when it has none or could not be read).
        public var inputs: InputsFile
        /// Every diagnostic, sorted by position.
        public var diagnostics: [Diagnostic]
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    /// Reads the inputs file beside `pipeline` (`InputsFile.path(forPipeline:)`), or `nil`
    /// when there is none.
    public func loadInputs(for pipeline: Pipeline, pipelinePath: String) -> LoadedInputs? {
        let path = InputsFile.path(forPipeline: pipelinePath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let display = InputsFile.path(forPipeline: pipeline.file)
        let read = reader.read(path: path, displayName: display)
        var diagnostics = read.diagnostics
        for i in diagnostics.indices where diagnostics[i].code == .documentCount {
            // The reader's hint speaks of pipelines; this is an inputs file.
            diagnostics[i].hint =
                "an inputs file is a mapping of the pipeline's inputs (`tag_id: 100`); delete it if the "
                + "pipeline needs no values, or write one line per input"
        }
        var inputs = InputsFile(file: display, values: [:])
        if let root = read.root {
            let decoded = InputsFile.decode(root, file: display, pipeline: pipeline)
            inputs = decoded.0
            diagnostics += decoded.1
        }
        return LoadedInputs(inputs: inputs, diagnostics: diagnostics.sortedByLocation())
    }
}

/// Finds pipeline files under the paths a user names.
public enum PipelineFiles {
    /// The YAML files named or found under `paths`, recursively over `*.yaml` and `*.yml`
    /// (inputs files, `*.inputs.yaml`, are not pipelines), in a stable order; hidden folders (`.git`, `.build`) are skipped. Paths that do not exist are
    /// returned in `missing`.
    public static func discover(_ paths: [String]) -> (files: [String], missing: [String]) {
        var files: [String] = []
        var missing: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                missing.append(path)
                continue
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            var found: [String] = []
            let base = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
            collect(base, into: &found, depth: 0)
            files += found.sorted()
        }
        return (files, missing)
    }

    /// Walks a folder with `opendir`/`readdir` (no per-entry path objects); hidden entries are
    /// skipped, symbolic links to folders are not followed, depth is bounded.
    private static func collect(_ folder: String, into found: inout [String], depth: Int) {
        guard depth < 64, let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        var subfolders: [String] = []
        while let entry = readdir(dir) {
            // The name read in place: glibc's entries are only as long as their name, so copying
            // the 256-byte `d_name` field can read past the end of readdir's buffer (a crash).
            let name = String(
                cString: UnsafeRawPointer(entry).advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                    .assumingMemoryBound(to: CChar.self))
            if name.hasPrefix(".") { continue }
            let path = folder + "/" + name
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var info = stat()
                if lstat(path, &info) == 0 {
                    type = (info.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : UInt8(DT_REG)
                }
            }
            if type == UInt8(DT_DIR) {
                subfolders.append(path)
            } else if (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !InputsFile.isInputsFile(name) {
                found.append(path)
            }
        }
        for sub in subfolders { collect(sub, into: &found, depth: depth + 1) }
    }
}

/// Lines of source files for diagnostics' snippets, read once per file.
///
/// A file larger than `maxBytes` (a regular file checked by its size before anything is
/// read) or that is not a regular file has no snippets: its diagnostics (a size error,
/// usually) are shown without one, instead of reading a huge file whole to show a line.
public final class SourceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String: [Substring]] = [:]
    /// The largest file read for snippets.
    public let maxBytes: Int

    public init(maxBytes: Int = 1 << 20) {
        self.maxBytes = maxBytes
    }

    /// Keeps the lines of `file` from bytes already read (by the YAML reader), so that its
    /// snippets need no second read. Safe to call from several threads at once: the text is
    /// split before the lock is taken. Bytes over ``maxBytes`` are not kept (such a file has
    /// no snippets, as when it is read here).
    public func store(_ file: String, bytes: [UInt8]) {
        let split = bytes.count <= maxBytes ? Self.split(bytes) : []
        lock.lock()
        defer { lock.unlock() }
        if lines[file] == nil { lines[file] = split }
    }

    /// The text's lines, as `split(separator: "\n", omittingEmptySubsequences: false)` over
    /// its characters gives them (a CR LF pair is one character there, so it does not end a
    /// line), found by a scan of the UTF-8 bytes instead of by grapheme clusters.
    static func split<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [Substring] {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        // A LF is a character of its own unless a CR comes before it, so these byte offsets
        // are character boundaries.
        var out: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var previous: UInt8 = 0
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            let next = utf8.index(after: index)
            if byte == 0x0A && previous != 0x0D {
                out.append(text[start..<index])
                start = next
            }
            previous = byte
            index = next
        }
        out.append(text[start..<utf8.endIndex])
        return out
    }

    public func line(_ file: String, _ number: Int) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if lines[file] == nil {
            guard let data = Self.contents(file, limit: maxBytes) else {
                lines[file] = []
                return nil
            }
            lines[file] = Self.split(data)
        }
        guard let all = lines[file], number >= 1, number <= all.count else { return nil }
        var line = all[number - 1]
        if line.hasSuffix("\r") { line = line.dropLast() }
        // Control characters (a NUL, an ESC that would drive the terminal) are shown as
        // U+FFFD, one column each, so the caret stays under its character.
        guard line.unicodeScalars.contains(where: Self.isControl) else { return String(line) }
        return String(String.UnicodeScalarView(line.unicodeScalars.map { Self.isControl($0) ? "\u{FFFD}" : $0 }))
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }

    /// A regular file's bytes when it has at most `limit` of them.
    static func contents(_ path: String, limit: Int) -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = (attributes[.size] as? NSNumber)?.intValue, size <= limit,
            let handle = FileHandle(forReadingAtPath: path)
        else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: limit + 1), data.count <= limit else { return nil }
        return data
    }
}
