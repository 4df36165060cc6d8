import Foundation

/// The listeners' replay memory kept in the store (the PostgreSQL store), so that listeners
/// behind a load balancer refuse a push replayed to another instance. Pairs are kept until
/// their expiry (the end of the timestamp window), after which the window check refuses them.
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol SharedReplayMemory: Sendable {
    /// Remembers `(account, timestamp, nonce)` until `expiresAt`: `true` if it was new (or its
    /// earlier memory had expired at `now`), `false` for a replay.
    func admitPush(account: String, timestamp: Int64, nonce: String, now: Date, expiresAt: Date) async throws -> Bool
    /// Forgets the pair (its push could not be stored, so WeChat's retry must be accepted).
    func forgetPush(account: String, timestamp: Int64, nonce: String) async throws
}
