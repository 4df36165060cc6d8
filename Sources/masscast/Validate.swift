import ArgumentParser
import Foundation
import PipelineCore
import PipelineYAML

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipelines and report every problem with its file:line:column.",
        discussion: """
            Each PATH is a pipeline file or a folder, searched recursively for *.yaml and
            *.yml (hidden folders skipped). With no PATH, the folder `pipelines` is checked.
            All problems of every file are reported, not only the first. A broadcast's name
            must be unique among the files checked together (MC2025).

            Exit status: 0 when no file has an error (warnings allowed), 2 when any has.

            Examples:
              masscast validate pipelines/
              masscast validate broadcast.yaml --format json
              masscast validate pipelines --format github     # annotations in GitHub Actions
            """
    )

    @Argument(help: "Pipeline files or folders (default: pipelines).")
    var paths: [String] = []

    @Option(help: "Output format: text, json (like terraform validate -json) or github (workflow annotations).")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors (exit 2 when any warning is reported).")
    var warningsAsErrors = false

    @Option(help: "Largest pipeline file accepted, in bytes.")
    var maxFileSize: Int = 1 << 20

    @Flag(help: "Colour the text output (default: only on a terminal).")
    var color = false

    @Flag(help: "Print nothing for valid files, even the summary line.")
    var quiet = false

    @Option(help: "Files checked at once (default: the number of cores). Output order does not depend on it.")
    var jobs: Int?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let targets = paths.isEmpty ? ["pipelines"] : paths
        let (files, missing) = PipelineFiles.discover(targets)
        var all: [Diagnostic] = missing.map {
            .error(.fileUnreadable, "no such file or folder: '\($0)'", at: nil, hint: "check the path")
        }
        let loader = PipelineLoader(reader: YAMLReader(maxBytes: maxFileSize))
        let results = ParallelMap.run(files.count, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount) { i in
            loader.load(path: files[i])
        }
        var pipelines: [Pipeline] = []
        for loaded in results {
            all += loaded.diagnostics
            if let p = loaded.pipeline { pipelines.append(p) }
        }
        all += PipelineSet.duplicateNames(pipelines)
        if warningsAsErrors {
            all = all.map { d in
                var d = d
                if d.severity == .warning { d.severity = .error }
                return d
            }
        }
        let cache = SourceCache()
        let renderer = DiagnosticRenderer(color: color || (format == .text && isTerminal(1))) { cache.line($0, $1) }
        let failed = all.contains { $0.severity == .error }
        switch format {
        case .text:
            if !(quiet && all.isEmpty) { writeStdout(renderer.text(all, files: files.count)) }
        case .json:
            writeStdout(renderer.json(all, files: files.count))
        case .github:
            writeStdout(renderer.github(all))
        }
        if files.isEmpty && missing.isEmpty {
            writeStderr("masscast: no *.yaml or *.yml files under \(targets.joined(separator: ", "))\n")
        }
        if failed { throw Exit.invalid }
    }
}
