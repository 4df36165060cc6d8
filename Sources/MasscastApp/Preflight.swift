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

/// What a preflight found out about an account: facts instead of guesses, and what it could
/// not check and why. A value: encodable (a plan embeds it), no secret or token in it.
public struct PreflightFacts: Sendable, Hashable, Codable {
    /// One tag of the account.
    public struct Tag: Sendable, Hashable, Codable {
        /// The tag id.
        public var id: Int
        /// Its name in the account.
        public var name: String
        /// Its follower count, as `tags/get` reports it.
        public var followers: Int
        /// Its members counted through `user/tag/get`, when asked for (``PreflightRequest/countMembersOf``).
        public var countedMembers: Int?

        /// Creates a tag fact.
        public init(id: Int, name: String, followers: Int, countedMembers: Int? = nil) {
            self.id = id
            self.name = name
            self.followers = followers
            self.countedMembers = countedMembers
        }

        enum CodingKeys: String, CodingKey {
            case id, name, followers, countedMembers = "counted_members"
        }
    }

    /// The account's send speed.
    public struct Speed: Sendable, Hashable, Codable {
        /// The level, 0 (fastest) to 4.
        public var level: Int
        /// Messages a minute at that level (WeChat's `realspeed` × 10,000).
        public var messagesPerMinute: Int

        /// Creates a speed fact.
        public init(level: Int, messagesPerMinute: Int) {
            self.level = level
            self.messagesPerMinute = messagesPerMinute
        }

        enum CodingKeys: String, CodingKey { case level, messagesPerMinute = "messages_per_minute" }
    }

    /// Something a plan must show: a tag that does not exist (an error: the send would be
    /// refused), a tag without followers (a warning: the send would reach no one).
    public struct Finding: Sendable, Hashable, Codable {
        /// How bad it is.
        public enum Severity: String, Sendable, Hashable, Codable { case error, warning }

        /// What was found. Codes extend without breaking callers.
        public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }

            /// The account has no tag with that id (WeChat would refuse the send: 40152).
            public static let tagMissing = Code(rawValue: "tag_missing")
            /// The tag has no followers: a send to it reaches no one.
            public static let tagEmpty = Code(rawValue: "tag_empty")

            public var description: String { rawValue }
        }

        public var severity: Severity
        public var code: Code
        /// The tag concerned.
        public var tagID: Int?
        /// What is wrong and how to fix it.
        public var message: String

        /// Creates a finding.
        public init(_ severity: Severity, _ code: Code, tagID: Int? = nil, message: String) {
            self.severity = severity
            self.code = code
            self.tagID = tagID
            self.message = message
        }

        enum CodingKeys: String, CodingKey { case severity, code, tagID = "tag_id", message }
    }

    /// Something the preflight could not check, and why.
    public struct Unchecked: Sendable, Hashable, Codable {
        /// What: `tags`, `tag 100`, `tag 100 members`, `speed`.
        public var subject: String
        /// Why not (no credentials, WeChat's errcode and what it means, a timeout).
        public var reason: String

        /// Creates an entry.
        public init(_ subject: String, reason: String) {
            self.subject = subject
            self.reason = reason
        }
    }

    /// The account's name (as the pipeline names it).
    public var account: String
    /// Its AppID.
    public var appID: String
    /// When the facts were read.
    public var checkedAt: Date
    /// Every tag of the account, by id (`nil` when `tags/get` could not be read).
    public var tags: [Tag]?
    /// The speed level (`nil` when not asked for or not readable).
    public var speed: Speed?
    /// Errors and warnings about the requested tags, in request order.
    public var findings: [Finding]
    /// What could not be checked.
    public var unchecked: [Unchecked]
    /// The endpoints called, in order (all read-only).
    public var calls: [String]

    /// Creates facts.
    public init(account: String, appID: String, checkedAt: Date, tags: [Tag]? = nil, speed: Speed? = nil,
                findings: [Finding] = [], unchecked: [Unchecked] = [], calls: [String] = []) {
        self.account = account
        self.appID = appID
        self.checkedAt = checkedAt
        self.tags = tags
        self.speed = speed
        self.findings = findings
        self.unchecked = unchecked
        self.calls = calls
    }

    /// The tag with that id, when `tags/get` was read and lists it.
    public func tag(_ id: Int) -> Tag? { tags?.first { $0.id == id } }

    /// `true` when a finding is an error (a plan is then blocked).
    public var hasErrors: Bool { findings.contains { $0.severity == .error } }

    /// Facts for an account that could not be asked at all (no credentials, `--preflight`
    /// not given): every requested check is unchecked with `reason`.
    public static func unavailable(account: String, appID: String, request: PreflightRequest, reason: String,
                                   at now: Date) -> PreflightFacts {
        var unchecked = [Unchecked("tags", reason: reason)]
        unchecked += Preflight.unique(request.tagIDs + request.countMembersOf).map { Unchecked("tag \($0)", reason: reason) }
        if request.speed { unchecked.append(Unchecked("speed", reason: reason)) }
        return PreflightFacts(account: account, appID: appID, checkedAt: now, unchecked: unchecked)
    }

    enum CodingKeys: String, CodingKey {
        case account, appID = "appid", checkedAt = "checked_at", tags, speed, findings, unchecked, calls
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
