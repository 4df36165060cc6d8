import ArgumentParser
import FileChecks
import Foundation
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
        let targets = paths.isEmpty ? ["pipelines"] : paths
        let (found, missing) = PipelineFiles.discover(targets)
        var all: [Diagnostic] = missing.map {
            .error(.fileUnreadable, "no such file or folder: '\($0)'", at: nil, hint: "check the path")
        }
        // A masscast.yaml among the files is a project config, not a pipeline.
        let isConfig = { (path: String) in (path as NSString).lastPathComponent == ProjectConfigLoader.fileName }
        let files = found.filter { !isConfig($0) }
        var configs = ProjectConfigs(reader: YAMLReader(maxBytes: maxFileSize))
        if let config { configs.add(config) }
        for path in found where isConfig(path) { configs.add(path) }
        let configOfFile = files.map { file in config.map(configs.key) ?? configs.discover(for: file) }

        let loader = PipelineLoader(reader: YAMLReader(maxBytes: maxFileSize))
        // --deep reads whole audience files: on a terminal, a status line says which and how far.
        let status = ProgressLine()
        var showProgress: (@Sendable (String) -> Void)?
        if deep && status.isLive {
            showProgress = { @Sendable text in status.update(text) }
        }
        let checker = PipelineFileChecker(deep: deep, progress: showProgress)
        let results = ParallelMap.run(files.count, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount) { i in
            var loaded = loader.load(path: files[i])
            // The files the pipeline will read (media, content files, audiences).
            if let p = loaded.pipeline {
                loaded.diagnostics = (loaded.diagnostics + checker.check(p)).sortedByLocation()
            }
            return loaded
        }
        status.finish()  // before any diagnostic is printed
        all += configs.diagnostics
        var pipelines: [Pipeline] = []
        for (i, loaded) in results.enumerated() {
            var diagnostics = loaded.diagnostics
            if let p = loaded.pipeline {
                pipelines.append(p)
                if let config = configOfFile[i].flatMap(configs.config) {
                    diagnostics = (diagnostics + config.checkAccount(of: p)).sortedByLocation()
                } else if configOfFile[i] == nil, let warning = ProjectConfig.noProjectWarning(for: p) {
                    diagnostics = (diagnostics + [warning]).sortedByLocation()
                }
            }
            all += diagnostics
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
        let renderer = DiagnosticRenderer(color: color || (format == .text && useColor(1))) {
            // A URL's password (state.url) is masked in every snippet, as secret-named keys are.
            cache.line($0, $1).map(ConfigSpec.maskingURLPasswords)
        }
        let failed = all.contains { $0.severity == .error }
        switch format {
        case .text:
            if !(quiet && all.isEmpty) {
                writeStdout(renderer.text(all, pipelines: files.count, configs: configs.names))
            }
        case .json:
            writeStdout(renderer.json(all, files: files.count + configs.count))
        case .github:
            writeStdout(renderer.github(all))
        }
        if found.isEmpty && missing.isEmpty {
            writeStderr("masscast: no *.yaml or *.yml files under \(targets.joined(separator: ", "))\n")
        }
        if failed { throw Exit.invalid }
    }
}

/// The project configs of one `validate`: each loaded once, in the order first needed, and
/// found for a pipeline by walking up from its folder (one walk per folder).
struct ProjectConfigs {
    let loader: ProjectConfigLoader
    /// Loaded configs by absolute path, in the order they were added.
    private var loaded: [(key: String, name: String, config: ProjectConfig?, diagnostics: [Diagnostic])] = []
    private var discovered: [String: String?] = [:]
    private let cwd = FileManager.default.currentDirectoryPath

    init(reader: YAMLReader) {
        loader = ProjectConfigLoader(reader: reader)
    }

    /// How many config files were checked.
    var count: Int { loaded.count }

    /// The config files checked, named as first given or found (relative to the current
    /// folder when inside it), in the order they were added.
    var names: [String] { loaded.map(\.name) }

    /// Every config's diagnostics, config by config.
    var diagnostics: [Diagnostic] { loaded.flatMap(\.diagnostics) }

    /// The identity of a config file: its absolute path, lexically normalised.
    func key(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
    }

    /// The loaded config with `key`, when it could be read into a mapping.
    func config(_ key: String) -> ProjectConfig? {
        loaded.first { $0.key == key }?.config
    }

    /// Loads the config at `path` (named as the user wrote it) unless it is loaded already;
    /// returns its key.
    @discardableResult
    mutating func add(_ path: String) -> String {
        let key = key(path)
        if !loaded.contains(where: { $0.key == key }) {
            let result = loader.load(path: path)
            let warning = result.diagnostics.contains { $0.code == .noProjectID || $0.severity == .error }
                ? nil : result.config?.noProjectWarning
            loaded.append((key, path, result.config, result.diagnostics + (warning.map { [$0] } ?? [])))
        }
        return key
    }

    /// The config for the pipeline at `file`, discovered from its folder upward and loaded;
    /// `nil` when there is none.
    mutating func discover(for file: String) -> String? {
        var folder = (file as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        let found: String?
        if let known = discovered[folder] {
            found = known
        } else {
            found = ProjectConfigLoader.discover(startingAt: folder)
            discovered[folder] = found
        }
        guard let found else { return nil }
        // Named relative to the current folder when it is inside it, as the user would write it.
        let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
        return add(found.hasPrefix(prefix) ? String(found.dropFirst(prefix.count)) : found)
    }
}
