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
///
/// The bound counts from the call (when the work is submitted), not from when a busy
/// concurrency pool first runs the work: under overload, work that cannot finish within the
/// bound fails with ``TimeoutError`` (the listener then answers 503 and WeChat retries). One
/// shared ``DeadlineSweeper`` enforces every bound; each call starts one task (the work).
enum Bounded {
    static func run<T: Sendable>(
        _ what: String, timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let box = ResumeOnce<T>(what: what, limit: timeout)
        let deadline = DeadlineSweeper.deadline(after: timeout)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                box.set(continuation)
                box.setWork(
                    Task {
                        do {
                            box.resume(.success(try await operation()))
                        } catch {
                            box.resume(.failure(error))
                        }
                    })
                DeadlineSweeper.shared.add(box, deadline: deadline, timeout: timeout)
            }
        } onCancel: {
            box.cancel()
        }
    }
}

/// Something the ``DeadlineSweeper`` expires at its deadline unless it finished first.
protocol Expirable: AnyObject, Sendable {
    /// Finished already (the sweeper drops it).
    var isFinished: Bool { get }
    /// The deadline passed: fail the wait and cancel the work.
    func expire()
}

/// One dispatch timer for all bounded waits.
///
/// Waits with the same bound are kept in one queue per bound, in the order they started,
/// which is the order of their deadlines. The timer is set to the earliest deadline among
/// the queues' heads. When it fires, every finished wait at a queue's head is dropped and
/// every expired one is expired, up to the first wait still running whose deadline is
/// ahead. Finished waits are dropped at the next firing rather than one by one, so a run of
/// waits that finish quickly costs one append each and about one firing per bound.
final class DeadlineSweeper: @unchecked Sendable {
    static let shared = DeadlineSweeper()

    private struct Entry {
        let deadline: UInt64
        let item: any Expirable
    }

    private let lock = NSLock()
    private let queue = DispatchQueue(label: "masscast.bounded.sweeper")
    private let timer: any DispatchSourceTimer
    /// Guarded by `lock`: one FIFO per bound (nanoseconds), with the index of its head.
    private var queues: [UInt64: (entries: [Entry], head: Int)] = [:]
    /// Guarded by `lock`: when the timer fires next (uptime nanoseconds), `nil` when idle.
    private var scheduled: UInt64?

    private init() {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [unowned self] in self.sweep() }
        timer.activate()
    }

    /// The deadline `timeout` from now, in uptime nanoseconds.
    static func deadline(after timeout: Duration) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds &+ nanoseconds(timeout)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// Expires `item` at `deadline` (from ``deadline(after:)`` with `timeout`) unless it has finished by then.
    func add(_ item: any Expirable, deadline: UInt64, timeout: Duration) {
        let key = Self.nanoseconds(timeout)
        lock.lock()
        queues[key, default: ([], 0)].entries.append(Entry(deadline: deadline, item: item))
        if scheduled.map({ deadline < $0 }) ?? true {
            scheduled = deadline
            arm(deadline)
        }
        lock.unlock()
    }

    /// Called with `lock` held, so that the timer is always set to `scheduled`.
    private func arm(_ deadline: UInt64) {
        timer.schedule(
            deadline: DispatchTime(uptimeNanoseconds: deadline), repeating: .never, leeway: .milliseconds(1))
    }

    private func sweep() {
        let now = DispatchTime.now().uptimeNanoseconds
        var expired: [any Expirable] = []
        var next: UInt64?
        lock.lock()
        for key in Array(queues.keys) {
            var (entries, head) = queues[key]!
            queues[key] = nil  // no copy-on-write while it is edited
            while head < entries.count {
                let entry = entries[head]
                if entry.item.isFinished {
                    head += 1
                } else if entry.deadline <= now {
                    expired.append(entry.item)
                    head += 1
                } else {
                    next = min(next ?? entry.deadline, entry.deadline)
                    break
                }
            }
            if head == entries.count { continue }  // the queue is empty: dropped
            if head >= 1024 && head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
            queues[key] = (entries, head)
        }
        scheduled = next
        if let next { arm(next) }
        lock.unlock()
        for item in expired { item.expire() }
    }
}

/// A continuation resumed exactly once, by whichever of the work, the deadline or a
/// cancellation comes first.
private final class ResumeOnce<T: Sendable>: Expirable, @unchecked Sendable {
    private let what: String
    private let limit: Duration
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var done = false
    private var work: Task<Void, Never>?
    private var cancelled = false

    init(what: String, limit: Duration) {
        self.what = what
        self.limit = limit
    }

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let pending {
            self.pending = nil
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    /// The task running the work: cancelled when the wait is cancelled or expires.
    func setWork(_ task: Task<Void, Never>) {
        lock.lock()
        let cancelNow = cancelled
        if !cancelNow { work = task }
        lock.unlock()
        if cancelNow { task.cancel() }
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
        work = nil
        let continuation = self.continuation
        self.continuation = nil
        if continuation == nil { pending = result }
        lock.unlock()
        continuation?.resume(with: result)
        return true
    }

    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    func expire() {
        endEarly(TimeoutError(what: what, limit: limit))
    }

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
        endEarly(CancellationError())
    }

    /// Resumes with `error` unless already resumed, and cancels the work.
    private func endEarly(_ error: any Error) {
        lock.lock()
        let work = self.work
        self.work = nil
        lock.unlock()
        if resume(.failure(error)) { work?.cancel() }
    }
}
