import Foundation
import PipelineCore

/// An access token and when it stops being valid.
public struct CachedToken: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The token itself (printed nowhere; see `description`).
    public var value: String
    public var expiresAt: Date

    public init(value: String, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }

    public var description: String { "token \(Redactor.mask) until \(expiresAt)" }
}

/// Where tokens are kept between calls; a shared implementation (the state store) lets
/// several masscast processes use one token instead of invalidating each other's.
public protocol TokenCache: Sendable {
    func load(appID: String) async -> CachedToken?
    func store(_ token: CachedToken, appID: String) async
    /// Forgets `token` if it is the one stored (another process may have stored a newer one).
    func invalidate(_ token: String, appID: String) async
    /// Runs `body` so that, of all the users of this cache (processes, for a shared one), one
    /// at a time decides whether to fetch a token, seeing the token stored when its turn came
    /// (perhaps one the previous holder just fetched) and the forced refreshes recorded; the
    /// token `body` fetched is stored before the next one's turn.
    /// - Returns: the token stored afterwards.
    /// - Throws: what `body` throws (nothing is stored), or the cache's own failure.
    func refresh(
        appID: String, _ body: @escaping @Sendable (TokenRefreshContext) async throws -> TokenRefreshDecision
    ) async throws -> CachedToken?
}

/// What a token refresh sees when its turn comes (``TokenCache/refresh(appID:_:)``).
public struct TokenRefreshContext: Sendable {
    /// The token stored now.
    public var current: CachedToken?
    /// When forced refreshes of the account were made (by every user of the cache), oldest first.
    public var forcedRefreshes: [Date]

    public init(current: CachedToken?, forcedRefreshes: [Date]) {
        self.current = current
        self.forcedRefreshes = forcedRefreshes
    }
}

/// What a token refresh decided: keep the stored token, or store the one it fetched.
public enum TokenRefreshDecision: Sendable {
    case keep
    /// `forcedAt`: the fetch used `force_refresh: true` at that time (it counts against the limits).
    case fetched(CachedToken, forcedAt: Date?)
}

/// A token cache in memory, for one process.
public actor MemoryTokenCache: TokenCache {
    private var tokens: [String: CachedToken] = [:]

    public init() {}

    public func load(appID: String) async -> CachedToken? { tokens[appID] }
    public func store(_ token: CachedToken, appID: String) async { tokens[appID] = token }
    public func invalidate(_ token: String, appID: String) async {
        if tokens[appID]?.value == token { tokens[appID] = nil }
    }

    private var forced: [String: [Date]] = [:]
    private var refreshing: Set<String> = []

    public func refresh(
        appID: String, _ body: @escaping @Sendable (TokenRefreshContext) async throws -> TokenRefreshDecision
    ) async throws -> CachedToken? {
        // One refresh at a time per account (the actor is reentrant across `await`).
        while refreshing.contains(appID) {
            try await Task.sleep(for: .milliseconds(5))
        }
        refreshing.insert(appID)
        defer { refreshing.remove(appID) }
        let decision = try await body(TokenRefreshContext(current: tokens[appID], forcedRefreshes: forced[appID] ?? []))
        if case .fetched(let token, let forcedAt) = decision {
            tokens[appID] = token
            if let forcedAt {
                forced[appID, default: []].removeAll { forcedAt.timeIntervalSince($0) >= 86_400 }
                forced[appID, default: []].append(forcedAt)
            }
        }
        return tokens[appID]
    }
}

