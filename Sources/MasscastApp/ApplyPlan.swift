import Foundation
import PipelineCore
import RunState
import Runner
import StateSQLite

extension Apply {
    /// Whether `paths` name one saved plan (`plan --out FILE`): a single regular file that is
    /// not a pipeline (`.yaml`, `.yml`).
    public static func namesSavedPlan(_ paths: [String], environment: AppEnvironment) -> Bool {
        guard paths.count == 1 else { return false }
        let path = environment.absolute(paths[0])
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return false
        }
        return !(path.hasSuffix(".yaml") || path.hasSuffix(".yml"))
    }

    /// `masscast apply FILE`: the saved plan's refusals (``SavedPlan/check(now:files:store:approved:version:)``,
    /// each exit 6) or, when there is none, its broadcasts applied as they were planned: the
    /// same files (unchanged, or the plan is stale), the same store and serials (unmoved), the
    /// same inputs and generation.
    public static func runPlan(
        _ request: ApplyRequest, version: String, environment: AppEnvironment, wiring: SessionWiring = SessionWiring(),
        now: @escaping @Sendable () -> Date = { Date() }, problem: @escaping @Sendable (SetupError) -> Void = { _ in },
        logging: @escaping @Sendable ([String]) -> SessionLogging, execute: @escaping Execute
    ) async -> ApplyReport {
        let path = environment.absolute(request.paths[0])
        let plan: SavedPlan
        do {
            guard let data = FileManager.default.contents(atPath: path) else { throw SetupError(.file, "cannot read it") }
            plan = try SavedPlan(data: data)
        } catch {
            let entry = ApplyEntry(
                file: path, name: (path as NSString).lastPathComponent,
                problem: "cannot read the saved plan \(path): \(error)", exitCode: 2)
            return ApplyReport(entries: [entry], dryRun: request.dryRun)
        }
        let store: (any StateStore)? =
            wiring.store
            ?? (try? RunHistory.open(state: request.settings.state, config: request.settings.config, environment: environment))
        defer { if wiring.store == nil, let store { StateLocation.close(store) } }
        let storeState: SavedPlan.StoreState =
            if let store { await PlanFiles.storeState(of: plan, store: store) } else {
                SavedPlan.StoreState(identity: nil, serials: [:])
            }
        var approved = Set<String>()
        for broadcast in plan.document.broadcasts {
            let file = environment.absolute(broadcast.file)
            guard let pipeline = try? ProjectFiles.loadPipeline(file, environment: environment).pipeline,
                let config = try? ProjectFiles.loadConfig(explicit: request.settings.config, near: file),
                let approvals = try? ApprovalFile.load(ApprovalFile.path(name: broadcast.name, configFile: config.file)),
                !approvals.approvers(for: ApprovalFile.sourceDigest(of: pipeline, file: file)).isEmpty
            else { continue }
            approved.insert(broadcast.name)
        }
        let refusals = plan.check(
            now: now(), files: PlanFiles.currentDigests(of: plan, environment: environment), store: storeState,
            approved: approved, version: version)
        if !refusals.isEmpty {
            let entries = refusals.map {
                ApplyEntry(
                    file: path, name: $0.broadcast ?? (path as NSString).lastPathComponent, problem: $0.message,
                    exitCode: ReconcileExitClass.refused.rawValue, refused: true)
            }
            return ApplyReport(entries: entries, dryRun: request.dryRun)
        }
        var entries: [ApplyEntry] = []
        for broadcast in plan.document.broadcasts {
            var one = request
            let known = await broadcast.identity.asyncFlatMap { try? await store?.broadcast($0) }
            if let known, broadcast.generation > known.generation { one.rerun.insert(broadcast.name) }
            let file = environment.absolute(broadcast.file)
            var entry = await Self.one(
                file, one, environment: environment, wiring: wiring, now: now, problem: problem, logging: logging,
                execute: execute, expected: broadcast.identity)
            if entry.decision == nil, entry.problem == nil { entry.problem = "not applied" }
            entries.append(entry)
        }
        return ApplyReport(entries: entries, dryRun: request.dryRun)
    }
}

extension Optional {
    fileprivate func asyncFlatMap<U>(_ transform: (Wrapped) async -> U?) async -> U? {
        guard let value = self else { return nil }
        return await transform(value)
    }
}
