/// The secrets and identity that a WeChat Official Account callback is checked against.
///
/// `description`, `debugDescription` and the reflection mirror (used by `dump` and string
/// interpolation) show the AppID and which keys are configured, never the token or a key.
public struct CallbackCredentials: Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    /// The callback token configured in the Official Account's server settings.
    public var token: String
    /// The current EncodingAESKey (43 characters), or `nil` in plain mode.
    public var encodingAESKey: String?
    /// The EncodingAESKey in force before the last rotation, tried when the current one fails.
    public var previousEncodingAESKey: String?
    /// The Official Account's AppID; an encrypted message must end with it.
    public var appID: String

    /// Creates credentials.
    /// - Parameters:
    ///   - token: the callback token.
    ///   - encodingAESKey: the current EncodingAESKey, or `nil` in plain mode.
    ///   - previousEncodingAESKey: the EncodingAESKey before the last rotation, if any.
    ///   - appID: the Official Account's AppID.
    public init(
        token: String,
        encodingAESKey: String? = nil,
        previousEncodingAESKey: String? = nil,
        appID: String
    ) {
        self.token = token
        self.encodingAESKey = encodingAESKey
        self.previousEncodingAESKey = previousEncodingAESKey
        self.appID = appID
    }

    /// A summary that redacts the token and the keys.
    public var description: String {
        "CallbackCredentials(appID: \(appID), token: \(Self.redacted(token)), "
            + "encodingAESKey: \(Self.redacted(encodingAESKey)), "
            + "previousEncodingAESKey: \(Self.redacted(previousEncodingAESKey)))"
    }

    /// The same redacted summary as ``description``.
    public var debugDescription: String { description }

    /// A mirror whose children are redacted, so `dump` shows no secret.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "appID": appID,
                "token": Self.redacted(token),
                "encodingAESKey": Self.redacted(encodingAESKey),
                "previousEncodingAESKey": Self.redacted(previousEncodingAESKey),
            ],
            displayStyle: .struct
        )
    }

    private static func redacted(_ secret: String?) -> String {
        switch secret {
        case nil: return "<none>"
        case let value? where value.isEmpty: return "<empty>"
        default: return "<redacted>"
        }
    }
}
