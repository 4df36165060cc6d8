import Foundation
import PipelineCore
import PipelineYAML

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

/// Runs a program; returns exit status, stdout and stderr.
@discardableResult
func runProcess(_ path: String, _ arguments: [String], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so a large output cannot block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    group.wait()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
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
