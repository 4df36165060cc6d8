import Foundation

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
