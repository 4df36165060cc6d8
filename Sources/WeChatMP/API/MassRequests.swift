import Foundation

/// The audience of `message/mass/sendall`: `{"is_to_all":false,"tag_id":100}`.
///
/// `tag_id` is omitted when `nil`; the pre-tag key `group_id` is never written (and ignored
/// when read). Encoding refuses `isToAll == false` without a tag, so a missing audience can
/// never silently become "send to all" (nor be left to WeChat to interpret). With
/// `isToAll == true` a tag, if given, is written as well; WeChat ignores it and sends to
/// every follower.
public struct MassFilter: Codable, Sendable, Hashable {
    /// `true` sends to every follower.
    public var isToAll: Bool
    /// The user tag to send to, when not sending to all.
    public var tagID: Int?

    /// Creates a filter; prefer ``toAll`` and ``tag(_:)``.
    public init(isToAll: Bool, tagID: Int?) {
        self.isToAll = isToAll
        self.tagID = tagID
    }

    /// Every follower.
    public static let toAll = MassFilter(isToAll: true, tagID: nil)

    /// The followers with user tag `id`.
    public static func tag(_ id: Int) -> MassFilter { MassFilter(isToAll: false, tagID: id) }

    /// Refuses a filter without an audience (`is_to_all` false and no `tag_id`) and a
    /// negative tag.
    public func validate() throws(RequestValidationError) {
        if !isToAll && tagID == nil {
            throw RequestValidationError(
                .missing, field: "filter.tag_id",
                message: "no audience: is_to_all is false and no tag_id is given (refusing rather than sending to all)")
        }
        if let tagID, tagID < 0 {
            throw RequestValidationError(.outOfRange, field: "filter.tag_id", message: "is negative (\(tagID))", errcode: 40152)
        }
    }

    private enum CodingKeys: String, CodingKey { case isToAll = "is_to_all", tagID = "tag_id" }

    /// Decodes tolerantly (`is_to_all` as a boolean or 0/1, `tag_id` as a number or string;
    /// a legacy `group_id` is ignored). Does not validate.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        isToAll = try container.lenientBoolIfPresent(forKey: .isToAll) ?? false
        tagID = try container.lenientIntIfPresent(forKey: .tagID)
    }

    /// Encodes `is_to_all` and, when set, `tag_id`; throws `EncodingError.invalidValue`
    /// when ``validate()`` fails.
    public func encode(to encoder: any Encoder) throws {
        do throws(RequestValidationError) {
            try validate()
        } catch {
            throw EncodingError.invalidValue(
                self, .init(codingPath: encoder.codingPath, debugDescription: error.description,
                            underlyingError: error))
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isToAll, forKey: .isToAll)
        try container.encodeIfPresent(tagID, forKey: .tagID)
    }
}

/// The body of `message/mass/sendall` (to a tag or to all followers):
/// `{"filter":…,"msgtype":…,<payload>,"send_ignore_reprint":0,"clientmsgid":"…"}`.
public struct SendAllRequest: Codable, Sendable, Hashable {
    /// The audience.
    public var filter: MassFilter
    /// The content.
    public var payload: MassPayload
    /// `0`: stop when an article is judged a reprint; `1`: send it anyway. Omitted when `nil`.
    public var sendIgnoreReprint: Int?
    /// The idempotency key (at most 64 bytes): a second send with it within 24 hours is
    /// refused with `45065` and the earlier `msg_id`. Omitted when `nil`.
    public var clientMsgID: String?

    /// Creates the body.
    public init(filter: MassFilter, payload: MassPayload, sendIgnoreReprint: Int? = nil,
                clientMsgID: String? = nil) {
        self.filter = filter
        self.payload = payload
        self.sendIgnoreReprint = sendIgnoreReprint
        self.clientMsgID = clientMsgID
    }

