import Foundation

/// A WeChat error answer: HTTP 200 with `{"errcode":N,"errmsg":"… rid: …"}`.
struct APIError: Error, Sendable {
    var code: Int
    var message: String
    /// Extra fields after `errmsg` (45065 carries the earlier `msg_id`).
    var msgID: Int64?

    init(_ code: Int, _ message: String? = nil, msgID: Int64? = nil) {
        self.code = code
        self.message = message ?? Self.defaultMessage(code)
        self.msgID = msgID
    }

    /// The `errmsg` texts WeChat uses (the part before ` rid:`).
    static func defaultMessage(_ code: Int) -> String {
        switch code {
        case -1: "system error"
        case 40001: "invalid credential, access_token is invalid or not latest"
        case 40002: "invalid grant_type"
        case 40003: "invalid openid"
        case 40004: "invalid media type"
        case 40005: "invalid file type"
        case 40006: "invalid file size"
        case 40007: "invalid media_id"
        case 40008: "invalid message type"
        case 40009: "invalid image size"
        case 40010: "invalid voice size"
        case 40011: "invalid video size"
        case 40012: "invalid thumb size"
        case 40013: "invalid appid"
        case 40014: "invalid access_token"
        case 40035: "invalid args"
        case 40059: "invalid msg id"
        case 40060: "invalid article idx"
        case 40066: "invalid url"
        case 40073: "invalid card id"
        case 40125: "invalid appsecret"
        case 40130: "invalid openid list size, at least two openid"
        case 40132: "invalid username"
        case 40152: "invalid group id"
        case 41001: "access_token missing"
        case 41002: "appid missing"
        case 41004: "appsecret missing"
        case 41005: "media data missing"
        case 42001: "access_token expired"
        case 43002: "require POST method"
        case 43004: "require subscribe"
        case 44002: "empty post data"
        case 44003: "empty news data"
        case 44004: "empty content"
        case 45002: "content size out of limit"
        case 45003: "title size out of limit"
        case 45004: "description size out of limit"
        case 45008: "article size out of limit"
        case 45009: "reach max api daily quota limit"
        case 45011: "api minute-quota reach limit  mustslower  retry next minute"
        case 45028: "has no masssend quota"
        case 45065: "clientmsgid exist"
        case 45066: "same clientmsgid retry too fast"
        case 45067: "clientmsgid size out of limit"
        case 45083: "the speed out of range"
        case 45159: "invalid tag id"
        case 47001: "data format error"
        case 48001: "api unauthorized"
        case 48008: "no permission for this msgtype"
        case 9_500_002: "masssend task too much, system busy, please try later"
        default: "error \(code)"
        }
    }
}
