import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML

@main
struct Masscast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masscast",
        abstract: "Declarative runner for WeChat Official Account mass messages (群发).",
        discussion: HelpText.masscast,
        version: Masscast.version,
        subcommands: [
            Init.self, Validate.self, PlanCommand.self, Show.self, Graph.self, RunCommand.self, Resume.self,
            ApplyCommand.self, ApproveCommand.self, Runs.self, StateCommand.self, LeasesCommand.self, ForceUnlockCommand.self,
            Schema.self, Sandbox.self, Listen.self,
        ]
    )

    /// What `masscast --version` prints (docs/architecture.md, "Commands", says the same).
    static let version = "0.1.0"

    /// Parses, runs, and maps every usage error (an unknown flag, a missing argument, a value
    /// `validate()` refuses) to exit 2, as documented, instead of ArgumentParser's 64.
    /// `--help` and `--version` still exit 0.
    static func main() async {
        do {
            var command = try parse()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exitMappingUsageErrors(error)
        }
    }

    /// The command the arguments name. A command named first (`masscast run …`) is parsed on
    /// its own: from the root, ArgumentParser also reflects every command's options to decide
    /// where the arguments end (a few milliseconds of every run). Whatever that parse refuses
    /// (`--help`, an error) is parsed again from the root, which answers as it always has:
    /// usage, help and messages name `masscast`. (A command with subcommands of its own,
    /// `runs list`, is parsed from the root.)
    static func parse() throws -> any ParsableCommand {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let name = arguments.first,
            let named = configuration.subcommands.first(where: { $0.configuration.commandName == name }),
            let command = try? named.parseAsRoot(Array(arguments.dropFirst())),
            // Not ArgumentParser's own answer (help, a completion script), which would name
            // the command without `masscast`.
            type(of: command) == named
        {
            return command
        }
        return try parseAsRoot()
    }

    /// ArgumentParser's `exit(withError:)`, except that a usage error (its exit code 64,
    /// `ExitCode.validationFailure`) prints the same message and exits 2.
    static func exitMappingUsageErrors(_ error: any Error) -> Never {
        if let console = Console.active, !(error is ExitCode), exitCode(for: error) == .failure {
            // run/resume: an unexpected error is reported in the run's log format (JSON lines).
            console.final("\(error)", level: .error, event: "command.failed")
            Foundation.exit(ExitCode.failure.rawValue)
        }
        guard !(error is ExitCode), exitCode(for: error) == .validationFailure else { exit(withError: error) }
        let message = fullMessage(for: error)
        if !message.isEmpty { writeStderr(message + (message.hasSuffix("\n") ? "" : "\n")) }
        Foundation.exit(Exit.invalid.rawValue)
    }
}

/// Exit codes of the format (pipeline-format.md, "Exit codes").
enum Exit {
    static let invalid = ExitCode(2)
}

func writeStdout(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

func writeStderr(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
}

extension DiagnosticFormat: ExpressibleByArgument {}
extension GraphFormat: ExpressibleByArgument {}
