import FileChecks
import Foundation
import Logging
import PipelineCore
import PipelineYAML
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
    /// `--lease-ttl`: how long the broadcast's lease lasts without renewal, as written (it
    /// wins over `state.lease_ttl` of masscast.yaml).
    public var leaseTTL: String?

    /// Settings; `nil` means "located as usual".
    public init(
        state: String? = nil, config: String? = nil, secrets: String? = nil, concurrency: Int = 4,
        leaseTTL: String? = nil
    ) {
        self.state = state
        self.config = config
        self.secrets = secrets
        self.concurrency = concurrency
        self.leaseTTL = leaseTTL
    }

    /// The lease's time to live: `--lease-ttl`, else `state.lease_ttl` of `config`, else 5 minutes.
    /// - Throws: `SetupError` (`invalidConfig`, its diagnostic MC2022 or MC2008) for a flag that
    ///   is not a duration or is outside 2s…1h.
    public func resolvedLeaseTTL(config: ProjectConfig?) throws(SetupError) -> Duration {
        if let text = leaseTTL {
            switch LeaseTTL.parseFlag(text) {
            case .ttl(let ttl): return ttl
            case .invalid(let d): throw SetupError(.invalidConfig, d.message, diagnostics: [d])
            }
        }
        return config?.state?.leaseTTL ?? LeaseTTL.standard
    }

    /// The options a `masscast resume` of this run needs to find the same store, config and
    /// secrets: those given, as given.
    public var resumeArguments: [String] {
        var arguments: [String] = []
        if let state { arguments += ["--state", state] }
        if let config { arguments += ["--config", config] }
        if let secrets { arguments += ["--secrets", secrets] }
        if let leaseTTL { arguments += ["--lease-ttl", leaseTTL] }
        return arguments
    }
}

/// What `masscast run` or `masscast resume` is asked to do: one request for both, since
/// both prepare a session the same way.
public struct RunRequest: Sendable {
    /// Start a run of a pipeline, or continue a run that stopped.
    public enum Action: Sendable, Hashable {
        /// `masscast run PIPELINE`: the pipeline file as given.
        case start(pipeline: String)
        /// `masscast resume RUN_ID`.
        case resume(runID: String)
    }

    /// What to do.
    public var action: Action
    /// `--input name=value`, in order (`run`).
    public var inputs: [String]
    /// `--sandbox`: rehearse against an in-process sandbox (`run`; a resumed run rehearses
    /// when it was a rehearsal).
    public var sandbox: Bool
    /// `--fixture`: the sandbox's fixture (default: the built-in one); for a resumed
    /// rehearsal, the fixture it used.
    public var fixture: String?
    /// `--rerun`: send again, as a new generation (`run`).
    public var rerun: Bool
    /// `--enforce-schedule`: keep the schedule window even in a rehearsal (`run`).
    public var enforceSchedule: Bool
    /// `--confirm-resend` (`resume`).
    public var confirmResend: Bool
    /// `--confirm-to-all NAME`.
    public var confirmToAll: String?
    /// The shared settings.
    public var settings: SessionSettings
    /// Input values of the pipeline's inputs file (`masscast apply`); a `--input` of the same
    /// name wins.
    public var inputValues: [String: Value] = [:]
    /// `masscast apply --allow-late`: send outside the schedule window.
    public var allowLate = false

    /// A `run` of `pipeline`.
    public init(
        pipeline: String, inputs: [String] = [], sandbox: Bool = false, fixture: String? = nil, rerun: Bool = false,
        enforceSchedule: Bool = false, confirmToAll: String? = nil, settings: SessionSettings = SessionSettings()
    ) {
        self.action = .start(pipeline: pipeline)
        self.inputs = inputs
        self.sandbox = sandbox
        self.fixture = fixture
        self.rerun = rerun
        self.enforceSchedule = enforceSchedule
        self.confirmResend = false
        self.confirmToAll = confirmToAll
        self.settings = settings
    }

