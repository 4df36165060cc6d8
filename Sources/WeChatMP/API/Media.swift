import Foundation
import WeChatLimits

/// What a file must satisfy to be uploaded: size, format and (for voice) duration.
public struct MediaLimit: Sendable, Hashable {
    /// Largest accepted size in bytes (1 MB = 1,048,576 bytes).
    public let maxBytes: Int
    /// Accepted file extensions, lowercase, without the dot.
    public let allowedExtensions: [String]
    /// Longest accepted playtime in seconds, for voice.
    public let maxDurationSeconds: Int?
    /// The errcode WeChat answers for a file over ``maxBytes``.
    public let sizeErrcode: Int

    /// The limit of `media` (sizes, extensions and playtime as ``WeChatLimits`` defines
    /// them) with the errcode WeChat answers for a file too big.
    public init(_ media: WeChatLimits.Media, sizeErrcode: Int = 40006) {
        self.init(maxBytes: media.maxBytes, allowedExtensions: media.allowedExtensions,
                  maxDurationSeconds: media.maxDurationSeconds, sizeErrcode: sizeErrcode)
    }

    /// Creates a limit.
    public init(maxBytes: Int, allowedExtensions: [String], maxDurationSeconds: Int? = nil,
                sizeErrcode: Int = 40006) {
        self.maxBytes = maxBytes
        self.allowedExtensions = allowedExtensions
        self.maxDurationSeconds = maxDurationSeconds
        self.sizeErrcode = sizeErrcode
    }

    /// Checks a file by name (its extension), size and, when known, playtime.
    public func check(fileName: String, byteCount: Int,
                      durationSeconds: Double? = nil) throws(RequestValidationError) {
        let ext = MediaLimit.fileExtension(of: fileName)
        if !allowedExtensions.contains(ext) {
            throw RequestValidationError(
                .unsupportedFileType, field: "media",
                message: "\(fileName): .\(ext.isEmpty ? "(none)" : ext) is not accepted; use \(allowedExtensions.map { "." + $0 }.joined(separator: ", "))",
                errcode: 40005)
        }
        if byteCount <= 0 {
            throw RequestValidationError(.missing, field: "media", message: "\(fileName) is empty", errcode: 41005)
        }
        if byteCount > maxBytes {
            throw RequestValidationError(
                .outOfRange, field: "media",
                message: "\(fileName) is \(byteCount) bytes; at most \(maxBytes) are accepted",
                errcode: sizeErrcode)
        }
        if let maxDurationSeconds, let durationSeconds, durationSeconds > Double(maxDurationSeconds) {
            throw RequestValidationError(
                .outOfRange, field: "media",
                message: "\(fileName) plays \(durationSeconds) s; at most \(maxDurationSeconds) s are accepted",
                errcode: 45007)
        }
    }

    /// The MIME type to send for a file of this extension in a multipart upload.
    public static func contentType(forExtension ext: String) -> String {
        switch ext.lowercased() {
        case "jpg", "jpeg": "image/jpeg"
        case "png": "image/png"
        case "gif": "image/gif"
        case "mp3": "audio/mpeg"
        case "amr": "audio/amr"
        case "mp4": "video/mp4"
        default: "application/octet-stream"
        }
    }

    /// The lowercase extension of `fileName`, without the dot (`""` when none).
    public static func fileExtension(of fileName: String) -> String {
        // ASCII names (the common case) by bytes; the same answer as the character path below.
        var utf8 = Substring(fileName).utf8
        if utf8.allSatisfy({ $0 < 0x80 }) {
            while let last = utf8.last, last == UInt8(ascii: "/") { utf8 = utf8.dropLast() }
            let name = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8[utf8.index(after: $0)...] } ?? utf8
            guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else { return "" }
            return String(Substring(name[name.index(after: dot)...])).lowercased()
        }
        let name = fileName.split(separator: "/").last.map(String.init) ?? fileName
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// `media/uploadimg` (images inside article HTML): jpg/png, at most 1 MB.
    public static let articleImage = MediaLimit(.articleImage, sizeErrcode: 40009)
}

