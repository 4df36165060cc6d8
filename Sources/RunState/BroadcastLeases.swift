import Foundation

/// A broadcast's lease: who applies it now and until when (`masscast apply`).
public struct BroadcastLease: Sendable, Hashable, Codable {
    public var identity: BroadcastIdentity
    /// Who holds it (`host:pid`).
    public var owner: String
    public var acquiredAt: Date
    /// After this instant the lease is void: another applier may take it.
    public var expiresAt: Date
    /// The fencing epoch: 1 for the first holder, one more at every takeover (a new holder
    /// after an expiry, a release or `force-unlock`); the same holder taking its own lease
    /// again keeps it. A write fenced by an older epoch is refused (`leaseLost`).
    public var epoch: Int64

    public init(identity: BroadcastIdentity, owner: String, acquiredAt: Date, expiresAt: Date, epoch: Int64 = 1) {
        self.identity = identity
        self.owner = owner
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.epoch = epoch
    }
}

/// What a fenced write proves: that its writer still holds the broadcast's lease at this epoch.
public struct LeaseFence: Sendable, Hashable {
    public var identity: BroadcastIdentity
    public var owner: String
    public var epoch: Int64

    public init(identity: BroadcastIdentity, owner: String, epoch: Int64) {
        self.identity = identity
        self.owner = owner
        self.epoch = epoch
    }

    /// The fence of a lease its holder has just taken.
    public init(_ lease: BroadcastLease) {
        self.init(identity: lease.identity, owner: lease.owner, epoch: lease.epoch)
    }
}

/// What `forceTakeLease` decided.
public enum ForceTakeResult: Sendable, Hashable {
    /// The caller holds the lease now, at the next epoch.
    case taken(BroadcastLease)
    /// The lease's epoch is no longer the one given (it was taken over or renewed by a new
    /// holder meanwhile): nothing changed.
    case epochMoved(current: BroadcastLease)
    /// Nobody holds a lease of that broadcast.
    case notHeld
}

/// What `acquireLease` decided.
public enum LeaseResult: Sendable, Hashable {
    /// The caller holds the lease (a new one, its own renewed, or one whose holder let it
    /// expire). `takenFrom` is that previous holder's lease, as the same transaction found it
    /// (expired, not released, another owner): `nil` for a free, released or own lease.
    case acquired(BroadcastLease, takenFrom: BroadcastLease?)
    /// Another owner holds it until `until`. On PostgreSQL also a lease row that another
    /// process is claiming at this very moment (locked: skipped, not waited for); `owner` and
    /// `until` are then those the row had before that claim.
    case held(owner: String, until: Date)

    public var acquired: BroadcastLease? {
        if case .acquired(let lease, _) = self { return lease }
        return nil
    }

    /// The lease this acquire took over from another holder whose lease had expired.
    public var takenFrom: BroadcastLease? {
        if case .acquired(_, let previous) = self { return previous }
        return nil
    }
}

/// Per-broadcast leases and serials: what lets two appliers share a store without running
/// the same broadcast, and lets a saved plan see that the broadcast moved since.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol BroadcastLeases: Sendable {
    /// Takes the lease of `identity` for `owner` until `now + ttl`, unless another owner holds
    /// a lease that has not expired at `now`. A broadcast the store has never seen can be
    /// leased (apply leases before it decides to send). The previous holder a takeover
    /// replaced is read in the same transaction (`LeaseResult.takenFrom`). A claim in flight
    /// by another process is skipped, not waited for (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
    /// a SQLite file serialises claims in its write transaction).
    func acquireLease(_ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date) async throws
        -> LeaseResult

    /// Extends `owner`'s lease to `now + ttl`; `false` if `owner` no longer holds it (it
    /// expired and another owner took it, or it was released): the caller must stop.
    func renewLease(_ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date) async throws -> Bool

    /// Gives up `owner`'s lease (nothing happens if `owner` does not hold it).
    func releaseLease(_ identity: BroadcastIdentity, owner: String) async throws

    /// The lease of `identity`, expired or not, if one was taken and not released.
    func lease(_ identity: BroadcastIdentity) async throws -> BroadcastLease?

    /// The broadcast's serial: 0 for a broadcast never run; every change of its state (a
    /// run started, claimed or finished, a new generation, a journal entry of one of its
    /// runs) increments it. A saved plan binds to it.
    func serial(_ identity: BroadcastIdentity) async throws -> Int64

    /// The runs of the broadcast's `generation`, newest first (what apply reads to decide).
    func runs(of identity: BroadcastIdentity, generation: Int) async throws -> [RunRecord]

    /// This store's identity: a random id given when the store was created, the same for
    /// every process that opens it (a saved plan binds to it).
    func storeIdentity() async throws -> String

    /// Every lease taken and not released (expired or not), by broadcast name, then identity.
    func leases() async throws -> [BroadcastLease]

    /// Takes the lease of `identity` for `owner` until `now + ttl` whoever holds it, if its
    /// epoch is still `epoch` (`masscast force-unlock`); the epoch moves on by one, so the
    /// previous holder's next fenced write is refused.
    func forceTakeLease(_ identity: BroadcastIdentity, epoch: Int64, owner: String, ttl: TimeInterval, now: Date)
        async throws -> ForceTakeResult

    /// Writes the journal entry, as `SendJournal.journal`, in one transaction with the check
    /// that `fence`'s owner still holds the broadcast's lease at `fence`'s epoch (expired or
    /// not, as long as nobody took it over).
    ///
    /// - Throws: `StateStoreError` with code `.leaseLost` (nothing written) when the lease was
    ///   taken over, forced or released: the caller must stop without making the call.
    func journal(_ entry: JournalEntry, fence: LeaseFence) async throws
}
