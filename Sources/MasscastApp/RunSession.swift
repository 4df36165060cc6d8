import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import Runner
import StateSQLite
import WeChatMP

/// The settings `run` and `resume` share: where state, config and secrets come from, and
/// how many steps run at once.
public struct SessionSettings: Sendable {
    /// `--state`: the state file.
    public var state: String?
    /// `--config`: the project config.
    public var config: String?
    /// `--secrets`: a dotenv file.
    public var secrets: String?
    /// `--concurrency`: steps run at once on parallel branches.
    public var concurrency: Int

    /// Settings; `nil` means "located as usual".
    public init(state: String? = nil, config: String? = nil, secrets: String? = nil, concurrency: Int = 4) {
        self.state = state
        self.config = config
        self.secrets = secrets
        self.concurrency = concurrency
    }

    /// The options a `masscast resume` of this run needs to find the same store, config and
    /// secrets: those given, as given.
    public var resumeArguments: [String] {
        var arguments: [String] = []
        if let state { arguments += ["--state", state] }
        if let config { arguments += ["--config", config] }
        if let secrets { arguments += ["--secrets", secrets] }
        return arguments
    }
}

/// What `masscast run` is asked to do.
public struct RunRequest: Sendable {
    /// The pipeline file as given.
    public var pipeline: String
    /// `--input name=value`, in order.
    public var inputs: [String]
    /// `--sandbox`: rehearse against an in-process sandbox.
    public var sandbox: Bool
    /// `--fixture`: the sandbox's fixture (default: the built-in one).
    public var fixture: String?
    /// `--rerun`: send again, as a new generation.
    public var rerun: Bool
    /// `--enforce-schedule`: keep the schedule window even in a rehearsal.
    public var enforceSchedule: Bool
    /// `--confirm-to-all NAME`.
    public var confirmToAll: String?
    /// The shared settings.
    public var settings: SessionSettings

    /// A request.
    public init(
        pipeline: String, inputs: [String] = [], sandbox: Bool = false, fixture: String? = nil, rerun: Bool = false,
        enforceSchedule: Bool = false, confirmToAll: String? = nil, settings: SessionSettings = SessionSettings()
    ) {
        self.pipeline = pipeline
        self.inputs = inputs
        self.sandbox = sandbox
        self.fixture = fixture
        self.rerun = rerun
        self.enforceSchedule = enforceSchedule
        self.confirmToAll = confirmToAll
        self.settings = settings
    }
}

/// What `masscast resume` is asked to do.
public struct ResumeRequest: Sendable {
    /// The run to continue.
    public var runID: String
    /// `--confirm-resend`.
    public var confirmResend: Bool
    /// `--fixture`: for a rehearsal's run, the fixture it used.
    public var fixture: String?
    /// `--confirm-to-all NAME`.
    public var confirmToAll: String?
    /// The shared settings.
    public var settings: SessionSettings

    /// A request.
    public init(
        runID: String, confirmResend: Bool = false, fixture: String? = nil, confirmToAll: String? = nil,
        settings: SessionSettings = SessionSettings()
    ) {
        self.runID = runID
        self.confirmResend = confirmResend
        self.fixture = fixture
        self.confirmToAll = confirmToAll
        self.settings = settings
    }
}

/// How a session logs: made by the caller once the secrets to scrub are known.
public struct SessionLogging: Sendable {
    /// The run's logger.
    public var logger: Logger
    /// The live progress line's update and end, when there is one.
    public var progress: (@Sendable (String) -> Void)?
    public var progressEnded: (@Sendable (String) -> Void)?

    /// Logging through `logger`, with a progress line when `progress` is given.
    public init(
        logger: Logger, progress: (@Sendable (String) -> Void)? = nil, progressEnded: (@Sendable (String) -> Void)? = nil
    ) {
        self.logger = logger
        self.progress = progress
        self.progressEnded = progressEnded
    }
}