    /// A `resume` of the run `runID`.
    public init(
        resuming runID: String, confirmResend: Bool = false, fixture: String? = nil, confirmToAll: String? = nil,
        settings: SessionSettings = SessionSettings()
    ) {
        self.action = .resume(runID: runID)
        self.inputs = []
        self.sandbox = false
        self.fixture = fixture
        self.rerun = false
        self.enforceSchedule = false
        self.confirmResend = confirmResend
        self.confirmToAll = confirmToAll
        self.settings = settings
    }

    /// Why the flags of a `run` do not go together (a usage error), or `nil`.
    public var usageError: String? {
        guard case .start = action else { return nil }
        if settings.concurrency < 1 { return "--concurrency must be at least 1" }
        if fixture != nil && !sandbox { return "--fixture needs --sandbox" }
        return nil
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

/// What a session is wired to besides what the request says. The command line uses the
/// defaults; tests pass their own (the sandbox's in-process transport, a store they read,
/// a store that fails on purpose).
public struct SessionWiring: Sendable {
    /// What calls WeChat (default: HTTP).
    public var transport: any WeChatTransport
    /// An open state store to use instead of locating one (`--state`, masscast.yaml, the
    /// default); the session does not close it.
    public var store: (any StateStore)?
    /// The store the run journals to, when not ``store`` itself (a wrapper that injects
    /// faults, another store).
    public var journal: (any StateStore)?

    /// A wiring; `nil` means "as the command line does".
    public init(
        transport: any WeChatTransport = AsyncHTTPTransport(), store: (any StateStore)? = nil,
        journal: (any StateStore)? = nil
    ) {
        self.transport = transport
        self.store = store
        self.journal = journal
    }
}

/// A run ready to start or continue: the pipeline, its account resolved, the state store
/// open, and (for a rehearsal) the sandbox and its listener running. Made from what the
/// command line (or a test) asks for by ``prepare(_:environment:wiring:pipelineLoaded:logging:)``,
/// or, for a pipeline whose account is looked up in a given place without starting a
/// sandbox, ``prepare(_:account:environment:wiring:configure:logging:)``: the same steps in
/// the same order.
public final class RunSession: Sendable {
    enum Action: Sendable {
        case start
        case resume(String)
    }

    /// The executor.
    public let executor: RunExecutor
    /// The open state store.
    public let store: any StateStore
    /// The rehearsal's sandbox and listener, when rehearsing.
    public let rehearsal: Rehearsal?
    /// The account, its secret resolved.
    public let account: AccountSettings
    /// Every secret the session knows, for a scrubber.
    public let scrubbed: [String]
    /// Whether the store is a rehearsal's temporary one, removed by ``close()``.
    public let temporaryStore: Bool
    /// How long the broadcast's lease lasts without renewal (`--lease-ttl`, `state.lease_ttl`).
    public let leaseTTL: Duration
    /// The broadcast's lease as this session holds it (taken by ``run()``, or before it by
    /// `apply`).
    public let lease: LeaseHolder
    let action: Action

    init(
        executor: RunExecutor, store: any StateStore, rehearsal: Rehearsal?, account: AccountSettings,
        scrubbed: [String], temporaryStore: Bool, action: Action, leaseTTL: Duration = LeaseTTL.standard,
        owner: String
    ) {
        self.leaseTTL = leaseTTL
        self.lease = LeaseHolder(store: store, owner: owner, ttl: LeaseTTL.seconds(leaseTTL), executor: executor)
        self.executor = executor
        self.store = store
        self.rehearsal = rehearsal
        self.account = account
        self.scrubbed = scrubbed
        self.temporaryStore = temporaryStore
        self.action = action
    }

    /// Prepares `masscast run` or `masscast resume`.
    ///
    /// `run`: the pipeline, secrets, inputs, config (found from the pipeline's folder),
    /// store, then the account (from the config, or from the sandbox it starts).
    ///
    /// `resume`: the store (found from the working directory; it must exist), the run, its
    /// pipeline and inputs, secrets, and the account the run was made for (a rehearsal's from
    /// a new sandbox with the same fixture). An account that now resolves to another AppID or
    /// API is refused.
    /// - Parameters:
    ///   - pipelineLoaded: told the pipeline once it is read (to show its warnings).
    ///   - logging: makes the run's logging, given every secret to scrub.
    public static func prepare(
        _ request: RunRequest, environment: AppEnvironment, wiring: SessionWiring = SessionWiring(),
        pipelineLoaded: @Sendable (LoadedPipeline) -> Void = { _ in },
        logging: @Sendable ([String]) -> SessionLogging
    ) async throws(SetupError) -> RunSession {
        switch request.action {
        case .start(let file):
            let (loaded, config) = try loadPipeline(file, request, environment: environment)
            pipelineLoaded(loaded)
            let parts = try gather(request, loaded: loaded, config: config, environment: environment, wiring: wiring)
            var rehearsal: Rehearsal?
            let account: AccountSettings
            if request.sandbox {
                (rehearsal, account) = try await Rehearsal.start(
                    fixturePath: request.fixture, pipeline: loaded.pipeline, store: parts.store,
                    secrets: parts.secrets, inputs: parts.inputs, environment: environment)
            } else {
                account = try AccountResolver.resolve(
                    loaded.pipeline, in: .config(parts.config), secrets: parts.secrets, inputs: parts.inputs,
                    environment: environment)
            }
            return assemble(
                request, parts, account: account, rehearsal: rehearsal, environment: environment, wiring: wiring,
                configure: { _ in }, logging: logging)
        case .resume(let runID):
            return try await resume(
                runID, request, environment: environment, wiring: wiring, pipelineLoaded: pipelineLoaded,
                logging: logging)
        }
    }

    /// Prepares `masscast run` with the account looked up in `source` and nothing started:
    /// the same steps as ``prepare(_:environment:wiring:pipelineLoaded:logging:)`` for a run
    /// whose sandbox (`.sandbox`) is already running in this process, as in the runner's tests.
    /// - Parameter configure: last changes to the run's options (shorter waits, a clock).
    public static func prepare(
        _ request: RunRequest, account source: AccountSource, environment: AppEnvironment,
        wiring: SessionWiring = SessionWiring(), configure: (inout RunOptions) -> Void = { _ in },
        logging: ([String]) -> SessionLogging
    ) throws(SetupError) -> RunSession {
        guard case .start(let file) = request.action else {
            throw SetupError(.run, "a run is resumed with prepare(_:environment:wiring:pipelineLoaded:logging:)")
        }
        let (loaded, config) = try loadPipeline(file, request, environment: environment)
        let parts = try gather(request, loaded: loaded, config: config, environment: environment, wiring: wiring)
        let account = try AccountResolver.resolve(
            loaded.pipeline, in: source, secrets: parts.secrets, inputs: parts.inputs, environment: environment)
        return assemble(
            request, parts, account: account, rehearsal: nil, environment: environment, wiring: wiring,
            configure: configure, logging: logging)
    }

    /// What a run is prepared from before its account: read and opened in this order.
    struct Parts {
        var loaded: LoadedPipeline
        var secrets: Secrets
        var inputs: [String: Value]
        var config: ProjectConfig?
        var store: any StateStore
        var temporaryStore: Bool
        /// How long the broadcast's lease lasts without renewal.
        var leaseTTL: Duration = LeaseTTL.standard
        /// Each input with a value and where it came from: `--input`, the inputs file, `default`.
        var inputSources: [(String, String)] = []
    }

    /// The pipeline of a run, and its project config as read (a config with errors is thrown
    /// by `gather`, after the pipeline's errors, the secrets' and the inputs'). The config is
    /// found from the pipeline's path, not its contents, so it is read first: the pipeline is
    /// then parsed once, already checked for steps that read a variable the config takes a
    /// credential from (MC3009).
    static func loadPipeline(
        _ file: String, _ request: RunRequest, environment: AppEnvironment
    ) throws(SetupError) -> (LoadedPipeline, Result<ProjectConfig?, SetupError>) {
        let config = Result { () throws(SetupError) -> ProjectConfig? in
            try ProjectFiles.loadConfig(explicit: request.settings.config, near: environment.absolute(file))
        }
        let names = (try? config.get())??.secretEnvironmentNames ?? []
        return (try ProjectFiles.loadPipeline(file, environment: environment, secretEnvironment: names), config)
    }

    static func gather(
        _ request: RunRequest, loaded: LoadedPipeline, config configRead: Result<ProjectConfig?, SetupError>,
        environment: AppEnvironment, wiring: SessionWiring
    ) throws(SetupError) -> Parts {
        let settings = request.settings
        let secrets = try Secrets.load(file: settings.secrets, environment: environment)
        // The committed inputs file beside the pipeline (`NAME.inputs.yaml`), read the same way
        // by run, plan and apply; `--input` wins over it, and it over a default.
        var fileValues = request.inputValues
        let inputsFile = InputsFile.path(forPipeline: loaded.file)
        if fileValues.isEmpty, let read = PipelineLoader().loadInputs(for: loaded.pipeline, pipelinePath: loaded.file) {
            if read.hasErrors {
                throw SetupError(.invalidInputs, "\(inputsFile) has errors", diagnostics: read.diagnostics)
            }
            fileValues = read.inputs.plainValues
        }
        let inputs = try resolveInputs(request.inputs, file: fileValues, pipeline: loaded.pipeline)
        let givenNames = Set(request.inputs.map { String($0.prefix { $0 != "=" }) })
        var sources: [(String, String)] = []
        for declaration in loaded.pipeline.inputs where inputs[declaration.name] != nil {
            let source =
                givenNames.contains(declaration.name) ? "--input"
                : fileValues[declaration.name] != nil ? environment.relative(inputsFile)
                : "default"
            sources.append((declaration.name, source))
        }
        let config = try configRead.get()
        let leaseTTL = try settings.resolvedLeaseTTL(config: config)
        let store: any StateStore
        if let given = wiring.store {
            store = given
        } else {
            store = try StateLocation.open(
                explicit: settings.state, config: config, temporary: request.sandbox, environment: environment)
        }
        return Parts(
            loaded: loaded, secrets: secrets, inputs: inputs, config: config, store: store,
            temporaryStore: wiring.store == nil && request.sandbox && settings.state == nil, leaseTTL: leaseTTL,
            inputSources: sources)
    }

    /// The executor and the session, once the account is known: the one place both are made.
    static func assemble(
        _ request: RunRequest, _ parts: Parts, account: AccountSettings, rehearsal: Rehearsal?,
        environment: AppEnvironment, wiring: SessionWiring, configure: (inout RunOptions) -> Void,
        logging: ([String]) -> SessionLogging
    ) -> RunSession {
        let scrubbed = [account.secret.value] + parts.secrets.scrubbed + (rehearsal?.scrub ?? [])
        let log = logging(scrubbed)
        var options = RunOptions()
        options.inputs = parts.inputs
        options.env = environment.variables
        options.concurrency = request.settings.concurrency
        options.crashPoint = environment.variables["MASSCAST_CRASH_AT"]
        options.progress = log.progress
        options.progressEnded = log.progressEnded
        options.resumeArguments = request.settings.resumeArguments
        options.project = parts.config?.project ?? ""
        options.allowedDirectories = FileAccess.allowedRealPaths(parts.config)
        options.confirmToAll = request.confirmToAll
        if !parts.inputSources.isEmpty {
            // `--verbose`: which source each input's value came from.
            options.inputSources = parts.inputSources.map { "\($0.0)=\(parts.inputs[$0.0]?.templateText ?? "") (\($0.1))" }
                .joined(separator: ", ")
        }
        let action: Action
        switch request.action {
        case .start:
            options.rerun = request.rerun
            options.sandbox = request.sandbox
            options.enforceSchedule = (!request.sandbox || request.enforceSchedule) && !request.allowLate
            action = .start
        case .resume(let runID):
            options.confirmResend = request.confirmResend
            options.sandbox = request.sandbox
            action = .resume(runID)
        }
        options.fence = fence(account: account, parts: parts, rehearsal: rehearsal, environment: environment)
        options.spoolDirectory = parts.store.localFolder.flatMap { spoolDirectory(in: $0) }
        configure(&options)
        let file = parts.loaded.file
        let executor = RunExecutor(
            pipeline: parts.loaded.pipeline, pipelineFile: file, pipelineDigest: digest(ofFile: file),
            account: account, store: wiring.journal ?? parts.store, transport: wiring.transport, logger: log.logger,
            options: options)
        return RunSession(
            executor: executor, store: parts.store, rehearsal: rehearsal, account: account, scrubbed: scrubbed,
            temporaryStore: parts.temporaryStore, action: action, leaseTTL: parts.leaseTTL,
            owner: options.owner)
    }

    /// `spool/` in the state file's folder (made 0700), or `nil` (`TMPDIR`) when it cannot be
    /// made or the store is not a file here (PostgreSQL).
    static func spoolDirectory(in stateFolder: String) -> String? {
        let folder = (stateFolder as NSString).appendingPathComponent("spool")
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return folder
        } catch {
            return nil
        }
    }

    /// What no request of the run may carry: the account's app secret, every `secrets.*`
    /// value, the variables masscast and the config read credentials from, and a rehearsal's.
    static func fence(account: AccountSettings, parts: Parts, rehearsal: Rehearsal?, environment: AppEnvironment)
        -> SecretFence
    {
        var named: [String: String] = ["account \(account.name)'s app_secret": account.secret.value]
        for (name, value) in parts.secrets.values { named["secrets.\(name)"] = value }
        let configNames = parts.config?.secretEnvironmentNames ?? []
        for (name, value) in environment.variables
        where configNames.contains(name) || SecretReference.isSecretEnvironmentName(name) {
            named["env.\(name)"] = value
        }
        for (i, value) in (rehearsal?.scrub ?? []).enumerated() { named["the sandbox's secret \(i + 1)"] = value }
        return SecretFence(named)
    }

    static func resume(
        _ runID: String, _ request: RunRequest, environment: AppEnvironment, wiring: SessionWiring,
        pipelineLoaded: @Sendable (LoadedPipeline) -> Void, logging: @Sendable ([String]) -> SessionLogging
    ) async throws(SetupError) -> RunSession {
        let settings = request.settings
        let config = try ProjectFiles.loadConfig(explicit: settings.config, environment: environment)
        _ = try settings.resolvedLeaseTTL(config: config)
        let store: any StateStore
        if let given = wiring.store {
            store = given
        } else {
            store = try StateLocation.open(
                explicit: settings.state, config: config, mustExist: true, environment: environment)
        }
        let record: RunRecord
        do {
            guard let r = try await store.run(runID) else {
                throw SetupError(
                    .run,
                    "no run \(runID) in \(store.displayLocation) (masscast runs list shows the runs; pass --state for another store)")
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
        var resumed = request
        resumed.sandbox = record.sandbox
        let loadedAt = LoadedPipeline(pipeline: pipeline, file: record.pipelineFile, warnings: loaded.warnings)
        let parts = Parts(
            loaded: loadedAt, secrets: secrets, inputs: inputs, config: pipelineConfig, store: store,
            temporaryStore: false, leaseTTL: try settings.resolvedLeaseTTL(config: pipelineConfig ?? config))
        return assemble(
            resumed, parts, account: account, rehearsal: rehearsal, environment: environment, wiring: wiring,
            configure: { _ in }, logging: logging)
    }

    /// Starts (or continues) the run and waits for its result. Nothing here handles signals:
    /// see ``RunService`` for a run that stops gracefully on SIGINT and SIGTERM.
    ///
    /// The run holds the broadcast's lease throughout (``lease``): taken here unless the caller
    /// (`apply`) took it already, renewed while the run goes on, released at the end. Another
    /// owner's live lease refuses the run (`busy`, the holder and expiry logged); a lease that
    /// expired (its holder crashed or was paused) is taken over.
    public func run() async -> RunResult {
        guard lease.lease == nil else { return await runHeld() }
        let result: LeaseResult
        do {
            result = try await lease.acquire(now: Date())
        } catch {
            return .invalid(message: "state store: cannot take the broadcast's lease: \(error)")
        }
        if case .held(let holder, let until) = result {
            var runID: String?
            if case .resume(let id) = action { runID = id }
            await executor.leaseHeld(by: holder, until: until, runID: runID)
            return .busy(runID: runID ?? "", owner: holder)
        }
        lease.startRenewal()
        let outcome = await runHeld()
        await lease.release()
        return outcome
    }

    func runHeld() async -> RunResult {
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
            try? await store.close()
            if let folder = store.localFolder { try? FileManager.default.removeItem(atPath: folder) }
        }
    }

    static func resolveInputs(
        _ given: [String], file: [String: Value] = [:], pipeline: Pipeline
    ) throws(SetupError) -> [String: Value] {
        do {
            return try Inputs.resolve(given, file: file, pipeline: pipeline)
        } catch {
            throw SetupError(.invalidInputs, error.description)
        }
    }

    static func digest(ofFile path: String) -> String {
        Idempotency.digest(FileManager.default.contents(atPath: path) ?? Data())
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
        try writePrivate(report.jsonData(), to: path)
    }

    /// Writes `data` to `path` readable by its owner only (0600, also when the file existed):
    /// a report names the audience's files and holds the steps' messages.
    static func writePrivate(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SetupError(.run, "cannot write the report \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw SetupError(.run, "cannot make the report \(path) private: \(String(cString: strerror(errno)))")
        }
        var written = 0
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SetupError(.run, "cannot write the report \(path): \(String(cString: strerror(errno)))")
                }
                written += n
            }
        }
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
        -> any StateStore
    {
        let projectConfig = try ProjectFiles.loadConfig(explicit: config, environment: environment)
        return try StateLocation.open(explicit: state, config: projectConfig, mustExist: true, environment: environment)
    }

