import Foundation
import Testing
import WeChatMP

@Suite("Tags: the shapes of tags/get and user/tag/get")
struct TagDecodingTests {
    @Test func tagsGetDecodesTheReferenceAnswer() throws {
        let body = #"{"tags":[{"id":2,"name":"星标组","count":0},{"id":134,"name":"北京","count":1466},{"id":"135","name":"上海"}]}"#
        let tags = try WeChatJSON.decode(TagsResponse.self, from: Data(body.utf8)).tags
        #expect(tags == [UserTag(id: 2, name: "星标组", count: 0), UserTag(id: 134, name: "北京", count: 1466),
                         UserTag(id: 135, name: "上海", count: 0)])
    }

    @Test func aMembersPageAndTheEmptyLastPage() throws {
        let body = #"{"count":2,"data":{"openid":["ocYxcuAEy30bX0NXmGn4ypqx3tI0","ocYxcuBt0mRugKZ7tGAHPnUaOW7Y"]},"next_openid":"ocYxcuBt0mRugKZ7tGAHPnUaOW7Y"}"#
        let page = try WeChatJSON.decode(TagMembersPage.self, from: Data(body.utf8))
        #expect(page.openIDs == ["ocYxcuAEy30bX0NXmGn4ypqx3tI0", "ocYxcuBt0mRugKZ7tGAHPnUaOW7Y"])
        #expect(page.nextOpenID == "ocYxcuBt0mRugKZ7tGAHPnUaOW7Y" && !page.isLast)
        let end = try WeChatJSON.decode(TagMembersPage.self, from: Data(#"{"count":0,"next_openid":""}"#.utf8))
        #expect(end.isLast && end.openIDs.isEmpty)
    }

    @Test func theRequestBodyIsWeChats() throws {
        let body = String(decoding: try WeChatJSON.encode(TagMembersRequest(tagID: 134)), as: UTF8.self)
        #expect(body == #"{"next_openid":"","tagid":134}"#)
        #expect(TagMembersRequest.path == "/cgi-bin/user/tag/get")
    }
}
