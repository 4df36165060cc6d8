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
    private var inFlight: Task<CachedToken, any Error>?
    /// Times of forced refreshes in the last 24 hours.
    private var forcedRefreshes: [Date] = []
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

    /// A valid token: the cached one, or a fresh one fetched once for all waiting callers.
    public func token() async throws(WeChatError) -> String {
        if let cached = await cache.load(appID: credentials.appID), cached.expiresAt.timeIntervalSince(now()) > refreshMargin {
            return cached.value
        }
        return try await fetchShared(forceRefresh: false).value
    }

    /// The token to use after `failed` was rejected (40001, 40014, 42001, 41001).
    public func token(replacing failed: String) async throws(WeChatError) -> String {
        await cache.invalidate(failed, appID: credentials.appID)
        if let cached = await cache.load(appID: credentials.appID), cached.value != failed,
            cached.expiresAt.timeIntervalSince(now()) > refreshMargin
        {
            return cached.value  // another caller (or process) already replaced it
        }
        let fresh = try await fetchShared(forceRefresh: false)
        guard fresh.value == failed, mode == .stable else { return fresh.value }
        guard mayForceRefresh else {
            throw limited("WeChat rejected the access token, and stable_token returned the same one; a forced refresh would invalidate the token other masscast processes hold, so this read-only caller does not make one (run the broadcast, or wait for the token to rotate)")
        }
        // stable_token handed back the very token WeChat just refused: only a forced refresh helps.
        let current = now()
        forcedRefreshes.removeAll { current.timeIntervalSince($0) >= 86_400 }
        if forcedRefreshes.count >= Self.forceRefreshDailyLimit {
            throw limited("WeChat rejected the access token, and stable_token returned the same one; force_refresh was already used \(Self.forceRefreshDailyLimit) times in 24 hours (WeChat's limit)")
        }
        if let last = forcedRefreshes.last, current.timeIntervalSince(last) < Self.forceRefreshSpacing {
            let wait = Int((Self.forceRefreshSpacing - current.timeIntervalSince(last)).rounded(.up))
            throw limited("WeChat rejected the access token, and stable_token returned the same one; force_refresh may be used again in \(wait) s (at most once every 30 s)")
        }
        forcedRefreshes.append(current)
        await cache.invalidate(failed, appID: credentials.appID)
        return try await fetchShared(forceRefresh: true).value
    }

    private func limited(_ detail: String) -> WeChatError {
        WeChatError.tokenRefreshLimited(detail, endpoint: "stable_token", errorClass: .token, delivery: .received)
    }

    private func fetchShared(forceRefresh: Bool) async throws(WeChatError) -> CachedToken {
        if let inFlight, !forceRefresh {
            return try await Self.wait(inFlight)
        }
        let task = Task { [self] () async throws -> CachedToken in
            try await self.fetch(forceRefresh: forceRefresh)
        }
        inFlight = task
        defer { if inFlight == task { inFlight = nil } }
        return try await Self.wait(task)
    }

    private static func wait(_ task: Task<CachedToken, any Error>) async throws(WeChatError) -> CachedToken {
        do {
            return try await task.value
        } catch let error as WeChatError {
            throw error
        } catch {
            throw WeChatError.invalidResponse(
                "token fetch failed", endpoint: "token", errorClass: .transient, delivery: .notSent)
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
        let cached = CachedToken(value: token.accessToken, expiresAt: now().addingTimeInterval(TimeInterval(token.expiresIn)))
        await cache.store(cached, appID: credentials.appID)
        return cached
    }
}
