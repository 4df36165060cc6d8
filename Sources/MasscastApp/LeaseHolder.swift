import Foundation
import RunState
import Runner

/// The broadcast's lease as one run holds it — the same for `apply`, `run` and `resume`:
/// taken before the run decides or starts, renewed every third of its ttl while the run goes
/// on, released at the end. Its epoch fences the run's journal intents (a takeover elsewhere
/// makes the next intent fail with "lease lost", before WeChat is called), and past two
/// thirds of the ttl since the last renewal the run starts no new send.
public final class LeaseHolder: @unchecked Sendable {
    /// The store the lease is kept in.
    public let store: any StateStore
    /// Who holds it (`host:pid`): the run's owner.
    public let owner: String
    /// How long it lasts without renewal.
    public let ttl: TimeInterval
    let executor: RunExecutor

    private let lock = NSLock()
    private var held: BroadcastLease?
    private var renewal: Task<Void, Never>?

    init(store: any StateStore, owner: String, ttl: TimeInterval, executor: RunExecutor) {
        self.store = store
        self.owner = owner
        self.ttl = ttl
        self.executor = executor
    }

    /// The lease this holder holds now (as taken: renewals move its expiry on in the store).
    public var lease: BroadcastLease? { lock.withLock { held } }

    /// Takes the lease of the run's broadcast for `owner` at `now`. Taken (`.acquired`): the
    /// run's intents are fenced by its epoch, a takeover from another holder is logged
    /// (`run.taken_over`, naming the holder the acquire itself replaced), and the margin set.
    /// A holder on this host whose process is gone (a killed runner) holds nothing: its lease
    /// is released and taken. `.held`: another owner's lease is live; nothing changed.
    public func acquire(now: Date) async throws -> LeaseResult {
        let identity = await executor.broadcastIdentity
        let asked = ContinuousClock.now
        var result = try await store.acquireLease(identity, owner: owner, ttl: ttl, now: now)
        var previousOwner = result.takenFrom?.owner
        if case .held(let holder, _) = result, !RunOptions.isProcessAlive(holder) {
            try await store.releaseLease(identity, owner: holder)
            result = try await store.acquireLease(identity, owner: owner, ttl: ttl, now: now)
            previousOwner = result.takenFrom?.owner ?? holder
        }
        guard let lease = result.acquired else { return result }
        lock.withLock { held = lease }
        await executor.fence(LeaseFence(lease))
        if let previousOwner, previousOwner != owner {
            await executor.tookOver(from: previousOwner, epoch: lease.epoch)
        }
        await executor.leaseMargin(until: Self.margin(from: asked, ttl: ttl))
        return result
    }

    /// Renews the lease every third of its ttl until ``release()``. A renewal refused (the
    /// lease moved to another holder) stops the run (lease lost); one that fails (the store
    /// unreachable) leaves the margin where it was, and past it no new send starts.
    public func startRenewal() {
        guard let lease else { return }
        let (store, owner, ttl, executor) = (self.store, self.owner, self.ttl, self.executor)
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(ttl / 3))
                if Task.isCancelled { break }
                let at = ContinuousClock.now
                guard let renewed = try? await store.renewLease(lease.identity, owner: owner, ttl: ttl, now: Date())
                else { continue }
                if renewed {
                    await executor.leaseMargin(until: Self.margin(from: at, ttl: ttl))
                } else {
                    executor.stop(reason: .leaseLost)
                    break
                }
            }
        }
        lock.withLock {
            renewal?.cancel()
            renewal = task
        }
    }

    /// Stops renewing and gives the lease up (nothing happens when none is held).
    public func release() async {
        let (lease, task) = lock.withLock { () -> (BroadcastLease?, Task<Void, Never>?) in
            defer { (held, renewal) = (nil, nil) }
            return (held, renewal)
        }
        task?.cancel()
        if let lease { try? await store.releaseLease(lease.identity, owner: owner) }
    }

    /// From when a lease taken or renewed at `at` (asked for then: the store's answer may come
    /// later) may be close enough to expiring that no new send starts: its last third. Real
    /// time, whatever clock the run's schedule follows.
    static func margin(from at: ContinuousClock.Instant, ttl: TimeInterval) -> ContinuousClock.Instant {
        at.advanced(by: .seconds(ttl * 2 / 3))
    }
}
