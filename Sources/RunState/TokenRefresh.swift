import Foundation

/// What a token refresh found when it took the account's refresh lock (see
/// ``TokenCacheStore/refreshToken(api:appID:_:)``).
public struct TokenRefreshState: Sendable {
    /// The token stored when the lock was taken: perhaps one another process stored while
    /// this one waited for the lock.
    public var stored: StoredToken?
    /// When forced refreshes (`force_refresh: true`) of this account were made, by every
    /// process sharing the store, oldest first; at least those of the last 24 hours.
    public var forcedRefreshes: [Date]

    public init(stored: StoredToken?, forcedRefreshes: [Date]) {
        self.stored = stored
        self.forcedRefreshes = forcedRefreshes
    }
}

/// What a token refresh decided under the lock.
public enum TokenRefreshResult: Sendable {
    /// The stored token is good: nothing changes.
    case keep
    /// A token was fetched: it replaces the stored one; `forcedAt` records a forced refresh
    /// (counted against WeChat's limits by every process).
    case fetched(StoredToken, forcedAt: Date?)
}
