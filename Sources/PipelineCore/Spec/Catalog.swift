import WeChatLimits

/// One kind of step (`uses:`): what its `with` takes and what outputs it produces.
public struct StepKind: Sendable {
    /// The name written in `uses`, e.g. `mass/sendall`.
    public var name: String
    /// The WeChat call(s) it makes, for docs and plans.
    public var call: String
    /// The shape of `with`.
    public var with: ObjectSpec
    /// Outputs and their types, readable as `steps.<id>.outputs.<name>`.
    public var outputs: [(name: String, type: ExprType)]
    /// What the step does that cannot be undone, if anything. The runner journals such a
    /// call (intent before, outcome after), refuses it when the journal cannot be read or
    /// written, and on a re-run adopts or refuses it instead of repeating it.
    public var irreversible: Irreversibility?
    public var doc: String

    /// Whether the step sends a broadcast (irreversible; carries a clientmsgid).
    public var sends: Bool { irreversible == .send }

    /// Outputs by name.
    public let outputTypes: [String: ExprType]

    init(
        name: String, call: String, with: ObjectSpec, outputs: [(name: String, type: ExprType)], sends: Bool,
        irreversible: Irreversibility? = nil, doc: String
    ) {
        self.name = name
        self.call = call
        self.with = with
        self.outputs = outputs
        self.irreversible = sends ? .send : irreversible
        self.doc = doc
        self.outputTypes = Dictionary(outputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    }
}

/// What a step kind does that cannot be undone.
public enum Irreversibility: String, Sendable, Hashable {
    /// A broadcast (`mass/sendall`, a `mass/send` batch), under its clientmsgid.
    case send
    /// A message to one person (`mass/preview`); WeChat gives it no key.
    case preview
    /// A deleted message (`mass/delete`).
    case delete
}

/// The step catalog: every kind a pipeline may use.
public enum Catalog {
    /// All kinds, in the order the docs list them.
    public static let kinds: [StepKind] = [
        mediaUpload, mediaUploadImg, mediaUploadNews, mediaUploadVideo,
        massSendAll, massSend, massPreview, massGet, massWait, massDelete, massSpeed,
    ]

    public static let names: [String] = kinds.map(\.name)

    /// Fields that hold message copy. A plain scalar in one of them followed by ` #` gets the
    /// MC1009 warning: in WeChat copy `#话题#` is common and YAML silently cuts the text there.
    /// (A comment after a path or an id is ordinary YAML and is not warned about.)
    public static let copyFields: Set<String> = ["content", "title", "description", "digest", "author", "recommend"]

    public static func kind(_ name: String) -> StepKind? {
        byName[name]
    }

    private static let byName: [String: StepKind] = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

    // MARK: Shared pieces

    static let mediaID = Field("media_id", .string(.nonEmpty), required: true, expression: true,
                               doc: "A media_id from an upload step")
    static let msgID: FieldType = .either([.integer(min: 1), .string(.nonEmpty)])

    static let msgtypes = ["text", "mpnews", "voice", "mpvideo", "image", "wxcard"]

    static func textPayload() -> Field {
        Field("text", .object(ObjectSpec([
            Field("content", .string(.nonEmpty), expression: true, doc: "The message text"),
            Field("content_file", .string(.nonEmpty), expression: true,
                  doc: "A UTF-8 file with the text, relative to the pipeline"),
        ], constraints: [.exactlyOne(["content", "content_file"])])), expression: true, doc: "Payload of msgtype text")
    }

    private typealias MassSend = WeChatLimits.MassSend
    private static let images = MassSend.imagesPerMessage
    private static let articles = MassSend.articlesPerNews

    /// `10000` as `10,000`, for docs.
    private static func grouped(_ n: Int) -> String {
        var digits = Array(String(n))
        var out = ""
        while digits.count > 3 {
            out = "," + String(digits.suffix(3)) + out
            digits.removeLast(3)
        }
        return String(digits) + out
    }

