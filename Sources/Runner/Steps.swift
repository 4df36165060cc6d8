import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import WeChatMP

extension RunExecutor {
    /// Runs one step whose `if` allowed it: its `with` evaluated, then its kind's handler
    /// (``StepHandlers``).
    func perform(_ step: Step, context: EvaluationContext) async -> StepResult {
        let with: [String: Value]
        do {
            with = try WithEvaluator(context: context).evaluate(step.with)
        } catch {
            return .failed(StepFailure(error))
        }
        guard let handler = StepHandlers.handler(for: step.uses.value) else {
            return .failed(StepFailure(.unknownKind, "unknown step kind \(step.uses.value)"))
        }
        return await handler.run(with, reader: inputReader, context: StepContext(step: step, executor: self))
    }

    /// A path from the pipeline, relative to the pipeline's directory.
    func resolvePath(_ path: String) -> String { inputReader.resolvePath(path) }

    // MARK: Delete and preview

    func massDelete(_ step: Step, _ requests: [DeleteRequest]) async -> StepExecution<MassDeleteHandler.Outputs> {
        guard let run else { return .failure(StepFailure(.noRun, "no run")) }
        let client = client(for: step)
        for (index, request) in requests.enumerated() {
            // Journaled like a send: refused without the journal; a delete journaled as done
            // is not made again; one whose outcome is unknown is repeated, and WeChat's
            // 40059 (already deleted) then means it went through.
            let journaled = JournaledCall.delete(runID: run.id, stepID: step.id.value, index: index)
            let existing: JournalEntry?
            switch await readJournal(journaled) {
            case .success(let entry): existing = entry
            case .failure(let stop): return .stopped(stop.message)
            }
            if existing?.state == .sent {
                events.emit(.deleteAdopted(stepID: step.id.value, msgID: request.msgID))
                continue
            }
            let mayHaveArrived = existing.map { $0.state == .intent || $0.state == .unknown } ?? false
            let now = options.now()
            let digest = Idempotency.digest(
                "\(request.msgID.map(String.init) ?? "")|\(request.articleIdx.map(String.init) ?? "")|\(request.url ?? "")")
            var entry = JournalEntry(
                api: account.api, appID: account.appID, key: journaled.key, runID: run.id, stepID: step.id.value,
                batch: index, endpoint: "message/mass/delete", contentDigest: digest, recipients: 0, state: .intent,
                firstAttemptAt: mayHaveArrived ? existing!.firstAttemptAt : now, lastAttemptAt: now, updatedAt: now)
            if let stop = await journalIntent(entry, journaled) { return .stopped(stop.message) }
            var spec = CallSpec(step: step, endpoint: "message/mass/delete", isMass: true)
            spec.doneAfterMaybeReceived = [40059]
            spec.mayHaveArrived = mayHaveArrived
            spec.intent = (entry, journaled)
            let outcome = await call(spec) {
                () async throws(WeChatError) in
                try await client.delete(request)
            }
            entry.updatedAt = options.now()
            entry.lastAttemptAt = entry.updatedAt
            switch outcome {
            case .ok:
                await journalOutcome(&entry, .sent)
                continue
            case .alreadyDone:
                await journalOutcome(&entry, .sent)
                events.emit(.deleteAlreadyDone(stepID: step.id.value))
                continue
            case .failed(let e):
                await journalOutcome(&entry, .refused, errcode: e.errcode)
                return .failure(StepFailure(e))
            case .unknown(let e):
                if !(await journalOutcome(&entry, .unknown)) { return .stopped(stopSignal.message) }
                return .failure(StepFailure(e))
            case .duplicate: return .failure(StepFailure(.unexpectedAnswer, "unexpected 45065 on delete"))
            case .stopped: return .stopped(stopSignal.message)
            case .notAttempted(let message): return .stopped(message)
            }
        }
        return .success(MassDeleteHandler.Outputs(deleted: true))
    }

    func preview(_ step: Step, _ inputs: PreviewHandler.Inputs) async -> StepExecution<PreviewHandler.Outputs> {
        guard let run else { return .failure(StepFailure(.noRun, "no run")) }
        let request = inputs.request
        let with = inputs.with
        // Previews have no idempotency key: journal them so that a preview whose outcome is
        // unknown is never repeated blindly (not by a retry, not by resume).
        let journaled = JournaledCall.preview(runID: run.id, stepID: step.id.value)
        let key = journaled.key
        let digest = Idempotency.digest(Value.object(with).jsonText)
        let now = options.now()
        let read: JournalEntry?
        switch await readJournal(journaled) {
        case .success(let entry): read = entry
        case .failure(let stop): return .stopped(stop.message)
        }
        if let existing = read {
            switch existing.state {
            case .sent:
                return .success(PreviewHandler.Outputs(msgID: existing.msgID), note: "preview already sent in this run")
            case .intent, .unknown:
                if !options.confirmResend {
                    return .stopped(
                        "the preview's outcome is unknown (the request may have reached WeChat); it is not repeated without `\(options.resumeCommand(run.id, "--confirm-resend"))`")
                }
            case .refused: break
            }
        }
        var entry = JournalEntry(
            api: account.api, appID: account.appID, key: key, runID: run.id, stepID: step.id.value, batch: 0,
            endpoint: "message/mass/preview", contentDigest: digest, recipients: 1, state: .intent,
            firstAttemptAt: now, lastAttemptAt: now, updatedAt: now)
        if let stop = await journalIntent(entry, journaled) { return .stopped(stop.message) }
        let client = client(for: step)
        var spec = CallSpec(step: step, endpoint: "message/mass/preview", isMass: true, repeatAfterMaybeReceived: false)
        spec.intent = (entry, journaled)
        let outcome = await call(spec) { () async throws(WeChatError) -> PreviewResponse in
            try await client.preview(request)
        }
        entry.updatedAt = options.now()
        switch outcome {
        case .ok(let r):
            entry.msgID = r.msgID
            await journalOutcome(&entry, .sent)
            return .success(PreviewHandler.Outputs(msgID: r.msgID))
        case .failed(let e):
            await journalOutcome(&entry, .refused, errcode: e.errcode)
            return .failure(StepFailure(e))
        case .unknown(let e):
            if !(await journalOutcome(&entry, .unknown)) { return .stopped(stopSignal.message) }
            return .stopped(
                "the preview's outcome is unknown (\(e)); it is not repeated without `\(options.resumeCommand(run.id, "--confirm-resend"))`")
        case .duplicate, .alreadyDone: return .failure(StepFailure(.unexpectedAnswer, "unexpected answer on preview"))
        case .stopped: return .stopped(stopSignal.message)
        case .notAttempted(let message): return .stopped(message)
        }
    }
}
