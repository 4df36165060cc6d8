import Foundation

/// One user tag as `GET /cgi-bin/tags/get` lists it: `{"id":134,"name":"北京","count":1466}`.
/// Ids 0–2 are WeChat's reserved system tags (`2` is 星标组, starred followers).
public struct UserTag: Codable, Sendable, Hashable {
    /// The tag id (a send's `filter.tag_id`).
    public var id: Int
    /// The name the account gave it.
    public var name: String
    /// How many followers have the tag.
    public var count: Int

    /// Creates a tag.
    public init(id: Int, name: String, count: Int) {
        self.id = id
        self.name = name
        self.count = count
    }

    private enum CodingKeys: String, CodingKey { case id, name, count }

    /// Decodes numbers written as numbers or strings; a missing count is 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.lenientInt(forKey: .id)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        count = try container.lenientIntIfPresent(forKey: .count) ?? 0
    }

    /// Encodes `{"count":…,"id":…,"name":…}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(count, forKey: .count)
    }
}

/// The answer of `GET /cgi-bin/tags/get`: `{"tags":[…]}`.
public struct TagsResponse: Codable, Sendable, Hashable {
    /// Every tag of the account, the reserved ones included.
    public var tags: [UserTag]

    /// Creates a response.
    public init(tags: [UserTag]) {
        self.tags = tags
    }
}

/// The body of `POST /cgi-bin/user/tag/get`: `{"tagid":134,"next_openid":""}`. An empty
/// `next_openid` starts from the first member; a page's `next_openid` continues after it.
public struct TagMembersRequest: Codable, Sendable, Hashable {
    /// The tag.
    public var tagID: Int
    /// Where to continue: `""` for the first page, else the previous page's `next_openid`.
    public var nextOpenID: String

    /// Creates the body.
    public init(tagID: Int, nextOpenID: String = "") {
        self.tagID = tagID
        self.nextOpenID = nextOpenID
    }

    private enum CodingKeys: String, CodingKey { case tagID = "tagid", nextOpenID = "next_openid" }
}

/// One page of `POST /cgi-bin/user/tag/get`:
/// `{"count":2,"data":{"openid":[…]},"next_openid":"…"}`, up to 10,000 OpenIDs. The list
/// ends with a page whose `count` is 0 (WeChat then leaves `data` out).
public struct TagMembersPage: Codable, Sendable, Hashable {
    /// How many OpenIDs this page holds.
    public var count: Int
    /// The OpenIDs of this page.
    public var openIDs: [String]
    /// Pass it as the next request's `next_openid`; `""` when there is nothing after.
    public var nextOpenID: String

    /// Creates a page.
    public init(count: Int, openIDs: [String], nextOpenID: String) {
        self.count = count
        self.openIDs = openIDs
        self.nextOpenID = nextOpenID
    }

    /// `true` when this page ends the list (nothing on it, or nothing after it).
    public var isLast: Bool { count == 0 || openIDs.isEmpty || nextOpenID.isEmpty }

    private enum CodingKeys: String, CodingKey { case count, data, nextOpenID = "next_openid" }
    private enum DataKeys: String, CodingKey { case openid }

    /// Decodes the WeChat shape; a missing `data` is an empty page.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.lenientIntIfPresent(forKey: .count) ?? 0
        nextOpenID = try container.decodeIfPresent(String.self, forKey: .nextOpenID) ?? ""
        if container.contains(.data), try !container.decodeNil(forKey: .data) {
            let data = try container.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
            openIDs = try data.decodeIfPresent([String].self, forKey: .openid) ?? []
        } else {
            openIDs = []
        }
    }

    /// Encodes the WeChat shape (`data` left out on an empty page).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        if !openIDs.isEmpty {
            var data = container.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
            try data.encode(openIDs, forKey: .openid)
        }
        try container.encode(nextOpenID, forKey: .nextOpenID)
    }
}
