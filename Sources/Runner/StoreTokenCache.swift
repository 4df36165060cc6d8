import Foundation
import RunState
import WeChatMP

/// WeChatMP's token cache kept in the state store, so the masscast processes of one machine
/// share one token instead of invalidating each other's (a classic `/token` call replaces
/// the previous token; a shared cache means only one process fetches).
public struct StoreTokenCache: TokenCache {
    let store: any StateStore

    public init(store: any StateStore) { self.store = store }

    public func load(appID: String) async -> CachedToken? {
        guard let t = try? await store.loadToken(appID: appID) else { return nil }
        return CachedToken(value: t.value, expiresAt: t.expiresAt)
    }

    public func store(_ token: CachedToken, appID: String) async {
        try? await store.storeToken(StoredToken(value: token.value, expiresAt: token.expiresAt), appID: appID)
    }

    public func invalidate(_ token: String, appID: String) async {
        try? await store.invalidateToken(token, appID: appID)
    }
}
