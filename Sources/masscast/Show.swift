import ArgumentParser
import Foundation
import MasscastApp
import Runner

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show",
        abstract: "Print a saved plan (plan --out FILE) offline, in any format.",
        discussion: """
            Reads nothing but FILE: no pipeline, store or network. Exit status: 0, or 2 when \
            FILE cannot be read or is not a masscast plan (or a newer format_version); with \
            --detailed-exitcode, 5 when the plan has sends, 6 when it refused or blocked a broadcast.
            """
    )

    @Argument(help: "The saved plan.")
    var file: String

    @Option(help: "Output format: text, json or markdown.")
    var format: PlanFormat = .text

    @Flag(help: "Exit 5 when the plan has sends (as plan --detailed-exitcode).")
    var detailedExitcode = false

    func run() throws {
        let plan: SavedPlan
        do {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw PlanFileError("no such file")
            }
            plan = try SavedPlan(data: data)
        } catch {
            writeStderr("masscast: cannot read the plan \(file): \(error)\n")
            throw Exit.invalid
        }
        writeStdout(plan.document.rendered(format))
        throw PlanExit.code(for: plan.document, detailed: detailedExitcode)
    }
}