/// The `type` of `media/upload`; each type carries its documented limits.
/// Temporary media expire 3 days after upload.
public enum MediaType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Image: at most 10 MB, jpg/png.
    case image
    /// Voice: at most 2 MB and 60 s, mp3/amr.
    case voice
    /// Video: at most 10 MB, mp4. Turn it into an `mpvideo` id with `media/uploadvideo`.
    case video
    /// Thumbnail (article covers): at most 64 KB, jpg.
    case thumb

    /// The limits of this type.
    public var limit: MediaLimit {
        switch self {
        case .image: MediaLimit(.image, sizeErrcode: 40009)
        case .voice: MediaLimit(.voice, sizeErrcode: 40010)
        case .video: MediaLimit(.video, sizeErrcode: 40011)
        case .thumb: MediaLimit(.thumb, sizeErrcode: 40012)
        }
    }

    /// Largest accepted size in bytes (``limit``'s ``MediaLimit/maxBytes``).
    public var maxBytes: Int { limit.maxBytes }

    /// Accepted extensions, lowercase, without the dot.
    public var allowedExtensions: [String] { limit.allowedExtensions }

    /// Longest accepted playtime in seconds (voice only).
    public var maxDurationSeconds: Int? { limit.maxDurationSeconds }

    /// The multipart `Content-Type` for `fileName`, from its extension.
    public func contentType(for fileName: String) -> String {
        MediaLimit.contentType(forExtension: MediaLimit.fileExtension(of: fileName))
    }

    /// Checks a file against this type's limits (see ``MediaLimit/check(fileName:byteCount:durationSeconds:)``).
    public func check(fileName: String, byteCount: Int,
                      durationSeconds: Double? = nil) throws(RequestValidationError) {
        try limit.check(fileName: fileName, byteCount: byteCount, durationSeconds: durationSeconds)
    }

    /// How long an uploaded temporary medium stays usable, in seconds (3 days).
    public static let lifetimeSeconds = 3 * 24 * 3600
}

/// The answer of `media/upload`, `media/uploadvideo` and `media/uploadnews`:
/// `{"type":"news","media_id":"…","created_at":1505400804}`.
///
/// `created_at` may be a number or a string; a thumb upload's `thumb_media_id` is read
/// as ``mediaID`` when `media_id` is absent.
public struct UploadMediaResponse: Codable, Sendable, Hashable {
    /// `image`, `voice`, `video`, `thumb` or `news`.
    public var type: String
    /// The id to use in a message (or in an article's `thumb_media_id`).
    public var mediaID: String
    /// Upload time, Unix seconds.
    public var createdAt: Int64

    /// Creates a response.
    public init(type: String, mediaID: String, createdAt: Int64) {
        self.type = type
        self.mediaID = mediaID
        self.createdAt = createdAt
    }

    private enum CodingKeys: String, CodingKey {
        case type, mediaID = "media_id", thumbMediaID = "thumb_media_id", createdAt = "created_at"
    }

    /// Decodes tolerantly; see the type's documentation.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.lenientStringIfPresent(forKey: .type) ?? ""
        if let id = try container.lenientStringIfPresent(forKey: .mediaID) {
            mediaID = id
        } else {
            mediaID = try container.lenientString(forKey: .thumbMediaID)
        }
        createdAt = try container.lenientInt64IfPresent(forKey: .createdAt) ?? 0
    }

    /// Encodes `type`, `media_id`, `created_at` (a number).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(mediaID, forKey: .mediaID)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// The answer of `media/uploadimg`: `{"url":"…"}`, for images inside article HTML.
public struct UploadImageResponse: Codable, Sendable, Hashable {
    /// The image's URL on WeChat's servers.
    public var url: String

    /// Creates a response.
    public init(url: String) {
        self.url = url
    }
}

/// One article of `media/uploadnews`.
public struct NewsArticle: Codable, Sendable, Hashable {
    /// Title (required).
    public var title: String
    /// Cover image: a `thumb` media id (required).
    public var thumbMediaID: String
    /// HTML body (required); images inside must be `media/uploadimg` URLs.
    public var content: String
    /// Author.
    public var author: String?
    /// "Read more" link.
    public var contentSourceURL: String?
    /// Summary.
    public var digest: String?
    /// `1` shows the cover in the body, `0` does not.
    public var showCoverPic: Int?
    /// `1` opens comments.
    public var needOpenComment: Int?
    /// `1` lets only followers comment.
    public var onlyFansCanComment: Int?

    /// Creates an article.
    public init(title: String, thumbMediaID: String, content: String, author: String? = nil,
                contentSourceURL: String? = nil, digest: String? = nil, showCoverPic: Int? = nil,
                needOpenComment: Int? = nil, onlyFansCanComment: Int? = nil) {
        self.title = title
        self.thumbMediaID = thumbMediaID
        self.content = content
        self.author = author
        self.contentSourceURL = contentSourceURL
        self.digest = digest
        self.showCoverPic = showCoverPic
        self.needOpenComment = needOpenComment
        self.onlyFansCanComment = onlyFansCanComment
    }

