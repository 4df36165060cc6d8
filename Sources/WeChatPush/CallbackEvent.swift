/// The envelope of any callback message: enough to route it, or to acknowledge an event
/// this library does not model.
///
/// `MsgType` is required; everything else is optional here. Use ``MassSendJobFinish`` to
/// read a `MASSSENDJOBFINISH` event in full (``isMassSendJobFinish`` tells which).
public struct CallbackEvent: Sendable, Hashable {
    /// `MsgType`, e.g. `event` or `text`.
    public let msgType: String
    /// `Event`, e.g. `MASSSENDJOBFINISH`, when `MsgType` is `event`.
    public let event: String?
    /// `ToUserName`: the Official Account's original ID.
    public let toUserName: String?
    /// `FromUserName`: the sender's OpenID.
    public let fromUserName: String?
    /// `CreateTime`, Unix seconds.
    public let createTime: Int64?
    /// The whole message, for fields not modelled here.
    public let root: StrictXMLElement

    /// Reads the envelope from the (decrypted) push XML.
    /// - Parameters:
    ///   - xml: the push body, or the XML that ``CallbackCrypto/decrypt(_:)`` returned.
    ///   - limits: the XML reader's limits.
    /// - Throws: ``CallbackError`` with ``CallbackError/Code/malformedXML``, ``CallbackError/Code/missingField``
    ///   when there is no `MsgType` (an encrypted body that was not decrypted has none), or
    ///   ``CallbackError/Code/invalidField`` for a `CreateTime` that is not an integer.
    public init(xml: String, limits: StrictXMLReader.Limits = StrictXMLReader.Limits()) throws(CallbackError) {
        try self.init(element: CallbackFields.parseRoot(xml, limits: limits))
    }

    /// Reads the envelope from the root element of a push.
    /// - Throws: ``CallbackError`` as ``init(xml:limits:)`` does, except for XML errors.
    public init(element root: StrictXMLElement) throws(CallbackError) {
        let fields = CallbackFields(root)
        guard root.child("MsgType") != nil else {
            let hint = root.child("Encrypt") != nil ? " (it has an Encrypt element: decrypt it first)" : ""
            throw CallbackError(.missingField, "the message has no MsgType element\(hint)")
        }
        self.msgType = try fields.requiredString("MsgType")
        self.event = fields.optionalString("Event")
        self.toUserName = fields.optionalString("ToUserName")
        self.fromUserName = fields.optionalString("FromUserName")
        if let child = root.child("CreateTime"), !child.trimmedText.isEmpty {
            self.createTime = try fields.requiredInt64("CreateTime")
        } else {
            self.createTime = nil
        }
        self.root = root
    }

    /// Whether this is a `MASSSENDJOBFINISH` event.
    public var isMassSendJobFinish: Bool {
        msgType.lowercased() == "event" && event?.uppercased() == "MASSSENDJOBFINISH"
    }
}
