import Foundation
import Testing
@testable import WeChatMP

/// Response bodies from the reference and the seed article, and the tolerance rules:
/// errcode absent or 0, ids as numbers or strings, unknown fields, `rid:`/`hint:` suffixes.
@Suite("API response decoding")
struct APIDecodingTests {
    // MARK: Tokens

    @Test func accessToken() throws {
        let token = try APITest.decode(AccessTokenResponse.self, #"{"access_token":"ACCESS_TOKEN","expires_in":7200}"#)
        #expect(token.accessToken == "ACCESS_TOKEN")
        #expect(token.expiresIn == 7200)
        let stringy = try APITest.decode(AccessTokenResponse.self, #"{"access_token":"T","expires_in":"7200","extra":[1,2]}"#)
        #expect(stringy.expiresIn == 7200)
        #expect(try APITest.decode(APIStatus.self, #"{"access_token":"T","expires_in":7200}"#).isSuccess)
    }

    // MARK: sendall / send

    @Test func sendAllSuccess() throws {
        let body = #"{"errcode":0,"errmsg":"send job submission success","msg_id":34182,"msg_data_id":206227730}"#
        let status = try APITest.decode(APIStatus.self, body)
        #expect(status.isSuccess)
        #expect(status.errorClass == nil)
        #expect(status.errmsg == "send job submission success")
        let response = try APITest.decode(SendResponse.self, body)
        #expect(response == SendResponse(msgID: 34182, msgDataID: 206227730))
    }

    @Test func seedSendAllWithoutMsgDataID() throws {
        let body = #"""
            {
                "errcode": 0,
                "errmsg": "send job submission success",
                "msg_id": 1000000001
            }
            """#
        #expect(try APITest.decode(SendResponse.self, body) == SendResponse(msgID: 1000000001))
    }

    @Test func clientMsgIDExistCarriesEarlierMsgID() throws {
        let body = #"{"errcode":45065,"errmsg":"clientmsgid exist rid: 6630a8e5-1b2c3d4e-5f6a7b8c","msg_id":1000000042}"#
        let status = try APITest.decode(APIStatus.self, body)
        #expect(status.errcode == 45065)
        #expect(status.errorClass == .duplicate)
        #expect(status.message == "clientmsgid exist")
        #expect(try APITest.decode(SendResponse.self, body).msgID == 1000000042)
    }

    @Test(arguments: [
        #"{"msg_id":"201053012","msg_data_id":"2247483653"}"#,
        #"{"msg_id":201053012,"msg_data_id":2247483653}"#,
        #"{"errcode":"0","errmsg":"ok","msg_id":" 201053012 ","msg_data_id":2247483653.0}"#,
    ])
    func msgIDAsNumberOrString(body: String) throws {
        let response = try APITest.decode(SendResponse.self, body)
        #expect(response == SendResponse(msgID: 201053012, msgDataID: 2247483653))
        #expect(try APITest.decode(APIStatus.self, body).isSuccess)
    }

    @Test(arguments: [#"{"msg_id":"abc"}"#, #"{"msg_id":1.5}"#, #"{"errcode":0}"#, #"{"msg_id":null}"#])
    func unusableMsgIDIsAnError(body: String) {
        #expect(throws: DecodingError.self) { _ = try APITest.decode(SendResponse.self, body) }
    }

    @Test func unknownFieldsAreIgnored() throws {
        let body = #"""
            {"errcode":0,"errmsg":"send job submission success","msg_id":34182,"msg_data_id":206227730,
             "new_field":{"nested":[1,"two",null]},"another":true}
            """#
        #expect(try APITest.decode(SendResponse.self, body) == SendResponse(msgID: 34182, msgDataID: 206227730))
        #expect(try APITest.decode(APIStatus.self, body).isSuccess)
    }

    // MARK: Errors

    @Test func errorWithRidSuffix() throws {
        let body = #"{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r rid: 6630a8e5-1b2c3d4e-5f6a7b8c"}"#
        let status = try APITest.decode(APIStatus.self, body)
        #expect(!status.isSuccess)
        #expect(status.errcode == 40001)
        #expect(status.errorClass == .token)
        #expect(status.requestID == "6630a8e5-1b2c3d4e-5f6a7b8c")
        #expect(status.message.hasPrefix("invalid credential"))
        #expect(!status.message.contains("rid"))
        #expect(status.errmsg.hasSuffix("rid: 6630a8e5-1b2c3d4e-5f6a7b8c"))
    }

    @Test func seedErrorWithHintSuffix() throws {
        let status = try APITest.decode(APIStatus.self,
                                        #"{"errcode":48008,"errmsg":"no permission for this msgtype hint: [PgBA9a0938ge25]"}"#)
        #expect(status.errcode == 48008)
        #expect(status.errorClass == .permanent)
        #expect(status.message == "no permission for this msgtype")
        #expect(status.requestID == "PgBA9a0938ge25")
        #expect(status.info?.fix != nil)
    }

    @Test func errorBodyIsNotASendResponse() throws {
        let body = #"{"errcode":-1,"errmsg":"system error"}"#
        let status = try APITest.decode(APIStatus.self, body)
        #expect(status.errorClass == .transient)
        #expect(status.requestID == nil)
        #expect(status.message == "system error")
        #expect(throws: DecodingError.self) { _ = try APITest.decode(SendResponse.self, body) }
    }

    @Test func statusWithoutErrcodeOrErrmsg() throws {
        let status = try APITest.decode(APIStatus.self, "{}")
        #expect(status == APIStatus(errcode: 0, errmsg: ""))
        #expect(status.isSuccess)
        #expect(try APITest.decode(APIStatus.self, #"{"errcode":"45009","errmsg":"reach max api daily quota limit"}"#).errcode == 45009)
        #expect(try APITest.decode(APIStatus.self, #"{"errcode":null}"#).isSuccess)
    }

    // MARK: preview, delete, get, speed

    @Test func previewResponse() throws {
        #expect(try APITest.decode(PreviewResponse.self, #"{"errcode":0,"errmsg":"preview success","msg_id":34182}"#).msgID == 34182)
        #expect(try APITest.decode(PreviewResponse.self, #"{"errcode":0,"errmsg":"preview success"}"#).msgID == nil)
        #expect(try APITest.decode(PreviewResponse.self, #"{"msg_id":"34182"}"#).msgID == 34182)
    }

    @Test func deleteSuccess() throws {
        let status = try APITest.decode(APIStatus.self, #"""
            {
               "errcode":0,
               "errmsg":"ok"
            }
            """#)
        #expect(status == APIStatus(errcode: 0, errmsg: "ok"))
    }

    @Test func getResponseFromReference() throws {
        let response = try APITest.decode(GetResponse.self, #"{"msg_id":201053012,"msg_status":"SEND_SUCCESS"}"#)
        #expect(response == GetResponse(msgID: 201053012, msgStatus: .sendSuccess))
        #expect(try APITest.decode(APIStatus.self, #"{"msg_id":201053012,"msg_status":"SEND_SUCCESS"}"#).isSuccess)
        let stringy = try APITest.decode(GetResponse.self, #"{"msg_id":"201053012","msg_status":"SENDING","errcode":0,"errmsg":"ok"}"#)
        #expect(stringy == GetResponse(msgID: 201053012, msgStatus: .sending))
    }

    @Test(arguments: [("SENDING", MassStatus.sending), ("SEND_SUCCESS", .sendSuccess),
                      ("SEND_FAIL", .sendFail), ("DELETE", .delete)])
    func documentedStatuses(raw: String, status: MassStatus) throws {
        #expect(MassStatus(rawValue: raw) == status)
        #expect(status.rawValue == raw)
        #expect(try APITest.decode(GetResponse.self, #"{"msg_id":1,"msg_status":"\#(raw)"}"#).msgStatus == status)
        #expect(MassStatus.documented.contains(status))
    }

    @Test func unknownStatusIsKept() throws {
        let response = try APITest.decode(GetResponse.self, #"{"msg_id":1,"msg_status":"SEND_PAUSED"}"#)
        #expect(response.msgStatus == .unknown("SEND_PAUSED"))
        #expect(response.msgStatus.rawValue == "SEND_PAUSED")
        #expect(try APITest.text(response) == #"{"msg_id":1,"msg_status":"SEND_PAUSED"}"#)
    }

    @Test func speedGet() throws {
        #expect(try APITest.decode(SpeedGetResponse.self, #"{"speed":0,"realspeed":80}"#) == SpeedGetResponse(speed: 0, realspeed: 80))
        #expect(try APITest.decode(SpeedGetResponse.self, #"{"errcode":0,"speed":"2","realspeed":"45"}"#) == SpeedGetResponse(speed: 2, realspeed: 45))
    }

    // MARK: media

    @Test func seedUploadVideoResponse() throws {
        let response = try APITest.decode(UploadMediaResponse.self, #"""
            {
                "type": "video",
                "media_id": "4KExkgRWTofVOgQZRkCtpTEyFhuYk1Xwr1y-biXNS93U7hICK1rtHgXs8uzntW60",
                "created_at": 1505400804
            }
            """#)
        #expect(response == UploadMediaResponse(
            type: "video", mediaID: "4KExkgRWTofVOgQZRkCtpTEyFhuYk1Xwr1y-biXNS93U7hICK1rtHgXs8uzntW60", createdAt: 1505400804))
    }

    @Test func uploadResponses() throws {
        #expect(try APITest.decode(UploadMediaResponse.self, #"{"type":"news","media_id":"CsEf3ldqkAYJAU6EJeIkStVDSvffUJ54vqbThMgplD-VJXXof6ctX5fI6-aYyUiQ","created_at":1391857799}"#)
            == UploadMediaResponse(type: "news", mediaID: "CsEf3ldqkAYJAU6EJeIkStVDSvffUJ54vqbThMgplD-VJXXof6ctX5fI6-aYyUiQ", createdAt: 1391857799))
        #expect(try APITest.decode(UploadMediaResponse.self, #"{"type":"image","media_id":"m","created_at":"1391857799","item":[]}"#)
            == UploadMediaResponse(type: "image", mediaID: "m", createdAt: 1391857799))
        // A thumb upload answers with thumb_media_id.
        #expect(try APITest.decode(UploadMediaResponse.self, #"{"type":"thumb","thumb_media_id":"t","created_at":1}"#).mediaID == "t")
        #expect(throws: DecodingError.self) { _ = try APITest.decode(UploadMediaResponse.self, #"{"errcode":40007,"errmsg":"invalid media_id"}"#) }
    }

    @Test func uploadImageResponse() throws {
        #expect(try APITest.decode(UploadImageResponse.self, #"{"url":"http:\/\/mmbiz.qpic.cn\/mmbiz\/gLO17UPS6FS2xsypf378iaNhWacZ1G1UplZYWEYfwvuU6Ont96b1roYsCNFwaRrSaKTPCUdBK9DgEHicsKwWCBRQ\/0"}"#).url
            .hasPrefix("http://mmbiz.qpic.cn/mmbiz/"))
    }

    // MARK: Every response type reads its own encoding back

    @Test func responsesRoundTrip() throws {
        func roundTrip<T: Codable & Equatable>(_ value: T) throws {
            #expect(try WeChatJSON.decode(T.self, from: WeChatJSON.encoder().encode(value)) == value)
        }
        try roundTrip(AccessTokenResponse(accessToken: "t", expiresIn: 7200))
        try roundTrip(APIStatus(errcode: 45065, errmsg: "clientmsgid exist"))
        try roundTrip(SendResponse(msgID: 1, msgDataID: 2))
        try roundTrip(PreviewResponse(msgID: 3))
        try roundTrip(GetResponse(msgID: 4, msgStatus: .sendFail))
        try roundTrip(SpeedGetResponse(speed: 1, realspeed: 60))
        try roundTrip(UploadMediaResponse(type: "news", mediaID: "m", createdAt: 5))
        try roundTrip(UploadImageResponse(url: "https://x/y"))
    }
}
