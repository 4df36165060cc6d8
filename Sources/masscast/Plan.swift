import ArgumentParser
import Foundation
import MasscastApp
import Runner

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what each broadcast would send, to whom, with which quota; nothing is sent or written.",
        discussion: HelpText.plan
    )

    @Argument(help: "Pipeline files or folders (default: pipelines).")
    var paths: [String] = []

    @Option(name: .customLong("input"), help: ArgumentHelp(
        "An input value (repeatable), given to every pipeline that declares it.", valueName: "name=value"))
    var inputs: [String] = []

    @Option(help: "Output format: text, json (docs/plan-format.md) or markdown (a pull-request comment).")
    var format: PlanFormat = .text

    @Flag(help: "Exit 5 when sends are planned (0: nothing to send).")
    var detailedExitcode = false

    @Flag(help: ArgumentHelp(
        "Read tag names, follower counts and the speed level with WeChat's read-only calls (needs the account's credentials).",
        discussion: "Only a cached or stable_token token (never /token), tags/get, and message/mass/speed/get."))
    var preflight = false

    @Flag(help: "Plan the next generation, as run --rerun would send it.")
    var rerun = false

    @Option(help: ArgumentHelp("The state store, a SQLite file or a postgres:// URL (default: MASSCAST_STATE_URL, else state: of masscast.yaml, else .masscast/state.sqlite).", valueName: "path|url"))
    var state: String?

    @Option(help: ArgumentHelp("The project config (default: masscast.yaml found from each pipeline's folder upward).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("A dotenv file of MASSCAST_SECRET_* values.", valueName: "file"))
    var secrets: String?

    @Option(help: ArgumentHelp(
        "Save the plan (JSON) for `masscast apply FILE`: bound to every input's SHA-256, the store and each broadcast's serial.",
        valueName: "file"))
    var out: String?

    func run() async throws {
        let request = PlanRequest(
            paths: paths, inputs: inputs, settings: SessionSettings(state: state, config: config, secrets: secrets),
            rerun: rerun, preflight: preflight)
        let document = await Planner.plan(request, environment: .process, version: Masscast.version)
        writeStdout(document.rendered(format))
        if let out {
            do {
                try PlanFiles.write(document, to: out)
            } catch {
                writeStderr("masscast: cannot write the plan to \(out): \(error.localizedDescription)\n")
                throw ExitCode.failure
            }
            if format == .text { writeStdout("Saved to \(out): apply it with `masscast apply \(out)` within 24 h.\n") }
        }
        throw PlanExit.code(for: document, detailed: detailedExitcode)
    }
}

/// `plan`'s and `show`'s exit codes (pipeline-format.md, "Exit codes").
enum PlanExit {
    static func code(for document: PlanDocument, detailed: Bool) -> ExitCode {
        if document.invalid { return Exit.invalid }
        if document.refused { return ExitCode(6) }
        if detailed && document.sendsPlanned { return ExitCode(5) }
        return .success
    }
}

extension PlanFormat: ExpressibleByArgument {}
