import Foundation

/// A push inbox that tells its readers at once when a push is stored, by any process (the
/// PostgreSQL store: `LISTEN`/`NOTIFY`). A reader still re-reads the inbox now and then: a
/// missed wake-up delays, never loses.
public protocol InboxWakeups: Sendable {
    /// Starts watching the pushes of `(api, originalID)`: from the time this returns, every
    /// push stored for them (and every reconnection of the store's listening connection,
    /// after which a reader must re-read) wakes the watch.
    func watchInbox(api: String, originalID: String) async -> InboxWatch
}

/// A wake-up signal: ``signal()`` wakes the current ``wait()``, or the next one if nobody
/// waits (one signal is remembered, so none falls between a read and a wait).
public final class InboxWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var waiter: CheckedContinuation<Bool, Never>?
    private let onEnd: @Sendable () -> Void

    /// - Parameter onEnd: called once the watch is no longer used (its deinit).
    public init(onEnd: @escaping @Sendable () -> Void = {}) {
        self.onEnd = onEnd
    }

    deinit { onEnd() }

    /// Wakes the waiter (or the next wait).
    public func signal() {
        let continuation: CheckedContinuation<Bool, Never>? = lock.withLock {
            if let waiter {
                self.waiter = nil
                return waiter
            }
            pending = true
            return nil
        }
        continuation?.resume(returning: true)
    }

    /// Returns `true` when signalled since the last wait, `false` when the task is cancelled.
    public func wait() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow: Bool? = lock.withLock {
                    if pending {
                        pending = false
                        return true
                    }
                    if Task.isCancelled { return false }
                    waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Bool, Never>? = lock.withLock {
                defer { waiter = nil }
                return waiter
            }
            continuation?.resume(returning: false)
        }
    }
}
