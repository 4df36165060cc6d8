// Where a pipeline's files may be: inside its repository. One resolver for `validate`
// (and, later, the runner), so that both agree on what "inside" means.

import Foundation
import PipelineCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The repository root of a pipeline and the paths it names, resolved as the runner
/// resolves them.
///
/// The root is the folder of the `masscast.yaml` found from the pipeline's folder upward
/// (the search stops at the folder holding `.git`), else the git top level (the folder
/// holding `.git`, a folder in a clone and a file in a worktree), else the pipeline's own
/// folder. Roots and paths are compared after resolving symbolic links, so a link inside
/// the repository that points outside it is outside.
public enum RepositoryRoot {
    /// The project config's file name, looked for from the pipeline's folder upward.
    public static let configFileName = "masscast.yaml"

    /// The root for the pipeline at `pipelineFile` (absolute, symbolic links resolved).
    public static func find(forPipelineAt pipelineFile: String) -> String {
        find(forFolder: folder(of: pipelineFile))
    }

    /// The root for the pipelines in `folder` (absolute, symbolic links resolved).
    public static func find(forFolder folder: String) -> String {
        let start = absolute(folder)
        let fm = FileManager.default
        var dir = start
        while true {
            let config = (dir == "/" ? "" : dir) + "/" + configFileName
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: config, isDirectory: &isDirectory), !isDirectory.boolValue {
                return realPath(dir)
            }
            if fm.fileExists(atPath: (dir == "/" ? "" : dir) + "/.git") { return realPath(dir) }
            if dir == "/" { break }
            dir = parent(dir)
        }
        return realPath(start)
    }

    /// `path` as the runner resolves it: an absolute path as is, a relative one against
    /// the folder of `pipelineFile` (`RunExecutor.resolvePath`).
    public static func resolve(_ path: String, pipelineFile: String) -> String {
        path.hasPrefix("/") ? path : (folder(of: pipelineFile) as NSString).appendingPathComponent(path)
    }

    /// Whether `path`, after resolving symbolic links, is `root` or inside it. `root`
    /// must be a real path (as ``find(forPipelineAt:)`` returns).
    public static func contains(root: String, path: String) -> Bool {
        contains(root: root, realPath: realPath(path))
    }

    /// Whether the real path `real` is `root` or inside it (both real paths).
    public static func contains(root: String, realPath real: String) -> Bool {
        if root == "/" { return true }
        return real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// The absolute path of `path` with symbolic links resolved. For a path that does not
    /// exist (yet), the real path of its deepest existing folder followed by the rest,
    /// with `.` and `..` removed.
    public static func realPath(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if let resolved = systemRealPath(joined) { return resolved }
        let full = absolute(path)
        // Resolve the deepest existing ancestor; keep the rest as written.
        var head = full
        var tail: [String] = []
        while head != "/" {
            tail.insert((head as NSString).lastPathComponent, at: 0)
            head = parent(head)
            if let resolved = systemRealPath(head) {
                return absolute((resolved == "/" ? "" : resolved) + "/" + tail.joined(separator: "/"))
            }
        }
        return full
    }

    /// `path` relative to the current folder when it is inside it, else absolute; `.` and
    /// `..` removed lexically. How `validate` names a file in its messages.
    public static func displayPath(_ path: String) -> String {
        displayPath(path, currentDirectory: absolute(FileManager.default.currentDirectoryPath))
    }

    /// ``displayPath(_:)`` with the current folder given (absolute, normalised).
    static func displayPath(_ path: String, currentDirectory cwd: String) -> String {
        let full = absolute(path.hasPrefix("/") ? path : cwd + "/" + path)
        let prefix = cwd == "/" ? "/" : cwd + "/"
        return full.hasPrefix(prefix) ? String(full.dropFirst(prefix.count)) : full
    }

    /// The folder of a file path (`.` for a bare name), as `NSString.deletingLastPathComponent`
    /// gives it.
    public static func folder(of file: String) -> String {
        let dir = deletingLastComponent(file)
        return dir.isEmpty ? "." : dir
    }

    /// `NSString.deletingLastPathComponent`, without Foundation for the common path that has
    /// no repeated slash and no trailing one (Foundation's costs about 100 times more).
    static func deletingLastComponent(_ path: String) -> String {
        var previous: UInt8 = 0
        var lastSlash: Int?
        var index = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if previous == byte { return (path as NSString).deletingLastPathComponent }
                lastSlash = index
            }
            previous = byte
            index += 1
        }
        if previous == UInt8(ascii: "/") { return (path as NSString).deletingLastPathComponent }
        guard let lastSlash else { return "" }
        if lastSlash == 0 { return "/" }
        return String(decoding: path.utf8.prefix(lastSlash), as: UTF8.self)
    }

    /// `path` as an absolute path without `.`, `..` or repeated slashes (lexically).
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        // An ASCII path (the common case) is split by bytes: the character split cost
        // 50,000 instructions a path. The same parts (a `/` is one character in ASCII).
        let pieces = full.utf8.allSatisfy({ $0 < 0x80 })
            ? full.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
            : full.split(separator: "/")
        for part in pieces {
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

    private static func systemRealPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Where the files a pipeline names (`file`, `content_file`, `touser_file`) may resolve,
/// after symbolic links: inside its repository root, or inside a folder that masscast.yaml
/// lists under `paths.allow`. `validate`, `plan` and `run` decide with the same value.
public struct FileAccess: Sendable, Hashable {
    /// The repository root (a real path, ``RepositoryRoot/find(forPipelineAt:)``).
    public var root: String
    /// The allowed folders outside it, as real paths.
    public var allowed: [String]

    /// Access to `root` and `allowed` (both real paths).
    public init(root: String, allowed: [String] = []) {
        self.root = root
        self.allowed = allowed
    }

    /// The access of the pipeline at `pipelineFile` under `config`: its repository root and
    /// the config's `paths.allow` folders that exist (those that do not are reported by
    /// ``check(_:)``).
    public init(pipelineFile: String, config: ProjectConfig?) {
        self.init(root: RepositoryRoot.find(forPipelineAt: pipelineFile), allowed: Self.allowedRealPaths(config))
    }

    /// The real paths of the folders `config` allows that exist and are folders.
    public static func allowedRealPaths(_ config: ProjectConfig?) -> [String] {
        guard let config else { return [] }
        return config.allowedDirectories.compactMap { entry in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: entry.path, isDirectory: &isDirectory), isDirectory.boolValue
            else { return nil }
            return RepositoryRoot.realPath(entry.path)
        }
    }

    /// Whether `path`, after symbolic links, is inside the root or an allowed folder.
    public func permits(_ path: String) -> Bool {
        permits(realPath: RepositoryRoot.realPath(path))
    }

    /// Whether the real path `real` (``RepositoryRoot/realPath(_:)``) is inside the root or an
    /// allowed folder.
    public func permits(realPath real: String) -> Bool {
        RepositoryRoot.contains(root: root, realPath: real)
            || allowed.contains { RepositoryRoot.contains(root: $0, realPath: real) }
    }

    /// Where files may be, for messages: `the repository root /r` or `the repository root
    /// /r or the folders masscast.yaml allows (/srv/media)`.
    public var placesDescription: String {
        allowed.isEmpty
            ? "the repository root \(root)"
            : "the repository root \(root) or the folders masscast.yaml allows (\(allowed.joined(separator: ", ")))"
    }

    /// A diagnostic for each `paths.allow` entry that does not exist or is not a folder,
    /// at the entry (MC2030).
    public static func check(_ config: ProjectConfig) -> [Diagnostic] {
        config.allowedDirectories.compactMap { entry in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: entry.path, isDirectory: &isDirectory)
            if exists && isDirectory.boolValue { return nil }
            return .error(
                .fileNotReadable,
                exists ? "paths.allow: '\(entry.written)' is not a folder" : "paths.allow: '\(entry.written)' does not exist",
                at: entry.location,
                note: .init("looked at \(RepositoryRoot.absolute(entry.path))"),
                hint: "list existing folders; a relative entry is relative to the folder of masscast.yaml")
        }
    }
}
