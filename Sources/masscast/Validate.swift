import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML
import RunLog

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate",
        abstract: "Check pipelines and report every problem with its file:line:column.",
        discussion: HelpText.validate
    )

    @Argument(help: "Pipeline files or folders (default: pipelines).")
    var paths: [String] = []

    @Option(help: "Output format: text, json (like terraform validate -json) or github (workflow annotations).")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors (exit 2 when any warning is reported).")
    var warningsAsErrors = false

    @Option(help: ArgumentHelp(
        "The project config that defines the accounts pipelines name.",
        discussion: "Default: masscast.yaml found from each pipeline's folder upward, up to the repository root.",
        valueName: "file"))
    var config: String?

    @Option(help: "Largest pipeline file accepted, in bytes.")
    var maxFileSize: Int = 1 << 20

    @Flag(help: ArgumentHelp(
        "Read audience files whole and report each one's recipient count.",
        discussion: "Without it, the first 1,000 lines of each touser_file are checked."))
    var deep = false

    @Flag(help: "Colour the text output (default: only on a terminal, and never when NO_COLOR is set).")
    var color = false

    @Flag(help: "Print nothing for valid files, even the summary line.")
    var quiet = false

    @Option(help: "Files checked at once (default: the number of cores). Output order does not depend on it.")
    var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        // --deep reads whole audience files: on a terminal, a status line says which and how far.
        let status = ProgressLine()
        let outcome = Validation(
            paths: paths, config: config, maxFileSize: maxFileSize, deep: deep, warningsAsErrors: warningsAsErrors,
            jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount
        ).run(progress: deep && status.isLive ? { @Sendable text in status.update(text) } : nil)
        status.finish()  // before any diagnostic is printed
        writeStdout(outcome.report(format: format, color: color || (format == .text && useColor(1)), quiet: quiet))
        if outcome.foundNothing {
            writeStderr("masscast: no *.yaml or *.yml files under \((paths.isEmpty ? ["pipelines"] : paths).joined(separator: ", "))\n")
        }
        if outcome.failed { throw Exit.invalid }
    }
}
