import Foundation
import Logging
import PipelineCore
import RunState
import PipelineYAML
import Runner
import StateSQLite
import WeChatMP
import WeChatSandbox
import RunState

/// What `masscast plan` is asked.
public struct PlanRequest: Sendable {
    /// Pipeline files or folders (default: `pipelines`).
    public var paths: [String]
    /// `--input NAME=VALUE`, given to every pipeline that declares NAME.
    public var inputs: [String]
    public var settings: SessionSettings
    /// Plan the next generation (`--rerun`).
    public var rerun: Bool
    /// Facts known beforehand (tag sizes, the speed level), when there are some.
    public var facts: AccountFacts?
    /// `--preflight`: read the facts with WeChat's read-only calls (``Preflight``), for each
    /// account whose credentials are set.
    public var preflight: Bool
    /// `apply --dry-run --sandbox`: plan against the in-process sandbox's accounts, as apply
    /// `--sandbox` would send (its tags read with the read-only calls; without `--state`, an
    /// empty store, as apply's temporary one).
    public var sandbox: Bool
    /// `--fixture` with `sandbox`.
    public var fixture: String?

    public init(
        paths: [String], inputs: [String] = [], settings: SessionSettings = SessionSettings(), rerun: Bool = false,
        facts: AccountFacts? = nil, preflight: Bool = false, sandbox: Bool = false, fixture: String? = nil
    ) {
        self.sandbox = sandbox
        self.fixture = fixture
        self.paths = paths
        self.inputs = inputs
        self.settings = settings
        self.rerun = rerun
        self.facts = facts
        self.preflight = preflight
    }
}

/// What a plan is wired to besides the request: tests give an open store and an account
/// source (a sandbox standing in for the real API).
public struct PlanWiring: Sendable {
    public var store: SQLiteStateStore?
    public var account: AccountSource?
    /// What a preflight calls WeChat through (default: HTTP). Plan itself calls nothing.
    public var preflightTransport: (any WeChatTransport)?

    public init(
        store: SQLiteStateStore? = nil, account: AccountSource? = nil, preflightTransport: (any WeChatTransport)? = nil
    ) {
        self.store = store
        self.account = account
        self.preflightTransport = preflightTransport
    }
}

/// `masscast plan`: each broadcast described by the executor that would run it, through
/// `RunSession`'s stages, with a transport that refuses every call and the state store only
/// read (a missing store file is not created).
public enum Planner {
    /// The plan of every pipeline under `request.paths`.
    public static func plan(
        _ request: PlanRequest, environment: AppEnvironment, wiring: PlanWiring = PlanWiring(), now: Date = Date(),
        version: String
    ) async -> PlanDocument {
        let paths = request.paths.isEmpty ? ["pipelines"] : request.paths
        let (found, missing) = PipelineFiles.discover(paths.map { environment.absolute($0) })
        var errors = missing.map { PlanError(file: $0, code: "invalid", message: "no such file or folder") }
        let files = found.filter { path in
            let name = (path as NSString).lastPathComponent
            return name != ProjectConfigLoader.fileName && !InputsFile.isInputsFile(path) && !path.contains("/approvals/")
        }
        var request = request
        var wiring = wiring
        var stores = StoreCache(given: wiring.store)
        var sandbox: RunningSandbox?
        if request.sandbox, wiring.account == nil {
            do throws(SetupError) {
                let (fixture, text) = try Rehearsal.loadFixture(request.fixture.map(environment.absolute))
                let engine = SandboxEngine(fixture: fixture)
                let running: RunningSandbox
                do {
                    running = try await RunningSandbox.start(engine: engine)
                } catch {
                    throw SetupError(.sandbox, "the sandbox did not start: \(error)")
                }
                sandbox = running
                wiring.account = .sandbox(
                    fixture, baseURL: running.baseURL, fixtureDigest: Idempotency.digest(text),
                    instance: UUID().uuidString.lowercased())
                request.preflight = true
                if request.settings.state == nil, wiring.store == nil {
                    let store = try stores.temporaryStore()
                    stores.given = store
                }
            } catch {
                errors.append(PlanError(file: environment.relative(environment.workingDirectory), code: "invalid", message: error.message))
                return PlanDocument(masscastVersion: version, createdAt: now, broadcasts: [], errors: errors)
            }
        }
        var broadcasts: [BroadcastPlan] = []
        for file in files {
            let shown = environment.relative(file)
            do throws(SetupError) {
                broadcasts.append(
                    try await planOne(
                        file, shown: shown, request, environment: environment, wiring: wiring, stores: &stores, now: now))
            } catch {
                errors.append(PlanError(file: shown, code: error.code == .invalidInputs ? "needs_inputs" : "invalid", message: error.message))
            }
        }
        stores.close()
        if let sandbox { await sandbox.stop() }
        return PlanDocument(masscastVersion: version, createdAt: now, broadcasts: broadcasts, errors: errors)
    }

