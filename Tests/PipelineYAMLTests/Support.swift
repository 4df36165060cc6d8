import Foundation
import MasscastTesting
import PipelineCore
import PipelineYAML
import Testing

/// Paths of the repository, found from this source file (no bundle resources needed).
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let pipelines = root.appendingPathComponent("pipelines")
    static let schema = root.appendingPathComponent("schemas/pipeline.schema.json")
    static let invalidCorpus = root.appendingPathComponent("Tests/PipelineYAMLTests/Fixtures/invalid")

    static func files(in folder: URL, extensions: Set<String> = ["yaml", "yml"]) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension) && !InputsFile.isInputsFile($0) }.sorted()
            .map { folder.appendingPathComponent($0) }
    }
}

/// Loads pipeline text as `t.yaml`.
func load(_ text: String) -> PipelineLoader.Loaded {
    PipelineLoader().load(text: text, file: "t.yaml")
}

/// Codes of the errors and warnings of `text`, in file order.
func codes(_ text: String) -> [String] {
    load(text).diagnostics.map(\.code.rawValue)
}

/// Finds an executable on PATH.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Whether CI asked for tools that gated tests need (`MASSCAST_REQUIRE_TOOLS=1`): then a
/// missing tool fails the test instead of skipping it.
var toolsRequired: Bool { ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1" }

/// Runs a program (standard input closed, killed after 5 minutes); returns exit status,
/// stdout and stderr.
@discardableResult
func runProcess(_ path: String, _ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
    let r = try await MasscastBinary.runTool(path, arguments, timeout: .seconds(300))
    if r.timedOut { Issue.record("\(path) did not finish within 5 minutes (killed)") }
    return (r.signalled ? -1 : r.status, r.out, r.err)
}

/// A minimal valid pipeline with `steps` appended (indented as list items under `steps:`).
func pipeline(_ steps: String, inputs: String = "") -> String {
    """
    version: 1
    name: test-broadcast
    account: brand-main
    \(inputs)
    steps:
    \(steps)
    """
}