/// A run ready to start or continue: the pipeline, its account resolved, the state store
/// open, and (for a rehearsal) the sandbox and its listener running. Made from what the
/// command line (or a test) asks for by ``prepare(_:pipeline:environment:transport:logging:)``
/// and ``prepare(_:environment:transport:pipelineLoaded:logging:)``; the same steps for both.
public final class RunSession: Sendable {
    enum Action: Sendable {
        case start
        case resume(String)
    }

    /// The executor.
    public let executor: RunExecutor
    /// The open state store.
    public let store: SQLiteStateStore
    /// The rehearsal's sandbox and listener, when rehearsing.
    public let rehearsal: Rehearsal?
    /// The account, its secret resolved.
    public let account: AccountSettings
    /// Every secret the session knows, for a scrubber.
    public let scrubbed: [String]
    /// Whether the store is a rehearsal's temporary one, removed by ``close()``.
    public let temporaryStore: Bool
    let action: Action

    init(
        executor: RunExecutor, store: SQLiteStateStore, rehearsal: Rehearsal?, account: AccountSettings,
        scrubbed: [String], temporaryStore: Bool, action: Action
    ) {
        self.executor = executor
        self.store = store
        self.rehearsal = rehearsal
        self.account = account
        self.scrubbed = scrubbed
        self.temporaryStore = temporaryStore
        self.action = action
    }