    static func simplePayload(_ key: String, _ doc: String) -> Field {
        Field(key, .object(ObjectSpec([mediaID])), expression: true, doc: doc)
    }

    static let imagesPayload = Field("images", .object(ObjectSpec([
        Field("media_ids", .list(.string(.nonEmpty), min: images.lowerBound, max: images.upperBound),
              required: true, expression: true, doc: "\(images.lowerBound) to \(images.upperBound) image media_ids"),
        Field("recommend", .string(), expression: true, doc: "Recommendation text"),
        Field("need_open_comment", .integer(min: 0, max: 1), expression: true, doc: "1 opens comments"),
        Field("only_fans_can_comment", .integer(min: 0, max: 1), expression: true, doc: "1: only followers comment"),
    ])), expression: true, doc: "Payload of msgtype image (WeChat's key is `images`)")

    static let wxcardPayload = Field("wxcard", .object(ObjectSpec([
        Field("card_id", .string(.nonEmpty), required: true, expression: true),
    ])), expression: true, doc: "Payload of msgtype wxcard")

    static let sendIgnoreReprint = Field(
        "send_ignore_reprint", .integer(min: 0, max: 1), expression: true,
        doc: "1: send even when the article is judged a reprint; 0: stop the send (WeChat's default)")

    static let refusedOnSend: [String: ObjectSpec.Refusal] = [
        "clientmsgid": .init(.userClientMsgID, "clientmsgid is set by masscast, not by the pipeline",
                             hint: "remove it: masscast derives a deterministic key so that a broadcast is never sent twice"),
        "image": .init(.legacyImagePayload, "mass sends of images use 'images', not 'image'",
                       hint: "write images: { media_ids: [ … ] }"),
    ]

    static let payloadKeys = ["text": "text", "mpnews": "mpnews", "voice": "voice", "mpvideo": "mpvideo",
                              "image": "images", "wxcard": "wxcard"]

    // MARK: Kinds

    static let mediaUpload = StepKind(
        name: "media/upload", call: "media/upload?type=",
        with: ObjectSpec([
            Field("type", .enumeration(["image", "voice", "video", "thumb"]), required: true, doc: "Media type"),
            Field("file", .string(.nonEmpty), required: true, expression: true, doc: "Path, relative to the pipeline"),
        ]),
        outputs: [("media_id", .string), ("type", .string), ("created_at", .integer)],
        sends: false, doc: "Upload temporary media (expires after 3 days)")

    static let mediaUploadImg = StepKind(
        name: "media/uploadimg", call: "media/uploadimg",
        with: ObjectSpec([
            Field("file", .string(.nonEmpty), required: true, expression: true, doc: "jpg/png under 1 MB"),
        ]),
        outputs: [("url", .string)],
        sends: false, doc: "Upload an image for use inside article HTML")

    static let article = ObjectSpec([
        Field("title", .string(.nonEmpty), required: true, expression: true),
        Field("thumb_media_id", .string(.nonEmpty), required: true, expression: true),
        Field("content", .string(.nonEmpty), expression: true, doc: "Article HTML"),
        Field("content_file", .string(.nonEmpty), expression: true, doc: "A file with the article HTML"),
        Field("author", .string(), expression: true),
        Field("content_source_url", .string(), expression: true),
        Field("digest", .string(), expression: true),
        Field("show_cover_pic", .integer(min: 0, max: 1), expression: true),
        Field("need_open_comment", .integer(min: 0, max: 1), expression: true),
        Field("only_fans_can_comment", .integer(min: 0, max: 1), expression: true),
    ], constraints: [.exactlyOne(["content", "content_file"])])

    static let mediaUploadNews = StepKind(
        name: "media/uploadnews", call: "media/uploadnews",
        with: ObjectSpec([
            Field("articles", .list(.object(article), min: articles.lowerBound, max: articles.upperBound), required: true,
                  doc: "\(articles.lowerBound) to \(articles.upperBound) articles"),
        ]),
        outputs: [("media_id", .string), ("created_at", .integer)],
        sends: false, doc: "Upload articles; the media_id is used in mpnews")

