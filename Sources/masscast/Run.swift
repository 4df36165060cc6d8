import ArgumentParser
import CallbackServer
import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import Runner
import StateSQLite
import WeChatMP
import WeChatSandbox

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
        let file = RunSetup.absolute(pipeline)
        let pipeline = try RunSetup.loadPipelineOrExit(file)
        let started: Prepared
        do {
            started = try await prepare(file: file, pipeline: pipeline)
        } catch let e as SetupError {
            Console.current.error("\(e)")
            throw Exit.invalid
        }
        let executor = started.executor
        let interrupt = RunSetup.installInterruptHandler { executor.stop(reason: $0) }
        let result = await executor.start()
        interrupt.cancel()
        if let report = common.report, let id = result.runID {
            await RunSetup.writeReport(report, runID: id, store: started.store)
        }
        await started.sandbox?.stop()
        await started.listener?.stop()
        if sandbox, common.state == nil {
            // A rehearsal's state is thrown away, so it never blocks the real send.
            try? started.store.close()
            try? FileManager.default.removeItem(atPath: (started.store.path as NSString).deletingLastPathComponent)
            if let runID = result.runID {
                Console.current.final(
                    "sandbox rehearsal \(runID) done; its state was temporary (pass --state FILE to keep it)",
                    event: "run.rehearsal_done")
            }
        }
        try RunSetup.finish(result, progress: started.progress)
    }

    struct Prepared {
        var executor: RunExecutor
        var store: SQLiteStateStore
        var sandbox: RunningSandbox?
        var listener: RunningListener?
        var progress: ProgressLine?
    }

    func prepare(file: String, pipeline: Pipeline) async throws -> Prepared {
        let secrets = try RunSetup.loadSecrets(file: common.secrets)
        let inputs = try RunSetup.inputs(self.inputs, pipeline: pipeline)
        let config = try RunSetup.loadConfig(explicit: common.config, near: file)
        let store = try RunSetup.openStore(explicit: common.state, config: config, temporary: sandbox)
        var rehearsal: RunSetup.Rehearsal?
        let account: AccountSettings
        var scrub = Array(secrets.values)
        if sandbox {
            let started = try await RunSetup.startRehearsal(
                fixturePath: fixture, pipeline: pipeline, store: store, secrets: secrets, inputs: inputs)
            rehearsal = started
            account = started.account
            scrub += started.scrub
        } else {
            account = try RunSetup.account(for: pipeline, config: config, secrets: secrets, inputs: inputs)
        }
        let (logger, _, progress) = RunSetup.logger(
            format: common.logFormat, verbose: common.verbose, scrub: [account.secret.value] + scrub)
        var options = RunSetup.options(inputs: inputs, common: common, progress: progress)
        options.rerun = rerun
        options.sandbox = sandbox
        options.project = config?.project ?? ""
        options.confirmToAll = confirmToAll
        options.enforceSchedule = !sandbox || enforceSchedule
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: file, pipelineDigest: RunSetup.digest(ofFile: file), account: account,
            store: store, transport: AsyncHTTPTransport(), logger: logger, options: options)
        return Prepared(
            executor: executor, store: store, sandbox: rehearsal?.sandbox, listener: rehearsal?.listener,
            progress: progress)
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
        let store: SQLiteStateStore
        let record: RunRecord
        let pipeline: Pipeline
        let account: AccountSettings
        let inputs: [String: Value]
        let secrets: [String: String]
        var rehearsal: RunSetup.Rehearsal?
        var project = ""
        do {
            let config = try RunSetup.loadConfigFromWorkingDirectory(explicit: common.config)
            store = try RunSetup.openStore(explicit: common.state, config: config, temporary: false, mustExist: true)
            guard let r = try await store.run(runID) else {
                throw SetupError("no run \(runID) in \(store.path) (masscast runs list shows the runs; pass --state for another store)")
            }
            record = r
            pipeline = try RunSetup.loadPipeline(r.pipelineFile)
            secrets = try RunSetup.loadSecrets(file: common.secrets)
            let pipelineConfig = try RunSetup.loadConfig(explicit: common.config, near: r.pipelineFile)
            project = pipelineConfig?.project ?? ""
            guard case .object(let values) = try Value.parseJSON(r.inputsJSON) else {
                throw SetupError("run \(runID) has unreadable inputs")
            }
            inputs = values
            if r.sandbox {
                guard APIIdentity.isSandbox(r.identity.api) else {
                    throw SetupError(
                        "run \(runID) rehearsed against a sandbox that is gone (it was recorded before rehearsals could be resumed); start a new rehearsal instead")
                }
                let started = try await RunSetup.startRehearsal(
                    fixturePath: fixture, pipeline: pipeline, store: store, secrets: secrets, inputs: inputs)
                rehearsal = started
                account = started.account
                if account.api != r.identity.api {
                    await started.sandbox.stop()
                    await started.listener?.stop()
                    throw SetupError(
                        "run \(runID) rehearsed against another fixture (\(r.identity.api.prefix(20))…); pass --fixture FILE with the fixture it used")
                }
            } else {
                account = try RunSetup.account(for: pipeline, config: pipelineConfig, secrets: secrets, inputs: inputs)
            }
            if account.appID != r.identity.appID || account.api != r.identity.api {
                throw SetupError(
                    "run \(runID) was made for \(r.identity.appID) at \(r.identity.api), but the account now resolves to \(account.appID) at \(account.api)")
            }
        } catch let e as SetupError {
            Console.current.error("\(e)")
            throw Exit.invalid
        } catch let e as ExitCode {
            throw e
        } catch {
            Console.current.error("\(error)")
            throw Exit.invalid
        }
        let (logger, _, progress) = RunSetup.logger(
            format: common.logFormat, verbose: common.verbose,
            scrub: [account.secret.value] + Array(secrets.values) + (rehearsal?.scrub ?? []))
        var options = RunSetup.options(inputs: inputs, common: common, progress: progress)
        options.confirmResend = confirmResend
        options.sandbox = record.sandbox
        options.project = project
        options.confirmToAll = confirmToAll
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: record.pipelineFile, pipelineDigest: RunSetup.digest(ofFile: record.pipelineFile),
            account: account, store: store, transport: AsyncHTTPTransport(), logger: logger, options: options)
        let interrupt = RunSetup.installInterruptHandler { executor.stop(reason: $0) }
        let result = await executor.resume(runID: runID)
        interrupt.cancel()
        if let report = common.report {
            await RunSetup.writeReport(report, runID: runID, store: store)
        }
        await rehearsal?.sandbox.stop()
        await rehearsal?.listener?.stop()
        try RunSetup.finish(result, progress: progress)
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show run history from the state store.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, mermaid }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")

        @Option(help: ArgumentHelp("The state file (default: located as `run` does).", valueName: "path"))
        var state: String?

        @Option(help: ArgumentHelp("The project config (default: masscast.yaml found from here upward).", valueName: "file"))
        var config: String?

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
            let store = try Runs.open(state, config: config)
            let runs = try await store.runs(limit: limit)
            let liveness = RunOptions().ownerLiveness()
            switch format {
            case .json:
                writeStdout(String(decoding: try RunTimeline.renderRunListJSON(runs, liveness: liveness), as: UTF8.self) + "\n")
            default:
                writeStdout(runs.isEmpty ? "no runs in \(store.path)\n" : RunTimeline.renderRunList(runs, liveness: liveness))
            }
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

        @Option(help: ArgumentHelp("The state file (default: located as `run` does).", valueName: "path"))
        var state: String?

        @Option(help: ArgumentHelp("The project config (default: masscast.yaml found from here upward).", valueName: "file"))
        var config: String?

        @Option(help: "text, json (the run report) or mermaid (a Gantt chart).")
        var format: Format = .text

        func run() async throws {
            let store = try Runs.open(state, config: config)
            guard let run = try await store.run(runID) else {
                writeStderr("masscast: no run \(runID) in \(store.path) (masscast runs list shows the runs)\n")
                throw Exit.invalid
            }
            let ownerAlive = run.owner.map { RunOptions().ownerLiveness()($0, run.heartbeatAt) } ?? true
            let report = RunReport(
                run: run, steps: try await store.steps(runID: runID), attempts: try await store.attempts(runID: runID),
                journal: try await store.journalEntries(runID: runID), ownerAlive: ownerAlive)
            switch format {
            case .text: writeStdout(RunTimeline.renderText(report))
            case .json: writeStdout(String(decoding: try report.jsonData(), as: UTF8.self) + "\n")
            case .mermaid: writeStdout(RunTimeline.renderMermaid(report))
            }
        }
    }

    /// The store, located as `run` locates it; a missing file is an error (never a new,
    /// empty store that would answer "no runs").
    static func open(_ state: String?, config: String?) throws -> SQLiteStateStore {
        do {
            let projectConfig = try RunSetup.loadConfigFromWorkingDirectory(explicit: config)
            return try RunSetup.openStore(explicit: state, config: projectConfig, temporary: false, mustExist: true)
        } catch let e as SetupError {
            writeStderr("masscast: \(e)\n")
            throw Exit.invalid
        }
    }
}