    /// Prepares `masscast run`: secrets, inputs, config (found from the pipeline's folder),
    /// store, then the account (from the config, or from the sandbox it starts).
    /// - Parameter logging: makes the run's logging, given every secret to scrub.
    public static func prepare(
        _ request: RunRequest, pipeline loaded: LoadedPipeline, environment: AppEnvironment,
        transport: any WeChatTransport = AsyncHTTPTransport(),
        logging: @Sendable ([String]) -> SessionLogging
    ) async throws(SetupError) -> RunSession {
        let settings = request.settings
        let pipeline = loaded.pipeline
        let secrets = try Secrets.load(file: settings.secrets, environment: environment)
        let inputs = try resolveInputs(request.inputs, pipeline: pipeline)
        let config = try ProjectFiles.loadConfig(explicit: settings.config, near: loaded.file)
        let store = try StateLocation.open(
            explicit: settings.state, config: config, temporary: request.sandbox, environment: environment)
        var rehearsal: Rehearsal?
        let account: AccountSettings
        if request.sandbox {
            (rehearsal, account) = try await Rehearsal.start(
                fixturePath: request.fixture, pipeline: pipeline, store: store, secrets: secrets, inputs: inputs,
                environment: environment)
        } else {
            account = try AccountResolver.resolve(
                pipeline, in: .config(config), secrets: secrets, inputs: inputs, environment: environment)
        }
        let scrubbed = [account.secret.value] + secrets.scrubbed + (rehearsal?.scrub ?? [])
        let log = logging(scrubbed)
        var options = options(inputs: inputs, settings: settings, environment: environment, logging: log)
        options.rerun = request.rerun
        options.sandbox = request.sandbox
        options.project = config?.project ?? ""
        options.confirmToAll = request.confirmToAll
        options.enforceSchedule = !request.sandbox || request.enforceSchedule
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: loaded.file, pipelineDigest: digest(ofFile: loaded.file),
            account: account, store: store, transport: transport, logger: log.logger, options: options)
        return RunSession(
            executor: executor, store: store, rehearsal: rehearsal, account: account, scrubbed: scrubbed,
            temporaryStore: request.sandbox && settings.state == nil, action: .start)
    }

    /// Prepares `masscast resume`: the store (found from the working directory; it must
    /// exist), the run, its pipeline and inputs, secrets, and the account the run was made
    /// for (a rehearsal's from a new sandbox with the same fixture). An account that now
    /// resolves to another AppID or API is refused.
    /// - Parameter pipelineLoaded: told the run's pipeline once it is read (to show its warnings).
    public static func prepare(
        _ request: ResumeRequest, environment: AppEnvironment, transport: any WeChatTransport = AsyncHTTPTransport(),
        pipelineLoaded: @Sendable (LoadedPipeline) -> Void = { _ in },
        logging: @Sendable ([String]) -> SessionLogging
    ) async throws(SetupError) -> RunSession {
        let settings = request.settings
        let runID = request.runID
        let config = try ProjectFiles.loadConfig(explicit: settings.config, environment: environment)
        let store = try StateLocation.open(
            explicit: settings.state, config: config, mustExist: true, environment: environment)
        let record: RunRecord
        do {
            guard let r = try await store.run(runID) else {
                throw SetupError(
                    .run,
                    "no run \(runID) in \(store.path) (masscast runs list shows the runs; pass --state for another store)")
            }
            record = r
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError(.run, "\(error)")
        }
        let loaded = try ProjectFiles.loadPipeline(record.pipelineFile, environment: environment)
        pipelineLoaded(loaded)
        let pipeline = loaded.pipeline
        let secrets = try Secrets.load(file: settings.secrets, environment: environment)
        let pipelineConfig = try ProjectFiles.loadConfig(explicit: settings.config, near: record.pipelineFile)
        guard case .object(let inputs)? = try? Value.parseJSON(record.inputsJSON) else {
            throw SetupError(.run, "run \(runID) has unreadable inputs")
        }
        var rehearsal: Rehearsal?
        let account: AccountSettings
        if record.sandbox {
            guard APIIdentity.isSandbox(record.identity.api) else {
                throw SetupError(
                    .run,
                    "run \(runID) rehearsed against a sandbox that is gone (it was recorded before rehearsals could be resumed); start a new rehearsal instead"
                )
            }
            let started = try await Rehearsal.start(
                fixturePath: request.fixture, pipeline: pipeline, store: store, secrets: secrets, inputs: inputs,
                environment: environment)
            (rehearsal, account) = started
            if account.api != record.identity.api {
                await started.0.stop()
                throw SetupError(
                    .run,
                    "run \(runID) rehearsed against another fixture (\(record.identity.api.prefix(20))…); pass --fixture FILE with the fixture it used"
                )
            }
        } else {
            account = try AccountResolver.resolve(
                pipeline, in: .config(pipelineConfig), secrets: secrets, inputs: inputs, environment: environment)
        }
        if account.appID != record.identity.appID || account.api != record.identity.api {
            await rehearsal?.stop()
            throw SetupError(
                .run,
                "run \(runID) was made for \(record.identity.appID) at \(record.identity.api), but the account now resolves to \(account.appID) at \(account.api)"
            )
        }
        let scrubbed = [account.secret.value] + secrets.scrubbed + (rehearsal?.scrub ?? [])
        let log = logging(scrubbed)
        var options = options(inputs: inputs, settings: settings, environment: environment, logging: log)
        options.confirmResend = request.confirmResend
        options.sandbox = record.sandbox
        options.project = pipelineConfig?.project ?? ""
        options.confirmToAll = request.confirmToAll
        let executor = RunExecutor(
            pipeline: pipeline, pipelineFile: record.pipelineFile, pipelineDigest: digest(ofFile: record.pipelineFile),
            account: account, store: store, transport: transport, logger: log.logger, options: options)
        return RunSession(
            executor: executor, store: store, rehearsal: rehearsal, account: account, scrubbed: scrubbed,
            temporaryStore: false, action: .resume(runID))
    }

    /// Starts (or continues) the run and waits for its result. Nothing here handles signals:
    /// see ``RunService`` for a run that stops gracefully on SIGINT and SIGTERM.
    public func run() async -> RunResult {
        switch action {
        case .start: await executor.start()
        case .resume(let runID): await executor.resume(runID: runID)
        }
    }

    /// The run's report, read from the store.
    public func report(runID: String) async throws -> RunReport? {
        try await RunReports.report(runID: runID, store: store)
    }

    /// Stops the rehearsal's sandbox and listener and, when the store was a rehearsal's
    /// temporary one, closes and removes it (so a rehearsal never blocks the real send).
    public func close() async {
        await rehearsal?.stop()
        if temporaryStore {
            try? store.close()
            try? FileManager.default.removeItem(atPath: (store.path as NSString).deletingLastPathComponent)
        }
    }

    static func resolveInputs(_ given: [String], pipeline: Pipeline) throws(SetupError) -> [String: Value] {
        do {
            return try Inputs.resolve(given, pipeline: pipeline)
        } catch {
            throw SetupError(.invalidInputs, error.description)
        }
    }

    static func digest(ofFile path: String) -> String {
        Idempotency.digest(FileManager.default.contents(atPath: path) ?? Data())
    }

    static func options(
        inputs: [String: Value], settings: SessionSettings, environment: AppEnvironment, logging: SessionLogging
    ) -> RunOptions {
        var options = RunOptions()
        options.inputs = inputs
        options.env = environment.variables
        options.concurrency = settings.concurrency
        options.crashPoint = environment.variables["MASSCAST_CRASH_AT"]
        options.progress = logging.progress
        options.progressEnded = logging.progressEnded
        options.resumeArguments = settings.resumeArguments
        return options
    }
}

