import Foundation

/// The query of `GET /cgi-bin/token` (prefer ``StableTokenRequest``).
///
/// Holds the AppSecret: its description, debug description and mirror show `<redacted>`
/// in its place.
public struct TokenRequest: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// Always `client_credential`.
    public var grantType: String
    /// The AppID.
    public var appid: String
    /// The AppSecret (never printed).
    public var secret: String

    /// Creates the query.
    public init(appid: String, secret: String, grantType: String = "client_credential") {
        self.grantType = grantType
        self.appid = appid
        self.secret = secret
    }

    /// The query items, in the documented order: `grant_type`, `appid`, `secret`.
    /// The result contains the secret: never log it.
    public var queryItems: [URLQueryItem] {
        [
            URLQueryItem(name: "grant_type", value: grantType),
            URLQueryItem(name: "appid", value: appid),
            URLQueryItem(name: "secret", value: secret),
        ]
    }

    /// A description without the secret.
    public var description: String {
        "TokenRequest(grantType: \"\(grantType)\", appid: \"\(appid)\", secret: \(redactedText))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// A mirror that shows `<redacted>` for the secret.
    public var customMirror: Mirror {
        Mirror(self, children: ["grantType": grantType, "appid": appid, "secret": redactedText],
               displayStyle: .struct)
    }
}

/// The body of `POST /cgi-bin/stable_token`:
/// `{"grant_type":"client_credential","appid":"…","secret":"…","force_refresh":false}`.
///
/// Holds the AppSecret: its description, debug description and mirror show `<redacted>`
/// in its place.
public struct StableTokenRequest: Codable, Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// Always `client_credential`.
    public var grantType: String
    /// The AppID.
    public var appid: String
    /// The AppSecret (never printed).
    public var secret: String
    /// `true` invalidates the current token and issues a new one (20 a day, 30 s apart):
    /// only after a token error, never routinely.
    public var forceRefresh: Bool

    /// Creates the body.
    public init(appid: String, secret: String, forceRefresh: Bool = false,
                grantType: String = "client_credential") {
        self.grantType = grantType
        self.appid = appid
        self.secret = secret
        self.forceRefresh = forceRefresh
    }

    private enum CodingKeys: String, CodingKey {
        case grantType = "grant_type", appid, secret, forceRefresh = "force_refresh"
    }

    /// Decodes tolerantly (`force_refresh` may be absent, a boolean, or 0/1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        grantType = try container.lenientStringIfPresent(forKey: .grantType) ?? "client_credential"
        appid = try container.lenientString(forKey: .appid)
        secret = try container.lenientString(forKey: .secret)
        forceRefresh = try container.lenientBoolIfPresent(forKey: .forceRefresh) ?? false
    }

    /// Encodes all four documented keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(grantType, forKey: .grantType)
        try container.encode(appid, forKey: .appid)
        try container.encode(secret, forKey: .secret)
        try container.encode(forceRefresh, forKey: .forceRefresh)
    }

    /// A description without the secret.
    public var description: String {
        "StableTokenRequest(grantType: \"\(grantType)\", appid: \"\(appid)\", secret: \(redactedText), forceRefresh: \(forceRefresh))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// A mirror that shows `<redacted>` for the secret.
    public var customMirror: Mirror {
        Mirror(self, children: ["grantType": grantType, "appid": appid, "secret": redactedText,
                                "forceRefresh": forceRefresh],
               displayStyle: .struct)
    }
}

/// The token answer of `/cgi-bin/token` and `/cgi-bin/stable_token`:
/// `{"access_token":"…","expires_in":7200}`.
///
/// Holds the access token: its description, debug description and mirror show `<redacted>`
/// in its place.
public struct AccessTokenResponse: Codable, Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The access token (never printed).
    public var accessToken: String
    /// Seconds the token stays valid from now.
    public var expiresIn: Int

    /// Creates a response.
    public init(accessToken: String, expiresIn: Int) {
        self.accessToken = accessToken
        self.expiresIn = expiresIn
    }

    private enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", expiresIn = "expires_in"
    }

    /// Decodes tolerantly (`expires_in` may be a number or a numeric string).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.lenientString(forKey: .accessToken)
        expiresIn = try container.lenientInt(forKey: .expiresIn)
    }

    /// Encodes `{"access_token":…,"expires_in":…}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessToken, forKey: .accessToken)
        try container.encode(expiresIn, forKey: .expiresIn)
    }

    /// A description without the token.
    public var description: String {
        "AccessTokenResponse(accessToken: \(redactedText), expiresIn: \(expiresIn))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// A mirror that shows `<redacted>` for the token.
    public var customMirror: Mirror {
        Mirror(self, children: ["accessToken": redactedText, "expiresIn": expiresIn],
               displayStyle: .struct)
    }
}
