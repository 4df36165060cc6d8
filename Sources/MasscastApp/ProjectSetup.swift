import FileChecks
import Foundation
import PipelineCore
import PipelineYAML

/// `masscast init`: a repository's masscast.yaml with a project id, and `.masscast/` in its
/// .gitignore.
public enum ProjectSetup {
    /// A fresh project id: `mc-` and 20 random lowercase letters and digits.
    public static func newProjectID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return "mc-" + String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// `masscast init` in `folder` (the working directory when `nil`): masscast.yaml written
    /// or given a project id (``writeConfig(at:)``), then `.masscast/` ignored
    /// (``ignoreState(in:)``); `say` is told each thing done, as it is done.
    public static func initialize(folder: String?, environment: AppEnvironment, say: (String) -> Void)
        throws(SetupError)
    {
        let folder = environment.absolute(folder ?? ".")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SetupError(.file, "no folder \(folder)")
        }
        let config = (folder as NSString).appendingPathComponent(ProjectConfigLoader.fileName)
        // Both files are looked at before either is written, so that a refusal changes nothing.
        try checkOwnFile(config, instead: "add a `project:` line (mc- and 20 lowercase letters or digits) yourself")
        try checkOwnFile((folder as NSString).appendingPathComponent(".gitignore"), instead: "add `.masscast/` to it yourself")
        say(try writeConfig(at: config))
        if try ignoreState(in: folder) {
            say("added .masscast/ to \((folder as NSString).appendingPathComponent(".gitignore"))")
        }
    }

    /// Writes masscast.yaml, or adds `project:` to it; says what it did.
    public static func writeConfig(at path: String) throws(SetupError) -> String {
        let id = newProjectID()
        guard FileManager.default.fileExists(atPath: path) else {
            let text = """
                version: 1
                # The project's id: part of every clientmsgid and broadcast identity, so that two
                # repositories sending to the same account never share keys. Commit it; never change it.
                project: \(id)
                state:
                  path: .masscast/state.sqlite
                # accounts:
                #   brand-main:
                #     app_id: wx0123456789abcdef
                #     app_secret: ${{ env.BRAND_MAIN_APP_SECRET }}
                #     kind: service
                #     original_id: gh_0123456789ab

                """
            try write(text, to: path)
            return "wrote \(path) with project id \(id)"
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SetupError(.file, "cannot read \(path)")
        }
        let loaded = ProjectConfigLoader().load(path: path)
        if let existing = loaded.config?.project {
            return "\(path) already has project id \(existing); nothing to change"
        }
        if loaded.diagnostics.contains(where: { $0.severity == .error && $0.code != .noProjectID }) {
            throw SetupError(.invalidConfig, "\(path) has errors; `masscast validate \(path)` shows them. Fix them first, then run init again")
        }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.components(separatedBy: "\n")
        let line = "project: \(id)"
        if let version = lines.firstIndex(where: { $0.hasPrefix("version:") }) {
            lines.insert(line, at: version + 1)
        } else {
            lines.insert(line, at: 0)
        }
        try write(lines.joined(separator: "\n"), to: path)
        let check = ProjectConfigLoader().load(path: path)
        guard check.config?.project == id else {
            try write(text, to: path)
            throw SetupError(.invalidConfig, "could not add `project: \(id)` to \(path) (its layout is unusual); add that line yourself, at the top level")
        }
        return "added project id \(id) to \(path); commit it"
    }

    /// Refuses a file init would read and rewrite that is not a regular file of the folder's
    /// own: a symbolic link may lead out of the repository (init would copy what it leads to
    /// into the repository's file, where a commit would publish it, say a private key), and a
    /// FIFO would hold init for ever. A file that does not exist is fine: init writes it.
    static func checkOwnFile(_ path: String, instead: String) throws(SetupError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "somewhere"
            throw SetupError(.file, "\(path) is a symbolic link (to \(target)); init neither follows it nor replaces it, so that nothing outside the repository is read or written. Replace the link with a regular file, or \(instead)")
        }
        guard type == S_IFREG else {
            throw SetupError(.file, "\(path) is \(RegularFile.kind(of: info.st_mode)), not a regular file; init leaves it alone. Replace it with a regular file, or \(instead)")
        }
    }

    /// Adds `.masscast/` to the folder's .gitignore unless an entry already covers it.
    public static func ignoreState(in folder: String) throws(SetupError) -> Bool {
        let path = (folder as NSString).appendingPathComponent(".gitignore")
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let entries = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if entries.contains(where: { [".masscast", ".masscast/", "/.masscast", "/.masscast/"].contains($0) }) {
            return false
        }
        let separator = text.isEmpty || text.hasSuffix("\n") ? "" : "\n"
        try write(text + separator + ".masscast/\n", to: path)
        return true
    }

    public static func write(_ text: String, to path: String) throws(SetupError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SetupError(.file, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
