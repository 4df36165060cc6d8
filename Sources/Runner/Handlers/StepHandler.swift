import Foundation
import PipelineCore
import RunState
import WeChatMP

/// What one step kind does: its typed inputs, what it would call (`describe`, before the
/// run, over a read-only context) and the call itself (`execute`, with typed outputs).
///
/// There is one handler per catalog kind (``StepHandlers``); `RunExecutor.perform` looks the
/// step's kind up there. The outputs written to the store and the logs are the handler's
/// `Outputs` encoded by ``OutputEncoder`` (an optional encodes as `null`, so every
/// declared output is always present); `StepHandlerTests` checks, for every kind, that they
/// are exactly the outputs the catalog declares.
protocol StepHandler: Sendable {
    /// The evaluated `with`, typed (WeChatMP's request types where they fit).
    associatedtype Inputs: Sendable
    /// What the step produces, readable as `steps.<id>.outputs.<name>`.
    associatedtype Outputs: Encodable & Sendable

    /// The catalog kind (`uses:`) this handler runs.
    var kind: String { get }

    /// Types the evaluated `with`; a file the step sends is read here, with its limit.
    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs

    /// What the step would call, from its inputs and the read-only context: no network, no
    /// writes.
    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall

    /// Makes the step's call(s).
    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs>
}

/// What executing a step came to, with the handler's typed outputs.
enum StepExecution<Outputs: Sendable>: Sendable {
    /// The step succeeded; `note` is recorded with it ("preview already sent in this run").
    case success(Outputs, note: String? = nil)
    /// The step failed; `outputs` when some are still readable (the batches sent before a
    /// failure, the counts of a wait that missed its `min_sent`).
    case failure(StepFailure, outputs: Outputs? = nil)
    /// The run stops here, resumable; the step stays unfinished.
    case stopped(String)
}

/// What a handler executes in: the step and the run that executes it (its calls, journal,
/// logs and progress).
struct StepContext: Sendable {
    var step: Step
    var executor: RunExecutor
}

extension StepHandler {
    /// The catalog's entry for this handler's kind.
    var stepKind: StepKind? { Catalog.kind(kind) }

    /// The outputs as the store, the logs and later steps' expressions see them.
    func encode(_ outputs: Outputs) -> [String: Value] { OutputEncoder.object(outputs) }

    /// Runs the step: its inputs typed, then executed; failures rendered for the record.
    func run(_ with: [String: Value], reader: InputReader, context: StepContext) async -> StepResult {
        let inputs: Inputs
        do {
            inputs = try self.inputs(with, reader: reader)
        } catch {
            return .failed(error)
        }
        switch await execute(inputs, context: context) {
        case .success(let outputs, let note):
            return .success(encode(outputs), message: note)
        case .failure(let failure, let outputs):
            return .failed(failure, outputs: outputs.map(encode) ?? [:])
        case .stopped(let message):
            return .stopped(message)
        }
    }

    /// Describes the step; inputs that cannot be typed make a plan that says so.
    func plan(_ with: [String: Value], reader: InputReader, context: PlanContext) async -> PlannedCall {
        do {
            let inputs = try self.inputs(with, reader: reader)
            return await describe(inputs, context: context)
        } catch {
            var call = context.call(endpoints: [])
            call.problem = error
            return call
        }
    }
}

/// The handlers, one per catalog kind, keyed by the kind's name.
enum StepHandlers {
    static let all: [any StepHandler] = [
        MediaUploadHandler(), MediaUploadImageHandler(), MediaUploadNewsHandler(), MediaUploadVideoHandler(),
        SendAllHandler(), SendHandler(), PreviewHandler(), MassGetHandler(), MassWaitHandler(),
        MassDeleteHandler(), MassSpeedHandler(),
    ]

    static let byKind: [String: any StepHandler] = Dictionary(
        all.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })

    static func handler(for kind: String) -> (any StepHandler)? { byKind[kind] }
}
