import Foundation

/// The content of a mass message: its `msgtype` and the object under the matching key.
///
/// Encodes into the enclosing request as `"msgtype": …` plus one payload key:
/// `text{content}`, `mpnews{media_id}`, `voice{media_id}`, `mpvideo{media_id[,title,description]}`,
/// `images{media_ids,recommend,need_open_comment,only_fans_can_comment}` (msgtype `image`),
/// `image{media_id}` (msgtype `image`, the single form: preview only), `wxcard{card_id}`.
public enum MassPayload: Sendable, Hashable {
    /// A text message.
    case text(content: String)
    /// An article message; the id comes from `media/uploadnews`.
    case mpnews(mediaID: String)
    /// A voice message; the id comes from `media/upload?type=voice`.
    case voice(mediaID: String)
    /// A video message; the id comes from `media/uploadvideo`, not from `media/upload`.
    /// `title` and `description` are sent when given (mass/send documents them).
    case mpvideo(mediaID: String, title: String? = nil, description: String? = nil)
    /// An image message (sendall and send): encoded under the key `images`.
    case images(mediaIDs: [String], recommend: String? = nil, needOpenComment: Int? = nil,
                onlyFansCanComment: Int? = nil)
    /// One image, the form `message/mass/preview` takes: encoded under the key `image`.
    case image(mediaID: String)
    /// A card (coupon) message.
    case wxcard(cardID: String)

    /// The `msgtype` string: `image` for both ``images(mediaIDs:recommend:needOpenComment:onlyFansCanComment:)``
    /// and ``image(mediaID:)``.
    public var msgtype: String {
        switch self {
        case .text: "text"
        case .mpnews: "mpnews"
        case .voice: "voice"
        case .mpvideo: "mpvideo"
        case .images, .image: "image"
        case .wxcard: "wxcard"
        }
    }

    /// The key the payload object is written under (`images` for the list form).
    public var payloadKey: String { key.stringValue }

    /// The media ids the payload refers to (empty for text and cards).
    public var mediaIDs: [String] {
        switch self {
        case .text, .wxcard: []
        case .mpnews(let id), .voice(let id), .image(let id): [id]
        case .mpvideo(let id, _, _): [id]
        case .images(let ids, _, _, _): ids
        }
    }

    /// `true` for the message types `message/mass/delete` can delete (mpnews, mpvideo).
    public var isDeletable: Bool {
        switch self {
        case .mpnews, .mpvideo: true
        default: false
        }
    }

