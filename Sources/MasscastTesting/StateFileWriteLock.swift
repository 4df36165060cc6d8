import Foundation
import GRDB

/// Another connection to a state file holding its write lock (as another masscast process in
/// the middle of a long write would) until ``release()``: a store slower than a test's bound.
///
/// The lock is taken with `BEGIN IMMEDIATE` on a connection of its own, on a thread of its own
/// (never on the concurrency pool, which a blocked thread would shrink for every other test).
public final class StateFileWriteLock: Sendable {
    private let gate = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Failure()

    private final class Failure: @unchecked Sendable {
        private let lock = NSLock()
        private var error: (any Error)?
        var value: (any Error)? {
            get { lock.withLock { error } }
            set { lock.withLock { error = newValue } }
        }
    }

    /// Returns once the lock is held; throws if the file cannot be opened or locked.
    public init(path: String) async throws {
        let gate = self.gate
        let finished = self.finished
        let failure = self.failure
        try await withCheckedThrowingContinuation { (locked: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var resumed = false
                do {
                    let connection = try DatabaseQueue(path: path)
                    try connection.writeWithoutTransaction { db in
                        try db.execute(sql: "BEGIN IMMEDIATE")
                        resumed = true
                        locked.resume()
                        gate.wait()
                        try db.execute(sql: "COMMIT")
                    }
                    try connection.close()
                } catch {
                    if resumed { failure.value = error } else { locked.resume(throwing: error) }
                }
                finished.signal()
            }
            thread.name = "masscast-test-write-lock"
            thread.start()
        }
    }

    /// Lets go of the lock and closes the connection; throws what went wrong meanwhile.
    public func release() async throws {
        gate.signal()
        let finished = self.finished
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                finished.wait()
                done.resume()
            }
        }
        if let error = failure.value { throw error }
    }
}
