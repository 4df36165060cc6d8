import Foundation
import PipelineCore
import PipelineYAML
import RunState
import Runner
import StateSQLite

/// What `masscast apply` is asked to do.
public struct ApplyRequest: Sendable {
    /// The folders (or files) of pipelines.
    public var paths: [String]
    /// `--dry-run`: decide, act on nothing, take no lease.
    public var dryRun: Bool
    /// `--rerun NAME`: these broadcasts start a new generation (they are sent again).
    public var rerun: Set<String>
    /// `--allow-late`: send (or continue) a broadcast whose window has closed.
    public var allowLate: Bool
    /// `--confirm-to-all NAME`: these broadcasts may send to all followers.
    public var confirmToAll: Set<String>
    /// `--sandbox`: rehearse every broadcast against an in-process sandbox.
    public var sandbox: Bool
    /// `--fixture` with `--sandbox`.
    public var fixture: String?
    /// `--state`, `--config`, `--secrets`, `--concurrency`, `--lease-ttl`.
    public var settings: SessionSettings

    public init(
        paths: [String], dryRun: Bool = false, rerun: Set<String> = [], allowLate: Bool = false,
        confirmToAll: Set<String> = [], sandbox: Bool = false, fixture: String? = nil,
        settings: SessionSettings = SessionSettings()
    ) {
        self.paths = paths.isEmpty ? ["pipelines"] : paths
        self.dryRun = dryRun
        self.rerun = rerun
        self.allowLate = allowLate
        self.confirmToAll = confirmToAll
        self.sandbox = sandbox
        self.fixture = fixture
        self.settings = settings
    }
}

/// One broadcast's line of the apply summary.
public struct ApplyEntry: Sendable {
    /// The pipeline file (absolute), or the file a gone broadcast was run from.
    public var file: String
    /// The pipeline's name (the file's stem when it could not be read).
    public var name: String
    /// The reconcile decision (`nil` when the pipeline or its inputs file has errors).
    public var decision: ReconcileDecision?
    /// Why it could not be reconciled (errors in the pipeline, its inputs file, its account).
    public var problem: String?
    /// What acting did: the run's result, when apply ran it.
    public var result: RunResult?
    /// The exit code this broadcast contributes.
    public var exitCode: Int32
    /// A saved plan's refusal (`apply FILE`): `problem` says why.
    public var refused = false
    /// What the preflight warned about or could not check (`warning: tag 100 … has 0 followers`).
    public var notes: [String] = []

    /// The action, `refused` (a saved plan's refusal) or `invalid`.
    public var action: String { decision?.action.rawValue ?? (refused ? "refused" : "invalid") }
}

/// `masscast apply DIR`: level-triggered reconciliation of every broadcast under the folders
/// against the state store (docs/pipeline-format.md, "Apply").
public enum Apply {
    /// How apply runs a session it decided to run: the command line runs it under signal
    /// handling (``RunService``); tests may run it directly.
    public typealias Execute = @Sendable (RunSession) async -> RunResult

    /// Reconciles every pipeline found under `request.paths`, one at a time, in file order,
    /// then reports the completed broadcasts whose files are gone (orphans).
    /// - Parameters:
    ///   - problem: told a setup error (a pipeline's diagnostics) as it is found.
    ///   - logging: makes a session's logging, given its secrets to scrub.
    public static func run(
        _ request: ApplyRequest, environment: AppEnvironment, wiring: SessionWiring = SessionWiring(),
        now: @escaping @Sendable () -> Date = { Date() }, problem: @escaping @Sendable (SetupError) -> Void = { _ in },
        logging: @escaping @Sendable ([String]) -> SessionLogging, execute: @escaping Execute
    ) async -> ApplyReport {
        let (found, missing) = PipelineFiles.discover(request.paths.map(environment.absolute))
        var entries: [ApplyEntry] = missing.map {
            ApplyEntry(
                file: $0, name: ($0 as NSString).lastPathComponent, problem: "no such file or folder: \($0)", exitCode: 2)
        }
        let files = found.filter { ($0 as NSString).lastPathComponent != ProjectConfigLoader.fileName }
        // A rehearsal without --state: one temporary store for the whole invocation, so that
        // the broadcasts share the day's quota and the orphans are looked up in it.
        var wiring = wiring
        var temporary: SQLiteStateStore?
        if request.sandbox, request.settings.state == nil, wiring.store == nil {
            do {
                temporary = try SQLiteStateStore.temporary()
                wiring.store = temporary
            } catch {
                entries.append(
                    ApplyEntry(
                        file: environment.workingDirectory, name: "state",
                        problem: "cannot make a temporary state store: \(error)", exitCode: 2))
                return ApplyReport(entries: entries, dryRun: request.dryRun)
            }
        }
        defer {
            if let temporary {
                try? temporary.close()
                try? FileManager.default.removeItem(atPath: (temporary.path as NSString).deletingLastPathComponent)
            }
        }
        for file in files {
            entries.append(
                await one(
                    file, request, environment: environment, wiring: wiring, now: now, problem: problem,
                    logging: logging, execute: execute))
        }
        entries += await orphans(request, present: Set(files), environment: environment, wiring: wiring, now: now)
        return ApplyReport(entries: entries, dryRun: request.dryRun)
    }