    static let mediaUploadVideo = StepKind(
        name: "media/uploadvideo", call: "media/uploadvideo",
        with: ObjectSpec([
            mediaID,
            Field("title", .string(.nonEmpty), required: true, expression: true),
            Field("description", .string(), expression: true),
        ]),
        outputs: [("media_id", .string), ("created_at", .integer)],
        sends: false, doc: "Turn an uploaded video into an mpvideo media_id")

    static let massSendAll = StepKind(
        name: "mass/sendall", call: "message/mass/sendall",
        with: ObjectSpec([
            Field("filter", .object(ObjectSpec([
                Field("is_to_all", .boolean, required: true,
                      doc: "true sends to every follower; a literal, never an expression"),
                Field("tag_id", .integer(min: 0), expression: true, doc: "The audience tag"),
            ], constraints: [.requiredWhen(field: "is_to_all", equals: false, required: "tag_id")],
               refused: ["group_id": .init(.legacyGroupID, "filter.group_id is the legacy audience key; WeChat now uses tag_id",
                                           hint: "rename group_id to tag_id")])),
                  required: true, doc: "The audience"),
            Field("msgtype", .enumeration(msgtypes), required: true, doc: "Message type; selects the payload key"),
            textPayload(), simplePayload("mpnews", "Payload of msgtype mpnews"),
            simplePayload("voice", "Payload of msgtype voice"), simplePayload("mpvideo", "Payload of msgtype mpvideo"),
            imagesPayload, wxcardPayload, sendIgnoreReprint,
        ], constraints: [.payload(selector: "msgtype", keys: payloadKeys)], refused: refusedOnSend),
        outputs: [("msg_id", .integer), ("msg_data_id", .integer)],
        sends: true, doc: "Send to a tag or to all followers")

    static let massSend = StepKind(
        name: "mass/send", call: "message/mass/send (once per batch)",
        with: ObjectSpec([
            Field("touser", .list(.string(.openID), min: MassSend.minOpenIDs, max: MassSend.maxOpenIDs), expression: true,
                  doc: "\(MassSend.minOpenIDs) to \(grouped(MassSend.maxOpenIDs)) OpenIDs; larger audiences go in touser_file"),
            Field("touser_file", .string(.nonEmpty), expression: true,
                  doc: "A file with one OpenID a line, or a CSV (see touser_column)"),
            Field("touser_column", .string(.nonEmpty), doc: "The CSV column that holds the OpenIDs"),
            Field("msgtype", .enumeration(msgtypes), required: true),
            textPayload(), simplePayload("mpnews", "Payload of msgtype mpnews"),
            simplePayload("voice", "Payload of msgtype voice"),
            Field("mpvideo", .object(ObjectSpec([
                mediaID,
                Field("title", .string(), expression: true),
                Field("description", .string(), expression: true),
            ])), expression: true, doc: "Payload of msgtype mpvideo"),
            imagesPayload, wxcardPayload, sendIgnoreReprint,
        ], constraints: [.exactlyOne(["touser", "touser_file"]), .payload(selector: "msgtype", keys: payloadKeys)],
           refused: refusedOnSend.merging([
               "filter": .init(.unknownKey, "mass/send takes an OpenID list, not a filter",
                               hint: "use touser or touser_file, or use mass/sendall to send to a tag"),
           ]) { a, _ in a }),
        outputs: [("msg_ids", .list(.integer)), ("batches", .integer), ("recipients", .integer)],
        sends: true, doc: "Send to a list of OpenIDs, in batches of at most \(grouped(MassSend.maxOpenIDs))")

