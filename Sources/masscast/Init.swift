import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init",
        abstract: "Set up a repository for masscast: a masscast.yaml with a project id, and .masscast/ in .gitignore.",
        discussion: HelpText.initialize
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
        do {
            try ProjectSetup.initialize(folder: dir, environment: .process) { writeStdout($0 + "\n") }
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}