    /// The newest `limit` runs, as text or JSON (`mermaid` is refused by the command).
    public static func list(_ store: any StateStore, limit: Int, format: Format) async throws -> String {
        let runs = try await store.runs(limit: limit)
        // A run is live while its owner holds an unexpired lease (the heartbeat is not read)
        // and, on this host, its process exists.
        let now = Date()
        let holders = Set(try await store.leases().filter { $0.expiresAt > now }.map(\.owner))
        let liveness: OwnerLiveness = { owner, _ in holders.contains(owner) && RunOptions.isProcessAlive(owner) }
        if format == .json {
            return String(decoding: try RunTimeline.renderRunListJSON(runs, liveness: liveness), as: UTF8.self) + "\n"
        }
        return runs.isEmpty ? "no runs in \(store.displayLocation)\n" : RunTimeline.renderRunList(runs, liveness: liveness)
    }

    /// One run's timeline (text), report (JSON) or Gantt chart (Mermaid); `nil` when the
    /// store has no such run.
    public static func show(_ runID: String, in store: any StateStore, format: Format) async throws -> String? {
        guard let run = try await store.run(runID) else { return nil }
        let lease = try await store.lease(run.identity)
        let ownerAlive =
            run.owner.map { owner in
                RunOptions.isProcessAlive(owner) && lease.map { $0.owner == owner && $0.expiresAt > Date() } ?? false
            } ?? true
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
