import ArgumentParser
import Foundation
import PipelineCore
import PipelineYAML

@main
struct Masscast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masscast",
        abstract: "Declarative runner for WeChat Official Account mass messages (群发).",
        discussion: """
            Broadcasts are YAML pipelines kept in git. masscast validates them with exact
            file:line:column errors, draws their step graph, and prints the JSON Schema that
            editors use.
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, Validate.self, Graph.self, RunCommand.self, Resume.self, Runs.self, Schema.self, Sandbox.self,
            Listen.self,
        ]
    )
}

/// Exit codes of the format (pipeline-format.md, "Exit codes").
enum Exit {
    static let invalid = ExitCode(2)
}

func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

func writeStdout(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

func writeStderr(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
}

extension DiagnosticFormat: ExpressibleByArgument {}
extension GraphFormat: ExpressibleByArgument {}
