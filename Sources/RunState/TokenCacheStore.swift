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
}