/// Fetches, caches and refreshes the access token of one account.
///
/// - Concurrent callers share one fetch (single flight).
/// - A token is refreshed `refreshMargin` before it expires.
/// - After a token error, `token(replacing:)` gets the current token; with `stable_token`,
///   when WeChat hands back the very token that failed, it forces a refresh, at most 20 a day
///   and 30 s apart, as WeChat allows (unless `mayForceRefresh` is `false`: a read-only
///   caller such as a preflight never invalidates the token other processes hold). It never
///   loops: the caller repeats its call once.
public actor TokenProvider {
    public struct Credentials: Sendable, CustomStringConvertible {
        public var appID: String
        public var secret: Secret

        public init(appID: String, secret: String) {
            self.appID = appID
            self.secret = Secret(secret)
        }

        public var description: String { "appid \(appID), secret \(Redactor.mask)" }
    }

    public let credentials: Credentials
    public let mode: TokenMode
    public let refreshMargin: TimeInterval
    /// Whether `token(replacing:)` may call `stable_token` with `force_refresh: true`.
    public let mayForceRefresh: Bool
    private let baseURL: String
    private let transport: any WeChatTransport
    private let cache: any TokenCache
    private let timeout: Duration
    private let now: @Sendable () -> Date
    /// The refresh under way, per token it replaces (`""`: none).
    private var inFlight: [String: Task<CachedToken, any Error>] = [:]
    /// How many token fetches this provider made (for tests and metrics).
    public private(set) var fetchCount = 0

    public static let forceRefreshDailyLimit = 20
    public static let forceRefreshSpacing: TimeInterval = 30

    public init(
        credentials: Credentials, mode: TokenMode = .stable, baseURL: String, transport: any WeChatTransport,
        cache: any TokenCache = MemoryTokenCache(), refreshMargin: TimeInterval = 300, timeout: Duration = .seconds(10),
        mayForceRefresh: Bool = true, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.mayForceRefresh = mayForceRefresh
        self.credentials = credentials
        self.mode = mode
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.transport = transport
        self.cache = cache
        self.refreshMargin = refreshMargin
        self.timeout = timeout
        self.now = now
    }

    /// A valid token: the cached one, or a fresh one fetched once for all waiting callers
    /// (of this process and, with a shared cache, of every process using it).
    public func token() async throws(WeChatError) -> String {
        if let cached = await cache.load(appID: credentials.appID), cached.expiresAt.timeIntervalSince(now()) > refreshMargin {
            return cached.value
        }
        return try await refreshShared(replacing: nil).value
    }

    /// The token to use after `failed` was rejected (40001, 40014, 42001, 41001).
    public func token(replacing failed: String) async throws(WeChatError) -> String {
        await cache.invalidate(failed, appID: credentials.appID)
        if let cached = await cache.load(appID: credentials.appID), cached.value != failed,
            cached.expiresAt.timeIntervalSince(now()) > refreshMargin
        {
            return cached.value  // another caller (or process) already replaced it
        }
        return try await refreshShared(replacing: failed).value
    }

    nonisolated private func limited(_ detail: String) -> WeChatError {
        WeChatError.tokenRefreshLimited(detail, endpoint: "stable_token", errorClass: .token, delivery: .received)
    }

    /// One refresh per token replaced for this process's callers; the cache's lock makes it
    /// one across processes.
    private func refreshShared(replacing failed: String?) async throws(WeChatError) -> CachedToken {
        let key = failed ?? ""
        if let task = inFlight[key] {
            return try await Self.wait(task)
        }
        let task = Task { [self] () async throws -> CachedToken in
            try await self.refreshUnderLock(replacing: failed)
        }
        inFlight[key] = task
        defer { if inFlight[key] == task { inFlight[key] = nil } }
        return try await Self.wait(task)
    }

    /// Under the cache's lock: keep a token stored meanwhile, else fetch one; when
    /// `stable_token` hands back the very token WeChat refused, force a refresh, at most 20 a
    /// day and 30 s apart (counted by the cache, so across processes for a shared one).
    private func refreshUnderLock(replacing failed: String?) async throws -> CachedToken {
        let appID = credentials.appID
        let stored = try await cache.refresh(appID: appID) { [self] context in
            let current = self.now()
            if let token = context.current, token.value != failed,
                token.expiresAt.timeIntervalSince(current) > self.refreshMargin
            {
                return .keep
            }
            let fresh = try await self.fetch(forceRefresh: false)
            guard let failed, fresh.value == failed, self.mode == .stable else { return .fetched(fresh, forcedAt: nil) }
            guard self.mayForceRefresh else {
                throw self.limited("WeChat rejected the access token, and stable_token returned the same one; a forced refresh would invalidate the token other masscast processes hold, so this read-only caller does not make one (run the broadcast, or wait for the token to rotate)")
            }
            // stable_token handed back the very token WeChat just refused: only a forced refresh helps.
            let recent = context.forcedRefreshes.filter { current.timeIntervalSince($0) < 86_400 }
            if recent.count >= Self.forceRefreshDailyLimit {
                throw self.limited("WeChat rejected the access token, and stable_token returned the same one; force_refresh was already used \(Self.forceRefreshDailyLimit) times in 24 hours (WeChat's limit)")
            }
            if let last = recent.max(), current.timeIntervalSince(last) < Self.forceRefreshSpacing {
                let wait = Int((Self.forceRefreshSpacing - current.timeIntervalSince(last)).rounded(.up))
                throw self.limited("WeChat rejected the access token, and stable_token returned the same one; force_refresh may be used again in \(wait) s (at most once every 30 s)")
            }
            return .fetched(try await self.fetch(forceRefresh: true), forcedAt: current)
        }
        guard let stored else {
            throw WeChatError.invalidResponse(
                "the token cache holds no token after a refresh", endpoint: "token", errorClass: .transient, delivery: .notSent)
        }
        return stored
    }

    private static func wait(_ task: Task<CachedToken, any Error>) async throws(WeChatError) -> CachedToken {
        do {
            return try await task.value
        } catch let error as WeChatError {
            throw error
        } catch {
            throw WeChatError.invalidResponse(
                "token fetch failed: \(error)", endpoint: "token", errorClass: .transient, delivery: .notSent)
        }
    }

    private func fetch(forceRefresh: Bool) async throws(WeChatError) -> CachedToken {
        fetchCount += 1
        let endpoint = mode == .stable ? "stable_token" : "token"
        let request: TransportRequest
        switch mode {
        case .stable:
            let body = StableTokenRequest(appid: credentials.appID, secret: credentials.secret.value, forceRefresh: forceRefresh)
            let data: Data
            do { data = try WeChatJSON.encoder().encode(body) } catch {
                throw WeChatError.invalidRequest("could not encode the token request", endpoint: endpoint)
            }
            request = TransportRequest(method: .post, url: "\(baseURL)/cgi-bin/stable_token", body: data, timeout: timeout)
        case .classic:
            var components = URLComponents(string: "\(baseURL)/cgi-bin/token")
            components?.queryItems = [
                URLQueryItem(name: "grant_type", value: "client_credential"),
                URLQueryItem(name: "appid", value: credentials.appID),
                URLQueryItem(name: "secret", value: credentials.secret.value),
            ]
            request = TransportRequest(method: .get, url: components?.string ?? "", timeout: timeout)
        }
        let response: TransportResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw WeChatError.transport(error, endpoint: endpoint)
        }
        guard response.status == 200 else {
            throw WeChatError.http(
                status: response.status, endpoint: endpoint, errorClass: response.status >= 500 ? .transient : .permanent,
                delivery: .received)
        }
        let redactor = Redactor(secrets: [credentials.secret.value])
        if let status = try? WeChatJSON.decode(APIStatus.self, from: response.body), status.errcode != 0 {
            throw WeChatError.api(
                errcode: status.errcode, errmsg: redactor.scrub(status.errmsg), endpoint: endpoint,
                errorClass: Errcodes.classify(status.errcode))
        }
        guard let token = try? WeChatJSON.decode(AccessTokenResponse.self, from: response.body), !token.accessToken.isEmpty
        else {
            throw WeChatError.invalidResponse(
                "no access_token in the answer", endpoint: endpoint, errorClass: .transient, delivery: .received)
        }
        return CachedToken(value: token.accessToken, expiresAt: now().addingTimeInterval(TimeInterval(token.expiresIn)))
    }
}
