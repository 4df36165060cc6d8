import Foundation

/// A wait that took longer than its bound.
struct TimeoutError: Error, Sendable, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "\(what) took longer than \(limit)" }
}

/// Runs work with an upper bound on how long the caller waits for it.
///
/// Unlike a task group race, the caller is released when the bound passes even if the work
/// ignores cancellation (a database write in progress): the work is cancelled and left to
/// finish on its own.
enum Bounded {
    static func run<T: Sendable>(
        _ what: String, timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let box = ResumeOnce<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                box.set(continuation)
                let work = Task {
                    do {
                        box.resume(.success(try await operation()))
                    } catch {
                        box.resume(.failure(error))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if Task.isCancelled { return }
                    if box.resume(.failure(TimeoutError(what: what, limit: timeout))) { work.cancel() }
                }
                box.onFinish { timer.cancel() }
                box.onCancel { work.cancel() }
            }
        } onCancel: {
            box.cancel()
        }
    }
}

extension Bounded {
    /// Runs `operation` with a time bound, structured: when the bound passes, the operation
    /// is cancelled and this call returns only after it has ended.
    ///
    /// For work that must not outlive its caller, such as reading a request body: the server
    /// reads the connection again once the handler has answered, and a read still pending on
    /// an abandoned task would be a second reader of one stream (swift-nio stops the process
    /// on that). The operation must honour cancellation (NIO's async sequences do).
    static func joined<T: Sendable>(
        _ what: String, timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            // The first child to end decides; leaving the group waits for the other one.
            guard let first = try await group.next(), let value = first else {
                throw TimeoutError(what: what, limit: timeout)
            }
            return value
        }
    }
}

/// A continuation resumed exactly once, by whichever of the work, the timer or a
/// cancellation comes first.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var done = false
    private var finishActions: [@Sendable () -> Void] = []
    private var cancelActions: [@Sendable () -> Void] = []
    private var cancelled = false

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    /// Resumes with `result` unless already resumed; `true` when this call resumed.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        lock.lock()
        guard !done else {
            lock.unlock()
            return false
        }
        done = true
        let continuation = self.continuation
        self.continuation = nil
        if continuation == nil { pending = result }
        let actions = finishActions
        finishActions = []
        lock.unlock()
        continuation?.resume(with: result)
        for action in actions { action() }
        return true
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if done {
            lock.unlock()
            action()
            return
        }
        finishActions.append(action)
        lock.unlock()
    }

    func onCancel(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if cancelled {
            lock.unlock()
            action()
            return
        }
        cancelActions.append(action)
        lock.unlock()
    }

    func cancel() {
        lock.lock()
        cancelled = true
        let actions = cancelActions
        cancelActions = []
        lock.unlock()
        for action in actions { action() }
        resume(.failure(CancellationError()))
    }
}
