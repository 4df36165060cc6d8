import FileChecks
import Foundation
import PipelineCore
import PipelineYAML

/// `masscast validate`: every pipeline and config under the paths given, checked together.
public struct Validation: Sendable {
    /// Files or folders (default: `pipelines`).
    public var paths: [String]
    /// `--config`: the config for every pipeline (else each one's discovered config).
    public var config: String?
    /// `--max-file-size`.
    public var maxFileSize: Int
    /// `--deep`: audience files read whole.
    public var deep: Bool
    /// `--warnings-as-errors`.
    public var warningsAsErrors: Bool
    /// `--jobs`: files checked at once.
    public var jobs: Int

    /// A validation of `paths`.
    public init(
        paths: [String], config: String? = nil, maxFileSize: Int = 1 << 20, deep: Bool = false,
        warningsAsErrors: Bool = false, jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.paths = paths.isEmpty ? ["pipelines"] : paths
        self.config = config
        self.maxFileSize = maxFileSize
        self.deep = deep
        self.warningsAsErrors = warningsAsErrors
        self.jobs = jobs
    }

    /// What a validation found.
    public struct Outcome: Sendable {
        /// Every diagnostic, file by file, configs first.
        public var diagnostics: [Diagnostic]
        /// The pipeline files checked.
        public var pipelineFiles: [String]
        /// The config files checked, named as given or found.
        public var configNames: [String]
        /// Whether no file was found (and none was missing) under the paths.
        public var foundNothing: Bool
        /// The source lines of the pipelines with diagnostics, split while they were checked
        /// (other files' lines are read when a snippet needs them).
        var sources = SourceCache()
        /// Threads the text report is rendered on (the validation's `jobs`).
        var jobs = 1
        /// Whether any diagnostic is an error.
        public var failed: Bool { diagnostics.contains { $0.severity == .error } }

        /// The report `validate` prints on standard output: `text` (nothing for valid files
        /// when `quiet`), `json` or `github` annotations. A URL's password (`state.url`) is
        /// masked in every snippet, as secret-named keys are.
        public func report(format: DiagnosticFormat, color: Bool, quiet: Bool = false) -> String {
            let cache = sources
            let renderer = DiagnosticRenderer(color: color) { cache.line($0, $1).map(ConfigSpec.maskingURLPasswords) }
            switch format {
            case .text:
                if quiet && diagnostics.isEmpty { return "" }
                // Rendered in chunks on the validation's threads, joined in order.
                let all = diagnostics
                let chunk = 64
                let parts = ParallelMap.run((all.count + chunk - 1) / chunk, jobs: jobs) { c in
                    all[(c * chunk)..<min(all.count, (c + 1) * chunk)].map(renderer.text).joined()
                }
                return parts.joined()
                    + DiagnosticRenderer.summary(all, pipelines: pipelineFiles.count, configs: configNames) + "\n"
            case .json:
                return renderer.json(diagnostics, files: pipelineFiles.count + configNames.count)
            case .github:
                return renderer.github(diagnostics)
            }
        }
    }

    /// Whether the last component of `path` (trailing slashes ignored, as
    /// `NSString.lastPathComponent` does) is `name`.
    static func lastComponent(of path: String, is name: String) -> Bool {
        var bytes = Substring(path).utf8
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes = bytes.dropLast() }
        let want = name.utf8
        guard bytes.count >= want.count, bytes.suffix(want.count).elementsEqual(want) else { return false }
        let rest = bytes.dropLast(want.count)
        return rest.isEmpty || rest.last == UInt8(ascii: "/")
    }

    /// Checks every file: pipelines (in parallel, in a stable order), the files they read,
    /// their accounts against their configs, and their names against each other.
    /// - Parameter progress: told which audience file `--deep` reads and how far.
    public func run(
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        progress: (@Sendable (String) -> Void)? = nil
    ) -> Outcome {
        let (found, missing) = PipelineFiles.discover(paths)
        var all: [Diagnostic] = missing.map {
            .error(.fileUnreadable, "no such file or folder: '\($0)'", at: nil, hint: "check the path")
        }
        // A masscast.yaml among the files is a project config, not a pipeline.
        // (A byte comparison of the last component: `NSString.lastPathComponent` cost 40,000
        // instructions a path, 6% of validating the benchmark corpus.)
        let isConfig = { (path: String) in Self.lastComponent(of: path, is: ProjectConfigLoader.fileName) }
        let files = found.filter { !isConfig($0) }
        var configs = ProjectConfigs(reader: YAMLReader(maxBytes: maxFileSize), workingDirectory: workingDirectory)
        if let config { configs.add(config) }
        for path in found where isConfig(path) { configs.add(path) }
        let configOfFile = files.map { file in config.map(configs.key) ?? configs.discover(for: file) }

        let loader = PipelineLoader(reader: YAMLReader(maxBytes: maxFileSize))
        // Per config (computed once each): the variables it reads credentials from, which
        // its pipelines' steps may not read, and the folders outside the repository it
        // allows (`paths.allow`).
        var perConfig: [String?: (secretNames: Set<String>, allowed: [String])] = [:]
        for key in configOfFile where perConfig[key] == nil {
            let config = key.flatMap(configs.config)
            perConfig[key] = (config?.secretEnvironmentNames ?? [], FileAccess.allowedRealPaths(config))
        }
        let secretNames = configOfFile.map { perConfig[$0]!.secretNames }
        let allowed = configOfFile.map { perConfig[$0]!.allowed }
        let checker = PipelineFileChecker(deep: deep, progress: progress)
        let sources = SourceCache()
        let results = ParallelMap.run(files.count, jobs: jobs) { i in
            var fileLoader = loader
            fileLoader.secretEnvironment = secretNames[i]
            var loaded = fileLoader.load(path: files[i])
            // The files the pipeline will read (media, content files, audiences).
            if let p = loaded.pipeline {
                loaded.diagnostics = (loaded.diagnostics + checker.check(p, allowed: allowed[i])).sortedByLocation()
                // Its inputs file (`NAME.inputs.yaml`), when it has one.
                if let inputs = loader.loadInputs(for: p, pipelinePath: files[i]) {
                    loaded.diagnostics += inputs.diagnostics
                }
            }
            // The lines of a file with diagnostics, for their snippets, split here in
            // parallel (a config's warning may still come later: its file is read then).
            if let source = loaded.source {
                let projectWarning =
                    configOfFile[i] == nil && loaded.pipeline.flatMap(ProjectConfig.noProjectWarning(for:)) != nil
                if !loaded.diagnostics.isEmpty || projectWarning { sources.store(files[i], bytes: source) }
                loaded.source = nil
            }
            return loaded
        }
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
        return Outcome(
            diagnostics: all, pipelineFiles: files, configNames: configs.names,
            foundNothing: found.isEmpty && missing.isEmpty, sources: sources, jobs: jobs)
    }
}
