/// The `MASSSENDJOBFINISH` event WeChat pushes when a mass-send job is about to finish.
///
/// Read from the XML tree with ``init(element:)`` or from the text with
/// ``init(xml:limits:)``. `MsgID` is also accepted as `MsgId`. The copyright-check and
/// article-URL results may be empty or absent; an absent one reads as an empty one
/// (count 0, no items, check state 0), so a push with and without an empty
/// `ArticleUrlResult` compare equal. WeChat may push the same event up to three times.
public struct MassSendJobFinish: Sendable, Codable, Hashable {
    /// The Official Account's original ID (`gh_…`), from `ToUserName`.
    public var toUserName: String
    /// The sender, from `FromUserName` (a system OpenID for this event).
    public var fromUserName: String
    /// When the push was made, Unix seconds, from `CreateTime`.
    public var createTime: Int64
    /// `event`, from `MsgType`.
    public var msgType: String
    /// `MASSSENDJOBFINISH`, from `Event`.
    public var event: String
    /// The job's `msg_id`, from `MsgID` (or `MsgId`).
    public var msgID: Int64
    /// The job's outcome, from `Status`.
    public var status: JobStatus
    /// The audience size, from `TotalCount`.
    public var totalCount: Int
    /// The audience after filtering, from `FilterCount` (about `sentCount + errorCount`).
    public var filterCount: Int
    /// How many received it, from `SentCount`.
    public var sentCount: Int
    /// How many failed, from `ErrorCount`.
    public var errorCount: Int
    /// The originality (reprint) check, from `CopyrightCheckResult`.
    public var copyrightCheckResult: CopyrightCheckResult
    /// The articles' URLs, from `ArticleUrlResult`.
    public var articleURLResult: ArticleURLResult

    /// Creates an event from its parts.
    public init(
        toUserName: String,
        fromUserName: String,
        createTime: Int64,
        msgType: String = "event",
        event: String = "MASSSENDJOBFINISH",
        msgID: Int64,
        status: JobStatus,
        totalCount: Int,
        filterCount: Int,
        sentCount: Int,
        errorCount: Int,
        copyrightCheckResult: CopyrightCheckResult = CopyrightCheckResult(),
        articleURLResult: ArticleURLResult = ArticleURLResult()
    ) {
        self.toUserName = toUserName
        self.fromUserName = fromUserName
        self.createTime = createTime
        self.msgType = msgType
        self.event = event
        self.msgID = msgID
        self.status = status
        self.totalCount = totalCount
        self.filterCount = filterCount
        self.sentCount = sentCount
        self.errorCount = errorCount
        self.copyrightCheckResult = copyrightCheckResult
        self.articleURLResult = articleURLResult
    }

    /// Reads the event from the (decrypted) push XML.
    /// - Parameters:
    ///   - xml: the push body, or the XML that ``CallbackCrypto/decrypt(_:)`` returned.
    ///   - limits: the XML reader's limits.
    /// - Throws: ``CallbackError`` with ``CallbackError/Code/malformedXML`` (and the ``XMLError``),
    ///   ``CallbackError/Code/missingField``, ``CallbackError/Code/invalidField`` or
    ///   ``CallbackError/Code/unexpectedMessage`` when it is another event.
    public init(xml: String, limits: StrictXMLReader.Limits = StrictXMLReader.Limits()) throws(CallbackError) {
        try self.init(element: CallbackFields.parseRoot(xml, limits: limits))
    }

    /// Reads the event from the root element of a push.
    /// - Throws: ``CallbackError`` as ``init(xml:limits:)`` does, except for XML errors.
    public init(element root: StrictXMLElement) throws(CallbackError) {
        let fields = CallbackFields(root)
        let msgType = try fields.requiredString("MsgType")
        let event = try fields.requiredString("Event")
        guard msgType.lowercased() == "event", event.uppercased() == "MASSSENDJOBFINISH" else {
            throw CallbackError(
                .unexpectedMessage,
                "expected a MASSSENDJOBFINISH event, found MsgType '\(msgType.prefix(40))', Event '\(event.prefix(40))'"
            )
        }
        self.msgType = msgType
        self.event = event
        self.toUserName = try fields.requiredString("ToUserName")
        self.fromUserName = try fields.requiredString("FromUserName")
        self.createTime = try fields.requiredInt64("CreateTime")
        self.msgID = try fields.requiredInt64(anyOf: ["MsgID", "MsgId"])
        self.status = JobStatus(parsing: try fields.requiredString("Status"))
        self.totalCount = try fields.requiredCount("TotalCount")
        self.filterCount = try fields.requiredCount("FilterCount")
        self.sentCount = try fields.requiredCount("SentCount")
        self.errorCount = try fields.requiredCount("ErrorCount")
        if let element = root.child("CopyrightCheckResult") {
            self.copyrightCheckResult = try CopyrightCheckResult(element: element)
        } else {
            self.copyrightCheckResult = CopyrightCheckResult()
        }
        if let element = root.child("ArticleUrlResult") ?? root.child("ArticleURLResult") {
            self.articleURLResult = try ArticleURLResult(element: element)
        } else {
            self.articleURLResult = ArticleURLResult()
        }
    }
}