    static let massPreview = StepKind(
        name: "mass/preview", call: "message/mass/preview",
        with: ObjectSpec([
            Field("touser", .string(.openID), expression: true, doc: "One OpenID"),
            Field("towxname", .string(.nonEmpty), expression: true, doc: "A WeChat ID; wins over touser"),
            Field("msgtype", .enumeration(msgtypes), required: true),
            textPayload(), simplePayload("mpnews", "Payload of msgtype mpnews"),
            simplePayload("voice", "Payload of msgtype voice"), simplePayload("mpvideo", "Payload of msgtype mpvideo"),
            simplePayload("image", "Payload of msgtype image (preview takes a single image)"), wxcardPayload,
        ], constraints: [
            .atLeastOne(["touser", "towxname"]),
            .payload(selector: "msgtype", keys: ["text": "text", "mpnews": "mpnews", "voice": "voice",
                                                 "mpvideo": "mpvideo", "image": "image", "wxcard": "wxcard"]),
        ], refused: [
            "clientmsgid": .init(.userClientMsgID, "clientmsgid is not used by mass/preview, and is never set by hand"),
        ]),
        outputs: [("msg_id", .integer)],
        sends: false, irreversible: .preview, doc: "Send to one person to check")

    static let massGet = StepKind(
        name: "mass/get", call: "message/mass/get",
        with: ObjectSpec([Field("msg_id", msgID, required: true, expression: true)]),
        outputs: [("msg_id", .integer), ("msg_status", .string)],
        sends: false, doc: "Read a job's status")

    static let massWait = StepKind(
        name: "mass/wait", call: "MASSSENDJOBFINISH push and message/mass/get",
        with: ObjectSpec([
            Field("msg_id", msgID, expression: true),
            Field("msg_ids", .list(msgID, min: 1), expression: true),
            Field("timeout", .duration, doc: "Bound on the whole wait (default 6h)"),
            Field("poll_interval", .duration, doc: "Between mass/get polls (default 30s)"),
            Field("source", .enumeration(["auto", "callback", "poll"]), doc: "Where the end comes from (default auto)"),
            Field("min_sent", .either([.integer(min: 1), .string(.percentage)]),
                  doc: "Fail the step unless at least this many followers were sent the message: a count (1000) or a share of total_count (\"90%\"); needs the push's counts"),
        ], constraints: [
            .exactlyOne(["msg_id", "msg_ids"]),
            .excludedWhen(
                key: "min_sent", field: "source", equals: "poll", code: .minSentWithoutCounts,
                message: "min_sent cannot be checked with source: poll: only the MASSSENDJOBFINISH push carries the counts",
                hint: "use source: auto or callback (the account needs its original_id), or remove min_sent"),
        ]),
        outputs: [("status", .string), ("msg_status", .string), ("total_count", .integer), ("filter_count", .integer),
                  ("sent_count", .integer), ("error_count", .integer), ("copyright_check_state", .integer),
                  ("articles", .list(.any))],
        sends: false, doc: "Wait for the job(s) to finish")

    static let massDelete = StepKind(
        name: "mass/delete", call: "message/mass/delete",
        with: ObjectSpec([
            Field("msg_id", msgID, expression: true),
            Field("msg_ids", .list(msgID, min: 1), expression: true),
            Field("url", .string(.url), expression: true, doc: "The article URL, instead of msg_id"),
            Field("article_idx", .integer(min: 0), expression: true, doc: "1-based article; 0 or absent: the whole message"),
        ], constraints: [.exactlyOne(["msg_id", "msg_ids", "url"])]),
        outputs: [("deleted", .boolean)],
        sends: false, irreversible: .delete, doc: "Delete a sent mpnews or mpvideo message")

    static let massSpeed = StepKind(
        name: "mass/speed", call: "message/mass/speed/get or /set",
        with: ObjectSpec([
            Field("speed", .integer(min: MassSend.speedLevels.lowerBound, max: MassSend.speedLevels.upperBound), expression: true,
                  doc: "\(MassSend.speedLevels.lowerBound)..\(MassSend.speedLevels.upperBound) = "
                      + MassSend.speedPerMinute.map(String.init).joined(separator: ", ") + " ×10,000 a minute; absent: only read"),
        ]),
        outputs: [("speed", .integer), ("realspeed", .integer)],
        sends: false, doc: "Read or set the mass-send speed")
}
