import ArgumentParser
import Foundation
import PipelineCore
import PipelineYAML

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set up a repository for masscast: a masscast.yaml with a project id, and .masscast/ in .gitignore.",
        discussion: """
            The project id goes into every clientmsgid and into the identity of every broadcast in the state store, so that two repositories sending to the same account never share keys: a broadcast of one can never be taken for the other's. It is random, written once, committed, and never changed (a new id makes every broadcast a new one).

            Without masscast.yaml, init writes one (version, project, state path, an example account in comments). With a masscast.yaml that has no project id, init adds one after its `version:` line and leaves the rest of the file as it is. A masscast.yaml that already has one is left alone. Either way `.masscast/` (the state store: journal, token cache) is added to .gitignore.

            Examples:
              masscast init
              masscast init --dir deploy
              masscast init --print-project-id
            """
    )

    @Option(help: ArgumentHelp("The folder of masscast.yaml (default: the working directory).", valueName: "dir"))
    var dir: String?

    @Flag(help: "Only print a fresh project id.")
    var printProjectID = false

    func run() async throws {
        if printProjectID {
            writeStdout(Self.newProjectID() + "\n")
            return
        }
        let folder = RunSetup.absolute(dir ?? ".")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            writeStderr("masscast: no folder \(folder)\n")
            throw Exit.invalid
        }
        let configPath = (folder as NSString).appendingPathComponent(ProjectConfigLoader.fileName)
        do {
            let message = try Self.writeConfig(at: configPath)
            writeStdout(message + "\n")
            if try Self.ignoreState(in: folder) {
                writeStdout("added .masscast/ to \((folder as NSString).appendingPathComponent(".gitignore"))\n")
            }
        } catch let e as SetupError {
            writeStderr("masscast: \(e)\n")
            throw Exit.invalid
        }
    }

    /// A fresh project id: `mc-` and 20 random lowercase letters and digits (about 103 bits).
    static func newProjectID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return "mc-" + String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// Writes masscast.yaml, or adds `project:` to it; says what it did.
    static func writeConfig(at path: String) throws -> String {
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
            throw SetupError("cannot read \(path)")
        }
        let loaded = ProjectConfigLoader().load(path: path)
        if let existing = loaded.config?.project {
            return "\(path) already has project id \(existing); nothing to change"
        }
        if loaded.diagnostics.contains(where: { $0.severity == .error && $0.code != .noProjectID }) {
            throw SetupError("\(path) has errors; `masscast validate \(path)` shows them. Fix them first, then run init again")
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
            throw SetupError("could not add `project: \(id)` to \(path) (its layout is unusual); add that line yourself, at the top level")
        }
        return "added project id \(id) to \(path); commit it"
    }

    /// Adds `.masscast/` to the folder's .gitignore unless an entry already covers it.
    static func ignoreState(in folder: String) throws -> Bool {
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

    static func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SetupError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
