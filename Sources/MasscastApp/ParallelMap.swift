import Dispatch
import Foundation

/// Maps indices to results on several threads; results keep index order.
public enum ParallelMap {
    /// `body(0..<count)` on up to `jobs` threads, in index order.
    public static func run<T: Sendable>(_ count: Int, jobs: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let workers = max(1, min(jobs, count))
        if workers == 1 { return (0..<count).map(body) }
        let box = ResultBox<T>(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = box.claim() {
                box.store(body(i), at: i)
            }
        }
        return box.results()
    }
}

/// Hands out indices and collects results under a lock.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private let count: Int
    private var slots: [T?]

    init(count: Int) {
        self.count = count
        self.slots = Array(repeating: nil, count: count)
    }

    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        defer { next += 1 }
        return next
    }

    func store(_ value: T, at index: Int) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func results() -> [T] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}

/// Whether `error` is a bind failing with EADDRINUSE (NIO's `IOError` says "Address already in use").
public func isAddressInUse(_ error: any Error) -> Bool {
    let text = String(describing: error)
    return text.contains("Address already in use") || text.contains("errno: \(EADDRINUSE))")
        || text.contains("(errno: \(EADDRINUSE)")
}
