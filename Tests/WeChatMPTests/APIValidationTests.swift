import Foundation
import Testing
@testable import WeChatMP

/// Checks made before a call, each naming the field and, when known, WeChat's errcode;
/// and the media limits used to check files before upload.
@Suite("API request validation and media limits")
struct APIValidationTests {
    static func errcode(_ body: () throws(RequestValidationError) -> Void) -> Int?? {
        do {
            try body()
            return .none
        } catch {
            return .some(error.errcode)
        }
    }

    @Test func validRequestsPass() throws {
        try SendAllRequest(filter: .tag(100), payload: .mpnews(mediaID: "m"), sendIgnoreReprint: 0,
                           clientMsgID: String(repeating: "k", count: 64)).validate()
        try SendAllRequest(filter: .toAll, payload: .images(mediaIDs: ["a", "b"])).validate()
        try SendRequest(toUser: ["a", "b"], payload: .text(content: "x")).validate()
        try SendRequest(toUser: Array(repeating: "o", count: 10_000), payload: .voice(mediaID: "v")).validate()
        try PreviewRequest(toUser: "o", payload: .image(mediaID: "i")).validate()
        try PreviewRequest(toWXName: "w", payload: .wxcard(cardID: "c")).validate()
        try DeleteRequest(msgID: 1).validate()
        try DeleteRequest(url: "https://mp.weixin.qq.com/s/x").validate()
        for speed in 0...4 { try SpeedSetRequest(speed: speed).validate() }
        try UploadNewsRequest(articles: Array(repeating: NewsArticle(title: "t", thumbMediaID: "m", content: "c"), count: 8)).validate()
        try UploadVideoRequest(mediaID: "m", title: "t").validate()
    }

