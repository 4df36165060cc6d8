import Foundation
import RunState

/// The pushes waiting to be stored by `SQLiteStateStore.storeInboxEvent` (group commit).
///
/// A push that arrives while no inbox commit is running is committed at once, alone. Pushes
/// that arrive while a commit runs wait here and are committed together, in one transaction,
/// as soon as it has ended (at most `batchLimit` per transaction). Each caller is answered
/// only after the transaction holding its push committed, or failed.
final class InboxCommits: @unchecked Sendable {
    struct Waiter {
        let event: InboxEvent
        let continuation: CheckedContinuation<Bool, any Error>
    }

    /// The most pushes stored in one transaction.
    static let batchLimit = 256

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var waiting: [Waiter] = []
    /// Guarded by `lock`: a commit is running (its caller will take `waiting` when it ends).
    private var committing = false
    /// Guarded by `lock`: the transactions started and the pushes they held.
    private var started = InboxCommitCounts(transactions: 0, pushes: 0)

    /// The inbox transactions started so far and the pushes they held.
    var counts: InboxCommitCounts {
        lock.lock()
        defer { lock.unlock() }
        return started
    }

    /// Adds `waiter`. Returns the batch to commit now when no commit is running (the caller
    /// starts it), `nil` when it waits for the running one.
    func enqueue(_ waiter: Waiter) -> [Waiter]? {
        lock.lock()
        defer { lock.unlock() }
        if committing {
            waiting.append(waiter)
            return nil
        }
        committing = true
        started.transactions += 1
        started.pushes += 1
        return [waiter]
    }

    /// How many pushes wait for the running commit to end.
    var waitingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return waiting.count
    }

    /// Whether a commit is running.
    var isCommitting: Bool {
        lock.lock()
        defer { lock.unlock() }
        return committing
    }

    /// After a commit ended: the next batch (the oldest waiting pushes, at most `batchLimit`),
    /// or `nil` when none waits (and no commit is running any more).
    func next() -> [Waiter]? {
        lock.lock()
        defer { lock.unlock() }
        guard !waiting.isEmpty else {
            committing = false
            return nil
        }
        let batch: [Waiter]
        if waiting.count <= Self.batchLimit {
            batch = waiting
            waiting = []
        } else {
            batch = Array(waiting.prefix(Self.batchLimit))
            waiting.removeFirst(Self.batchLimit)
        }
        started.transactions += 1
        started.pushes += batch.count
        return batch
    }
}

/// How the inbox's group commit went: transactions started, and the pushes they held
/// (`pushes / transactions` pushes shared each commit).
public struct InboxCommitCounts: Sendable, Hashable {
    /// Inbox transactions started.
    public var transactions: Int
    /// Pushes in them.
    public var pushes: Int
}