    /// Checks the audience, the payload (the single `image` form is preview-only), the
    /// reprint flag and the key's length.
    public func validate() throws(RequestValidationError) {
        try filter.validate()
        try payload.validate()
        if case .image = payload {
            throw RequestValidationError(
                .wrongForm, field: "image", message: "the single-image form is for preview only; send images as images{media_ids}")
        }
        try checkSendIgnoreReprint(sendIgnoreReprint)
        try checkClientMsgID(clientMsgID)
    }

    /// Decodes tolerantly; does not validate.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MassKey.self)
        filter = try container.decode(MassFilter.self, forKey: .filter)
        payload = try MassPayload(from: container)
        sendIgnoreReprint = try container.lenientIntIfPresent(forKey: .sendIgnoreReprint)
        clientMsgID = try container.lenientStringIfPresent(forKey: .clientmsgid)
    }

    /// Encodes the documented body (throws when the filter is ambiguous).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: MassKey.self)
        try container.encode(filter, forKey: .filter)
        try payload.encode(into: &container)
        try container.encodeIfPresent(sendIgnoreReprint, forKey: .sendIgnoreReprint)
        try container.encodeIfPresent(clientMsgID, forKey: .clientmsgid)
    }
}

/// The body of `message/mass/send` (to a list of 2 to 10,000 OpenIDs; verified service
/// accounts only): `{"touser":[…],"msgtype":…,<payload>,"send_ignore_reprint":0,"clientmsgid":"…"}`.
public struct SendRequest: Codable, Sendable, Hashable {
    /// The OpenIDs (2 to 10,000; split larger audiences into several calls).
    public var toUser: [String]
    /// The content.
    public var payload: MassPayload
    /// `0`: stop when an article is judged a reprint; `1`: send it anyway. Omitted when `nil`.
    public var sendIgnoreReprint: Int?
    /// The idempotency key (at most 64 bytes). Omitted when `nil`.
    public var clientMsgID: String?

    /// Creates the body.
    public init(toUser: [String], payload: MassPayload, sendIgnoreReprint: Int? = nil,
                clientMsgID: String? = nil) {
        self.toUser = toUser
        self.payload = payload
        self.sendIgnoreReprint = sendIgnoreReprint
        self.clientMsgID = clientMsgID
    }

    /// Checks the list size (`40130`), empty OpenIDs, the payload, the flag and the key.
    public func validate() throws(RequestValidationError) {
        if toUser.count < MassLimits.minOpenIDs || toUser.count > MassLimits.maxOpenIDs {
            throw RequestValidationError(
                .outOfRange, field: "touser",
                message: "has \(toUser.count) OpenIDs; mass/send takes \(MassLimits.minOpenIDs) to \(MassLimits.maxOpenIDs) per call",
                errcode: 40130)
        }
        if let index = toUser.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw RequestValidationError(.missing, field: "touser[\(index)]", message: "is empty", errcode: 40003)
        }
        try payload.validate()
        if case .image = payload {
            throw RequestValidationError(
                .wrongForm, field: "image", message: "the single-image form is for preview only; send images as images{media_ids}")
        }
        try checkSendIgnoreReprint(sendIgnoreReprint)
        try checkClientMsgID(clientMsgID)
    }

    /// Decodes tolerantly; does not validate.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MassKey.self)
        toUser = try container.decode([String].self, forKey: .touser)
        payload = try MassPayload(from: container)
        sendIgnoreReprint = try container.lenientIntIfPresent(forKey: .sendIgnoreReprint)
        clientMsgID = try container.lenientStringIfPresent(forKey: .clientmsgid)
    }

    /// Encodes the documented body.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: MassKey.self)
        try container.encode(toUser, forKey: .touser)
        try payload.encode(into: &container)
        try container.encodeIfPresent(sendIgnoreReprint, forKey: .sendIgnoreReprint)
        try container.encodeIfPresent(clientMsgID, forKey: .clientmsgid)
    }
}