    static func one(
        _ file: String, _ request: ApplyRequest, environment: AppEnvironment, wiring: SessionWiring,
        now: @Sendable () -> Date, problem: @Sendable (SetupError) -> Void,
        logging: @escaping @Sendable ([String]) -> SessionLogging, execute: Execute,
        expected: BroadcastIdentity? = nil
    ) async -> ApplyEntry {
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        func invalid(_ error: SetupError, name: String = stem) -> ApplyEntry {
            problem(error)
            return ApplyEntry(file: file, name: name, problem: error.message, exitCode: 2)
        }
        let loaded: LoadedPipeline
        do { loaded = try ProjectFiles.loadPipeline(file, environment: environment) } catch { return invalid(error) }
        let pipeline = loaded.pipeline
        let name = pipeline.name.value
        func decided(_ facts: Reconciler.Facts) -> ApplyEntry {
            let decision = Reconciler.decide(facts, now: now())
            return ApplyEntry(file: file, name: name, decision: decision, exitCode: decision.exitClass.rawValue)
        }
        if !pipeline.isBroadcast || pipeline.apply == .manual {
            return decided(
                .init(
                    name: name,
                    source: .present(.init(digest: "", manual: pipeline.apply == .manual, hasSend: pipeline.isBroadcast)),
                    store: .neverRun))
        }
        var values: [String: Value] = [:]
        if let inputs = PipelineLoader().loadInputs(for: pipeline, pipelinePath: file) {
            if inputs.hasErrors {
                return invalid(
                    SetupError(
                        .invalidInputs, "\(InputsFile.path(forPipeline: file)) has errors", diagnostics: inputs.diagnostics),
                    name: name)
            }
            values = inputs.inputs.plainValues
        }
        let missing = InputsFile.missing(values, pipeline: pipeline)
        if !missing.isEmpty {
            return decided(
                .init(name: name, source: .present(.init(digest: "", missingInputs: missing)), store: .neverRun))
        }

        let sendsToAll = pipeline.steps.contains(where: \.sendsToAllFollowers)
        var blockers: [ReconcileBlocker] = []
        let approvals: ApprovalState
        do {
            approvals = try ApprovalState.read(pipeline, file: file, name: name, config: request.settings.config)
        } catch {
            return invalid(error, name: name)
        }
        let openIDs = ApprovalFile.largestOpenIDAudience(of: pipeline, file: file)
        // A to-all send is confirmed by an approval of its current source, when one is required.
        let approvedToAll = sendsToAll && approvals.approves(toAll: true, recipients: openIDs)
        let confirmed = request.confirmToAll.contains(name) || approvedToAll
        if !request.sandbox, sendsToAll, !confirmed {
            blockers.append(
                ReconcileBlocker(.confirmation, "it sends to ALL followers: pass --confirm-to-all \(name) to send it"))
        }

        var runRequest = RunRequest(
            pipeline: file, sandbox: request.sandbox, fixture: request.fixture, rerun: request.rerun.contains(name),
            confirmToAll: confirmed ? name : nil, settings: request.settings)
        runRequest.inputValues = values
        runRequest.allowLate = request.allowLate
        let session: RunSession
        do {
            session = try await RunSession.prepare(runRequest, environment: environment, wiring: wiring, logging: logging)
        } catch {
            return invalid(error, name: name)
        }
        let executor = session.executor
        let identity = await executor.broadcastIdentity
        if let expected, expected != identity {
            await session.close()
            return ApplyEntry(
                file: file, name: name,
                problem: "plan is stale: \(name) resolves to another broadcast now (inputs \(identity.inputsJSON), "
                    + "planned \(expected.inputsJSON)): make a new plan",
                exitCode: ReconcileExitClass.refused.rawValue, refused: true)
        }
        let owner = session.lease.owner
        let lease = session.lease
        var entry: ApplyEntry
        do {
            if !request.dryRun {
                // The run's journal intents are written only while this lease's epoch holds;
                // renewed from now on, while apply decides and while the run goes on.
                _ = try await lease.acquire(now: now())
                lease.startRenewal()
            }
            let quota = await executor.quotaCheck(now: now())
            if let blocker = quota.blocker { blockers.append(blocker) }
            let storeFacts = try await executor.reconcileStoreFacts(now: now())
            var source = await executor.reconcileSource(comparingAudiences: storeFacts.completed != nil)
            source.plannedSends = quota.planned
            var facts = Reconciler.Facts(
                name: name, source: .present(source), store: storeFacts, window: executor.scheduleWindow,
                blockers: blockers + approvals.blockers(name: name, recipients: openIDs, sendsToAll: sendsToAll),
                applier: owner, allowLate: request.allowLate, rerun: request.rerun.contains(name))
            var notes: [String] = []
            // Before an irreversible send: the read-only preflight turns the audience's tags
            // into facts (a tag that does not exist blocks it; 0 followers is a warning), and
            // their follower counts count for `approvals.over_recipients`.
            let tags = await executor.audienceTags()
            let preliminary = Reconciler.decide(facts, now: now())
            if !tags.isEmpty, preliminary.acts || [.wait, .blocked].contains(preliminary.action) {
                let checked = await Preflight(
                    account: session.account, transport: wiring.transport, tokenStore: session.store, now: { [at = now()] in at }
                ).run(PreflightRequest(tagIDs: tags, speed: false))
                var found = blockers
                for finding in checked.findings {
                    switch finding.severity {
                    case .error: found.append(ReconcileBlocker(.preflight, "preflight: \(finding.message)"))
                    case .warning: notes.append("warning: \(finding.message)")
                    }
                }
                notes += checked.unchecked.map { "not checked (preflight): \($0.subject): \($0.reason)" }
                var recipients = openIDs
                var uncounted: [(Int, String)] = []
                for tag in tags {
                    if let followers = checked.tag(tag)?.followers {
                        recipients = max(recipients ?? 0, followers)
                    } else if !checked.findings.contains(where: { $0.tagID == tag }) {
                        let reason = checked.unchecked.first { $0.subject == "tag \(tag)" || $0.subject == "tags" }?.reason
                        uncounted.append((tag, reason ?? "tags/get does not list it"))
                    }
                }
                facts.blockers =
                    found
                    + approvals.blockers(
                        name: name, recipients: recipients, sendsToAll: sendsToAll, uncountedTags: uncounted)
            }
            entry = decided(facts)
            entry.notes = notes
        } catch {
            await lease.release()
            await session.close()
            return invalid(SetupError(.stateStore, "\(error)"), name: name)
        }
        if let decision = entry.decision, decision.acts, !request.dryRun {
            let result = await execute(session)
            entry.result = result
            entry.exitCode = Self.exitCode(of: result)
        }
        await lease.release()
        await session.close()
        return entry
    }

