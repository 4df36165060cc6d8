import FileChecks
import Foundation
import PipelineCore
import PipelineYAML

/// A pipeline read for a run, with the warnings its file gave (to be shown before it runs).
public struct LoadedPipeline: Sendable {
    /// The pipeline.
    public var pipeline: Pipeline
    /// Its absolute path.
    public var file: String
    /// Its warnings (no errors: a pipeline with errors is a ``SetupError``).
    public var warnings: [Diagnostic]
}

/// Finding and reading the files a run starts from: the pipeline and the project config.
public enum ProjectFiles {
    /// Reads the pipeline at `path` (made absolute); a missing file or one with errors is a
    /// ``SetupError`` (`.invalidPipeline`, with the diagnostics when there are some).
    /// - Parameter secretEnvironment: the environment variables the project config takes
    ///   credentials from, which no step may read (MC3009).
    public static func loadPipeline(
        _ path: String, environment: AppEnvironment, secretEnvironment: Set<String> = []
    ) throws(SetupError) -> LoadedPipeline {
        let file = environment.absolute(path)
        guard FileManager.default.fileExists(atPath: file) else {
            throw SetupError(.invalidPipeline, "no such pipeline file: \(file)")
        }
        let loaded = PipelineLoader(secretEnvironment: secretEnvironment).load(path: file)
        guard !loaded.hasErrors, let pipeline = loaded.pipeline else {
            throw SetupError(.invalidPipeline, "\(file) has errors", diagnostics: loaded.diagnostics)
        }
        return LoadedPipeline(
            pipeline: pipeline, file: file, warnings: loaded.diagnostics.filter { $0.severity != .error })
    }

    /// The project config given (`explicit`), else masscast.yaml found from the folder of
    /// `pipelineFile` upward (to the repository root), else `nil`. A config with errors is a
    /// ``SetupError`` (`.invalidConfig`, with its diagnostics).
    public static func loadConfig(explicit: String?, near pipelineFile: String) throws(SetupError) -> ProjectConfig? {
        let path: String
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw SetupError(.invalidConfig, "no config file \(explicit)")
            }
            path = explicit
        } else if let found = ProjectConfigLoader.discover(startingAt: (pipelineFile as NSString).deletingLastPathComponent) {
            path = found
        } else {
            return nil
        }
        var loaded = ProjectConfigLoader().load(path: path)
        // Each `paths.allow` folder must exist.
        if let config = loaded.config { loaded.diagnostics += FileAccess.check(config) }
        if loaded.diagnostics.contains(where: { $0.severity == .error }) || loaded.config == nil {
            throw SetupError(.invalidConfig, "\(path) has errors", diagnostics: loaded.diagnostics)
        }
        return loaded.config
    }

    /// The project config for commands that have no pipeline yet (`resume`, `runs`, `listen`):
    /// `explicit`, else masscast.yaml found from the working directory upward.
    public static func loadConfig(explicit: String?, environment: AppEnvironment) throws(SetupError) -> ProjectConfig? {
        let near = (environment.workingDirectory as NSString).appendingPathComponent(ProjectConfigLoader.fileName)
        return try loadConfig(explicit: explicit, near: near)
    }
}

/// The project configs of one `validate`: each loaded once, in the order first needed, and
/// found for a pipeline by walking up from its folder (one walk per folder).
public struct ProjectConfigs {
    let loader: ProjectConfigLoader
    /// Loaded configs by absolute path, in the order they were added.
    private var loaded: [(key: String, name: String, config: ProjectConfig?, diagnostics: [Diagnostic])] = []
    /// The key of each folder's config (`nil`: none), found and loaded once per folder.
    private var discovered: [String: String?] = [:]
    private let cwd: String

    /// Configs read with `reader`, named relative to `workingDirectory` when inside it.
    public init(reader: YAMLReader, workingDirectory: String = FileManager.default.currentDirectoryPath) {
        loader = ProjectConfigLoader(reader: reader)
        cwd = workingDirectory
    }

    /// How many config files were checked.
    public var count: Int { loaded.count }

    /// The config files checked, named as first given or found (relative to the current
    /// folder when inside it), in the order they were added.
    public var names: [String] { loaded.map(\.name) }

    /// Every config's diagnostics, config by config.
    public var diagnostics: [Diagnostic] { loaded.flatMap(\.diagnostics) }

    /// The identity of a config file: its absolute path, lexically normalised.
    public func key(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
    }

    /// The loaded config with `key`, when it could be read into a mapping.
    public func config(_ key: String) -> ProjectConfig? {
        loaded.first { $0.key == key }?.config
    }

    /// Loads the config at `path` (named as the user wrote it) unless it is loaded already;
    /// returns its key.
    @discardableResult
    public mutating func add(_ path: String) -> String {
        let key = key(path)
        if !loaded.contains(where: { $0.key == key }) {
            var result = loader.load(path: path)
            // Each `paths.allow` folder must exist.
            if let config = result.config { result.diagnostics += FileAccess.check(config) }
            let warning = result.diagnostics.contains { $0.code == .noProjectID || $0.severity == .error }
                ? nil : result.config?.noProjectWarning
            loaded.append((key, path, result.config, result.diagnostics + (warning.map { [$0] } ?? [])))
        }
        return key
    }

    /// The config for the pipeline at `file`, discovered from its folder upward and loaded;
    /// `nil` when there is none.
    public mutating func discover(for file: String) -> String? {
        let folder = RepositoryRoot.folder(of: file)
        if let known = discovered[folder] { return known }
        let key = ProjectConfigLoader.discover(startingAt: folder).map { found in
            // Named relative to the current folder when it is inside it, as the user would write it.
            let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
            return add(found.hasPrefix(prefix) ? String(found.dropFirst(prefix.count)) : found)
        }
        discovered.updateValue(key, forKey: folder)
        return key
    }
}
