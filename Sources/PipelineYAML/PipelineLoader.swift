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
/// Lines are numbered as libyaml numbers them, and so as every diagnostic's location is:
/// a line ends at LF, CR LF, a lone CR, NEL (U+0085), LINE SEPARATOR (U+2028) or
/// PARAGRAPH SEPARATOR (U+2029). A byte order mark at the start is not part of line 1.
///
/// A file larger than `maxBytes` (a regular file checked by its size before anything is
/// read) or that is not a regular file has no snippets: its diagnostics (a size error,
/// usually) are shown without one, instead of reading a huge file whole to show a line.
public final class SourceCache: @unchecked Sendable {
    /// A file's bytes and where its lines are; `nil` for a file with no snippets (too
    /// large, not a regular file, unreadable).
    private struct Text {
        var bytes: [UInt8]?
        var lines: [Range<Int>]?
    }

    private let lock = NSLock()
    private var texts: [String: Text] = [:]
    /// The largest file read for snippets.
    public let maxBytes: Int

    public init(maxBytes: Int = 1 << 20) {
        self.maxBytes = maxBytes
    }

    /// Keeps the bytes of `file` already read (by the YAML reader), so that its snippets need
    /// no second read. Safe to call from several threads at once: its lines are found before
    /// the lock is taken. Bytes over ``maxBytes`` are not kept (such a file has no snippets,
    /// as when it is read here).
    public func store(_ file: String, bytes: [UInt8]) {
        let text = bytes.count <= maxBytes ? Text(bytes: bytes, lines: Self.lineRanges(bytes)) : Text(bytes: nil, lines: nil)
        lock.lock()
        defer { lock.unlock() }
        if texts[file] == nil { texts[file] = text }
    }

    /// The byte ranges of the lines of `bytes` (see the type's rule), without their line
    /// breaks, the first one after a byte order mark.
    static func lineRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let count = bytes.count
        var start = count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        // Most files end their lines with LF alone and hold no byte that could start another
        // break: then memchr finds every line end.
        if let base = bytes.baseAddress,
            memchr(base, 0x0D, count) == nil, memchr(base, 0xC2, count) == nil, memchr(base, 0xE2, count) == nil
        {
            while start < count, let found = memchr(base + start, 0x0A, count - start) {
                let end = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                out.append(start..<end)
                start = end + 1
            }
            out.append(start..<count)
            return out
        }
        var i = start
        while i < count {
            let byte = bytes[i]
            // Only LF, CR, 0xC2 (NEL) and 0xE2 (LS, PS) can start a line break.
            guard byte == 0x0A || byte == 0x0D || byte == 0xC2 || byte == 0xE2 else {
                i += 1
                continue
            }
            var breakLength = 0
            switch byte {
            case 0x0A: breakLength = 1
            case 0x0D: breakLength = i + 1 < count && bytes[i + 1] == 0x0A ? 2 : 1
            case 0xC2: breakLength = i + 1 < count && bytes[i + 1] == 0x85 ? 2 : 0
            default:
                breakLength = i + 2 < count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9) ? 3 : 0
            }
            if breakLength == 0 {
                i += 1
                continue
            }
            out.append(start..<i)
            i += breakLength
            start = i
        }
        out.append(start..<count)
        return out
    }

    /// ``lineRanges(_:)`` of an array.
    static func lineRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        bytes.withUnsafeBufferPointer { lineRanges($0) }
    }

    /// Line `number` (1-based) of `file`, without its line break, or `nil`. Read from the
    /// stored bytes, else from the file (once).
    public func line(_ file: String, _ number: Int) -> String? {
        lock.lock()
        if texts[file] == nil {
            let bytes = Self.contents(file, limit: maxBytes).map { [UInt8]($0) }
            texts[file] = Text(bytes: bytes, lines: bytes.map(Self.lineRanges))
        }
        let text = texts[file]
        lock.unlock()
        guard let bytes = text?.bytes, let lines = text?.lines, number >= 1, number <= lines.count else { return nil }
        let line = String(decoding: bytes[lines[number - 1]], as: UTF8.self)
        // Control characters (a NUL, an ESC that would drive the terminal) are shown as
        // U+FFFD, one column each, so the caret stays under its character.
        guard line.unicodeScalars.contains(where: Self.isControl) else { return line }
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