    /// Checks the payload itself (non-empty content and ids, flags 0 or 1).
    public func validate() throws(RequestValidationError) {
        func nonEmpty(_ value: String, _ field: String) throws(RequestValidationError) {
            if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw RequestValidationError(.missing, field: "\(payloadKey).\(field)", message: "is empty")
            }
        }
        func flag(_ value: Int?, _ field: String) throws(RequestValidationError) {
            if let value, value != 0, value != 1 {
                throw RequestValidationError(.invalidValue, field: "images.\(field)", message: "must be 0 or 1, not \(value)")
            }
        }
        switch self {
        case .text(let content): try nonEmpty(content, "content")
        case .mpnews(let id), .voice(let id), .image(let id): try nonEmpty(id, "media_id")
        case .mpvideo(let id, _, _): try nonEmpty(id, "media_id")
        case .wxcard(let id): try nonEmpty(id, "card_id")
        case .images(let ids, _, let open, let fans):
            if ids.isEmpty {
                throw RequestValidationError(.missing, field: "images.media_ids", message: "lists no image")
            }
            for id in ids { try nonEmpty(id, "media_ids") }
            try flag(open, "need_open_comment")
            try flag(fans, "only_fans_can_comment")
        }
    }

    var key: MassKey {
        switch self {
        case .text: .text
        case .mpnews: .mpnews
        case .voice: .voice
        case .mpvideo: .mpvideo
        case .images: .images
        case .image: .image
        case .wxcard: .wxcard
        }
    }

    /// Writes `msgtype` and the payload object into a request's container.
    func encode(into container: inout KeyedEncodingContainer<MassKey>) throws {
        try container.encode(msgtype, forKey: .msgtype)
        switch self {
        case .text(let content):
            try container.encode(TextBody(content: content), forKey: .text)
        case .mpnews(let id):
            try container.encode(MediaBody(mediaID: id), forKey: .mpnews)
        case .voice(let id):
            try container.encode(MediaBody(mediaID: id), forKey: .voice)
        case .image(let id):
            try container.encode(MediaBody(mediaID: id), forKey: .image)
        case .mpvideo(let id, let title, let description):
            try container.encode(VideoBody(mediaID: id, title: title, description: description),
                                 forKey: .mpvideo)
        case .images(let ids, let recommend, let open, let fans):
            try container.encode(
                ImagesBody(mediaIDs: ids, recommend: recommend, needOpenComment: open,
                           onlyFansCanComment: fans),
                forKey: .images)
        case .wxcard(let id):
            try container.encode(CardBody(cardID: id), forKey: .wxcard)
        }
    }

    /// Reads `msgtype` and its payload from a request's container. For `msgtype: image`
    /// the list form `images` wins; the single form `image` is read when it is the only one.
    /// Unknown msgtypes (`video`, `news`, …) are a decoding error.
    init(from container: KeyedDecodingContainer<MassKey>) throws {
        let type = try container.decode(String.self, forKey: .msgtype)
        switch type {
        case "text":
            self = .text(content: try container.decode(TextBody.self, forKey: .text).content)
        case "mpnews":
            self = .mpnews(mediaID: try container.decode(MediaBody.self, forKey: .mpnews).mediaID)
        case "voice":
            self = .voice(mediaID: try container.decode(MediaBody.self, forKey: .voice).mediaID)
        case "mpvideo":
            let body = try container.decode(VideoBody.self, forKey: .mpvideo)
            self = .mpvideo(mediaID: body.mediaID, title: body.title, description: body.description)
        case "image":
            if container.contains(.images) {
                let body = try container.decode(ImagesBody.self, forKey: .images)
                self = .images(mediaIDs: body.mediaIDs, recommend: body.recommend,
                               needOpenComment: body.needOpenComment,
                               onlyFansCanComment: body.onlyFansCanComment)
            } else {
                self = .image(mediaID: try container.decode(MediaBody.self, forKey: .image).mediaID)
            }
        case "wxcard":
            self = .wxcard(cardID: try container.decode(CardBody.self, forKey: .wxcard).cardID)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .msgtype, in: container,
                debugDescription: "unknown msgtype \"\(type)\" (expected text, mpnews, voice, mpvideo, image or wxcard)")
        }
    }
}

/// Every top-level key of the mass-message request bodies.
enum MassKey: String, CodingKey {
    case filter, touser, towxname, msgtype
    case text, mpnews, voice, mpvideo, images, image, wxcard
    case sendIgnoreReprint = "send_ignore_reprint"
    case clientmsgid
}

struct TextBody: Codable {
    var content: String
}

struct MediaBody: Codable {
    var mediaID: String
    enum CodingKeys: String, CodingKey { case mediaID = "media_id" }
    init(mediaID: String) { self.mediaID = mediaID }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaID = try container.lenientString(forKey: .mediaID)
    }
}

struct VideoBody: Codable {
    var mediaID: String
    var title: String?
    var description: String?
    enum CodingKeys: String, CodingKey { case mediaID = "media_id", title, description }
}

struct ImagesBody: Codable {
    var mediaIDs: [String]
    var recommend: String?
    var needOpenComment: Int?
    var onlyFansCanComment: Int?
    enum CodingKeys: String, CodingKey {
        case mediaIDs = "media_ids", recommend
        case needOpenComment = "need_open_comment", onlyFansCanComment = "only_fans_can_comment"
    }
    init(mediaIDs: [String], recommend: String?, needOpenComment: Int?, onlyFansCanComment: Int?) {
        self.mediaIDs = mediaIDs
        self.recommend = recommend
        self.needOpenComment = needOpenComment
        self.onlyFansCanComment = onlyFansCanComment
    }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaIDs = try container.decode([String].self, forKey: .mediaIDs)
        recommend = try container.decodeIfPresent(String.self, forKey: .recommend)
        needOpenComment = try container.lenientIntIfPresent(forKey: .needOpenComment)
        onlyFansCanComment = try container.lenientIntIfPresent(forKey: .onlyFansCanComment)
    }
}

struct CardBody: Codable {
    var cardID: String
    enum CodingKeys: String, CodingKey { case cardID = "card_id" }
}