// MARK: - Status

extension MassSendJobFinish {
    /// The outcome in `Status`: `send success`, `send fail` or `err(N)`.
    ///
    /// Encoded (`Codable`) as the WeChat text, e.g. `"err(30003)"`.
    public enum JobStatus: Sendable, Hashable, Codable, CustomStringConvertible {
        /// `send success`.
        case success
        /// `send fail`.
        case fail
        /// `err(N)`: the job was stopped by review; `meaning` explains `code` (see ``meaning(ofErrorCode:)``).
        case error(code: Int, meaning: String)
        /// A status text that is none of the above, kept as it came.
        case unrecognized(String)

        /// Reads a `Status` text; case and surrounding whitespace do not matter.
        public init(parsing text: String) {
            let trimmed = CallbackFields.trim(text)
            let words = trimmed.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "_" })
            let normalized = words.joined(separator: " ")
            switch normalized {
            case "send success": self = .success
            case "send fail", "send failed": self = .fail
            default:
                let compact = trimmed.lowercased().filter { $0 != " " }
                if compact.hasPrefix("err("), compact.hasSuffix(")"),
                    let code = Int(compact.dropFirst(4).dropLast())
                {
                    self = .error(code: code, meaning: Self.meaning(ofErrorCode: code))
                } else {
                    self = .unrecognized(trimmed)
                }
            }
        }

        /// What an `err(N)` code means, per the official table; `unknown reason N` otherwise.
        public static func meaning(ofErrorCode code: Int) -> String {
            switch code {
            case 10001: return "advertising"
            case 20001: return "politics"
            case 20002: return "pornography"
            case 20004: return "society"
            case 20006: return "crime"
            case 20008: return "fraud"
            case 20013: return "copyright"
            case 21000: return "other"
            case 22000: return "mutual promotion"
            case 30001: return "originality check failed (error)"
            case 30002: return "originality check: not sendable"
            case 30003: return "judged a reprint and send_ignore_reprint was 0"
            default: return "unknown reason \(code)"
            }
        }

        /// The WeChat text of this status: `send success`, `send fail`, `err(N)` or the unrecognised text.
        public var wechatText: String {
            switch self {
            case .success: return "send success"
            case .fail: return "send fail"
            case .error(let code, _): return "err(\(code))"
            case .unrecognized(let text): return text
            }
        }

        /// Whether the job was sent.
        public var isSuccess: Bool { self == .success }

        /// Whether the job was stopped by the originality (reprint) check, `err(30001…30003)`:
        /// see ``CopyrightCheckResult/items`` for which article.
        public var isOriginalityFailure: Bool {
            if case .error(let code, _) = self { return (30001...30003).contains(code) }
            return false
        }

        /// A readable summary, e.g. `err(20002): pornography`.
        public var description: String {
            switch self {
            case .error(let code, let meaning): return "err(\(code)): \(meaning)"
            default: return wechatText
            }
        }

        /// Decodes from the WeChat text.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            self.init(parsing: try container.decode(String.self))
        }

        /// Encodes as the WeChat text.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(wechatText)
        }
    }
}

// MARK: - Copyright check

extension MassSendJobFinish {
    /// The originality (reprint) check of a job's articles, from `CopyrightCheckResult`.
    public struct CopyrightCheckResult: Sendable, Codable, Hashable {
        /// `Count`: how many articles were checked (the number of items when absent).
        public var count: Int
        /// `CheckState`: the overall outcome.
        public var checkState: CheckState
        /// `ResultList/item`: one entry per checked article.
        public var items: [CopyrightCheckItem]

        /// Creates a result; the default is the empty one.
        public init(count: Int = 0, checkState: CheckState = CheckState(rawValue: 0), items: [CopyrightCheckItem] = []) {
            self.count = count
            self.checkState = checkState
            self.items = items
        }

