import Foundation
import Testing
@testable import WeChatMP

/// `SendRequest.encodedBody()` writes the OpenID list itself; it must give the very bytes
/// `WeChatJSON.encode` gives (sorted keys: `touser` sits before `wxcard` but after `text`).
@Suite("mass/send body encoding")
struct SendBodyEncodingTests {
    static let ids = (0..<500).map { String(format: "o4WmZ0%022d", $0) }

    static let requests: [SendRequest] = [
        SendRequest(toUser: ids, payload: .text(content: "年终会员礼 \"quoted\" \\ back/slash\n"), clientMsgID: "mc1-abc"),
        SendRequest(toUser: ids, payload: .mpnews(mediaID: "m1"), sendIgnoreReprint: 1, clientMsgID: "k"),
        SendRequest(toUser: ids, payload: .wxcard(cardID: "card-1")),
        SendRequest(toUser: ids, payload: .images(mediaIDs: ["a", "b"], recommend: "r", needOpenComment: 1, onlyFansCanComment: 0)),
        SendRequest(toUser: ids, payload: .mpvideo(mediaID: "v", title: "t", description: "d")),
        // OpenIDs JSONEncoder has to escape, or might: the slow path must agree too.
        SendRequest(
            toUser: ["plain", "with\"quote", "back\\slash", "sl/ash", "tab\tcontrol\u{1}", "ünïcode", "\u{7F}del", "\u{2028}"],
            payload: .voice(mediaID: "v1"), clientMsgID: "touser"),
    ]

    @Test(arguments: requests.indices)
    func sameBytesAsJSONEncoder(_ index: Int) throws {
        let request = Self.requests[index]
        let fast = try request.encodedBody()
        let reference = try WeChatJSON.encode(request)
        #expect(fast == reference, "\(String(decoding: fast.prefix(300), as: UTF8.self))")
    }

    @Test func touserInContentIsNotTheKey() throws {
        // A content that mentions the key: its quotes are escaped, so only the real key is replaced.
        let request = SendRequest(
            toUser: ["a-openid-000000000000000000", "b-openid-000000000000000000"],
            payload: .text(content: #"{"touser":[]} "touser":[]"#))
        #expect(try request.encodedBody() == WeChatJSON.encode(request))
    }

    @Test func plainCheckAgreesWithTheByteRule() {
        // Every byte value at every position of an OpenID-sized string: the 8-bytes-at-a-time
        // test and the tail must both find it.
        let base = Array("o4WmZ0ys5OJJKVG-f8f5r3cEvLP9".utf8)
        for position in base.indices {
            for value in 0...255 {
                var bytes = base
                bytes[position] = UInt8(value)
                let b = UInt8(value)
                let expected = !(b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x5C || b == 0x2F)
                let got = bytes.withUnsafeBufferPointer { SendRequest.isPlain($0) }
                #expect(got == expected, "byte \(value) at \(position)")
            }
        }
        #expect([UInt8]().withUnsafeBufferPointer { SendRequest.isPlain($0) })
    }
}
