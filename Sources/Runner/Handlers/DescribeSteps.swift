import Foundation
import PipelineCore
import RunState

extension RunExecutor {
    /// What every step of the pipeline would call, in pipeline order, before (and without)
    /// running it: nothing is called and nothing is written to the store. The steps' `with`
    /// is evaluated with the earlier steps' outputs standing as placeholders
    /// (``OutputReference``); the clientmsgids are those of the generation a run would
    /// send in (the broadcast's current one, the next with `--rerun`).
    func describeSteps() async -> [PlannedCall] {
        let savedDigests = sourceDigests
        defer { sourceDigests = savedDigests }
        let journal = ReadOnlyJournal(store)
        let generation: Int
        let keyFormat: Int
        let newFormat = Idempotency.keyFormat(project: options.project)
        if let record = try? await store.broadcast(identity) {
            generation = record.generation + (options.rerun ? 1 : 0)
            keyFormat = options.rerun ? newFormat : record.keyFormat
        } else {
            generation = 1
            keyFormat = newFormat
        }
        if let run {
            // A run being continued sends in its own generation.
            return await describe(journal: journal, generation: run.generation, keyFormat: run.keyFormat)
        }
        return await describe(journal: journal, generation: generation, keyFormat: keyFormat)
    }

    private func describe(journal: any JournalReading, generation: Int, keyFormat: Int) async -> [PlannedCall] {
        let reader = InputReader(
            baseDirectory: baseDirectory, root: repositoryRoot, allowed: options.allowedDirectories, originalID: account.originalID,
            planning: true)
        let (project, appID, name, inputs) = (options.project, account.appID, pipeline.name.value, inputs)
        var calls: [PlannedCall] = []
        for (index, step) in pipeline.steps.enumerated() {
            var evaluation = evaluationContext()
            for earlier in pipeline.steps[..<index] {
                var state = StepState()
                for output in Catalog.kind(earlier.uses.value)?.outputs ?? [] {
                    state.outputs[output.name] = .string(
                        OutputReference(step: earlier.id.value, output: output.name).placeholder)
                }
                evaluation.steps[earlier.id.value] = state
            }
            let stepID = step.id.value
            var context = PlanContext(
                step: step, accountAPI: account.api, appID: account.appID, reader: reader, journal: journal,
                runID: run?.id,
                clientMsgID: { batch in
                    Idempotency.clientMsgID(
                        format: keyFormat, project: project, appID: appID, name: name, inputs: inputs, step: stepID,
                        batch: batch, generation: generation)
                },
                digestView: digestView(step), references: [])
            guard let handler = StepHandlers.handler(for: step.uses.value) else {
                var call = context.call(endpoints: [])
                call.problem = StepFailure(.unknownKind, "unknown step kind \(step.uses.value)")
                calls.append(call)
                continue
            }
            let with: [String: Value]
            do {
                with = try WithEvaluator(context: evaluation).evaluate(step.with)
            } catch {
                var call = context.call(endpoints: [])
                call.problem = StepFailure(error)
                calls.append(call)
                continue
            }
            context.references = OutputReference.all(in: .object(with))
            var call = await handler.plan(with, reader: reader, context: context)
            call.message = PlannedMessage.summarising(with, kind: step.uses.value, reader: reader)
            call.unknown = OutputReference.unknownFields(in: with)
            for path in PlannedMessage.contentFiles(in: with) where !call.files.contains(where: { $0.path == path }) {
                if let file = reader.plannedFile(path) { call.files.append(file) }
            }
            calls.append(call)
        }
        return calls
    }
}
