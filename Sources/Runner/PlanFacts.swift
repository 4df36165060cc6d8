import Foundation
import PipelineCore
import RunState

/// What a plan of one broadcast is made from, read by the executor that would run it,
/// without running it: every step's ``PlannedCall`` (from the step handlers' `describe`),
/// the broadcast's identity and what the store knows of it. Reading these calls nothing and
/// writes nothing.
public struct PlanFacts: Sendable {
    public var pipeline: Pipeline
    public var pipelineFile: String
    /// SHA-256 (hex) of the pipeline file's bytes.
    public var pipelineDigest: String
    public var identity: BroadcastIdentity
    public var account: Account
    /// What the store knows of the broadcast (`nil`: never run).
    public var record: BroadcastRecord?
    /// The generation a run would send in.
    public var generation: Int
    public var calls: [PlannedCall]
    /// Sends of the account the store counts since the start of today (UTC+8); `nil` when
    /// the store could not be read.
    public var sendsToday: Int?
    /// What the store counts of the account's quotas at the plan's time (``QuotaUsage``).
    public var usage: QuotaUsage?
}

extension RunExecutor {
    /// The facts of a plan (see ``PlanFacts``); `now` places "today" for the quota.
    public func planFacts(now: Date) async -> PlanFacts {
        let calls = await describeSteps()
        let record = try? await store.broadcast(identity)
        let generation = (record?.generation ?? 0) + (record == nil ? 1 : (options.rerun ? 1 : 0))
        let usage = await quotaUsage(now: now)
        return PlanFacts(
            pipeline: pipeline, pipelineFile: pipelineFile, pipelineDigest: pipelineDigest, identity: identity,
            account: account.account, record: record, generation: generation, calls: calls,
            sendsToday: usage.sendsToday, usage: usage)
    }
}

extension PlanInputFile {
    /// Hex SHA-256 of a file's bytes, read in blocks; `nil` when it cannot be read.
    public static func sha256(ofFile path: String) -> String? {
        // The files a saved plan binds (the pipeline, masscast.yaml, …): any path.
        InputReader(baseDirectory: "", root: "/", originalID: nil).plannedFile(path)?.sha256
    }
}