extension SendRequest {
    /// The JSON body, byte for byte what ``WeChatJSON/encode(_:)`` writes (sorted keys, no
    /// spaces), built faster: everything but the OpenIDs goes through `JSONEncoder`, and the
    /// list of up to 10,000 OpenIDs is written directly (through `JSONEncoder` it took most
    /// of a large send's time). An OpenID with a byte that JSON might escape is encoded by
    /// `JSONEncoder` as well, so the output never differs.
    public func encodedBody() throws -> Data {
        var shell = self
        shell.toUser = []
        let encoder = WeChatJSON.encoder()
        let head = [UInt8](try encoder.encode(shell))
        // Inside a JSON string every quote is escaped, so `"touser":[]` is the top-level key.
        let marker = Array(#""touser":[]"#.utf8)
        guard let at = Self.firstIndex(of: marker, in: head) else { return try encoder.encode(self) }
        var out: [UInt8] = []
        out.reserveCapacity(head.count + toUser.reduce(0) { $0 + $1.utf8.count + 3 })
        out.append(contentsOf: head[..<at])
        out.append(contentsOf: #""touser":["#.utf8)
        for (i, id) in toUser.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // Printable ASCII other than `"`, `\` and `/`: JSONEncoder writes it as is too.
            if id.utf8.withContiguousStorageIfAvailable(Self.isPlain) == true {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: id.utf8)
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: try encoder.encode(id))
            }
        }
        out.append(UInt8(ascii: "]"))
        out.append(contentsOf: head[(at + marker.count)...])
        return Data(out)
    }

    /// `true` when every byte is printable ASCII other than `"`, `\` and `/` (8 bytes at a
    /// time: a 10,000-OpenID body has 280,000 of them).
    static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        var i = 0
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= count {
                if hasSpecialByte(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { return false }
                i += 8
            }
        }
        while i < count {
            let b = bytes[i]
            if b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x5C || b == 0x2F { return false }
            i += 1
        }
        return true
    }

    /// Whether any byte of `word` is 0x80 or above, below 0x20, 0x7F, `"`, `\` or `/`
    /// (the exact "has a zero byte" and "has a byte less than n" word tests).
    @inline(__always)
    static func hasSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        if word & highs != 0 { return true }
        @inline(__always) func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
        return (word &- ones &* 0x20) & ~word & highs != 0
            || hasZero(word ^ (ones &* 0x7F)) || hasZero(word ^ (ones &* 0x22))
            || hasZero(word ^ (ones &* 0x5C)) || hasZero(word ^ (ones &* 0x2F))
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start] == needle[0] && haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

/// The body of `message/mass/preview` (one person): `{"touser":"OPENID",…}` or
/// `{"towxname":"WeChat ID",…}`; `towxname` wins when both are given. Images use the
/// single form ``MassPayload/image(mediaID:)``.
public struct PreviewRequest: Codable, Sendable, Hashable {
    /// One OpenID.
    public var toUser: String?
    /// One WeChat ID (100 previews a day).
    public var toWXName: String?
    /// The content.
    public var payload: MassPayload

    /// Creates the body.
    public init(toUser: String? = nil, toWXName: String? = nil, payload: MassPayload) {
        self.toUser = toUser
        self.toWXName = toWXName
        self.payload = payload
    }

    /// Checks that someone is addressed and that images use the single form.
    public func validate() throws(RequestValidationError) {
        let user = toUser?.trimmingCharacters(in: .whitespaces) ?? ""
        let name = toWXName?.trimmingCharacters(in: .whitespaces) ?? ""
        if user.isEmpty && name.isEmpty {
            throw RequestValidationError(.missing, field: "touser", message: "preview needs touser (an OpenID) or towxname (a WeChat ID)")
        }
        try payload.validate()
        if case .images = payload {
            throw RequestValidationError(.wrongForm, field: "images", message: "preview takes one image as image{media_id}")
        }
    }

