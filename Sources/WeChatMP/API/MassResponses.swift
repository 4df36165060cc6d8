import Foundation

/// The answer of `message/mass/sendall` and `message/mass/send`:
/// `{"errcode":0,"errmsg":"send job submission success","msg_id":34182,"msg_data_id":206227730}`.
///
/// Also decodes the `45065` body (`{"errcode":45065,"errmsg":"clientmsgid exist","msg_id":…}`),
/// whose `msg_id` is the earlier send's. Success means "job accepted", not "delivered".
/// Read ``APIStatus`` from the same body for the errcode.
public struct SendResponse: Codable, Sendable, Hashable {
    /// The job's id.
    public var msgID: Int64
    /// The id of the article data (mpnews only).
    public var msgDataID: Int64?

    /// Creates a response.
    public init(msgID: Int64, msgDataID: Int64? = nil) {
        self.msgID = msgID
        self.msgDataID = msgDataID
    }

    private enum CodingKeys: String, CodingKey { case msgID = "msg_id", msgDataID = "msg_data_id" }

    /// Decodes ids written as numbers or strings; other fields are ignored.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.lenientInt64(forKey: .msgID)
        msgDataID = try container.lenientInt64IfPresent(forKey: .msgDataID)
    }

    /// Encodes the ids as numbers.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(msgID, forKey: .msgID)
        try container.encodeIfPresent(msgDataID, forKey: .msgDataID)
    }
}

/// The answer of `message/mass/preview`: `{"errcode":0,"errmsg":"preview success","msg_id":…}`.
public struct PreviewResponse: Codable, Sendable, Hashable {
    /// The preview's id, when WeChat gives one.
    public var msgID: Int64?

    /// Creates a response.
    public init(msgID: Int64? = nil) {
        self.msgID = msgID
    }

    private enum CodingKeys: String, CodingKey { case msgID = "msg_id" }

    /// Decodes `msg_id` written as a number or string, or absent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.lenientInt64IfPresent(forKey: .msgID)
    }

    /// Encodes `msg_id` as a number when set.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(msgID, forKey: .msgID)
    }
}

/// The state of a mass-send job as `message/mass/get` reports it.
///
/// Unknown values are kept in ``unknown(_:)`` rather than failing the decode.
public enum MassStatus: Sendable, Hashable, Codable, RawRepresentable, CustomStringConvertible {
    /// `SENDING`: the job is running.
    case sending
    /// `SEND_SUCCESS`: the job finished.
    case sendSuccess
    /// `SEND_FAIL`: the job failed.
    case sendFail
    /// `DELETE`: the message was deleted.
    case delete
    /// Any other value, kept verbatim.
    case unknown(String)

    /// Maps the documented strings to their cases, anything else to ``unknown(_:)``.
    public init(rawValue: String) {
        switch rawValue {
        case "SENDING": self = .sending
        case "SEND_SUCCESS": self = .sendSuccess
        case "SEND_FAIL": self = .sendFail
        case "DELETE": self = .delete
        default: self = .unknown(rawValue)
        }
    }

    /// The string WeChat uses.
    public var rawValue: String {
        switch self {
        case .sending: "SENDING"
        case .sendSuccess: "SEND_SUCCESS"
        case .sendFail: "SEND_FAIL"
        case .delete: "DELETE"
        case .unknown(let value): value
        }
    }

    /// The four documented statuses.
    public static let documented: [MassStatus] = [.sending, .sendSuccess, .sendFail, .delete]

    /// Same as ``rawValue``.
    public var description: String { rawValue }

    /// Decodes any string.
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes ``rawValue``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The answer of `message/mass/get`: `{"msg_id":201053012,"msg_status":"SEND_SUCCESS"}`.
public struct GetResponse: Codable, Sendable, Hashable {
    /// The job's id.
    public var msgID: Int64
    /// Its status.
    public var msgStatus: MassStatus

    /// Creates a response.
    public init(msgID: Int64, msgStatus: MassStatus) {
        self.msgID = msgID
        self.msgStatus = msgStatus
    }

    private enum CodingKeys: String, CodingKey { case msgID = "msg_id", msgStatus = "msg_status" }

    /// Decodes `msg_id` written as a number or string; unknown statuses are kept.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.lenientInt64(forKey: .msgID)
        msgStatus = try container.decode(MassStatus.self, forKey: .msgStatus)
    }

    /// Encodes `msg_id` as a number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(msgID, forKey: .msgID)
        try container.encode(msgStatus, forKey: .msgStatus)
    }
}

/// The answer of `message/mass/speed/get`: `{"speed":0,"realspeed":80}`.
public struct SpeedGetResponse: Codable, Sendable, Hashable {
    /// The speed level, 0...4.
    public var speed: Int
    /// The actual speed, in units of 10,000 messages per minute.
    public var realspeed: Int

    /// Creates a response.
    public init(speed: Int, realspeed: Int) {
        self.speed = speed
        self.realspeed = realspeed
    }

    private enum CodingKeys: String, CodingKey { case speed, realspeed }

    /// Decodes numbers written as numbers or strings.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        speed = try container.lenientInt(forKey: .speed)
        realspeed = try container.lenientInt(forKey: .realspeed)
    }

    /// Encodes `{"realspeed":…,"speed":…}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(speed, forKey: .speed)
        try container.encode(realspeed, forKey: .realspeed)
    }
}
