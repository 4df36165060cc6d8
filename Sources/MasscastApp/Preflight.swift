import Foundation
import RunState
import Runner
import WeChatMP

/// What a preflight is asked to check for one account: the tags a plan sends to, the tags
/// whose members must be counted one by one, and the speed level.
public struct PreflightRequest: Sendable, Hashable {
    /// The tags the plan sends to (`filter.tag_id`): each gets an error finding when the
    /// account has no such tag, a warning when it has 0 followers.
    public var tagIDs: [Int]
    /// Tags whose members are counted by paging `user/tag/get` (10,000 a page), for when
    /// the follower count `tags/get` reports is not enough (a plan that needs the list
    /// itself). Most plans leave it empty: `tags/get` already counts every tag.
    public var countMembersOf: [Int]
    /// Whether to read the speed level (`message/mass/speed/get`), for the estimated duration.
    public var speed: Bool

    /// Creates a request.
    public init(tagIDs: [Int] = [], countMembersOf: [Int] = [], speed: Bool = true) {
        self.tagIDs = tagIDs
        self.countMembersOf = countMembersOf
        self.speed = speed
    }
}

/// Turns a plan's guesses about an account into facts, with WeChat's read-only calls only:
/// the access token from the state store's cache or from `stable_token` (never the classic
/// `/cgi-bin/token`, which would invalidate the token production runners hold, and never a
/// forced refresh), `GET tags/get` (tag names and follower counts), `user/tag/get` only
/// for the tags whose members are to be counted, and `message/mass/speed/get`.
///
/// It never throws: what fails becomes an ``PreflightFacts/Unchecked`` entry with its reason.
public struct Preflight: Sendable {
    /// The account, with its credentials.
    public let account: AccountSettings
    /// Bound on each call (the token call included).
    public let timeout: Duration
    /// Pages of `user/tag/get` read at most per tag (10,000 OpenIDs each).
    public let maxMemberPages: Int
    private let client: WeChatClient
    private let now: @Sendable () -> Date

    /// Creates a preflight for one account.
    /// - Parameters:
    ///   - account: the resolved account (``AccountResolver``), with its secret.
    ///   - transport: the HTTP transport (one per process).
    ///   - tokenStore: the state store, whose cached token is used first (and where a
    ///     `stable_token` one is kept for the next caller); `nil`: a token only in memory.
    ///   - timeout: bound on each call.
    public init(
        account: AccountSettings, transport: any WeChatTransport, tokenStore: (any TokenCacheStore)? = nil,
        timeout: Duration = .seconds(10), maxMemberPages: Int = 200, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.account = account
        self.timeout = timeout
        self.maxMemberPages = maxMemberPages
        self.now = now
        let cache: any TokenCache = tokenStore.map { StoreTokenCache(store: $0, api: account.endpoint) } ?? MemoryTokenCache()
        // Always stable_token, whatever the account's token_mode: a classic /token call would
        // replace the token the account's runners hold.
        let tokens = TokenProvider(
            credentials: .init(appID: account.appID, secret: account.secret.value), mode: .stable,
            baseURL: account.apiBase, transport: transport, cache: cache, timeout: timeout, mayForceRefresh: false,
            now: now)
        client = WeChatClient(configuration: .init(baseURL: account.apiBase, timeout: timeout), tokens: tokens,
                              transport: transport)
    }

    /// Reads the facts `request` asks for.
    public func run(_ request: PreflightRequest) async -> PreflightFacts {
        var facts = PreflightFacts(account: account.name, appID: account.appID, checkedAt: now())
        let requested = Self.unique(request.tagIDs)

        // The token first: without one nothing else can be asked.
        do {
            _ = try await client.tokens.token()
            if await client.tokens.fetchCount > 0 { facts.calls.append("stable_token") }
        } catch {
            let reason = "no access token: \(error.description)"
            return PreflightFacts.unavailable(account: account.name, appID: account.appID, request: request,
                                              reason: reason, at: facts.checkedAt)
        }

        do {
            facts.calls.append("tags/get")
            let tags = try await client.getTags()
            facts.tags = tags.map { PreflightFacts.Tag(id: $0.id, name: $0.name, followers: $0.count) }
                .sorted { $0.id < $1.id }
        } catch {
            facts.unchecked.append(.init("tags", reason: "tags/get failed: \(error.description)"))
            facts.unchecked += requested.map { .init("tag \($0)", reason: "tags/get failed") }
        }

        for id in Self.unique(request.countMembersOf) {
            if facts.tags != nil, facts.tag(id) == nil { continue }  // missing: reported below
            switch await countMembers(of: id, calls: &facts.calls) {
            case .success(let count):
                if let index = facts.tags?.firstIndex(where: { $0.id == id }) {
                    facts.tags?[index].countedMembers = count
                }
            case .failure(let failure):
                facts.unchecked.append(.init("tag \(id) members", reason: failure.reason))
            }
        }

        if let tags = facts.tags {
            for id in requested {
                guard let tag = tags.first(where: { $0.id == id }) else {
                    let known = tags.map { "\($0.id) \($0.name)" }.joined(separator: ", ")
                    facts.findings.append(.init(
                        .error, .tagMissing, tagID: id,
                        message: "tag \(id) does not exist on account \(account.name) (its tags: \(known.isEmpty ? "none" : known)); fix the tag_id, or create the tag in the WeChat admin console"))
                    continue
                }
                if (tag.countedMembers ?? tag.followers) == 0 {
                    facts.findings.append(.init(
                        .warning, .tagEmpty, tagID: id,
                        message: "tag \(id) (\(tag.name)) has 0 followers on account \(account.name): a send to it reaches no one"))
                }
            }
        }

        if request.speed {
            do {
                facts.calls.append("message/mass/speed/get")
                let speed = try await client.getSpeed()
                facts.speed = .init(level: speed.speed, messagesPerMinute: speed.realspeed * 10_000)
            } catch {
                facts.unchecked.append(.init("speed", reason: "message/mass/speed/get failed: \(error.description)"))
            }
        }
        return facts
    }

    /// Pages `user/tag/get` to the end (at most ``maxMemberPages``).
    private func countMembers(of tagID: Int, calls: inout [String]) async -> Result<Int, CountFailure> {
        var count = 0
        var next = ""
        for _ in 0..<maxMemberPages {
            calls.append("user/tag/get")
            do {
                let page = try await client.getTagMembers(tagID: tagID, nextOpenID: next)
                count += page.openIDs.count
                if page.isLast { return .success(count) }
                next = page.nextOpenID
            } catch {
                return .failure(CountFailure(reason: "user/tag/get failed after \(count) members: \(error.description)"))
            }
        }
        return .failure(CountFailure(
            reason: "more than \(maxMemberPages * 10_000) members: stopped after \(maxMemberPages) pages of user/tag/get"))
    }

    private struct CountFailure: Error {
        var reason: String
    }

    static func unique(_ ids: [Int]) -> [Int] {
        var seen: Set<Int> = []
        return ids.filter { seen.insert($0).inserted }
    }
}
