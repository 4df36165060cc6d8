import Foundation
import PipelineCore

/// Reads the project config `masscast.yaml`: YAML text → located tree → checked `ProjectConfig`,
/// with the same reader (and so the same YAML rules and diagnostics) as pipelines.
public struct ProjectConfigLoader: Sendable {
    /// The file name discovery looks for.
    public static let fileName = "masscast.yaml"

    public var reader: YAMLReader

    /// A loader with the given reader (default limits: 1 MiB, 64 levels).
    public init(reader: YAMLReader = YAMLReader()) {
        self.reader = reader
    }

    /// Loads the config at `path`; `displayName` is how diagnostics name it (default: `path`).
    /// The config is `nil` when the file could not be read into a mapping; the diagnostics
    /// (sorted by position) say why, and any other problem found.
    public func load(path: String, displayName: String? = nil) -> (config: ProjectConfig?, diagnostics: [Diagnostic]) {
        let name = displayName ?? path
        return finish(reader.read(path: path, displayName: name), file: name)
    }

    /// Loads config text (tests).
    public func load(text: String, file: String) -> (config: ProjectConfig?, diagnostics: [Diagnostic]) {
        finish(reader.read(text: text, file: file), file: file)
    }

    private func finish(_ read: YAMLReader.Result, file: String) -> (config: ProjectConfig?, diagnostics: [Diagnostic]) {
        var diagnostics = read.diagnostics
        var config: ProjectConfig?
        if let root = read.root {
            let decoded = ProjectConfigDecoder.decode(root, file: file)
            config = decoded.config
            diagnostics += decoded.diagnostics
        }
        return (config, diagnostics.sortedByLocation())
    }

    /// Finds `masscast.yaml` for a folder: looks in `directory`, then in each folder above
    /// it, and stops after the folder that contains `.git` (the repository root) or at the
    /// filesystem root. Returns the file's absolute path (folders lexically normalised,
    /// symbolic links not resolved), or `nil` when there is none.
    public static func discover(startingAt directory: String) -> String? {
        var dir = absolute(directory)
        let fm = FileManager.default
        while true {
            let candidate = dir == "/" ? "/" + fileName : dir + "/" + fileName
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            // `.git` is a folder in a clone and a file in a worktree or submodule.
            if dir == "/" || fm.fileExists(atPath: dir + "/.git") { return nil }
            dir = parent(dir)
        }
    }

    /// `path` as an absolute path without `.`, `..` or repeated slashes.
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ dir: String) -> String {
        guard let slash = dir.lastIndex(of: "/"), slash != dir.startIndex else { return "/" }
        return String(dir[..<slash])
    }
}
