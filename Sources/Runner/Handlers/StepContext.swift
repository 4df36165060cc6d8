import Foundation
import PipelineCore
import WeChatMP

extension StepExecution {
    /// The same execution with its outputs transformed.
    func map<U: Sendable>(_ transform: (Outputs) -> U) -> StepExecution<U> {
        switch self {
        case .success(let outputs, let note): return .success(transform(outputs), note: note)
        case .failure(let failure, let outputs): return .failure(failure, outputs: outputs.map(transform))
        case .stopped(let message): return .stopped(message)
        }
    }

    static func failure(_ failure: StepFailure) -> StepExecution { .failure(failure, outputs: nil) }
}

extension StepContext {
    /// One call that is not journaled (uploads, reads, speed), with the step's retries.
    func call<T: Sendable>(
        _ endpoint: String, isMass: Bool, _ body: @escaping @Sendable (WeChatClient) async throws(WeChatError) -> T
    ) async -> StepExecution<T> {
        await executor.plainCall(step, endpoint: endpoint, isMass: isMass, body)
    }
}

extension RunExecutor {
    /// A call that is not journaled, its outcome as a step's.
    func plainCall<T: Sendable>(
        _ step: Step, endpoint: String, isMass: Bool,
        _ body: @escaping @Sendable (WeChatClient) async throws(WeChatError) -> T
    ) async -> StepExecution<T> {
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: endpoint, isMass: isMass)) {
            () async throws(WeChatError) -> T in
            try await body(client)
        }
        switch outcome {
        case .ok(let v): return .success(v)
        case .failed(let e), .unknown(let e), .alreadyDone(let e): return .failure(StepFailure(e))
        case .duplicate(let id):
            return .failure(StepFailure(.unexpectedAnswer, "unexpected 45065 (msg_id \(id)) on a call without clientmsgid"))
        case .stopped: return .stopped(stopSignal.message)
        case .notAttempted(let message): return .stopped(message)
        }
    }

    /// How this run types a step's `with`.
    var inputReader: InputReader {
        InputReader(baseDirectory: baseDirectory, root: repositoryRoot, allowed: options.allowedDirectories, originalID: account.originalID)
    }
}