        /// Reads a `CopyrightCheckResult` element.
        public init(element: StrictXMLElement) throws(CallbackError) {
            let fields = CallbackFields(element)
            var items: [CopyrightCheckItem] = []
            if let list = element.child("ResultList") {
                for item in list.children {
                    items.append(try CopyrightCheckItem(element: item))
                }
            }
            self.items = items
            self.count = try fields.optionalInt("Count") ?? items.count
            self.checkState = CheckState(rawValue: try fields.optionalInt("CheckState") ?? 0)
        }
    }

    /// `CheckState` of a copyright check: 1 not a reprint, 2 reprint sent, 3 reprint blocked (0 is seen too).
    public struct CheckState: RawRepresentable, Sendable, Codable, Hashable, CustomStringConvertible {
        /// The number WeChat sent.
        public var rawValue: Int

        /// Creates a state from WeChat's number.
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// 0: no check result (seen on pushes without articles).
        public static let none = CheckState(rawValue: 0)
        /// 1: not a reprint; sent as original content.
        public static let notReprint = CheckState(rawValue: 1)
        /// 2: a reprint, and it was sent.
        public static let reprintSent = CheckState(rawValue: 2)
        /// 3: a reprint, and it was blocked.
        public static let reprintBlocked = CheckState(rawValue: 3)

        /// What the state means, in words.
        public var meaning: String {
            switch rawValue {
            case 0: return "no check result"
            case 1: return "not a reprint"
            case 2: return "reprint sent"
            case 3: return "reprint blocked"
            default: return "unknown check state \(rawValue)"
            }
        }

        /// `N (meaning)`.
        public var description: String { "\(rawValue) (\(meaning))" }

        /// Decodes from a number.
        public init(from decoder: any Decoder) throws {
            self.rawValue = try decoder.singleValueContainer().decode(Int.self)
        }

        /// Encodes as a number.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// One article's originality check, from `CopyrightCheckResult/ResultList/item`.
    ///
    /// Every field but ``articleIdx`` is optional, `nil` when the element is absent.
    public struct CopyrightCheckItem: Sendable, Codable, Hashable {
        /// `ArticleIdx`: the article's position in the message, from 1.
        public var articleIdx: Int
        /// `UserDeclareState`: the author's own declaration.
        public var userDeclareState: Int?
        /// `AuditState`: the platform's verdict.
        public var auditState: Int?
        /// `OriginalArticleUrl`: the original the article was matched to.
        public var originalArticleURL: String?
        /// `OriginalArticleType`: the original's type.
        public var originalArticleType: Int?
        /// `CanReprint`: whether the original may be reprinted.
        public var canReprint: Bool?
        /// `NeedReplaceContent`: whether the content must be replaced by the original.
        public var needReplaceContent: Bool?
        /// `NeedShowReprintSource`: whether the reprint source must be shown.
        public var needShowReprintSource: Bool?

        /// Creates an item.
        public init(
            articleIdx: Int,
            userDeclareState: Int? = nil,
            auditState: Int? = nil,
            originalArticleURL: String? = nil,
            originalArticleType: Int? = nil,
            canReprint: Bool? = nil,
            needReplaceContent: Bool? = nil,
            needShowReprintSource: Bool? = nil
        ) {
            self.articleIdx = articleIdx
            self.userDeclareState = userDeclareState
            self.auditState = auditState
            self.originalArticleURL = originalArticleURL
            self.originalArticleType = originalArticleType
            self.canReprint = canReprint
            self.needReplaceContent = needReplaceContent
            self.needShowReprintSource = needShowReprintSource
        }

        /// Reads an `item` element.
        public init(element: StrictXMLElement) throws(CallbackError) {
            let fields = CallbackFields(element)
            self.articleIdx = try fields.requiredInt("ArticleIdx")
            self.userDeclareState = try fields.optionalInt("UserDeclareState")
            self.auditState = try fields.optionalInt("AuditState")
            self.originalArticleURL = fields.optionalString("OriginalArticleUrl")
            self.originalArticleType = try fields.optionalInt("OriginalArticleType")
            self.canReprint = try fields.optionalInt("CanReprint").map { $0 != 0 }
            self.needReplaceContent = try fields.optionalInt("NeedReplaceContent").map { $0 != 0 }
            self.needShowReprintSource = try fields.optionalInt("NeedShowReprintSource").map { $0 != 0 }
        }
    }
}

// MARK: - Article URLs

extension MassSendJobFinish {
    /// The URLs of the sent articles, from `ArticleUrlResult`.
    public struct ArticleURLResult: Sendable, Codable, Hashable {
        /// `Count` (the number of items when absent).
        public var count: Int
        /// `ResultList/item`.
        public var items: [ArticleURLItem]

