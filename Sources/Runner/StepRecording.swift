import Foundation
import PipelineCore
import RunLog
import RunState

/// Recording steps: a step's start, its end, a step that stopped, and the states of the
/// steps a resumed run keeps. Each goes to the store (with the attempts not yet written,
/// see `pendingAttempts`), to the steps' states that later `if`s and `with`s read, and to the
/// log and the progress line.
extension RunExecutor {
    /// Restores the states of the steps a resumed run keeps; returns their indices.
    func restore(_ finished: [String: StepRecord]) -> Set<Int> {
        var done = Set<Int>()
        for (i, step) in pipeline.steps.enumerated() {
            guard let record = finished[step.id.value] else { continue }
            var outputs: [String: Value] = [:]
            if let json = record.outputsJSON, case .object(let o)? = try? Value.parseJSON(json) { outputs = o }
            states[step.id.value] = StepState(
                outputs: outputs, outcome: record.outcome, conclusion: record.conclusion, errcode: record.errcode)
            done.insert(i)
        }
        return done
    }

    func markStarted(_ step: Step) async {
        guard let run else { return }
        let record = StepRecord(
            runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .running, startedAt: options.now())
        startedTimes[step.id.value] = record.startedAt
        // Not awaited: committed before the step's next record (a crash may lose it, and
        // resume runs an unfinished step again anyway).
        await store.queueStepSave(record, appending: [])
        events.emit(.stepStarted(stepID: step.id.value, uses: step.uses.value))
    }

    func markStoppedStep(_ step: Step, message: String) async {
        guard let run else { return }
        var record = StepRecord(runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .pending)
        record.message = message
        record.startedAt = startedTimes[step.id.value]
        try? await store.saveStep(record, appending: takePendingAttempts(step.id.value))
        events.emit(.stepStopped(stepID: step.id.value, uses: step.uses.value, message: message))
    }

    func finish(_ step: Step, _ result: StepResult) async {
        guard let run, case .ended(let end) = result else { return }
        let (outcome, errcode, outputs, message) = (end.outcome, end.errcode, end.outputs, end.message)
        let conclusion = StepScheduler.conclusion(outcome, continueOnError: step.continueOnError)
        states[step.id.value] = StepState(
            outputs: outputs, outcome: outcome.rawValue, conclusion: conclusion.rawValue, errcode: errcode)
        let now = options.now()
        let startedAt = startedTimes[step.id.value]
        let record = StepRecord(
            runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .finished, outcome: outcome.rawValue,
            conclusion: conclusion.rawValue, errcode: errcode, outputsJSON: Value.object(outputs).jsonText, message: message,
            startedAt: startedAt ?? now, endedAt: now)
        if step.kind?.irreversible != nil {
            try? await store.saveStep(record, appending: takePendingAttempts(step.id.value))
        } else {
            // Not awaited: committed in order, before any later awaited write (a journal
            // intent, the run's end). A crash just after may lose it; resume then runs the
            // step again, as it would after a crash during its call, which for these
            // kinds (uploads, reads, waits) is harmless.
            await store.queueStepSave(record, appending: takePendingAttempts(step.id.value))
        }
        events.emit(
            .stepFinished(
                RunEvent.StepEnd(
                    stepID: step.id.value, uses: step.uses.value, outcome: outcome, conclusion: conclusion,
                    errcode: errcode, duration: startedAt.map { .milliseconds(Int(now.timeIntervalSince($0) * 1000)) },
                    outputs: outputs, message: message, continueOnError: step.continueOnError)))
    }
}
