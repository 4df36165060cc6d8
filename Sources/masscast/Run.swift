import ArgumentParser
import Foundation
import MasscastApp
import PipelineCore
import RunLog
import RunState
import Runner
import StateSQLite

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Execute a pipeline: uploads, sends, waits, checks, with retries and a durable journal.",
        discussion: HelpText.run
    )

    @Argument(help: "The pipeline file.")
    var pipeline: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An input value (repeatable); wins over the committed NAME.inputs.yaml beside the pipeline.", valueName: "name=value"))
    var inputs: [String] = []

    @Flag(help: "Run against the in-process WeChat sandbox (no account needed).")
    var sandbox = false

    @Option(help: ArgumentHelp("With --sandbox: the fixture YAML (default: the built-in one).", valueName: "file"))
    var fixture: String?

    @Flag(help: "Send the broadcast AGAIN, to its whole audience: abandon its current generation (completed or not) and start the next one with new clientmsgids. Refused while a send's outcome is unknown.")
    var rerun = false

    @Flag(help: "Refuse to run outside the schedule window even with --sandbox.")
    var enforceSchedule = false

    @Option(help: ArgumentHelp(
        "Confirm the pipeline's sends to ALL followers (filter.is_to_all: true); NAME must be the pipeline's name.",
        discussion: "Without it such a run is refused before it starts (exit 2); --sandbox rehearsals run without it, with a warning.",
        valueName: "name"))
    var confirmToAll: String?

    @OptionGroup var common: RunCommonOptions

    var request: RunRequest {
        RunRequest(
            pipeline: pipeline, inputs: inputs, sandbox: sandbox, fixture: fixture, rerun: rerun,
            enforceSchedule: enforceSchedule, confirmToAll: confirmToAll, settings: common.settings)
    }

    func validate() throws {
        if let problem = request.usageError { throw ValidationError(problem) }
    }

    func run() async throws {
        try await common.run(request)
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume",
        abstract: "Continue a run that stopped (Ctrl-C, SIGTERM, an unknown outcome, a killed runner); never re-sends.",
        discussion: HelpText.resume
    )

    @Argument(help: "The run id (masscast runs list).")
    var runID: String

    @Flag(help: "Repeat a send (or preview) whose outcome has been unknown too long to repeat safely.")
    var confirmResend = false

    @Option(help: ArgumentHelp("For a rehearsal's run: the fixture it used (default: the built-in one).", valueName: "file"))
    var fixture: String?

    @Option(help: ArgumentHelp(
        "Confirm the run's unfinished sends to ALL followers; NAME must be the pipeline's name.", valueName: "name"))
    var confirmToAll: String?

    @OptionGroup var common: RunCommonOptions

    func run() async throws {
        try await common.run(
            RunRequest(
                resuming: runID, confirmResend: confirmResend, fixture: fixture, confirmToAll: confirmToAll,
                settings: common.settings))
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs",
        abstract: "Show run history from the state store.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    typealias Format = RunHistory.Format

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List runs, newest first.")

        @OptionGroup var store: StoreOptions

        @Option(help: "text or json.")
        var format: Format = .text

        @Option(help: "How many runs.")
        var limit: Int = 20

        func validate() throws {
            if format == .mermaid {
                throw ValidationError(
                    "--format mermaid: only `runs show` draws a timeline (masscast runs show RUN_ID --format mermaid); runs list prints text or json")
            }
        }

        func run() async throws {
            writeStdout(try await RunHistory.list(try store.open(), limit: limit, format: format))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show",
            abstract: "One run's step timeline: attempts, errors and sends.",
            discussion: HelpText.runsShow)

        @Argument(help: "The run id.")
        var runID: String

        @OptionGroup var store: StoreOptions

        @Option(help: "text, json (the run report) or mermaid (a Gantt chart).")
        var format: Format = .text

        func run() async throws {
            let opened = try store.open()
            guard let text = try await RunHistory.show(runID, in: opened, format: format) else {
                writeStderr("masscast: no run \(runID) in \(opened.displayLocation) (masscast runs list shows the runs)\n")
                throw Exit.invalid
            }
            writeStdout(text)
        }
    }
}

/// `runs`' store options: located as `run` locates it; a missing file is an error (never a
/// new, empty store that would answer "no runs").
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state store, a SQLite file or a postgres:// URL (default: located as `run` does).", valueName: "path|url"))
    var state: String?

    @Option(help: ArgumentHelp("The project config (default: masscast.yaml found from here upward).", valueName: "file"))
    var config: String?

    func open() throws -> any StateStore {
        do {
            return try RunHistory.open(state: state, config: config, environment: .process)
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}

/// Options shared by `run` and `resume`.
struct RunCommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state store: a SQLite file, or a postgres:// URL without a password (PGPASSWORD holds it).", discussion: "Default: MASSCAST_STATE_URL, else state: of masscast.yaml, else .masscast/state.sqlite; with --sandbox a temporary file.", valueName: "path|url"))
    var state: String?

    @Option(help: ArgumentHelp("The project config.", discussion: "Default: masscast.yaml found from the pipeline's folder upward.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("A dotenv file of secrets (NAME=value lines) for ${{ secrets.NAME }}.", valueName: "file"))
    var secrets: String?

    @Option(help: "Log format: text (readable, with live progress on a terminal) or json (JSON lines). Default: text on a terminal, json otherwise.")
    var logFormat: LogFormat?

    @Flag(help: "Log every call attempt, not only failures; text lines also show their metadata (event=, ids).")
    var verbose = false

    @Option(help: ArgumentHelp("Write a JSON run report to this file.", valueName: "file"))
    var report: String?

    @Option(help: "Steps run at once on parallel branches.")
    var concurrency: Int = 4

    @Option(help: ArgumentHelp(
        "How long the broadcast's lease lasts without renewal, 2s to 1h (renewed every third of it).",
        discussion: "Default: state.lease_ttl of masscast.yaml, else 5m.", valueName: "duration"))
    var leaseTTL: String?

    var settings: SessionSettings {
        SessionSettings(state: state, config: config, secrets: secrets, concurrency: concurrency, leaseTTL: leaseTTL)
    }

    /// Prepares the session (a setup error exits 2), runs it until it ends or is stopped by
    /// Ctrl-C or SIGTERM, and exits with the run's code.
    func run(_ request: RunRequest) async throws {
        Console.start(logFormat: logFormat)
        let console = Console.current
        guard let (session, progress) = await console.session(request, format: logFormat, verbose: verbose) else {
            throw Exit.invalid
        }
        let code = await console.run(session, progress: progress, report: report)
        if code != 0 { throw ExitCode(code) }
    }
}

extension LogFormat: ExpressibleByArgument {}
extension RunHistory.Format: ExpressibleByArgument {}