        /// Creates a result; the default is the empty one.
        public init(count: Int = 0, items: [ArticleURLItem] = []) {
            self.count = count
            self.items = items
        }

        /// Reads an `ArticleUrlResult` element.
        public init(element: StrictXMLElement) throws(CallbackError) {
            let fields = CallbackFields(element)
            var items: [ArticleURLItem] = []
            if let list = element.child("ResultList") {
                for item in list.children {
                    items.append(try ArticleURLItem(element: item))
                }
            }
            self.items = items
            self.count = try fields.optionalInt("Count") ?? items.count
        }
    }

    /// One article's URL, from `ArticleUrlResult/ResultList/item`.
    public struct ArticleURLItem: Sendable, Codable, Hashable {
        /// `ArticleIdx`: the article's position in the message, from 1.
        public var articleIdx: Int
        /// `ArticleUrl`: the article's permanent link.
        public var articleURL: String

        /// Creates an item.
        public init(articleIdx: Int, articleURL: String) {
            self.articleIdx = articleIdx
            self.articleURL = articleURL
        }

        /// Reads an `item` element.
        public init(element: StrictXMLElement) throws(CallbackError) {
            let fields = CallbackFields(element)
            self.articleIdx = try fields.requiredInt("ArticleIdx")
            self.articleURL = try fields.requiredString("ArticleUrl")
        }
    }
}

// MARK: - Field reading

/// Reads typed child values of an element, with errors that name the field and its position.
struct CallbackFields {
    let element: StrictXMLElement

    init(_ element: StrictXMLElement) { self.element = element }

    static func parseRoot(_ xml: String, limits: StrictXMLReader.Limits) throws(CallbackError) -> StrictXMLElement {
        do {
            return try StrictXMLReader(limits: limits).parse(xml)
        } catch {
            throw CallbackError(.malformedXML, "the push is not well-formed XML: \(error)", xmlError: error)
        }
    }

    static func trim(_ text: String) -> String {
        if let first = text.utf8.first, let last = text.utf8.last, !isSpaceByte(first), !isSpaceByte(last) { return text }
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    /// Space, tab, LF or CR: a text that neither starts nor ends with one has nothing to trim.
    static func isSpaceByte(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    func location(of child: StrictXMLElement) -> String {
        "\(element.name)/\(child.name) at \(child.position)"
    }

    func requiredChild(_ names: [String]) throws(CallbackError) -> StrictXMLElement {
        guard let child = element.child(anyOf: names) else {
            throw CallbackError(
                .missingField,
                "<\(element.name)> at \(element.position) has no \(names.joined(separator: " or ")) element"
            )
        }
        // A field given twice (or under both spellings) is refused: which one counts would
        // be the reader's guess, and a forged second value could hide behind a genuine first.
        var count = 0
        for other in element.children where names.contains(other.name) { count += 1 }
        if count > 1 {
            throw CallbackError(
                .invalidField,
                "<\(element.name)> at \(element.position) has \(count) \(names.joined(separator: "/")) elements; one is allowed"
            )
        }
        return child
    }

    /// A count (`TotalCount`, `SentCount`, …): an integer, at least 0.
    func requiredCount(_ name: String) throws(CallbackError) -> Int {
        let child = try requiredChild([name])
        let value = try integer(child)
        guard value >= 0 else {
            throw CallbackError(.invalidField, "\(location(of: child)) is negative: \(value)")
        }
        return Int(value)
    }

    func requiredString(_ name: String) throws(CallbackError) -> String {
        try requiredChild([name]).trimmedText
    }

    func optionalString(_ name: String) -> String? {
        element.child(name)?.trimmedText
    }

    func requiredInt64(_ name: String) throws(CallbackError) -> Int64 {
        try requiredInt64(anyOf: [name])
    }

    func requiredInt64(anyOf names: [String]) throws(CallbackError) -> Int64 {
        try integer(try requiredChild(names))
    }

    func requiredInt(_ name: String) throws(CallbackError) -> Int {
        Int(try integer(try requiredChild([name])) as Int64)
    }

    func optionalInt(_ name: String) throws(CallbackError) -> Int? {
        guard let child = element.child(name) else { return nil }
        if child.trimmedText.isEmpty { return nil }
        return Int(try integer(child) as Int64)
    }

    private func integer(_ child: StrictXMLElement) throws(CallbackError) -> Int64 {
        let text = child.trimmedText
        guard let value = Int64(text) else {
            throw CallbackError(
                .invalidField,
                "\(location(of: child)) is not an integer: '\(text.prefix(40))'"
            )
        }
        return value
    }
}