    /// Decodes tolerantly; does not validate.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: MassKey.self)
        toUser = try container.lenientStringIfPresent(forKey: .touser)
        toWXName = try container.lenientStringIfPresent(forKey: .towxname)
        payload = try MassPayload(from: container)
    }

    /// Encodes the documented body; nil recipients are omitted.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: MassKey.self)
        try container.encodeIfPresent(toUser, forKey: .touser)
        try container.encodeIfPresent(toWXName, forKey: .towxname)
        try payload.encode(into: &container)
    }
}

/// The body of `message/mass/delete`: `{"msg_id":30124,"article_idx":2}`.
///
/// `article_idx` is 1-based; `0` or absent deletes the whole message. `url` identifies the
/// article when `msg_id` is absent. Only mpnews and mpvideo sends can be deleted.
public struct DeleteRequest: Codable, Sendable, Hashable {
    /// The send to delete.
    public var msgID: Int64?
    /// The 1-based article to delete; `0` or `nil` deletes all of them.
    public var articleIdx: Int?
    /// The article URL, when `msgID` is absent.
    public var url: String?

    /// Creates the body.
    public init(msgID: Int64? = nil, articleIdx: Int? = nil, url: String? = nil) {
        self.msgID = msgID
        self.articleIdx = articleIdx
        self.url = url
    }

    /// Checks that the message is identified and the index is not negative.
    public func validate() throws(RequestValidationError) {
        if msgID == nil && (url ?? "").isEmpty {
            throw RequestValidationError(.missing, field: "msg_id", message: "delete needs msg_id or url", errcode: 40059)
        }
        if let articleIdx, articleIdx < 0 {
            throw RequestValidationError(.outOfRange, field: "article_idx", message: "is negative (\(articleIdx))", errcode: 40060)
        }
    }

    private enum CodingKeys: String, CodingKey { case msgID = "msg_id", articleIdx = "article_idx", url }

    /// Decodes tolerantly (`msg_id` as a number or string).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.lenientInt64IfPresent(forKey: .msgID)
        articleIdx = try container.lenientIntIfPresent(forKey: .articleIdx)
        url = try container.lenientStringIfPresent(forKey: .url)
    }

    /// Encodes the set fields; `msg_id` as a number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(msgID, forKey: .msgID)
        try container.encodeIfPresent(articleIdx, forKey: .articleIdx)
        try container.encodeIfPresent(url, forKey: .url)
    }
}

/// The body of `message/mass/get`: `{"msg_id":"201053012"}`, the id written as a string
/// (the documented form).
public struct GetRequest: Codable, Sendable, Hashable {
    /// The send to look up.
    public var msgID: Int64

    /// Creates the body.
    public init(msgID: Int64) {
        self.msgID = msgID
    }

    private enum CodingKeys: String, CodingKey { case msgID = "msg_id" }

    /// Decodes `msg_id` as a string or a number.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.lenientInt64(forKey: .msgID)
    }

    /// Encodes `msg_id` as a string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(msgID), forKey: .msgID)
    }
}

/// The (empty) body of `message/mass/speed/get`: `{}`.
public struct SpeedGetRequest: Codable, Sendable, Hashable {
    /// Creates the body.
    public init() {}
}

/// The body of `message/mass/speed/set`: `{"speed":N}`, N in 0...4
/// (80, 60, 45, 30, 10 ×10,000 per minute); out of range is `45083`.
public struct SpeedSetRequest: Codable, Sendable, Hashable {
    /// The speed level.
    public var speed: Int

    /// Creates the body.
    public init(speed: Int) {
        self.speed = speed
    }

    /// Checks the level is in 0...4.
    public func validate() throws(RequestValidationError) {
        if !MassLimits.speedLevels.contains(speed) {
            throw RequestValidationError(.outOfRange, field: "speed", message: "must be 0...4, not \(speed)", errcode: 45083)
        }
    }

    private enum CodingKeys: String, CodingKey { case speed }

    /// Decodes `speed` as a number or string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        speed = try container.lenientInt(forKey: .speed)
    }

    /// Encodes `{"speed":N}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(speed, forKey: .speed)
    }
}
