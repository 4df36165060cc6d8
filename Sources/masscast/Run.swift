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
        discussion: """
            Every send carries a deterministic clientmsgid (project, account, name, inputs, step, batch, \
            generation) and is journaled before and after the call, so a retry, a resumed run or a \
            second run of the same broadcast never sends twice. A broadcast the state store shows as \
            completed is not run again (exit 0) unless --rerun.

            Running the same broadcast again converges it: when its current generation has a run that \
            stopped, failed or lost its runner (a CI retry after Ctrl-C, a killed job), that run is \
            continued. Steps that succeeded keep their results (temporary media older than WeChat's 3 \
            days is uploaded again); the others run again, and sends are recognised by the journal.

            --rerun sends the broadcast AGAIN, to its whole audience, as a new generation. It is refused \
            while a send's outcome is unknown.

            A send to ALL followers (filter.is_to_all: true) cannot be undone: the run is refused before \
            it starts (exit 2) unless --confirm-to-all names the pipeline's name. A --sandbox rehearsal \
            runs without it, with a warning.

            --sandbox runs against the built-in WeChat sandbox, in this process, with its default \
            fixture (or --fixture), a temporary state store (unless --state), and the schedule window \
            not enforced (a rehearsal happens before the window). A rehearsal's journal, pushes and \
            quota are kept apart from the real API's, even in the same state file.

            Exit status: 0 success or nothing to do; 1 the run failed; 2 invalid input; 3 stopped and \
            resumable (Ctrl-C, SIGTERM, an outcome that is unknown): run it again, or `masscast resume \
            RUN_ID`; 4 not run: outside the schedule window.

            Examples:
              masscast run pipelines/video-to-tag.yaml --sandbox
              masscast run pipelines/text-to-tag.yaml --input tag_id=101 --report run.json
              masscast run pipelines/text-to-tag.yaml --rerun      # SENDS AGAIN: a new generation
              masscast run launch.yaml --confirm-to-all autumn-launch   # a send to ALL followers
            """
    )

    @Argument(help: "The pipeline file.")
    var pipeline: String

    @Option(name: .customLong("input"), help: ArgumentHelp("An input value (repeatable).", valueName: "name=value"))
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

    func validate() throws {
        if common.concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if fixture != nil && !sandbox { throw ValidationError("--fixture needs --sandbox") }
    }

    func run() async throws {
        Console.start(logFormat: common.logFormat)
        let request = RunRequest(
            pipeline: pipeline, inputs: inputs, sandbox: sandbox, fixture: fixture, rerun: rerun,
            enforceSchedule: enforceSchedule, confirmToAll: confirmToAll, settings: common.settings)
        try await common.run { logging async throws(SetupError) in
            let loaded = try ProjectFiles.loadPipeline(request.pipeline, environment: .process)
            Console.current.warnings(loaded.warnings)
            return try await RunSession.prepare(request, pipeline: loaded, environment: .process, logging: logging)
        }
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a run that stopped (Ctrl-C, SIGTERM, an unknown outcome, a killed runner); never re-sends.",
        discussion: """
            Finished steps keep their results; the others run. A send the journal shows as sent is \
            adopted, not repeated; a send whose outcome is unknown is repeated with the same \
            clientmsgid (WeChat answers 45065 if it went out), unless its first attempt is over 23 \
            hours old: then only with --confirm-resend.

            Examples:
              masscast resume r20261129-070001-k3x9qa
              masscast resume r20261129-070001-k3x9qa --confirm-resend
            """
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
        Console.start(logFormat: common.logFormat)
        let request = ResumeRequest(
            runID: runID, confirmResend: confirmResend, fixture: fixture, confirmToAll: confirmToAll,
            settings: common.settings)
        try await common.run { logging async throws(SetupError) in
            try await RunSession.prepare(
                request, environment: .process, pipelineLoaded: { Console.current.warnings($0.warnings) },
                logging: logging)
        }
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show run history from the state store.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    typealias Format = RunHistory.Format

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")

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
        static let configuration = CommandConfiguration(
            abstract: "One run's step timeline: attempts, errors and sends.",
            discussion: """
                Examples:
                  masscast runs show r20261129-070001-k3x9qa
                  masscast runs show r20261129-070001-k3x9qa --format mermaid > run.mmd   # a Gantt chart
                """)

        @Argument(help: "The run id.")
        var runID: String

        @OptionGroup var store: StoreOptions

        @Option(help: "text, json (the run report) or mermaid (a Gantt chart).")
        var format: Format = .text

        func run() async throws {
            let opened = try store.open()
            guard let text = try await RunHistory.show(runID, in: opened, format: format) else {
                writeStderr("masscast: no run \(runID) in \(opened.path) (masscast runs list shows the runs)\n")
                throw Exit.invalid
            }
            writeStdout(text)
        }
    }
}

/// `runs`' store options: located as `run` locates it; a missing file is an error (never a
/// new, empty store that would answer "no runs").
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state file (default: located as `run` does).", valueName: "path"))
    var state: String?

    @Option(help: ArgumentHelp("The project config (default: masscast.yaml found from here upward).", valueName: "file"))
    var config: String?

    func open() throws -> SQLiteStateStore {
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
    @Option(help: ArgumentHelp("The state file (SQLite).", discussion: "Default: state.path of masscast.yaml, else .masscast/state.sqlite; with --sandbox a temporary file.", valueName: "path"))
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

    var settings: SessionSettings {
        SessionSettings(state: state, config: config, secrets: secrets, concurrency: concurrency)
    }

    /// Prepares the session (a setup error exits 2), runs it until it ends or is stopped by
    /// Ctrl-C or SIGTERM, and exits with the run's code.
    func run(
        _ prepare: (@escaping @Sendable ([String]) -> SessionLogging) async throws(SetupError) -> RunSession
    ) async throws {
        let console = Console.current
        guard let (session, progress) = await console.session(format: logFormat, verbose: verbose, prepare) else {
            throw Exit.invalid
        }
        let code = await console.run(session, progress: progress, report: report)
        if code != 0 { throw ExitCode(code) }
    }
}

extension LogFormat: ExpressibleByArgument {}
extension RunHistory.Format: ExpressibleByArgument {}
