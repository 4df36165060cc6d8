import Foundation
import PipelineCore

/// Reads pipeline files: YAML text → located tree → checked `Pipeline`.
public struct PipelineLoader: Sendable {
    public var reader: YAMLReader

    public init(reader: YAMLReader = YAMLReader()) {
        self.reader = reader
    }

    /// What loading one file produced.
    public struct Loaded: Sendable {
        /// The pipeline, when the YAML could be read into a mapping (it may still have errors).
        public var pipeline: Pipeline?
        /// Every diagnostic, sorted by position.
        public var diagnostics: [Diagnostic]
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    /// Loads the file at `path`; `displayName` is how diagnostics name it (default: `path`).
    public func load(path: String, displayName: String? = nil) -> Loaded {
        let name = displayName ?? path
        return finish(reader.read(path: path, displayName: name), file: name)
    }

    /// Loads pipeline text (tests, stdin).
    public func load(text: String, file: String) -> Loaded {
        finish(reader.read(text: text, file: file), file: file)
    }

    private func finish(_ read: YAMLReader.Result, file: String) -> Loaded {
        var diagnostics = read.diagnostics
        var pipeline: Pipeline?
        if let root = read.root {
            let decoded = PipelineDecoder.decode(root, file: file)
            pipeline = decoded.pipeline
            diagnostics += decoded.diagnostics
        }
        return Loaded(pipeline: pipeline, diagnostics: diagnostics.sortedByLocation())
    }
}

/// Finds pipeline files under the paths a user names.
public enum PipelineFiles {
    /// The YAML files named or found under `paths`, recursively over `*.yaml` and `*.yml`, in
    /// a stable order; hidden folders (`.git`, `.build`) are skipped. Paths that do not exist are
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
            let base = path.hasSuffix("/") ? String(path.dropLast()) : path
            if let walker = fm.enumerator(atPath: path) {
                while let relative = walker.nextObject() as? String {
                    let last = (relative as NSString).lastPathComponent
                    if last.hasPrefix(".") {
                        walker.skipDescendants()
                        continue
                    }
                    if relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") {
                        found.append(base + "/" + relative)
                    }
                }
            }
            files += found.sorted()
        }
        return (files, missing)
    }
}

/// Lines of source files for diagnostics' snippets, read once per file.
public final class SourceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String: [Substring]] = [:]

    public init() {}

    public func line(_ file: String, _ number: Int) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if lines[file] == nil {
            guard let data = FileManager.default.contents(atPath: file) else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            lines[file] = text.split(separator: "\n", omittingEmptySubsequences: false)
        }
        guard let all = lines[file], number >= 1, number <= all.count else { return nil }
        var line = all[number - 1]
        if line.hasSuffix("\r") { line = line.dropLast() }
        return String(line)
    }
}