    static func planOne(
        _ file: String, shown: String, _ request: PlanRequest, environment: AppEnvironment, wiring: PlanWiring,
        stores: inout StoreCache, now: Date
    ) async throws(SetupError) -> BroadcastPlan {
        // The config first (found from the path): the pipeline is parsed once, checked for
        // steps that read a variable the config takes a credential from (MC3009).
        let configRead = Result { () throws(SetupError) -> ProjectConfig? in
            try ProjectFiles.loadConfig(explicit: request.settings.config, near: file)
        }
        let loaded = try ProjectFiles.loadPipeline(
            file, environment: environment, secretEnvironment: (try? configRead.get())??.secretEnvironmentNames ?? [])
        let declared = Set(loaded.pipeline.inputs.map(\.name))
        let inputs = request.inputs.filter { declared.contains(String($0.prefix { $0 != "=" })) }
        var run = RunRequest(pipeline: file, inputs: inputs, rerun: request.rerun, settings: request.settings)
        // The committed inputs file beside the pipeline, as apply reads it (`--input` wins).
        if let values = PipelineLoader().loadInputs(for: loaded.pipeline, pipelinePath: file) {
            if values.hasErrors {
                throw SetupError(
                    .invalidPipeline, "\(InputsFile.path(forPipeline: file)) has errors", diagnostics: values.diagnostics)
            }
            run.inputValues = values.inputs.plainValues
        }
        let config = try configRead.get()
        var unchecked: [String] = []
        let store = try stores.store(
            explicit: request.settings.state, config: config, environment: environment, unchecked: &unchecked)
        let parts = try RunSession.gather(
            run, loaded: loaded, config: .success(config), environment: environment,
            wiring: SessionWiring(transport: NoCallTransport(), store: store))
        let account: AccountSettings
        if let source = wiring.account {
            account = try AccountResolver.resolve(
                loaded.pipeline, in: source, secrets: parts.secrets, inputs: parts.inputs, environment: environment)
        } else {
            account = try resolveWithoutCredentials(
                loaded.pipeline, config: config, parts: parts, environment: environment, unchecked: &unchecked)
        }
        let session = RunSession.assemble(
            run, parts, account: account, rehearsal: nil, environment: environment,
            wiring: SessionWiring(transport: NoCallTransport(), store: store), configure: { $0.now = { now } },
            logging: { _ in SessionLogging(logger: Logger(label: "masscast.plan", factory: { _ in SwiftLogNoOpLogHandler() })) })
        let facts = await session.executor.planFacts(now: now)
        var known = request.facts
        if request.preflight {
            if account.secret.value.isEmpty {
                unchecked.append("preflight: no read-only call was made without the account's credentials")
            } else {
                let key = account.appID + "@" + account.api
                if stores.preflights[key] == nil {
                    let tags = Set(facts.calls.compactMap { $0.audience?.tagID })
                    let found = await Preflight(
                        account: account, transport: wiring.preflightTransport ?? AsyncHTTPTransport(), tokenStore: nil,
                        now: { now }
                    ).run(PreflightRequest(tagIDs: tags.sorted()))
                    stores.preflights[key] = found
                }
                if let found = stores.preflights[key] {
                    known = AccountFacts(preflight: found)
                    unchecked += found.unchecked.map { "preflight: \($0.subject): \($0.reason)" }
                }
            }
        }
        var plan = BroadcastPlan.make(facts, file: shown, now: now, known: known, unchecked: unchecked)
        let inputsFile = InputsFile.path(forPipeline: file)
        if run.inputValues != [:], let digest = PlanFiles.sha256(ofFile: inputsFile) {
            plan.inputFiles.insert(
                PlanInputFile(path: environment.relative(inputsFile), role: "inputs", sha256: digest), at: 1)
        }
        if let config, let digest = PlanFiles.sha256(ofFile: environment.absolute(config.file)) {
            plan.inputFiles.insert(
                PlanInputFile(path: environment.relative(environment.absolute(config.file)), role: "config", sha256: digest),
                at: 1)
        }
        guard plan.problems.isEmpty else { return plan }
        let executor = session.executor
        let identity = await executor.broadcastIdentity
        let noStore = stores.isTemporary(store)
        let storeFacts: Reconciler.StoreFacts
        do {
            storeFacts = try await executor.reconcileStoreFacts(now: now)
        } catch {
            throw SetupError(.stateStore, "\(error)")
        }
        var result = plan.reconciled(
            source: await executor.reconcileSource(comparingAudiences: storeFacts.completed != nil), store: storeFacts, window: executor.scheduleWindow,
            serial: try? await store.serial(identity),
            // No store file yet: the plan binds to none (apply creates it).
            storeIdentity: noStore ? nil : try? await store.storeIdentity(), now: now, rerun: request.rerun,
            blockers: try approvalBlockers(loaded.pipeline, file: file, plan: plan, known: known, config: request.settings.config))
        if noStore { result.unchecked.append("the state store's history: there is no state file yet (nothing has run)") }
        return result
    }

