import Foundation
import Testing
@testable import WeChatMP

/// Request bodies, compared with the reference's samples (wechat-mass-api.md and the seed
/// article) as parsed JSON.
@Suite("API request encoding")
struct APIEncodingTests {
    // MARK: Tokens

    @Test func stableTokenMatchesReference() throws {
        try APITest.expectJSON(
            StableTokenRequest(appid: "wx1234567890abcdef", secret: "0123456789abcdef0123456789abcdef"),
            equals: #"{"grant_type":"client_credential","appid":"wx1234567890abcdef","secret":"0123456789abcdef0123456789abcdef","force_refresh":false}"#)
        try APITest.expectJSON(
            StableTokenRequest(appid: "wx1", secret: "s", forceRefresh: true),
            equals: #"{"grant_type":"client_credential","appid":"wx1","secret":"s","force_refresh":true}"#)
    }

    @Test func tokenQueryItems() {
        let items = TokenRequest(appid: "wx1", secret: "s3").queryItems
        #expect(items.map(\.name) == ["grant_type", "appid", "secret"])
        #expect(items.map(\.value) == ["client_credential", "wx1", "s3"])
    }

    // MARK: sendall

    @Test func sendAllMatchesReference() throws {
        let request = SendAllRequest(
            filter: .tag(100), payload: .mpnews(mediaID: "…"), sendIgnoreReprint: 0, clientMsgID: "…")
        try APITest.expectJSON(request, equals: #"""
            {"filter":{"is_to_all":false,"tag_id":100},
             "msgtype":"mpnews","mpnews":{"media_id":"…"},
             "send_ignore_reprint":0, "clientmsgid":"…"}
            """#)
    }

    @Test func sendAllSeedText() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: MassFilter(isToAll: false, tagID: 100), payload: .text(content: "CONTENT")),
            equals: #"""
            {"filter":{"is_to_all":false,"tag_id":100},"text":{"content":"CONTENT"},"msgtype":"text"}
            """#)
    }

    @Test func sendAllSeedVoice() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .tag(2), payload: .voice(mediaID: "123dsdajkasd231jhksad")),
            equals: #"""
            {"filter":{"is_to_all":false,"tag_id":2},"voice":{"media_id":"123dsdajkasd231jhksad"},"msgtype":"voice"}
            """#)
    }

    @Test func sendAllSeedMpnews() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .tag(100), payload: .mpnews(mediaID: "FrsRJ3g3BHR-pIkuFLARnMOwMvwukEiXaYvy1xmpoX0"),
                           sendIgnoreReprint: 0),
            equals: #"""
            {"filter":{"is_to_all":false,"tag_id":100},
             "mpnews":{"media_id":"FrsRJ3g3BHR-pIkuFLARnMOwMvwukEiXaYvy1xmpoX0"},
             "msgtype":"mpnews","send_ignore_reprint":0}
            """#)
    }

    @Test func sendAllSeedMpvideo() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .tag(100),
                           payload: .mpvideo(mediaID: "4KExkgRWTofVOgQZRkCtpTEyFhuYk1Xwr1y-biXNS93U7hICK1rtHgXs8uzntW60")),
            equals: #"""
            {"filter":{"is_to_all":false,"tag_id":100},
             "mpvideo":{"media_id":"4KExkgRWTofVOgQZRkCtpTEyFhuYk1Xwr1y-biXNS93U7hICK1rtHgXs8uzntW60"},
             "msgtype":"mpvideo"}
            """#)
    }

    /// The seed article still shows the old `image{media_id}` form; current docs use `images`.
    @Test func sendAllImagesUsesImagesKey() throws {
        let request = SendAllRequest(
            filter: .tag(100),
            payload: .images(mediaIDs: ["FrsRJ3g3BHR-pIkuFLARnGMeH3WkYJCu0ZPZ_OqQOB8", "second"],
                             recommend: "推荐语", needOpenComment: 1, onlyFansCanComment: 0))
        try APITest.expectJSON(request, equals: #"""
            {"filter":{"is_to_all":false,"tag_id":100},"msgtype":"image",
             "images":{"media_ids":["FrsRJ3g3BHR-pIkuFLARnGMeH3WkYJCu0ZPZ_OqQOB8","second"],
                       "recommend":"推荐语","need_open_comment":1,"only_fans_can_comment":0}}
            """#)
        #expect(try APITest.encoded(request)["image"] == nil)
    }

    @Test func sendAllImagesOmitsNilOptions() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .tag(7), payload: .images(mediaIDs: ["a"])),
            equals: #"{"filter":{"is_to_all":false,"tag_id":7},"msgtype":"image","images":{"media_ids":["a"]}}"#)
    }

    @Test func sendAllToAllOmitsTagID() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .toAll, payload: .text(content: "hi")),
            equals: #"{"filter":{"is_to_all":true},"msgtype":"text","text":{"content":"hi"}}"#)
    }

    @Test func sendAllWxcard() throws {
        try APITest.expectJSON(
            SendAllRequest(filter: .tag(1), payload: .wxcard(cardID: "pFS7Fjg8kV1IdDz01r4SQwMkuCKc")),
            equals: #"{"filter":{"is_to_all":false,"tag_id":1},"msgtype":"wxcard","wxcard":{"card_id":"pFS7Fjg8kV1IdDz01r4SQwMkuCKc"}}"#)
    }

    @Test func filterNeverWritesGroupID() throws {
        let text = try APITest.text(SendAllRequest(filter: .tag(100), payload: .text(content: "x")))
        #expect(!text.contains("group_id"))
        #expect(text.contains(#""tag_id":100"#))
    }

    /// A missing audience must not silently become "send to all" (section 7).
    @Test(arguments: [MassFilter(isToAll: false, tagID: nil), MassFilter(isToAll: false, tagID: -1)])
    func filterWithoutAudienceIsRefused(filter: MassFilter) {
        #expect(throws: EncodingError.self) {
            _ = try WeChatJSON.encoder().encode(SendAllRequest(filter: filter, payload: .text(content: "x")))
        }
        #expect(throws: RequestValidationError.self) { try filter.validate() }
    }

    /// "tag_id may be left out when is_to_all is true": when given, it is written as given.
    @Test func toAllWithTagKeepsBoth() throws {
        try MassFilter(isToAll: true, tagID: 100).validate()
        try APITest.expectJSON(MassFilter(isToAll: true, tagID: 100), equals: #"{"is_to_all":true,"tag_id":100}"#)
    }

    // MARK: send

    @Test func sendSeedMpnews() throws {
        try APITest.expectJSON(
            SendRequest(toUser: ["OPENID1", "OPENID2"], payload: .mpnews(mediaID: "123dsdajkasd231jhksad"),
                        sendIgnoreReprint: 0),
            equals: #"""
            {"touser":["OPENID1","OPENID2"],"mpnews":{"media_id":"123dsdajkasd231jhksad"},
             "msgtype":"mpnews","send_ignore_reprint":0}
            """#)
    }

    @Test func sendMpvideoWithTitleAndDescription() throws {
        try APITest.expectJSON(
            SendRequest(toUser: ["OPENID1", "OPENID2"],
                        payload: .mpvideo(mediaID: "m", title: "TITLE", description: "DESCRIPTION"),
                        clientMsgID: "run-1/step-2"),
            equals: #"""
            {"touser":["OPENID1","OPENID2"],"msgtype":"mpvideo",
             "mpvideo":{"media_id":"m","title":"TITLE","description":"DESCRIPTION"},
             "clientmsgid":"run-1/step-2"}
            """#)
    }

    // MARK: preview

    @Test func previewSeedMpnews() throws {
        try APITest.expectJSON(
            PreviewRequest(toUser: "o4WmZ0h-4huBUVQUczx2ezaxIL9c",
                           payload: .mpnews(mediaID: "FrsRJ3g3BHR-pIkuFLARnMOwMvwukEiXaYvy1xmpoX0")),
            equals: #"""
            {"touser":"o4WmZ0h-4huBUVQUczx2ezaxIL9c",
             "mpnews":{"media_id":"FrsRJ3g3BHR-pIkuFLARnMOwMvwukEiXaYvy1xmpoX0"},"msgtype":"mpnews"}
            """#)
    }

    @Test func previewImageUsesSingleForm() throws {
        try APITest.expectJSON(
            PreviewRequest(toWXName: "some_wechat_id", payload: .image(mediaID: "img")),
            equals: #"{"towxname":"some_wechat_id","msgtype":"image","image":{"media_id":"img"}}"#)
        try APITest.expectJSON(
            PreviewRequest(toUser: "OPENID", toWXName: "wxname", payload: .text(content: "t")),
            equals: #"{"touser":"OPENID","towxname":"wxname","msgtype":"text","text":{"content":"t"}}"#)
    }

    // MARK: delete, get, speed

    @Test func deleteMatchesReference() throws {
        try APITest.expectJSON(DeleteRequest(msgID: 30124, articleIdx: 2), equals: #"{"msg_id":30124,"article_idx":2}"#)
        try APITest.expectJSON(DeleteRequest(msgID: 30124), equals: #"{"msg_id":30124}"#)
        try APITest.expectJSON(
            DeleteRequest(url: "https://mp.weixin.qq.com/s/abc"), equals: #"{"url":"https://mp.weixin.qq.com/s/abc"}"#)
    }

    @Test func getWritesMsgIDAsString() throws {
        try APITest.expectJSON(GetRequest(msgID: 201053012), equals: #"{"msg_id":"201053012"}"#)
        #expect(try APITest.text(GetRequest(msgID: 201053012)) == #"{"msg_id":"201053012"}"#)
    }

    @Test func speedBodies() throws {
        try APITest.expectJSON(SpeedSetRequest(speed: 3), equals: #"{"speed":3}"#)
        try APITest.expectJSON(SpeedGetRequest(), equals: "{}")
    }

    // MARK: media

    @Test func uploadVideoSeed() throws {
        try APITest.expectJSON(
            UploadVideoRequest(mediaID: "aTL-93EXcL4F9g4SzTdBuokPQgS_qXisgswHO02iCrqbVpU_gL_tanb9LXZ2Lc2r",
                               title: "群发视频", description: "你好吗?"),
            equals: #"""
            {"media_id":"aTL-93EXcL4F9g4SzTdBuokPQgS_qXisgswHO02iCrqbVpU_gL_tanb9LXZ2Lc2r","title":"群发视频","description":"你好吗?"}
            """#)
        try APITest.expectJSON(UploadVideoRequest(mediaID: "m", title: "t"), equals: #"{"media_id":"m","title":"t"}"#)
    }

    @Test func uploadNewsAllFields() throws {
        let article = NewsArticle(
            title: "Title", thumbMediaID: "thumb", content: "<p>body</p>", author: "me",
            contentSourceURL: "https://example.com/a/b", digest: "sum", showCoverPic: 1,
            needOpenComment: 1, onlyFansCanComment: 0)
        try APITest.expectJSON(UploadNewsRequest(articles: [article, NewsArticle(title: "T2", thumbMediaID: "t2", content: "c2")]),
                               equals: #"""
            {"articles":[
              {"title":"Title","thumb_media_id":"thumb","content":"<p>body</p>","author":"me",
               "content_source_url":"https://example.com/a/b","digest":"sum","show_cover_pic":1,
               "need_open_comment":1,"only_fans_can_comment":0},
              {"title":"T2","thumb_media_id":"t2","content":"c2"}]}
            """#)
    }

    // MARK: Bytes on the wire

    @Test func wireBytesAreSortedRawUTF8WithUnescapedSlashes() throws {
        let article = NewsArticle(title: "群发", thumbMediaID: "t", content: "c", contentSourceURL: "https://a.example/x/y")
        let text = try APITest.text(UploadNewsRequest(articles: [article]))
        #expect(text.contains("群发"))
        #expect(!text.contains("\\u"))
        #expect(text.contains("https://a.example/x/y"))
        #expect(!text.contains("\\/"))
        #expect(try APITest.text(SendAllRequest(filter: .tag(1), payload: .text(content: "x"), sendIgnoreReprint: 1, clientMsgID: "k"))
            == #"{"clientmsgid":"k","filter":{"is_to_all":false,"tag_id":1},"msgtype":"text","send_ignore_reprint":1,"text":{"content":"x"}}"#)
    }

    // MARK: Payload shapes

    static let payloads: [(MassPayload, String, String)] = [
        (.text(content: "c"), "text", "text"),
        (.mpnews(mediaID: "m"), "mpnews", "mpnews"),
        (.voice(mediaID: "m"), "voice", "voice"),
        (.mpvideo(mediaID: "m"), "mpvideo", "mpvideo"),
        (.images(mediaIDs: ["m"]), "image", "images"),
        (.image(mediaID: "m"), "image", "image"),
        (.wxcard(cardID: "c"), "wxcard", "wxcard"),
    ]

    @Test(arguments: payloads)
    func payloadWritesMsgtypeAndOneKey(payload: MassPayload, msgtype: String, key: String) throws {
        #expect(payload.msgtype == msgtype)
        #expect(payload.payloadKey == key)
        let json = try APITest.encoded(PreviewRequest(toUser: "o", payload: payload))
        #expect(json.keys == ["touser", "msgtype", key])
        #expect(json["msgtype"] == .string(msgtype))
    }

    @Test func videoIsNeverWrittenAsVideo() throws {
        let text = try APITest.text(SendAllRequest(filter: .tag(1), payload: .mpvideo(mediaID: "m")))
        #expect(text.contains(#""msgtype":"mpvideo""#))
        #expect(!text.contains(#""video""#))
    }

    // MARK: Round trips (the sandbox decodes what the client encodes)

    @Test func requestsRoundTrip() throws {
        func roundTrip<T: Codable & Equatable>(_ value: T) throws {
            let back = try WeChatJSON.decode(T.self, from: WeChatJSON.encoder().encode(value))
            #expect(back == value)
        }
        for (payload, _, _) in Self.payloads {
            try roundTrip(SendAllRequest(filter: .tag(3), payload: payload, sendIgnoreReprint: 1, clientMsgID: "k"))
            try roundTrip(SendRequest(toUser: ["a", "b"], payload: payload, clientMsgID: "k"))
            try roundTrip(PreviewRequest(toUser: "a", toWXName: "w", payload: payload))
        }
        try roundTrip(SendAllRequest(filter: .toAll, payload: .images(mediaIDs: ["a", "b"], recommend: "r", needOpenComment: 1, onlyFansCanComment: 1)))
        try roundTrip(SendRequest(toUser: ["a", "b"], payload: .mpvideo(mediaID: "m", title: "t", description: "d")))
        try roundTrip(DeleteRequest(msgID: 1, articleIdx: 0, url: "https://x/y"))
        try roundTrip(GetRequest(msgID: 201053012))
        try roundTrip(SpeedSetRequest(speed: 4))
        try roundTrip(StableTokenRequest(appid: "wx", secret: "s", forceRefresh: true))
        try roundTrip(UploadVideoRequest(mediaID: "m", title: "t", description: "d"))
        try roundTrip(UploadNewsRequest(articles: [NewsArticle(title: "t", thumbMediaID: "m", content: "c", digest: "d", showCoverPic: 0)]))
    }

    @Test func decodingRequestsIsTolerant() throws {
        let get = try APITest.decode(GetRequest.self, #"{"msg_id":201053012}"#)
        #expect(get.msgID == 201053012)
        let delete = try APITest.decode(DeleteRequest.self, #"{"msg_id":"30124","article_idx":"2"}"#)
        #expect(delete == DeleteRequest(msgID: 30124, articleIdx: 2))
        let stable = try APITest.decode(StableTokenRequest.self, #"{"grant_type":"client_credential","appid":"wx","secret":"s"}"#)
        #expect(stable.forceRefresh == false)
        // The seed's old single-image sendall decodes, and validation refuses it.
        let oldImage = try APITest.decode(SendAllRequest.self, #"""
            {"filter":{"is_to_all":false,"tag_id":100},"image":{"media_id":"FrsRJ3g3BHR"},"msgtype":"image"}
            """#)
        #expect(oldImage.payload == .image(mediaID: "FrsRJ3g3BHR"))
        #expect(throws: RequestValidationError.self) { try oldImage.validate() }
        // group_id (pre-tag) is not read as a tag: the audience is missing and validation says so.
        let legacy = try APITest.decode(SendAllRequest.self, #"{"filter":{"is_to_all":false,"group_id":2},"msgtype":"text","text":{"content":"x"}}"#)
        #expect(legacy.filter.tagID == nil)
        #expect(throws: RequestValidationError.self) { try legacy.validate() }
    }

    @Test(arguments: ["video", "news", "mpnews_typo", ""])
    func unknownMsgtypeIsADecodingError(msgtype: String) {
        #expect(throws: DecodingError.self) {
            _ = try APITest.decode(SendAllRequest.self,
                                   #"{"filter":{"is_to_all":true},"msgtype":"\#(msgtype)","video":{"media_id":"m"}}"#)
        }
    }
}
