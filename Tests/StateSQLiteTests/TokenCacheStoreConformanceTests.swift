import Foundation
import RunState
import StateSQLite
import Testing

/// What any `TokenCacheStore` must do. Each test sees a fresh store only through
/// `TokenCacheStore`.
@Suite("TokenCacheStore conformance")
struct TokenCacheStoreConformanceTests {
    @Test("tokens are cached per account; invalidating an old value keeps a newer token", arguments: StoreKind.allCases)
    func tokenCompareAndSwap(_ kind: StoreKind) async throws {
        try await withTokenCacheStore(kind) { store in
            let app = "wx0000000000000001"
            #expect(try await store.loadToken(api: testAPI, appID: app) == nil)
            let old = StoredToken(value: "OLD-TOKEN-value", expiresAt: at(7_200_000))
            try await store.storeToken(old, api: testAPI, appID: app)
            #expect(try await store.loadToken(api: testAPI, appID: app) == old)

            // Another process refreshed meanwhile.
            let newer = StoredToken(value: "NEW-TOKEN-value", expiresAt: at(9_000_000))
            try await store.storeToken(newer, api: testAPI, appID: app)
            try await store.invalidateToken("OLD-TOKEN-value", api: testAPI, appID: app)
            #expect(try await store.loadToken(api: testAPI, appID: app) == newer)

            try await store.storeToken(StoredToken(value: "OTHER", expiresAt: at(1)), api: testAPI, appID: "wx0000000000000002")
            try await store.invalidateToken("NEW-TOKEN-value", api: testAPI, appID: app)
            #expect(try await store.loadToken(api: testAPI, appID: app) == nil)
            #expect(try await store.loadToken(api: testAPI, appID: "wx0000000000000002")?.value == "OTHER")
        }
    }
}