    /// The approvals apply would find missing (`approvals:` of masscast.yaml): a to-all send or
    /// an audience over `over_recipients` (OpenID lists and files by their recipients, tags by
    /// their follower counts when a preflight read them) without enough valid approvals; a
    /// tag that could not be counted never passes silently. The same rule as apply's.
    static func approvalBlockers(
        _ pipeline: Pipeline, file: String, plan: BroadcastPlan, known: AccountFacts?, config: String?
    ) throws(SetupError) -> [ReconcileBlocker] {
        let approvals = try ApprovalState.read(pipeline, file: file, name: plan.name, config: config)
        guard approvals.settings != nil else { return [] }
        var recipients = ApprovalFile.largestOpenIDAudience(of: pipeline, file: file)
        var uncounted: [(Int, String)] = []
        for audience in plan.audiences where !audience.toAll {
            guard let tag = audience.tagID else { continue }
            if let followers = audience.followers ?? known?.tags?[tag]?.followers {
                recipients = max(recipients ?? 0, followers)
            } else if !uncounted.contains(where: { $0.0 == tag }) {
                uncounted.append((tag, "plan counts followers only with --preflight"))
            }
        }
        return approvals.blockers(
            name: plan.name, recipients: recipients, sendsToAll: pipeline.steps.contains(where: \.sendsToAllFollowers),
            uncountedTags: uncounted)
    }

    /// The account a run would use; without its secret (plan calls nothing) the plan says
    /// the credentials were not checked.
    static func resolveWithoutCredentials(
        _ pipeline: Pipeline, config: ProjectConfig?, parts: RunSession.Parts, environment: AppEnvironment,
        unchecked: inout [String]
    ) throws(SetupError) -> AccountSettings {
        do {
            return try AccountResolver.resolve(
                pipeline, in: .config(config), secrets: parts.secrets, inputs: parts.inputs, environment: environment)
        } catch where error.code == .secrets {
            unchecked.append("the account's credentials (\(error.message))")
            switch pipeline.account {
            case .named(let located):
                guard let a = config?.account(located.value) else { throw error }
                return AccountSettings(a.account, secret: "")
            case .inline(let inline):
                var account = inline.account
                account.appID = try parts.secrets.resolveAppID(inline.appID, inputs: parts.inputs, environment: environment)
                return AccountSettings(account, secret: "")
            }
        }
    }

    /// Stores opened by path, once each; a store file that does not exist is not created
    /// (an empty temporary store stands for it: nothing has run).
    struct StoreCache {
        var given: (any StateStore)?
        var open: [String: any StateStore] = [:]
        var temporary: [SQLiteStateStore] = []
        /// Preflight facts by account (AppID@API), read once per plan.
        var preflights: [String: PreflightFacts] = [:]

        mutating func store(
            explicit: String?, config: ProjectConfig?, environment: AppEnvironment, unchecked: inout [String]
        ) throws(SetupError) -> any StateStore {
            if let given { return given }
            let resolved = try StateLocation.resolve(explicit: explicit, config: config, environment: environment)
            guard case .file(let relative) = resolved else {
                // A database: plan reads it as it is (it never writes).
                if let store = open[resolved.description] { return store }
                let store = try StateLocation.open(resolved, explicit: explicit != nil, environment: environment)
                open[resolved.description] = store
                return store
            }
            let path = environment.absolute(relative)
            if let store = open[path] { return store }
            let store: any StateStore
            do {
                if FileManager.default.fileExists(atPath: path) {
                    store = try SQLiteStateStore(path: path)
                } else {
                    let empty = try SQLiteStateStore.temporary()
                    temporary.append(empty)
                    store = empty
                }
            } catch {
                throw SetupError(.stateStore, "\(error)")
            }
            open[path] = store
            return store
        }

        /// An empty temporary store (removed by ``close()``).
        mutating func temporaryStore() throws(SetupError) -> SQLiteStateStore {
            do {
                let store = try SQLiteStateStore.temporary()
                temporary.append(store)
                return store
            } catch {
                throw SetupError(.stateStore, "\(error)")
            }
        }

        func isTemporary(_ store: any StateStore) -> Bool { temporary.contains { $0 === store } }

        func close() {
            for store in temporary {
                try? store.close()
                try? FileManager.default.removeItem(atPath: (store.path as NSString).deletingLastPathComponent)
            }
        }
    }
}

/// The transport of a plan: it refuses every request, so that planning can never call
/// WeChat, whatever a step's `describe` did.
struct NoCallTransport: WeChatTransport {
    func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        throw TransportFailure(.other, delivery: .notSent, message: "masscast plan makes no calls")
    }
}

extension AppEnvironment {
    /// `path` relative to the working directory when it is inside it (as a plan shows files).
    func relative(_ path: String) -> String {
        let base = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}

extension AccountFacts {
    /// What a plan takes from a preflight: tag names and follower counts, the speed level.
    init(preflight: PreflightFacts) {
        self.init(
            tags: preflight.tags.map { tags in
                Dictionary(tags.map { ($0.id, TagFact(name: $0.name, followers: $0.followers)) }, uniquingKeysWith: { a, _ in a })
            },
            speedLevel: preflight.speed?.level)
    }
}
