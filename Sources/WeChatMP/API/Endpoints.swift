/// The paths of the endpoints this module types, relative to `https://api.weixin.qq.com`.
/// Every call but ``token`` and ``tagsGet`` is `POST` with `?access_token=TOKEN`.
public enum WeChatAPIPath {
    /// `GET /cgi-bin/token` (query ``TokenRequest/queryItems``).
    public static let token = "/cgi-bin/token"
    /// `POST /cgi-bin/stable_token` (no access token).
    public static let stableToken = "/cgi-bin/stable_token"
    /// Send to a tag or to all followers.
    public static let massSendAll = "/cgi-bin/message/mass/sendall"
    /// Send to a list of OpenIDs.
    public static let massSend = "/cgi-bin/message/mass/send"
    /// Send to one person to check.
    public static let massPreview = "/cgi-bin/message/mass/preview"
    /// Delete a sent mpnews/mpvideo.
    public static let massDelete = "/cgi-bin/message/mass/delete"
    /// Status of a send.
    public static let massGet = "/cgi-bin/message/mass/get"
    /// Read the send speed.
    public static let massSpeedGet = "/cgi-bin/message/mass/speed/get"
    /// Set the send speed.
    public static let massSpeedSet = "/cgi-bin/message/mass/speed/set"
    /// Multipart upload of a temporary medium (`?type=image|voice|video|thumb`, field `media`).
    public static let mediaUpload = "/cgi-bin/media/upload"
    /// Multipart upload of an image for article HTML (field `media`).
    public static let mediaUploadImage = "/cgi-bin/media/uploadimg"
    /// Turn an uploaded video into an `mpvideo` id.
    public static let mediaUploadVideo = "/cgi-bin/media/uploadvideo"
    /// Upload the articles of an `mpnews`.
    public static let mediaUploadNews = "/cgi-bin/media/uploadnews"
    /// `GET`: every user tag with its follower count (read-only).
    public static let tagsGet = "/cgi-bin/tags/get"
    /// The members of a tag, 10,000 a page (read-only).
    public static let userTagGet = "/cgi-bin/user/tag/get"
}

/// A JSON request body that knows its endpoint and its answer's type, so a client can
/// offer one `call(_:)` for all of them. The answer's ``APIStatus`` is read from the same
/// body separately.
public protocol WeChatAPIRequest: Encodable, Sendable {
    /// The type of a successful answer.
    associatedtype Response: Decodable & Sendable
    /// The endpoint's path (see ``WeChatAPIPath``).
    static var path: String { get }
    /// `false` for calls made without `?access_token=` (``StableTokenRequest``).
    static var needsAccessToken: Bool { get }
}

extension WeChatAPIRequest {
    /// Most endpoints need the access token.
    public static var needsAccessToken: Bool { true }
}

extension StableTokenRequest: WeChatAPIRequest {
    /// An ``AccessTokenResponse``.
    public typealias Response = AccessTokenResponse
    /// ``WeChatAPIPath/stableToken``.
    public static var path: String { WeChatAPIPath.stableToken }
    /// `false`: the token endpoint takes the AppSecret instead.
    public static var needsAccessToken: Bool { false }
}

extension SendAllRequest: WeChatAPIRequest {
    /// A ``SendResponse``.
    public typealias Response = SendResponse
    /// ``WeChatAPIPath/massSendAll``.
    public static var path: String { WeChatAPIPath.massSendAll }
}

extension SendRequest: WeChatAPIRequest {
    /// A ``SendResponse``.
    public typealias Response = SendResponse
    /// ``WeChatAPIPath/massSend``.
    public static var path: String { WeChatAPIPath.massSend }
}

extension PreviewRequest: WeChatAPIRequest {
    /// A ``PreviewResponse``.
    public typealias Response = PreviewResponse
    /// ``WeChatAPIPath/massPreview``.
    public static var path: String { WeChatAPIPath.massPreview }
}

extension DeleteRequest: WeChatAPIRequest {
    /// Only the ``APIStatus``.
    public typealias Response = APIStatus
    /// ``WeChatAPIPath/massDelete``.
    public static var path: String { WeChatAPIPath.massDelete }
}

extension GetRequest: WeChatAPIRequest {
    /// A ``GetResponse``.
    public typealias Response = GetResponse
    /// ``WeChatAPIPath/massGet``.
    public static var path: String { WeChatAPIPath.massGet }
}

extension SpeedGetRequest: WeChatAPIRequest {
    /// A ``SpeedGetResponse``.
    public typealias Response = SpeedGetResponse
    /// ``WeChatAPIPath/massSpeedGet``.
    public static var path: String { WeChatAPIPath.massSpeedGet }
}

extension SpeedSetRequest: WeChatAPIRequest {
    /// Only the ``APIStatus``.
    public typealias Response = APIStatus
    /// ``WeChatAPIPath/massSpeedSet``.
    public static var path: String { WeChatAPIPath.massSpeedSet }
}

extension UploadNewsRequest: WeChatAPIRequest {
    /// An ``UploadMediaResponse`` of type `news`.
    public typealias Response = UploadMediaResponse
    /// ``WeChatAPIPath/mediaUploadNews``.
    public static var path: String { WeChatAPIPath.mediaUploadNews }
}

extension UploadVideoRequest: WeChatAPIRequest {
    /// An ``UploadMediaResponse`` of type `video`.
    public typealias Response = UploadMediaResponse
    /// ``WeChatAPIPath/mediaUploadVideo``.
    public static var path: String { WeChatAPIPath.mediaUploadVideo }
}

extension TagMembersRequest: WeChatAPIRequest {
    /// A ``TagMembersPage``.
    public typealias Response = TagMembersPage
    /// ``WeChatAPIPath/userTagGet``.
    public static var path: String { WeChatAPIPath.userTagGet }
}
