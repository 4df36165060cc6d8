import Foundation
import Logging
import PipelineCore
import RunLog
import RunState

/// Sends to all followers need intent: `--confirm-to-all NAME`, where NAME is the
/// pipeline's `name`, so that a flag left in a CI script confirms only the broadcast it
/// was written for. Without it, or with another name, the run is refused before it starts
/// (exit 2: nothing runs, nothing is sent or journaled, no run is recorded); `resume`
/// needs it as long as a send to all followers has not finished. A `--sandbox` rehearsal
/// reaches nobody and runs without it, with a warning; a wrong NAME is refused there too.
///
/// The flag confirms intent only. Approvals that `masscast.yaml` may require later are a
/// separate check that this flag cannot satisfy or bypass.
extension RunExecutor {
    /// The refusal for a run whose unfinished steps send to all followers without the
    /// matching confirmation, or `nil` (after a warning in a rehearsal without it).
    func toAllRefusal(finished: Set<String>, resuming: Bool = false) -> String? {
        let pending = pipeline.steps.filter { $0.sendsToAllFollowers && !finished.contains($0.id.value) }
        guard !pending.isEmpty else { return nil }
        let name = pipeline.name.value
        let steps = pending.map { "'\($0.id.value)'" }.joined(separator: ", ")
        let what = "step \(steps) sends to ALL followers of \(account.name) (\(account.appID)), which cannot be undone"
        let outcome = resuming ? "the run was not resumed" : "the run was not started"
        let refusal: String
        if let given = options.confirmToAll {
            if given == name { return nil }
            refusal = "--confirm-to-all names '\(given)', but this pipeline's name is '\(name)': \(what); \(outcome). Pass --confirm-to-all \(name)"
        } else if options.sandbox {
            events.emit(.toAllRehearsal(
                steps: pending.map(\.id.value), account: account.name, appID: account.appID, pipeline: name))
            return nil
        } else {
            refusal = "\(what); \(outcome), nothing was sent. Confirm it with --confirm-to-all \(name) (the pipeline's name)"
        }
        events.emit(.toAllRefused(reason: refusal))
        return refusal
    }

    /// `toAllRefusal` for a run being resumed: its finished steps are not run again.
    func toAllRefusal(resuming runID: String) async -> String? {
        guard pipeline.steps.contains(where: \.sendsToAllFollowers) else { return nil }
        // An unknown run is reported by the claim that follows.
        guard (try? await store.run(runID)) != nil, let steps = try? await store.steps(runID: runID) else { return nil }
        return toAllRefusal(finished: Set(steps.filter { $0.state == .finished }.map(\.stepID)), resuming: true)
    }

    /// The sends to all followers that need no confirmation before a run starts: none when
    /// `--rerun` starts a new generation; all when the broadcast's generation completed
    /// (nothing will run: the run says "already completed"); otherwise those the journal
    /// shows as sent in the current generation (continuing the run adopts them, no call).
    func toAllAlreadySent() async -> Set<String> {
        let steps = pipeline.steps.filter(\.sendsToAllFollowers)
        guard !steps.isEmpty, !options.rerun, let broadcast = try? await store.broadcast(identity) else { return [] }
        if broadcast.completedRunID != nil { return Set(steps.map(\.id.value)) }
        var sent = Set<String>()
        for step in steps where await journalShowsSent(
            step, batch: 0, generation: broadcast.generation, keyFormat: broadcast.keyFormat)
        {
            sent.insert(step.id.value)
        }
        return sent
    }

    /// Whether the journal shows batch `batch` of `step` as sent under the key of
    /// `generation` (whose clientmsgid format is `keyFormat`).
    func journalShowsSent(_ step: Step, batch: Int, generation: Int, keyFormat: Int) async -> Bool {
        let key = Idempotency.clientMsgID(
            format: keyFormat, project: options.project, appID: account.appID, name: pipeline.name.value,
            inputs: inputs, step: step.id.value, batch: batch, generation: generation)
        return (try? await store.journalEntry(api: account.api, appID: account.appID, key: key))?.state == .sent
    }

    /// The step-level guard in `mass/sendall`: why a send to all followers is not confirmed.
    func toAllUnconfirmed(_ step: Step) -> String? {
        let name = pipeline.name.value
        if options.confirmToAll == name || (options.confirmToAll == nil && options.sandbox) { return nil }
        return "step '\(step.id.value)' sends to ALL followers and is not confirmed; nothing was sent. Run with --confirm-to-all \(name)"
    }
}
