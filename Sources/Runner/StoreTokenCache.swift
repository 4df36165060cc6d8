import Foundation
import RunState
import WeChatMP

/// WeChatMP's token cache kept in the state store, so the masscast processes of one machine
/// share one token instead of invalidating each other's (a classic `/token` call replaces
/// the previous token; a shared cache means only one process fetches).
///
/// The token read from the store is kept in memory and used for up to `rereadInterval`
/// without reading the store again (a run makes one call per step; reading the store for
/// each was most of a fast step's cost). Storing or invalidating a token always goes to the
/// store, and an invalidation also forgets the memory copy, so a token error still makes
/// the next load read the token another process may have stored.
public final class StoreTokenCache: TokenCache, @unchecked Sendable {
    let store: any TokenCacheStore
    /// The API identity tokens are kept under (`AccountSettings.endpoint`): a token of one
    /// sandbox instance, or of the real API, is never offered to another.
    let api: String
    /// How long a token read from the store is used before the store is read again.
    public let rereadInterval: Duration
    private let lock = NSLock()
    private var memory: [String: (token: CachedToken, readAt: ContinuousClock.Instant)] = [:]

    public init(store: any TokenCacheStore, api: String, rereadInterval: Duration = .seconds(1)) {
        self.store = store
        self.api = api
        self.rereadInterval = rereadInterval
    }

    public func load(appID: String) async -> CachedToken? {
        let now = ContinuousClock.now
        if let kept = lock.withLock({ memory[appID] }), now - kept.readAt < rereadInterval { return kept.token }
        guard let t = try? await store.loadToken(api: api, appID: appID) else {
            lock.withLock { memory[appID] = nil }
            return nil
        }
        let token = CachedToken(value: t.value, expiresAt: t.expiresAt)
        lock.withLock { memory[appID] = (token, now) }
        return token
    }

    public func store(_ token: CachedToken, appID: String) async {
        lock.withLock { memory[appID] = nil }
        try? await store.storeToken(StoredToken(value: token.value, expiresAt: token.expiresAt), api: api, appID: appID)
    }

    public func invalidate(_ token: String, appID: String) async {
        lock.withLock { memory[appID] = nil }
        try? await store.invalidateToken(token, api: api, appID: appID)
    }

    /// The store's refresh lock (one refresher per account across the processes sharing the
    /// store; the forced refreshes counted in the store).
    public func refresh(
        appID: String, _ body: @escaping @Sendable (TokenRefreshContext) async throws -> TokenRefreshDecision
    ) async throws -> CachedToken? {
        lock.withLock { memory[appID] = nil }
        let stored = try await store.refreshToken(api: api, appID: appID) { state in
            let context = TokenRefreshContext(
                current: state.stored.map { CachedToken(value: $0.value, expiresAt: $0.expiresAt) },
                forcedRefreshes: state.forcedRefreshes)
            switch try await body(context) {
            case .keep: return .keep
            case .fetched(let token, let forcedAt):
                return .fetched(StoredToken(value: token.value, expiresAt: token.expiresAt), forcedAt: forcedAt)
            }
        }
        guard let stored else { return nil }
        let token = CachedToken(value: stored.value, expiresAt: stored.expiresAt)
        lock.withLock { memory[appID] = (token, ContinuousClock.now) }
        return token
    }
}
