import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import RunLog
import Runner

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Reconcile every broadcast under the folders with the state store: send what is due, exactly once.",
        discussion: """
            Each broadcast (a pipeline with a mass/sendall or mass/send step) is in one state: send, wait, \
            expire, noop, drift, resume, busy, blocked, orphan, failed or needs-inputs; apply acts on send and \
            resume (and a failed run inside its window) through the runner, then prints a summary. Inputs come \
            from defaults and NAME.inputs.yaml beside the pipeline, never from the environment. Exit code: the \
            worst of the broadcasts' (0 fine, 1 failed, 2 invalid, 3 stopped, 4 window closed, 6 refused or \
            blocked). See docs/pipeline-format.md, "Apply".
            """
    )

    @Argument(help: "Folders or pipeline files (default: pipelines), or one saved plan (plan --out FILE).")
    var paths: [String] = []

    @Flag(help: "Print the plan of the folder (as masscast plan): what apply would do; nothing is sent or written. With --sandbox, against the sandbox's accounts and tags.")
    var dryRun = false

    @Option(help: ArgumentHelp("Send this broadcast AGAIN as a new generation (repeatable).", valueName: "name"))
    var rerun: [String] = []

    @Flag(help: "Send (or continue) broadcasts whose schedule window has closed.")
    var allowLate = false

    @Option(help: ArgumentHelp("Confirm this broadcast's send to ALL followers (repeatable).", valueName: "name"))
    var confirmToAll: [String] = []

    @Flag(help: "Rehearse against the in-process WeChat sandbox (one temporary state store for the whole apply unless --state is given).")
    var sandbox = false

    @Option(help: ArgumentHelp("With --sandbox: the fixture YAML.", valueName: "file"))
    var fixture: String?

    @Option(help: "The summary's format: text or json.")
    var format: ApplyFormat = .text

    @Option(help: ArgumentHelp("The state store: a SQLite file, or a postgres:// URL without a password.", valueName: "path|url"))
    var state: String?

    @Option(help: ArgumentHelp("The project config.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp(
        "How long a broadcast's lease lasts without renewal, 2s to 1h (renewed every third of it).",
        discussion: "Default: state.lease_ttl of masscast.yaml, else 5m.", valueName: "duration"))
    var leaseTTL: String?

    @Option(help: ArgumentHelp("A dotenv file of secrets (NAME=value lines).", valueName: "file"))
    var secrets: String?

    @Option(help: "Log format of the runs: text or json. Default: text on a terminal, json otherwise.")
    var logFormat: LogFormat?

    @Flag(help: "Log every call attempt.")
    var verbose = false

    func validate() throws {
        if fixture != nil && !sandbox { throw ValidationError("--fixture needs --sandbox") }
    }

    func run() async throws {
        Console.start(logFormat: logFormat)
        let console = Console.current
        if let leaseTTL, case .invalid(let d) = LeaseTTL.parseFlag(leaseTTL) {
            console.report(SetupError(.invalidConfig, d.message, diagnostics: [d]))
            throw Exit.invalid
        }
        let request = ApplyRequest(
            paths: paths, dryRun: dryRun, rerun: Set(rerun), allowLate: allowLate, confirmToAll: Set(confirmToAll),
            sandbox: sandbox, fixture: fixture,
            settings: SessionSettings(state: state, config: config, secrets: secrets, leaseTTL: leaseTTL))
        if let warning = await Apply.poolerWarning(request, environment: .process) {
            console.say(warning, level: .warning, event: "state.pooler")
        }
        let (logFormat, verbose) = (self.logFormat, self.verbose)
        let savedPlan = Apply.namesSavedPlan(paths, environment: .process)
        if dryRun && !savedPlan {
            // The plan of the folder: what apply would do, from the same reconcile table.
            let document = await Planner.plan(
                PlanRequest(
                    paths: paths, settings: SessionSettings(state: state, config: config, secrets: secrets),
                    sandbox: sandbox, fixture: fixture),
                environment: .process, version: Masscast.version)
            writeStdout(document.rendered(format == .json ? .json : .text))
            throw PlanExit.code(for: document, detailed: false)
        }
        let run: @Sendable (ApplyRequest, AppEnvironment, @escaping @Sendable (SetupError) -> Void,
            @escaping @Sendable ([String]) -> SessionLogging, @escaping Apply.Execute) async -> ApplyReport = {
            request, environment, problem, logging, execute in
            savedPlan
                ? await Apply.runPlan(
                    request, version: Masscast.version, environment: environment, problem: problem, logging: logging,
                    execute: execute)
                : await Apply.run(request, environment: environment, problem: problem, logging: logging, execute: execute)
        }
        let report = await run(
            request, .process, { console.report($0) },
            { scrub in console.sessionLogging(format: logFormat, verbose: verbose, scrub: scrub).0 },
            { session in
                let result = await RunService.run(session) { signal in
                    switch signal {
                    case .interrupt, .terminate:
                        console.say(
                            "stopping: calls in flight finish, nothing new starts", level: .warning,
                            event: "run.stopping")
                    case .interruptAgain:
                        console.final("interrupted again (SIGINT): exiting now", level: .warning, event: "run.interrupted")
                        Foundation.exit(130)
                    }
                }
                console.lastWords(result)
                return result
            })
        console.clearProgress()
        writeStdout(format == .json ? report.json() : report.text())
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

enum ApplyFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
