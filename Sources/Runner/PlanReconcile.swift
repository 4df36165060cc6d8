import Foundation
import PipelineCore
import RunState

/// What the store and the file say of a broadcast, as ``Reconciler`` reads them: gathered by
/// the executor that would run it, reading the store only.
public struct ReconcileInputs: Sendable {
    public var source: Reconciler.Source.Pipeline
    public var store: Reconciler.StoreFacts
    public var window: Reconciler.Window
    /// The broadcast's serial in the store (0: never run).
    public var serial: Int64?
    /// The store's identity.
    public var storeIdentity: String?
}

extension RunExecutor {
    /// The facts the reconcile table needs of this broadcast (its file, its runs and journal,
    /// its lease and window), read without writing. `runsScanned` bounds how many recent runs
    /// are read to find an unfinished one.
    public func reconcileInputs(runsScanned: Int = 1_000) async -> ReconcileInputs {
        let record = try? await store.broadcast(identity)
        var facts = Reconciler.StoreFacts(generation: record?.generation ?? 0)
        if let record {
            let runs = ((try? await store.runs(limit: runsScanned)) ?? []).filter {
                $0.identity == record.identity && $0.generation == record.generation
            }
            if let completedID = record.completedRunID {
                var run = runs.first { $0.id == completedID }
                if run == nil { run = (try? await store.run(completedID)) ?? nil }
                facts.completed = .init(
                    runID: completedID, at: record.completedAt, pipelineDigest: run?.pipelineDigest ?? "")
                facts.sent = await sentCalls(runID: completedID)
            } else if let latest = runs.max(by: { $0.createdAt < $1.createdAt }), latest.status != .succeeded {
                let alive = latest.owner.map { options.ownerLiveness()($0, latest.heartbeatAt) } ?? false
                facts.unfinished = .init(
                    runID: latest.id, status: latest.status, ownerAlive: alive, owner: latest.owner, message: latest.message)
                facts.sent = await sentCalls(runID: latest.id)
            }
        }
        if let lease = try? await store.lease(identity) {
            facts.lease = .init(owner: lease.owner, expiresAt: lease.expiresAt)
        }
        let sendSteps = pipeline.steps.filter { Catalog.kind($0.uses.value)?.irreversible == .send }
        var contents: [String: ReconcileContent]? = [:]
        for step in sendSteps {
            guard step.uses.value == "mass/sendall" else {
                // A mass/send's digest is per batch of OpenIDs: compared by the pipeline's digest.
                contents = nil
                break
            }
            var view = digestView(step)
            view["clientmsgid"] = nil
            var fields: [String: String] = [:]
            if case .object(let o) = Self.fieldSummary(view) {
                for (k, v) in o { fields[k] = v.templateText }
            }
            contents?[step.id.value] = ReconcileContent(contentDigest: Self.sendAllDigest(view: view), fields: fields)
        }
        let source = Reconciler.Source.Pipeline(
            digest: pipelineDigest, hasSend: !sendSteps.isEmpty, contents: contents,
            plannedSends: nil)
        let window = Reconciler.Window(
            notBefore: pipeline.schedule?.notBeforeEpoch.map(Date.init(timeIntervalSince1970:)),
            notAfter: pipeline.schedule?.notAfterEpoch.map(Date.init(timeIntervalSince1970:)))
        return ReconcileInputs(
            source: source, store: facts, window: window, serial: try? await store.serial(identity),
            storeIdentity: try? await store.storeIdentity())
    }

    private func sentCalls(runID: String) async -> [ReconcileSentCall] {
        let entries = (try? await store.journalEntries(runID: runID)) ?? []
        return entries.filter { $0.endpoint.contains("mass/send") }.map { entry in
            var fields: [String: String]?
            if let text = entry.contentFields, case .object(let o)? = try? Value.parseJSON(text) {
                fields = o.mapValues(\.templateText)
            }
            return ReconcileSentCall(
                step: entry.stepID, batch: entry.batch, recipients: entry.recipients, msgID: entry.msgID,
                state: entry.state, contentDigest: entry.contentDigest, fields: fields)
        }
    }
}
