import ArgumentParser
import Foundation
import MasscastApp
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
            writeStdout(ProjectSetup.newProjectID() + "\n")
            return
        }
        let folder = AppEnvironment.process.absolute(dir ?? ".")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            writeStderr("masscast: no folder \(folder)\n")
            throw Exit.invalid
        }
        let configPath = (folder as NSString).appendingPathComponent(ProjectConfigLoader.fileName)
        do {
            let message = try ProjectSetup.writeConfig(at: configPath)
            writeStdout(message + "\n")
            if try ProjectSetup.ignoreState(in: folder) {
                writeStdout("added .masscast/ to \((folder as NSString).appendingPathComponent(".gitignore"))\n")
            }
        } catch let e {
            writeStderr("masscast: \(e)\n")
            throw Exit.invalid
        }
    }
}
