import Foundation
import PipelineCore
import WeChatMP

extension EngineCore {
    /// The system tag WeChat lists first on every account (`星标组`, starred followers);
    /// ids 0–2 are reserved. Listed with 0 followers unless the fixture defines the id.
    static let starredTag = SandboxFixture.Tag(id: 2, name: "星标组", members: [])

    /// OpenIDs per page of `user/tag/get` (WeChat's 10,000).
    static let tagMembersPageSize = 10_000

    /// `GET /cgi-bin/tags/get`: `{"tags":[{"id":2,"name":"星标组","count":0},…]}`, every tag of the
    /// account with its follower count, the reserved starred tag first.
    func tagsGet(_ account: AccountState) -> SandboxResponse {
        var tags = account.config.tags
        if !tags.contains(where: { $0.id == Self.starredTag.id }) { tags.insert(Self.starredTag, at: 0) }
        let listed = TagList(tags: tags.map { TagList.Entry(id: $0.id, name: $0.name, count: $0.members.count) })
        guard let data = try? WeChatJSON.encode(listed) else { return errorResponse(APIError(-1)) }
        return .json(data)
    }

    /// `POST /cgi-bin/user/tag/get` `{"tagid":134,"next_openid":""}`: the tag's members, up to
    /// 10,000 a page in fixture order; `next_openid` is the page's last OpenID, and the page
    /// after the last member has `count` 0 (no `data`, `next_openid` ""). An unknown tag is
    /// 45159; a `next_openid` that is not a member of the tag is 40003.
    func userTagGet(_ account: AccountState, _ request: SandboxRequest) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        guard let value = body["tagid"], !value.isNull else { throw APIError(45159) }
        guard let tagID = value.lenientInt, let tag = account.tags[Int(clamping: tagID)] else { throw APIError(45159) }
        var start = 0
        if let next = body["next_openid"], !next.isNull {
            guard let text = next.stringValue else { throw APIError(40003) }
            if !text.isEmpty {
                guard let index = tag.members.firstIndex(of: text) else { throw APIError(40003) }
                start = index + 1
            }
        }
        let page = Array(tag.members[start..<min(tag.members.count, start + Self.tagMembersPageSize)])
        let answer = TagMembersPage(
            count: page.count, data: page.isEmpty ? nil : .init(openid: page), nextOpenID: page.last ?? "")
        guard let data = try? WeChatJSON.encode(answer) else { return errorResponse(APIError(-1)) }
        return .json(data)
    }

    struct TagList: Encodable {
        struct Entry: Encodable {
            var id: Int
            var name: String
            var count: Int
        }

        var tags: [Entry]
    }

    struct TagMembersPage: Encodable {
        struct OpenIDs: Encodable { var openid: [String] }

        var count: Int
        var data: OpenIDs?
        var nextOpenID: String

        enum CodingKeys: String, CodingKey { case count, data, nextOpenID = "next_openid" }
    }
}
