import Foundation
import WeChatSandbox

/// One virtual time for a whole test: the runner's clock and `now`, the in-process
/// transport's latencies and the sandbox's wall time all read it, so that two hours of
/// waiting take as long as the work done in them.
///
/// Time moves only forward and only by a driver: when every task has had its turn
/// (``settle()``) and the sleepers have not changed meanwhile, it jumps to the earliest
/// sleeper's deadline and wakes it (and every other sleeper due then). Work that is not
/// sleeping on this clock (a store write on its own thread) can see time jump by up to the
/// next sleeper's deadline, as if that work were slow: never past a deadline no one asked for.
///
/// Unlike swift-clocks' `TestClock` (used where a test advances time by hand), the time here
/// advances by itself to whatever is due next, so a runner can be left to run.
public final class VirtualClock: Clock, @unchecked Sendable {
    /// A point on the clock: how far it is from the start.
    public struct Instant: InstantProtocol {
        /// The distance from the clock's start.
        public var offset: Duration
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private var current = Duration.zero
    private var sleepers: [Sleeper] = []
    private var cancelledBeforeSleeping = Set<Int>()
    private var nextID = 0
    /// Changes whenever a sleeper comes or goes: the driver advances only when it held still.
    private var generation = 0
    /// Sleepers woken by the last step whose tasks have not slept again yet: until they have
    /// (or a moment of real time has passed: a task that goes on without sleeping), time
    /// stands still, so a woken task is never overtaken by a jump it did not ask for.
    private var pendingWoken = 0
    private var lastWake = ContinuousClock.now
    private var moves = 0
    private var idleChecks = 0
    /// The wall time at offset zero.
    public let start: Date

    /// A clock at offset zero, which is `start` in wall time.
    public init(start: Date = Date()) { self.start = start }

    public var minimumResolution: Duration { .zero }
    public var now: Instant { Instant(offset: lock.withLock { current }) }
    /// How far the clock has moved.
    public var elapsed: Duration { lock.withLock { current } }
    /// How many times the driver moved the clock, and how many times it looked (each look
    /// settles every runnable task first): what a test's real time is spent on.
    public var driverCounts: (moves: Int, looks: Int) { lock.withLock { (moves, idleChecks) } }
    /// Wall time on this clock (`RunOptions.now`).
    public var date: Date { start.addingTimeInterval(elapsed.seconds) }
    /// The sandbox's view of the same time.
    public var sandboxClock: any SandboxClock { Wall(clock: self) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = lock.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: (any Error)?? = lock.withLock {
                    if cancelledBeforeSleeping.remove(id) != nil { return .some(CancellationError()) }
                    if deadline.offset <= current { return .some(nil) }
                    sleepers.append(Sleeper(id: id, deadline: deadline.offset, continuation: continuation))
                    generation += 1
                    if pendingWoken > 0 { pendingWoken -= 1 }
                    return nil
                }
                switch resumeNow {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let sleeper = lock.withLock { () -> Sleeper? in
                guard let i = sleepers.firstIndex(where: { $0.id == id }) else {
                    cancelledBeforeSleeping.insert(id)
                    return nil
                }
                generation += 1
                return sleepers.remove(at: i)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Lets every runnable task run a while (as swift-concurrency-extras' `megaYield`).
    public static func settle(_ rounds: Int = 10) async {
        for _ in 0..<rounds {
            await Task.detached(priority: .background) { await Task.yield() }.value
        }
    }

    /// One step of the driver: if the sleepers held still over a settle, moves to the earliest
    /// deadline and wakes everyone due. Returns whether time moved.
    @discardableResult
    public func advanceIfIdle() async -> Bool {
        let before = lock.withLock { generation }
        await Self.settle()
        let due = lock.withLock { () -> [Sleeper] in
            idleChecks += 1
            if pendingWoken > 0 && ContinuousClock.now - lastWake < .milliseconds(50) { return [] }
            guard generation == before, let next = sleepers.map(\.deadline).min() else { return [] }
            current = max(current, next)
            let due = sleepers.filter { $0.deadline <= current }
            sleepers.removeAll { $0.deadline <= current }
            generation += 1
            pendingWoken = due.count
            lastWake = ContinuousClock.now
            moves += 1
            return due
        }
        for s in due { s.continuation.resume() }
        return !due.isEmpty
    }

    /// Moves the clock by `duration` at once, waking everyone due (for a test that sets the
    /// scene, e.g. "a day later").
    public func advance(by duration: Duration) {
        let due = lock.withLock { () -> [Sleeper] in
            current += duration
            let due = sleepers.filter { $0.deadline <= current }
            sleepers.removeAll { $0.deadline <= current }
            generation += 1
            return due
        }
        for s in due { s.continuation.resume() }
    }

    /// Runs the driver until cancelled; `onStep` runs before each step (the rig ticks the
    /// sandbox there, so that pushes go out on virtual time).
    public func drive(onStep: @escaping @Sendable () async -> Void = {}) -> Task<Void, Never> {
        Task.detached { [self] in
            while !Task.isCancelled {
                await onStep()
                if !(await advanceIfIdle()) {
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
        }
    }

    private struct Wall: SandboxClock {
        let clock: VirtualClock
        func now() -> Date { clock.date }
    }
}

