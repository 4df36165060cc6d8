import Audience
import Foundation
import PipelineCore
import RunState

// What `masscast apply` and `masscast plan` gather for the reconciler: the store's facts of a
// broadcast, and what its send steps would send now, computed by the executor that would
// run it (the same digests the journal compares).

extension RunExecutor {
    /// The broadcast this executor runs: (project, API, AppID, name, inputs).
    public var broadcastIdentity: BroadcastIdentity { identity }

    /// The pipeline's schedule window.
    public nonisolated var scheduleWindow: Reconciler.Window {
        Reconciler.Window(
            notBefore: pipeline.schedule?.notBeforeEpoch.map { Date(timeIntervalSince1970: $0) },
            notAfter: pipeline.schedule?.notAfterEpoch.map { Date(timeIntervalSince1970: $0) })
    }

    /// What git has now: the pipeline's digest, `apply:`, whether it is a broadcast, and what
    /// each send step would send (a `mass/sendall`'s content digest and fields; a `mass/send`
    /// step is listed without a digest: its batches' digests cover their OpenIDs).
    /// - Parameter comparingAudiences: read each `mass/send` step's audience as a run would
    ///   batch it (to compare it with what was sent: a completed broadcast's drift).
    public func reconcileSource(comparingAudiences: Bool = false) -> Reconciler.Source.Pipeline {
        var contents: [String: ReconcileContent] = [:]
        for step in pipeline.steps {
            switch step.uses.value {
            case "mass/sendall":
                let content = sendAllContent(step, legacyBody: [:])
                var fields: [String: String] = [:]
                if case .object(let o)? = try? Value.parseJSON(content.fields) {
                    for (k, v) in o { fields[k] = Self.fieldText(v) }
                }
                contents[step.id.value] = ReconcileContent(contentDigest: content.digest, fields: fields)
            case "mass/send":
                guard comparingAudiences else {
                    contents[step.id.value] = ReconcileContent(contentDigest: "", fields: [:])
                    continue
                }
                var fields: [String: String] = [:]
                if case .object(let o) = Self.fieldSummary(sendPayloadView(step)) {
                    for (k, v) in o { fields[k] = Self.fieldText(v) }
                }
                let audience = batchAudiences(step)
                contents[step.id.value] = ReconcileContent(
                    contentDigest: "", fields: fields, batchAudiences: audience?.batches, recipients: audience?.recipients)
            default:
                continue
            }
        }
        return Reconciler.Source.Pipeline(
            digest: pipelineDigest, manual: pipeline.apply == .manual, hasSend: pipeline.isBroadcast,
            contents: contents)
    }

    /// The sends (a `mass/sendall`, a `mass/send` batch) a run would still make — those the
    /// journal does not show as sent — all of them, the quotas the run uses (``SendQuota``,
    /// the same function a plan shows them with), and, when one is exceeded, the finding that
    /// blocks it (which limit, and when it resets).
    public func quotaCheck(now: Date) async -> (pending: Int, planned: Int, quotas: [PlanQuota], blocker: ReconcileBlocker?) {
        let described = await describeSteps()
        let batches = described.filter { $0.kind == "mass/sendall" || $0.kind == "mass/send" }.flatMap(\.batches)
        let demand = QuotaDemand(described)
        guard demand.sends + demand.previews + demand.uploadnews + demand.deletes > 0 else {
            return (0, batches.count, [], nil)
        }
        let quotas = SendQuota.quotas(account: account.account, usage: await quotaUsage(now: now), demand: demand)
        return (demand.sends, batches.count, quotas, SendQuota.blocker(quotas, account: account.name))
    }

    /// A `mass/send` step's batches as a run would make them now (each batch's `audience`
    /// summary, ``RunExecutor/audienceSummary(_:)``), read from its `touser` list or its
    /// audience file; `nil` when they cannot be read (the run would fail on it anyway).
    func batchAudiences(_ step: Step) -> (batches: [String], recipients: Int)? {
        guard let with = try? WithEvaluator(context: evaluationContext()).evaluate(step.with) else { return nil }
        if case .list(let items)? = with["touser"] {
            var ids: [String] = []
            var seen = Set<String>()
            for item in items {
                guard let id = item.stringValue else { return nil }
                if seen.insert(id).inserted { ids.append(id) }
            }
            var out: [String] = []
            var start = 0
            for size in BatchPlan.sizes(count: ids.count) {
                out.append(Self.audienceSummary(Array(ids[start..<start + size])))
                start += size
            }
            return (out, ids.count)
        }
        guard let file = with["touser_file"]?.stringValue,
            let checked = try? inputReader.checkedPath(file, field: "touser_file")
        else { return nil }
        let source = AudienceSource(path: checked, csvColumn: with["touser_column"]?.stringValue)
        guard let scan = try? AudienceScanner.scan(source, spoolDirectory: options.spoolDirectory) else { return nil }
        defer { scan.removeSpool() }
        guard let batches = try? scan.batches() else { return nil }
        var out: [String] = []
        while let batch = try? batches.next() { out.append(Self.audienceSummary(batch.openIDs)) }
        return (out, scan.uniqueCount)
    }

