import Foundation
import MasscastTesting
import Testing
@testable import WeChatMP

/// Answers are read straight from their bytes when they are flat objects
/// (`FlatAnswerDecoder`); what comes out must always be what `JSONDecoder` gives, values and
/// errors alike, whatever the body holds.
@Suite("Flat answer decoding")
struct FlatAnswerDecoderTests {
    /// The answers the client reads on its common paths are taken by the short way (else it
    /// would be dead code, and the speed it was written for would be gone unnoticed).
    @Test func commonAnswersAreFlat() throws {
        let get = #"{"errcode":0,"errmsg":"ok","msg_id":1000000001,"msg_status":"SEND_SUCCESS"}"#
        #expect(FlatAnswerDecoder.decode(GetResponse.self, from: Data(get.utf8))
            == GetResponse(msgID: 1_000_000_001, msgStatus: .sendSuccess))
        let send = #"{"errcode":0,"errmsg":"send job submission success","msg_id":34182,"msg_data_id":206227730}"#
        #expect(FlatAnswerDecoder.decode(SendResponse.self, from: Data(send.utf8))
            == SendResponse(msgID: 34182, msgDataID: 206_227_730))
        let token = #"{"access_token":"ACCESS_TOKEN","expires_in":7200}"#
        #expect(FlatAnswerDecoder.decode(AccessTokenResponse.self, from: Data(token.utf8))?.expiresIn == 7200)
        let refused = " {\n \"errcode\" : 45065, \"errmsg\":\"clientmsgid exist\\u0021 rid: 6\",\"msg_id\":34182}\n"
        let answer = try #require(FlatAnswerDecoder.decode(DecodedAnswer<SendResponse>.self, from: Data(refused.utf8)))
        #expect(answer.status == APIStatus(errcode: 45065, errmsg: "clientmsgid exist! rid: 6"))
        #expect(answer.earlierSend == SendResponse(msgID: 34182))
        let decoded = try DecodedAnswer<GetResponse>.decode(from: Data(get.utf8))
        #expect(try decoded.response?.get() == GetResponse(msgID: 1_000_000_001, msgStatus: .sendSuccess))
    }

    /// What it must leave to `JSONDecoder`: nested values, numbers that are not plain integers,
    /// strings where numbers are asked, repeated keys, invalid text.
    @Test func givesUpWhereItCannotBeSure() {
        let bodies = [
            #"{"errcode":0,"msg_id":"1000000001","msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":1.0,"msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":1e3,"msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":1,"msg_status":"SEND_SUCCESS","extra":{"a":1}}"#,
            #"{"errcode":0,"msg_id":1,"msg_id":2,"msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":01,"msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":99999999999999999999,"msg_status":"SEND_SUCCESS"}"#,
            #"{"errcode":0,"msg_id":1,"msg_status":"SEND\ud800"}"#,
            #"{"errcode":0,"msg_id":1,"msg_status":"SEND_SUCCESS"} x"#,
            #"[{"errcode":0}]"#,
            #"{"errcode":0,"msg_id":1}"#,
        ]
        for body in bodies {
            #expect(FlatAnswerDecoder.decode(GetResponse.self, from: Data(body.utf8)) == nil, "\(body)")
        }
    }

    /// Thousands of generated bodies, flat and not, valid and not, through every response type:
    /// `WeChatJSON.decode` (the short way first) and `DecodedAnswer.decode` give exactly what
    /// `JSONDecoder` gives, or fail with the same error.
    @Test func sameAsJSONDecoder() throws {
        var random = SeededRandom(seed: 20_261_204)
        var flat = 0
        for index in 0..<4_000 {
            let body = Data(Self.body(&random).utf8)
            if FlatAnswerDecoder.decode(APIStatus.self, from: body) != nil { flat += 1 }
            try Self.same(APIStatus.self, body, index)
            try Self.same(SendResponse.self, body, index)
            try Self.same(PreviewResponse.self, body, index)
            try Self.same(GetResponse.self, body, index)
            try Self.same(SpeedGetResponse.self, body, index)
            try Self.same(UploadMediaResponse.self, body, index)
            try Self.same(UploadImageResponse.self, body, index)
            try Self.same(AccessTokenResponse.self, body, index)
            try Self.same(TagsResponse.self, body, index)
            try Self.sameAnswer(SendResponse.self, body, index)
            try Self.sameAnswer(GetResponse.self, body, index)
            try Self.sameAnswer(AccessTokenResponse.self, body, index)
        }
        // The generator must exercise the short way, not only the fallback.
        #expect(flat > 1_000)
    }

    private static func same<T: Decodable & Equatable>(_ type: T.Type, _ body: Data, _ index: Int) throws {
        let expected = Result { try JSONDecoder().decode(T.self, from: body) }
        let actual = Result { try WeChatJSON.decode(T.self, from: body) }
        let text = String(decoding: body, as: UTF8.self)
        switch (expected, actual) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "body \(index) as \(T.self): \(text)")
        case (.failure(let a), .failure(let b)):
            #expect(String(describing: a) == String(describing: b), "body \(index) as \(T.self): \(text)")
        default:
            Issue.record("body \(index) as \(T.self): JSONDecoder \(expected), WeChatJSON \(actual): \(text)")
        }
    }

    private static func sameAnswer<T: Decodable & Equatable>(_ type: T.Type, _ body: Data, _ index: Int) throws {
        let expected = Result { try JSONDecoder().decode(DecodedAnswer<T>.self, from: body) }
        let actual = Result { try DecodedAnswer<T>.decode(from: body) }
        let text = String(decoding: body, as: UTF8.self)
        switch (expected, actual) {
        case (.success(let a), .success(let b)):
            #expect(a.status == b.status, "body \(index): \(text)")
            #expect(a.earlierSend == b.earlierSend, "body \(index): \(text)")
            switch (a.response, b.response) {
            case (nil, nil): break
            case (.success(let x)?, .success(let y)?): #expect(x == y, "body \(index): \(text)")
            case (.failure(let x)?, .failure(let y)?):
                #expect(String(describing: x) == String(describing: y), "body \(index): \(text)")
            default: Issue.record("body \(index) as DecodedAnswer<\(T.self)>: responses differ: \(text)")
            }
        case (.failure(let a), .failure(let b)):
            #expect(String(describing: a) == String(describing: b), "body \(index): \(text)")
        default:
            Issue.record("body \(index) as DecodedAnswer<\(T.self)>: one failed: \(text)")
        }
    }

    // MARK: Generated bodies

    private static let keys = [
        "errcode", "errmsg", "msg_id", "msg_data_id", "msg_status", "speed", "realspeed", "media_id", "type",
        "created_at", "url", "access_token", "expires_in", "tags", "extra", "msg\\u005fid", "errcode ",
    ]

    private static let values = [
        "0", "45065", "40001", "-1", "-0", "7200", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "1000000001", "1.0", "1e3", "2.5", "0.0", "01", "-", "1.", "1e",
        "\"\"", "\"ok\"", "\"42\"", "\" 42 \"", "\"7200\"", "\"SEND_SUCCESS\"", "\"SENDING\"", "\"NEW_STATE\"",
        "\"a\\\"b\\\\c\\/d\"", "\"\\u00e9t\\u00E9\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"",
        "\"群发 rid: 6\"", "\"tab\\tline\\n\"", "\"raw\ttab\"", "\"bad\\q\"", "\"https://mmbiz.qpic.cn/a.jpg\"",
        "true", "false", "null", "tru", "nul", "{}", "{\"id\":1}", "[]", "[1,2]",
        "[{\"id\":100,\"name\":\"VIP\",\"count\":2}]", "\"1\"", "1", "2", "4",
    ]

    private static let spaces = ["", "", "", " ", "\n", "\t", " \r\n "]

    static func body(_ random: inout SeededRandom) -> String {
        if random.below(40) == 0 { return ["", "null", "[]", "\"x\"", "{", "{\"errcode\":0", "{}"][random.below(7)] }
        var fields: [String] = []
        let count = random.below(6)
        for _ in 0..<count {
            let key = keys[random.below(keys.count)]
            let value = values[random.below(values.count)]
            let space = spaces[random.below(spaces.count)]
            fields.append("\(space)\"\(key)\"\(space):\(space)\(value)\(space)")
        }
        // Often a well-formed success answer, so that the short way is taken.
        if random.below(2) == 0 {
            fields.insert("\"errcode\":0", at: 0)
            fields.append("\"msg_id\":\(random.below(1_000_000_000))")
            fields.append("\"msg_status\":\"SEND_SUCCESS\"")
            fields.append("\"access_token\":\"T\"")
        }
        var text = spaces[random.below(spaces.count)] + "{" + fields.joined(separator: ",") + "}"
            + spaces[random.below(spaces.count)]
        if random.below(25) == 0 { text += "x" }
        if random.below(25) == 0, !text.isEmpty { text.removeLast(random.below(min(4, text.count)) + 1) }
        return text
    }
}

extension SeededRandom {
    /// A number in `0..<bound`.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
