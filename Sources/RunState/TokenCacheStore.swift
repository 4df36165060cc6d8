import Foundation

/// The access-token cache shared by the processes that use the same store, per API identity
/// (the one place a secret is stored: see the store's documentation for how it is protected).
///
/// Every method is a transaction: after it returns, the change survives `kill -9`.
public protocol TokenCacheStore: Sendable {
    func loadToken(api: String, appID: String) async throws -> StoredToken?
    func storeToken(_ token: StoredToken, api: String, appID: String) async throws
    /// Forgets the token only if it is still the stored one (another process may have
    /// stored a newer one meanwhile).
    func invalidateToken(_ value: String, api: String, appID: String) async throws

    /// Runs `body` holding the account's refresh lock, so that of all the processes sharing
    /// the store one at a time decides whether to fetch a token (the others wait, then find
    /// the token it stored). `body` gets the stored token and the recorded forced refreshes;
    /// what it returns is stored (with the forced refresh, if any) before the lock is let go.
    /// PostgreSQL locks the token row (`SELECT … FOR UPDATE`); SQLite claims it in a write
    /// transaction.
    ///
    /// - Returns: the token stored afterwards (`nil` if `body` kept an empty cache).
    /// - Throws: what `body` throws, unchanged (nothing is stored); a `StateStoreError` if the
    ///   store fails, or (`.busy`) if the lock was not had within the store's time limit.
    func refreshToken(
        api: String, appID: String, _ body: @escaping @Sendable (TokenRefreshState) async throws -> TokenRefreshResult
    ) async throws -> StoredToken?
}