    private enum CodingKeys: String, CodingKey {
        case title, thumbMediaID = "thumb_media_id", content, author
        case contentSourceURL = "content_source_url", digest, showCoverPic = "show_cover_pic"
        case needOpenComment = "need_open_comment", onlyFansCanComment = "only_fans_can_comment"
    }

    /// Decodes tolerantly (flags as numbers, strings or booleans).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decode(String.self, forKey: .title)
        thumbMediaID = try container.lenientString(forKey: .thumbMediaID)
        content = try container.decode(String.self, forKey: .content)
        author = try container.decodeIfPresent(String.self, forKey: .author)
        contentSourceURL = try container.decodeIfPresent(String.self, forKey: .contentSourceURL)
        digest = try container.decodeIfPresent(String.self, forKey: .digest)
        func flag(_ key: CodingKeys) throws -> Int? {
            if let bool = try? container.lenientBoolIfPresent(forKey: key) { return bool ? 1 : 0 }
            return try container.lenientIntIfPresent(forKey: key)
        }
        showCoverPic = try flag(.showCoverPic)
        needOpenComment = try flag(.needOpenComment)
        onlyFansCanComment = try flag(.onlyFansCanComment)
    }

    /// Encodes the set fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(title, forKey: .title)
        try container.encode(thumbMediaID, forKey: .thumbMediaID)
        try container.encode(content, forKey: .content)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encodeIfPresent(contentSourceURL, forKey: .contentSourceURL)
        try container.encodeIfPresent(digest, forKey: .digest)
        try container.encodeIfPresent(showCoverPic, forKey: .showCoverPic)
        try container.encodeIfPresent(needOpenComment, forKey: .needOpenComment)
        try container.encodeIfPresent(onlyFansCanComment, forKey: .onlyFansCanComment)
    }

    /// Checks the required fields and the 0/1 flags.
    public func validate(index: Int = 0) throws(RequestValidationError) {
        let path = "articles[\(index)]"
        for (field, value) in [("title", title), ("thumb_media_id", thumbMediaID), ("content", content)]
        where value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw RequestValidationError(.missing, field: "\(path).\(field)", message: "is required")
        }
        for (field, value) in [("show_cover_pic", showCoverPic), ("need_open_comment", needOpenComment),
                               ("only_fans_can_comment", onlyFansCanComment)] {
            if let value, value != 0, value != 1 {
                throw RequestValidationError(.invalidValue, field: "\(path).\(field)", message: "must be 0 or 1, not \(value)")
            }
        }
    }
}

/// The body of `media/uploadnews`: `{"articles":[…]}` with 1 to 8 articles.
/// The answer's `media_id` is what ``MassPayload/mpnews(mediaID:)`` takes.
public struct UploadNewsRequest: Codable, Sendable, Hashable {
    /// The articles, 1 to 8.
    public var articles: [NewsArticle]

    /// Creates the body.
    public init(articles: [NewsArticle]) {
        self.articles = articles
    }

    /// Checks the article count (`45008`) and each article.
    public func validate() throws(RequestValidationError) {
        if !MassLimits.articlesPerNews.contains(articles.count) {
            throw RequestValidationError(
                .outOfRange, field: "articles", message: "has \(articles.count) articles; 1 to 8 are allowed", errcode: 45008)
        }
        for (index, article) in articles.enumerated() {
            try article.validate(index: index)
        }
    }
}

/// The body of `media/uploadvideo`: `{"media_id":"…","title":"…","description":"…"}`, where
/// `media_id` is an uploaded `video`. The answer's `media_id` is what
/// ``MassPayload/mpvideo(mediaID:title:description:)`` takes.
public struct UploadVideoRequest: Codable, Sendable, Hashable {
    /// The `media/upload?type=video` id.
    public var mediaID: String
    /// The video's title.
    public var title: String
    /// The video's description; omitted when `nil`.
    public var description: String?

    /// Creates the body.
    public init(mediaID: String, title: String, description: String? = nil) {
        self.mediaID = mediaID
        self.title = title
        self.description = description
    }

    private enum CodingKeys: String, CodingKey { case mediaID = "media_id", title, description }

    /// Checks the media id is set.
    public func validate() throws(RequestValidationError) {
        if mediaID.trimmingCharacters(in: .whitespaces).isEmpty {
            throw RequestValidationError(.missing, field: "media_id", message: "is required", errcode: 40007)
        }
    }
}
