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
            Every send carries a deterministic clientmsgid (account, name, inputs, step,
            batch, generation) and is journaled before and after the call, so a retry, a
            resumed run or a second run of the same broadcast never sends twice. A broadcast
            the state store shows as completed is not run again (exit 0) unless --rerun.

            --sandbox runs against the built-in WeChat sandbox, in this process, with its
            default fixture (or --fixture), a temporary state store (unless --state), and the
            schedule window not enforced (a rehearsal happens before the window).

            A send to ALL followers (filter.is_to_all: true) cannot be undone: the run is
            refused before it starts (exit 2) unless --confirm-to-all names the pipeline's
            name. A --sandbox rehearsal runs without it, with a warning.

            Exit status: 0 success or nothing to do; 1 the run failed; 2 invalid input;
            3 stopped and resumable (Ctrl-C, an outcome that is unknown): `masscast resume RUN_ID`;
            4 not run: outside the schedule window.

            Examples:
              masscast run pipelines/video-to-tag.yaml --sandbox
              masscast run pipelines/text-to-tag.yaml --input tag_id=101 --report run.json
              masscast run pipelines/text-to-tag.yaml --rerun      # send again: a new generation
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

    @Flag(help: "Start the next generation of a broadcast the store shows as completed (it is sent again).")
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
        let file = RunSetup.absolute(pipeline)
        let pipeline = try RunSetup.loadPipeline(file)
        let started: Prepared
        do {
            started = try await prepare(file: file, pipeline: pipeline)
        } catch let e as SetupError {
            writeStderr("masscast: \(e)\n")
            throw Exit.invalid
        }
        let executor = started.executor
        let interrupt = RunSetup.installInterruptHandler { executor.stop() }
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
                writeStderr("masscast: sandbox rehearsal \(runID) done; its state was temporary (pass --state FILE to keep it)\n")
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
        var running: RunningSandbox?
        var listener: RunningListener?
        let account: AccountSettings
        let store = try RunSetup.openStore(explicit: common.state, config: config, temporary: sandbox)
        var scrub = Array(secrets.values)
        if sandbox {
            let fixture = try RunSetup.loadFixture(self.fixture)
            let engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
            do {
                running = try await RunningSandbox.start(engine: engine)
            } catch {
                throw SetupError("the sandbox did not start: \(error)")
            }
            account = try RunSetup.sandboxAccount(
                for: pipeline, fixture: fixture, baseURL: running!.baseURL, secrets: secrets, inputs: inputs)
            // The sandbox pushes MASSSENDJOBFINISH (signed, AES-encrypted in safe mode) to an
            // in-process listener that stores it in this run's inbox, as in production.
            if let fixtureAccount = fixture.accounts.first(where: { $0.appID == account.appID }),
                let callback = fixtureAccount.callback
            {
                scrub += [callback.token] + (callback.encodingAESKey.map { [$0] } ?? [])
                let listenerAccount = ListenerAccount(
                    name: fixtureAccount.name, appID: fixtureAccount.appID, originalID: fixtureAccount.originalID,
                    token: callback.token, aesKey: callback.mode == .plain ? nil : callback.encodingAESKey)
                do {
                    listener = try await RunningListener.start(
                        configuration: ListenerConfiguration(accounts: [listenerAccount]), store: store)
                } catch {
                    await running?.stop()
                    throw SetupError("the in-process listener did not start: \(error)")
                }
                _ = await engine.setCallback(account: fixtureAccount.name, url: listener!.callbackURL(account: fixtureAccount.name))
            }
        } else {
            account = try RunSetup.account(for: pipeline, config: config, secrets: secrets, inputs: inputs)
        }
        let (logger, _, progress) = RunSetup.logger(
            format: common.logFormat, verbose: common.verbose, scrub: [account.secret.value] + scrub)
        var options = RunSetup.options(inputs: inputs, common: common, progress: progress)
        options.rerun = rerun
        options.sandbox = sandbox
        options.confirmToAll = confirmToAll
        options.enforceSchedule = !sandbox || enforceSchedule
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: file, pipelineDigest: RunSetup.digest(ofFile: file), account: account,
            store: store, transport: AsyncHTTPTransport(), logger: logger, options: options)
        return Prepared(executor: executor, store: store, sandbox: running, listener: listener, progress: progress)
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a run that stopped (Ctrl-C, an unknown outcome, a killed runner); never re-sends.",
        discussion: """
            Finished steps keep their results; the others run. A send the journal shows as
            sent is adopted, not repeated; a send whose outcome is unknown is repeated with
            the same clientmsgid (WeChat answers 45065 if it went out), unless its first
            attempt is over 23 hours old: then only with --confirm-resend.

            Examples:
              masscast resume r20261129-070001-k3x9qa
              masscast resume r20261129-070001-k3x9qa --confirm-resend
            """
    )

    @Argument(help: "The run id (masscast runs list).")
    var runID: String

    @Flag(help: "Repeat a send (or preview) whose outcome has been unknown too long to repeat safely.")
    var confirmResend = false

    @Option(help: ArgumentHelp(
        "Confirm the run's unfinished sends to ALL followers; NAME must be the pipeline's name.", valueName: "name"))
    var confirmToAll: String?

    @OptionGroup var common: RunCommonOptions

    func run() async throws {
        let store: SQLiteStateStore
        let record: RunRecord
        let pipeline: Pipeline
        let account: AccountSettings
        let inputs: [String: Value]
        let secrets: [String: String]
        do {
            let explicitStore = common.state
            store = try RunSetup.openStore(explicit: explicitStore, config: nil, temporary: false)
            guard let r = try await store.run(runID) else {
                throw SetupError("no run \(runID) in \(store.path) (masscast runs list shows the runs; pass --state for another store)")
            }
            record = r
            if r.sandbox {
                throw SetupError("run \(runID) ran against an in-process sandbox, which is gone; start a new run instead")
            }
            pipeline = try RunSetup.loadPipeline(r.pipelineFile)
            secrets = try RunSetup.loadSecrets(file: common.secrets)
            let config = try RunSetup.loadConfig(explicit: common.config, near: r.pipelineFile)
            guard case .object(let values) = try Value.parseJSON(r.inputsJSON) else {
                throw SetupError("run \(runID) has unreadable inputs")
            }
            inputs = values
            account = try RunSetup.account(for: pipeline, config: config, secrets: secrets, inputs: inputs)
            if account.appID != r.identity.appID || account.apiBase != r.identity.apiBase {
                throw SetupError(
                    "run \(runID) was made for \(r.identity.appID) at \(r.identity.apiBase), but the account now resolves to \(account.appID) at \(account.apiBase)")
            }
        } catch let e as SetupError {
            writeStderr("masscast: \(e)\n")
            throw Exit.invalid
        } catch let e as ExitCode {
            throw e
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
        let (logger, _, progress) = RunSetup.logger(
            format: common.logFormat, verbose: common.verbose, scrub: [account.secret.value] + Array(secrets.values))
        var options = RunSetup.options(inputs: inputs, common: common, progress: progress)
        options.confirmResend = confirmResend
        options.confirmToAll = confirmToAll
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: record.pipelineFile, pipelineDigest: RunSetup.digest(ofFile: record.pipelineFile),
            account: account, store: store, transport: AsyncHTTPTransport(), logger: logger, options: options)
        let interrupt = RunSetup.installInterruptHandler { executor.stop() }
        let result = await executor.resume(runID: runID)
        interrupt.cancel()
        if let report = common.report {
            await RunSetup.writeReport(report, runID: runID, store: store)
        }
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

        @Option(help: ArgumentHelp("The state file.", valueName: "path"))
        var state: String?

        @Option(help: "text or json.")
        var format: Format = .text

        @Option(help: "How many runs.")
        var limit: Int = 20

        func run() async throws {
            let store = try Runs.open(state)
            let runs = try await store.runs(limit: limit)
            switch format {
            case .json: writeStdout(String(decoding: try RunTimeline.renderRunListJSON(runs), as: UTF8.self) + "\n")
            default: writeStdout(runs.isEmpty ? "no runs in \(store.path)\n" : RunTimeline.renderRunList(runs))
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

        @Option(help: ArgumentHelp("The state file.", valueName: "path"))
        var state: String?

        @Option(help: "text, json (the run report) or mermaid (a Gantt chart).")
        var format: Format = .text

        func run() async throws {
            let store = try Runs.open(state)
            guard let run = try await store.run(runID) else {
                writeStderr("masscast: no run \(runID) in \(store.path) (masscast runs list shows the runs)\n")
                throw Exit.invalid
            }
            let report = RunReport(
                run: run, steps: try await store.steps(runID: runID), attempts: try await store.attempts(runID: runID),
                journal: try await store.journalEntries(runID: runID))
            switch format {
            case .text: writeStdout(RunTimeline.renderText(report))
            case .json: writeStdout(String(decoding: try report.jsonData(), as: UTF8.self) + "\n")
            case .mermaid: writeStdout(RunTimeline.renderMermaid(report))
            }
        }
    }

    static func open(_ state: String?) throws -> SQLiteStateStore {
        let path = state ?? SQLiteStateStore.defaultPath
        if state == nil && !FileManager.default.fileExists(atPath: path) {
            writeStderr("masscast: no state file at \(path) (pass --state PATH)\n")
            throw Exit.invalid
        }
        do {
            return try SQLiteStateStore(path: path)
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}
