import ArgumentParser
import Foundation
import MasscastApp

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a broadcast's current source: writes approvals/NAME.yaml beside masscast.yaml (commit it).",
        discussion: """
            masscast.yaml's `approvals:` (to_all, over_recipients) makes `masscast apply` refuse such sends \
            without approvals. An approval holds while the broadcast's source (the pipeline, its inputs file \
            and the files it reads) is unchanged. --by is self-asserted: who may approve is decided by who may \
            merge approvals/ (branch protection, CODEOWNERS). See docs/pipeline-format.md, "Approvals".
            """
    )

    @Argument(help: "The broadcast's name (the pipeline's `name:`).")
    var name: String

    @Option(help: ArgumentHelp("Who approves.", valueName: "who"))
    var by: String

    @Option(name: .customLong("path"), help: ArgumentHelp("Where the pipelines are (repeatable; default: pipelines).", valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("The project config.", valueName: "file"))
    var config: String?

    func run() async throws {
        do {
            let (path, file) = try Approve.run(
                name: name, by: by, paths: paths.isEmpty ? ["pipelines"] : paths, config: config,
                environment: .process)
            let who = file.approvals.map(\.by).joined(separator: ", ")
            writeStdout("approved \(name) (source \(file.sourceDigest.prefix(12))…) by \(who): wrote \(path); commit it\n")
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}