    @Test(arguments: [0, 1, 10_001])
    func openIDListSize(count: Int) {
        #expect(Self.errcode { () throws(RequestValidationError) in
            try SendRequest(toUser: Array(repeating: "o", count: count), payload: .text(content: "x")).validate()
        } == .some(40130))
    }

    @Test func clientMsgIDLength() {
        #expect(Self.errcode { () throws(RequestValidationError) in
            try SendAllRequest(filter: .tag(1), payload: .text(content: "x"),
                               clientMsgID: String(repeating: "k", count: 65)).validate()
        } == .some(45067))
        // 22 three-byte characters are 66 bytes.
        #expect(Self.errcode { () throws(RequestValidationError) in
            try SendRequest(toUser: ["a", "b"], payload: .text(content: "x"),
                            clientMsgID: String(repeating: "群", count: 22)).validate()
        } == .some(45067))
    }

    @Test func otherRefusals() {
        #expect(Self.errcode { () throws(RequestValidationError) in try SpeedSetRequest(speed: 5).validate() } == .some(45083))
        #expect(Self.errcode { () throws(RequestValidationError) in try SpeedSetRequest(speed: -1).validate() } == .some(45083))
        #expect(Self.errcode { () throws(RequestValidationError) in try UploadNewsRequest(articles: []).validate() } == .some(45008))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try UploadNewsRequest(articles: Array(repeating: NewsArticle(title: "t", thumbMediaID: "m", content: "c"), count: 9)).validate()
        } == .some(45008))
        #expect(Self.errcode { () throws(RequestValidationError) in try DeleteRequest().validate() } == .some(40059))
        #expect(Self.errcode { () throws(RequestValidationError) in try DeleteRequest(msgID: 1, articleIdx: -1).validate() } == .some(40060))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try SendRequest(toUser: ["a", " "], payload: .text(content: "x")).validate()
        } == .some(40003))
        // Refusals without a known errcode.
        #expect(Self.errcode { () throws(RequestValidationError) in try PreviewRequest(payload: .text(content: "x")).validate() } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in try PreviewRequest(toUser: "o", payload: .images(mediaIDs: ["a"])).validate() } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in try SendAllRequest(filter: .tag(1), payload: .image(mediaID: "a")).validate() } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in try SendAllRequest(filter: .tag(1), payload: .text(content: " ")).validate() } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in try SendAllRequest(filter: .tag(1), payload: .images(mediaIDs: [])).validate() } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try SendAllRequest(filter: .tag(1), payload: .text(content: "x"), sendIgnoreReprint: 2).validate()
        } == .some(nil))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try UploadNewsRequest(articles: [NewsArticle(title: "t", thumbMediaID: "", content: "c")]).validate()
        } == .some(nil))
    }

    @Test func validationErrorNamesTheField() {
        do {
            try SendAllRequest(filter: MassFilter(isToAll: false, tagID: nil), payload: .text(content: "x")).validate()
            Issue.record("expected a refusal")
        } catch {
            #expect(error.field == "filter.tag_id")
            #expect(error.description.hasPrefix("filter.tag_id: "))
        }
    }

    // MARK: Media limits (reference: image 10 MB jpg/png, voice 2 MB / 60 s mp3/amr,
    // video 10 MB mp4, thumb 64 KB jpg; uploadimg jpg/png under 1 MB)

    @Test(arguments: [
        (MediaType.image, 10 * 1024 * 1024, ["jpg", "png"]),
        (.voice, 2 * 1024 * 1024, ["mp3", "amr"]),
        (.video, 10 * 1024 * 1024, ["mp4"]),
        (.thumb, 64 * 1024, ["jpg"]),
    ])
    func mediaLimits(type: MediaType, maxBytes: Int, extensions: [String]) throws {
        #expect(type.maxBytes == maxBytes)
        for ext in extensions {
            #expect(type.allowedExtensions.contains(ext))
            try type.check(fileName: "dir.v2/file.\(ext.uppercased())", byteCount: maxBytes)
        }
        let tooBig = Self.errcode { () throws(RequestValidationError) in
            try type.check(fileName: "file.\(extensions[0])", byteCount: maxBytes + 1)
        }
        #expect(tooBig == .some(type.limit.sizeErrcode))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try type.check(fileName: "file.exe", byteCount: 10)
        } == .some(40005))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try type.check(fileName: "noextension", byteCount: 10)
        } == .some(40005))
    }

    @Test func voiceDurationAndArticleImages() throws {
        #expect(MediaType.voice.maxDurationSeconds == 60)
        #expect(MediaType.image.maxDurationSeconds == nil)
        try MediaType.voice.check(fileName: "a.mp3", byteCount: 1000, durationSeconds: 60)
        #expect(Self.errcode { () throws(RequestValidationError) in
            try MediaType.voice.check(fileName: "a.amr", byteCount: 1000, durationSeconds: 61.5)
        } == .some(45007))
        #expect(MediaLimit.articleImage.maxBytes == 1024 * 1024)
        #expect(MediaLimit.articleImage.allowedExtensions.contains("png"))
        #expect(!MediaLimit.articleImage.allowedExtensions.contains("gif"))
        #expect(Self.errcode { () throws(RequestValidationError) in
            try MediaLimit.articleImage.check(fileName: "a.png", byteCount: 0)
        } == .some(41005))
    }

    @Test func contentTypes() {
        #expect(MediaType.image.contentType(for: "a.JPG") == "image/jpeg")
        #expect(MediaType.image.contentType(for: "a.png") == "image/png")
        #expect(MediaType.voice.contentType(for: "a.mp3") == "audio/mpeg")
        #expect(MediaType.voice.contentType(for: "a.amr") == "audio/amr")
        #expect(MediaType.video.contentType(for: "a.mp4") == "video/mp4")
        #expect(MediaType.thumb.contentType(for: "a") == "application/octet-stream")
        #expect(MediaLimit.fileExtension(of: ".hidden") == "")
        #expect(MediaLimit.fileExtension(of: "/x.y/z") == "")
        // ASCII names take a byte path; the answers are those of the character path.
        #expect(MediaLimit.fileExtension(of: "assets/cover.JPG") == "jpg")
        #expect(MediaLimit.fileExtension(of: "a/b.Png/") == "png")
        #expect(MediaLimit.fileExtension(of: "a//b.mp4") == "mp4")
        #expect(MediaLimit.fileExtension(of: "/") == "")
        #expect(MediaLimit.fileExtension(of: "") == "")
        #expect(MediaLimit.fileExtension(of: "noext") == "")
        #expect(MediaLimit.fileExtension(of: "封面/图.PNG") == "png")
        #expect(MediaLimit.fileExtension(of: "a/.b/.jpg") == "")
    }

    @Test func endpointsAreTyped() {
        #expect(SendAllRequest.path == "/cgi-bin/message/mass/sendall")
        #expect(SendRequest.path == "/cgi-bin/message/mass/send")
        #expect(PreviewRequest.path == "/cgi-bin/message/mass/preview")
        #expect(DeleteRequest.path == "/cgi-bin/message/mass/delete")
        #expect(GetRequest.path == "/cgi-bin/message/mass/get")
        #expect(SpeedGetRequest.path == "/cgi-bin/message/mass/speed/get")
        #expect(SpeedSetRequest.path == "/cgi-bin/message/mass/speed/set")
        #expect(UploadNewsRequest.path == "/cgi-bin/media/uploadnews")
        #expect(UploadVideoRequest.path == "/cgi-bin/media/uploadvideo")
        #expect(StableTokenRequest.path == "/cgi-bin/stable_token")
        #expect(!StableTokenRequest.needsAccessToken)
        #expect(SendAllRequest.needsAccessToken)
    }
}