    /// What `apply` warns about once at startup when its store is PostgreSQL reached through a
    /// transaction-mode pooler (see ``StoreChecks``); `nil` for a SQLite file, a direct
    /// connection, a dry run or a rehearsal's temporary store, or a store it cannot open (the
    /// broadcasts report that).
    public static func poolerWarning(_ request: ApplyRequest, environment: AppEnvironment) async -> String? {
        guard !request.dryRun, !request.sandbox || request.settings.state != nil else { return nil }
        let config = (try? ProjectFiles.loadConfig(explicit: request.settings.config, environment: environment)) ?? nil
        guard
            case .postgres(let location)? = try? StateLocation.resolve(
                explicit: request.settings.state, config: config, environment: environment),
            let store = try? StateLocation.open(.postgres(location), environment: environment)
        else { return nil }
        let warning = await StoreChecks.poolerWarning(store)
        try? await store.close()
        return warning
    }

    /// A run's exit code as apply counts it: another process running it is `busy` (6).
    static func exitCode(of result: RunResult) -> Int32 {
        if case .busy = result { return ReconcileExitClass.refused.rawValue }
        return result.exitCode
    }

    /// Completed broadcasts of the store whose pipeline file was under the folders and is gone.
    static func orphans(
        _ request: ApplyRequest, present: Set<String>, environment: AppEnvironment, wiring: SessionWiring,
        now: @Sendable () -> Date
    ) async -> [ApplyEntry] {
        let folders = request.paths.map { environment.absolute($0) }
        let store: any StateStore
        if let given = wiring.store {
            store = given
        } else {
            guard !request.sandbox || request.settings.state != nil,
                let opened = try? RunHistory.open(
                    state: request.settings.state, config: request.settings.config, environment: environment)
            else { return [] }
            store = opened
        }
        defer { if wiring.store == nil { StateLocation.close(store) } }
        guard let runs = try? await store.runs(limit: 100_000) else { return [] }
        var seen = Set<BroadcastIdentity>()
        var entries: [ApplyEntry] = []
        for run in runs where !present.contains(run.pipelineFile) && seen.insert(run.identity).inserted {
            guard folders.contains(where: { run.pipelineFile.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }),
                !FileManager.default.fileExists(atPath: run.pipelineFile),
                let facts = try? await RunExecutor.storeFacts(run.identity, store: store, now: now()),
                facts.completed != nil
            else { continue }
            let decision = Reconciler.decide(
                .init(name: run.identity.name, source: .gone, store: facts), now: now())
            entries.append(
                ApplyEntry(
                    file: run.pipelineFile, name: run.identity.name, decision: decision,
                    exitCode: decision.exitClass.rawValue))
        }
        return entries
    }
}
