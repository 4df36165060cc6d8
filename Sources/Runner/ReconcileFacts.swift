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
    public func reconcileSource() -> Reconciler.Source.Pipeline {
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
                contents[step.id.value] = ReconcileContent(contentDigest: "", fields: [:])
            default:
                continue
            }
        }
        return Reconciler.Source.Pipeline(
            digest: pipelineDigest, manual: pipeline.apply == .manual, hasSend: pipeline.isBroadcast,
            contents: contents)
    }

    /// The sends (a `mass/sendall`, a `mass/send` batch) a run would still make — those the
    /// journal does not show as sent — and, when they exceed what the account has left
    /// today (UTC+8, as far as this store knows), the quota finding that blocks it.
    public func quotaCheck(now: Date) async -> (pending: Int, planned: Int, blocker: ReconcileBlocker?) {
        let calls = await describeSteps().filter { $0.kind == "mass/sendall" || $0.kind == "mass/send" }
        let batches = calls.flatMap(\.batches)
        let pending = batches.filter { $0.journal != .sent }.count
        guard pending > 0 else { return (0, batches.count, nil) }
        let since = account.pacing.startOfDay(containing: now)
        let used = (try? await store.acceptedSends(api: account.api, appID: account.appID, since: since)) ?? 0
        let left = account.pacing.sendsPerDay - used
        guard pending > left else { return (pending, batches.count, nil) }
        return (
            pending, batches.count,
            ReconcileBlocker(
                .quota,
                "it needs \(pending) mass send\(pending == 1 ? "" : "s") and \(account.name) has \(max(0, left)) of its "
                    + "\(account.pacing.sendsPerDay) left today (UTC+8; \(used) made by masscast): apply again tomorrow, "
                    + "or raise pacing.sends_per_day if WeChat allows more")
        )
    }

    /// What the store knows of the broadcast at `now`: its generation, the run that completed
    /// it (and the pipeline digest it ran), the newest unfinished run of the generation, the
    /// journal's sends of the generation, and its lease.
    public func reconcileStoreFacts(now: Date) async throws -> Reconciler.StoreFacts {
        try await Self.storeFacts(identity, store: store, liveness: options.ownerLiveness())
    }

    public static func storeFacts(
        _ identity: BroadcastIdentity, store: any StateStore, liveness: OwnerLiveness
    ) async throws -> Reconciler.StoreFacts {
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
