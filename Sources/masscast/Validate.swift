import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import PipelineYAML
import RunLog

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipelines and report every problem with its file:line:column.",
        discussion: """
            Each PATH is a pipeline file or a folder, searched recursively for *.yaml and *.yml \
            (hidden folders skipped). With no PATH, the folder `pipelines` is checked. All problems \
            of every file are reported, not only the first. A broadcast's name must be unique among \
            the files checked together (MC2025).

            A pipeline's `account: NAME` must be an account of the project config: the file given \
            with --config, or else the masscast.yaml found from the pipeline's folder upward, up to \
            the repository root (the folder holding .git). The config is checked too, its problems \
            reported like a pipeline's. Without a config, account names are not checked. A file \
            named masscast.yaml among the PATHs is checked as a config.

            The files a pipeline will read are checked too (MC2030–MC2036): file, content_file and \
            touser_file must be regular files inside the repository (a FIFO or a device is refused \
            unopened), media must match their type by their first bytes and size, a CSV audience \
            must have its touser_column, and the first 1,000 lines of an audience must hold \
            well-formed OpenIDs (--deep: the whole file, with its recipient count as a note). A \
            path written as an expression is not checked.

            Exit status: 0 when no file has an error (warnings allowed), 2 when any has.

            Examples:
              masscast validate pipelines/
              masscast validate broadcast.yaml --format json
              masscast validate pipelines --format github     # annotations in GitHub Actions
              masscast validate pipelines --config deploy/masscast.yaml
              masscast validate pipelines --deep                # read audience files whole
            """
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
        let all = outcome.diagnostics
        let cache = SourceCache()
        let renderer = DiagnosticRenderer(color: color || (format == .text && useColor(1))) {
            // A URL's password (state.url) is masked in every snippet, as secret-named keys are.
            cache.line($0, $1).map(ConfigSpec.maskingURLPasswords)
        }
        switch format {
        case .text:
            if !(quiet && all.isEmpty) {
                writeStdout(renderer.text(all, pipelines: outcome.pipelineFiles.count, configs: outcome.configNames))
            }
        case .json:
            writeStdout(renderer.json(all, files: outcome.pipelineFiles.count + outcome.configNames.count))
        case .github:
            writeStdout(renderer.github(all))
        }
        if outcome.foundNothing {
            writeStderr("masscast: no *.yaml or *.yml files under \((paths.isEmpty ? ["pipelines"] : paths).joined(separator: ", "))\n")
        }
        if outcome.failed { throw Exit.invalid }
    }
}