/// Run reports read from a state store (`--report`, `runs show`).
public enum RunReports {
    /// The report of `runID`, or `nil` when the store has no such run.
    public static func report(runID: String, store: any StateStore, ownerAlive: Bool = true) async throws -> RunReport? {
        guard let run = try await store.run(runID) else { return nil }
        return RunReport(
            run: run, steps: try await store.steps(runID: runID), attempts: try await store.attempts(runID: runID),
            journal: try await store.journalEntries(runID: runID), ownerAlive: ownerAlive)
    }

    /// Writes the report of `runID` as JSON to `path`; nothing when the store has no such run.
    public static func write(runID: String, store: any StateStore, to path: String) async throws {
        guard let report = try await report(runID: runID, store: store) else { return }
        try report.jsonData().write(to: URL(fileURLWithPath: path))
    }
}

/// `masscast runs`: the history in a state store, rendered.
public enum RunHistory {
    /// How a history is rendered.
    public enum Format: String, Sendable, CaseIterable {
        case text, json, mermaid
    }

    /// The store `runs` reads, located as `run` locates it; a missing file is an error
    /// (never a new, empty store that would answer "no runs").
    public static func open(state: String?, config: String?, environment: AppEnvironment) throws(SetupError)
        -> SQLiteStateStore
    {
        let projectConfig = try ProjectFiles.loadConfig(explicit: config, environment: environment)
        return try StateLocation.open(explicit: state, config: projectConfig, mustExist: true, environment: environment)
    }

    /// The newest `limit` runs, as text or JSON (`mermaid` is refused by the command).
    public static func list(_ store: SQLiteStateStore, limit: Int, format: Format) async throws -> String {
        let runs = try await store.runs(limit: limit)
        let liveness = RunOptions().ownerLiveness()
        if format == .json {
            return String(decoding: try RunTimeline.renderRunListJSON(runs, liveness: liveness), as: UTF8.self) + "\n"
        }
        return runs.isEmpty ? "no runs in \(store.path)\n" : RunTimeline.renderRunList(runs, liveness: liveness)
    }

    /// One run's timeline (text), report (JSON) or Gantt chart (Mermaid); `nil` when the
    /// store has no such run.
    public static func show(_ runID: String, in store: SQLiteStateStore, format: Format) async throws -> String? {
        guard let run = try await store.run(runID) else { return nil }
        let ownerAlive = run.owner.map { RunOptions().ownerLiveness()($0, run.heartbeatAt) } ?? true
        guard let report = try await RunReports.report(runID: runID, store: store, ownerAlive: ownerAlive) else {
            return nil
        }
        switch format {
        case .text: return RunTimeline.renderText(report)
        case .json: return String(decoding: try report.jsonData(), as: UTF8.self) + "\n"
        case .mermaid: return RunTimeline.renderMermaid(report)
        }
    }
}