    /// The tags the broadcast's `mass/sendall` steps send to (`filter.tag_id`), in step order.
    public func audienceTags() async -> [Int] {
        var tags: [Int] = []
        for call in await describeSteps() where call.kind == "mass/sendall" {
            if let tag = call.audience?.tagID, !tags.contains(tag) { tags.append(tag) }
        }
        return tags
    }

    /// What the store knows of the broadcast at `now`: its generation, the run that completed
    /// it (and the pipeline digest it ran), the newest unfinished run of the generation, the
    /// journal's sends of the generation, and its lease.
    public func reconcileStoreFacts(now: Date) async throws -> Reconciler.StoreFacts {
        try await Self.storeFacts(identity, store: store, liveness: leaseFence == nil ? nil : ownerLiveness())
    }

    /// What the store knows of the broadcast (see ``reconcileStoreFacts(now:)``). `liveness`
    /// decides whether an unfinished run's owner still runs it; `nil`: the broadcast's lease
    /// does (its owner holds a lease that has not expired at `now`).
    public static func storeFacts(
        _ identity: BroadcastIdentity, store: any StateStore, liveness given: OwnerLiveness? = nil, now: Date = Date()
    ) async throws -> Reconciler.StoreFacts {
        let liveness: OwnerLiveness
        if let given { liveness = given } else { liveness = try await leaseLiveness(identity, store: store, now: now) }
        guard let record = try await store.broadcast(identity) else {
            return Reconciler.StoreFacts(generation: 0, lease: try await lease(identity, store: store))
        }
        let runs = try await store.runs(of: identity, generation: record.generation)
        var facts = Reconciler.StoreFacts(generation: record.generation, lease: try await lease(identity, store: store))
        if let completedID = record.completedRunID {
            let digest = runs.first { $0.id == completedID }?.pipelineDigest ?? ""
            facts.completed = .init(runID: completedID, at: record.completedAt, pipelineDigest: digest)
        } else if let run = runs.first(where: { $0.status != .succeeded }) {
            let alive = run.status == .running && run.owner.map { liveness($0, run.heartbeatAt) } == true
            facts.unfinished = .init(
                runID: run.id, status: run.status, ownerAlive: alive, owner: run.owner, message: run.message)
        }
        for run in runs.reversed() {
            for entry in try await store.journalEntries(runID: run.id)
            where entry.endpoint.hasPrefix("message/mass/send") && !entry.key.hasPrefix("preview:") {
                var fields: [String: String]?
                if let text = entry.contentFields, case .object(let o)? = try? Value.parseJSON(text) {
                    fields = o.mapValues(fieldText)
                }
                facts.sent.append(
                    ReconcileSentCall(
                        step: entry.stepID, batch: entry.batch, recipients: entry.recipients, msgID: entry.msgID,
                        state: entry.state, contentDigest: entry.contentDigest, fields: fields))
            }
        }
        facts.sent = facts.sent.filter { $0.state != .refused }
        return facts
    }

    /// Whether a run's owner still runs it, by the broadcast's lease: it holds the lease, the
    /// lease has not expired at `now` and, on this host, its process exists (the heartbeat is
    /// not read).
    public static func leaseLiveness(_ identity: BroadcastIdentity, store: any StateStore, now: Date) async throws
        -> OwnerLiveness
    {
        let lease = try await store.lease(identity)
        return { owner, _ in
            lease.map { $0.owner == owner && $0.expiresAt > now } ?? false && RunOptions.isProcessAlive(owner)
        }
    }

    private static func lease(_ identity: BroadcastIdentity, store: any StateStore) async throws
        -> Reconciler.StoreFacts.Lease?
    {
        try await store.lease(identity).map { .init(owner: $0.owner, expiresAt: $0.expiresAt) }
    }

    /// A field summary's value as text (`100`, `Hello`, `true`).
    static func fieldText(_ value: Value) -> String {
        if case .string(let s) = value { return s }
        return value.jsonText
    }
}
