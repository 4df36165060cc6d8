import Foundation
import PipelineCore
import RunState

/// What a step would call, said before the run (the `plan` view of a step): the endpoints,
/// whether the call is irreversible (the catalog's `StepKind.irreversible`), the audience
/// and its batches with their clientmsgids and what the journal says of each, the content
/// digest, the files it reads, and the earlier steps' outputs it needs that are not known
/// until they run.
public struct PlannedCall: Sendable, Encodable {
    public var stepID: String
    public var kind: String
    /// The WeChat endpoints, in the order the step calls them (`message/mass/send`).
    public var endpoints: [String]
    public var irreversible: Irreversibility?
    /// Who receives a send or a preview.
    public var audience: PlannedAudience?
    /// The irreversible calls: one per send batch, preview or deleted message.
    public var batches: [PlannedBatch] = []
    /// The content digest the journal records for a `mass/sendall` (`v2:` + hex).
    public var contentDigest: String?
    /// Files the step reads.
    public var files: [PlannedFile] = []
    /// Earlier steps' outputs the step's `with` uses, not known before they run.
    public var references: [OutputReference] = []
    /// What a send, preview or uploadnews carries: msgtype, a summary, `send_ignore_reprint`.
    public var message: PlannedMessage?
    /// Fields of `with` (dotted paths) whose value is only known after an earlier step ran,
    /// each with that step's id.
    public var unknown: [String: String] = [:]
    /// Why the step would fail without a call, as the run would say it.
    public var problemMessage: String? { problem?.message }
    /// Why the step's `with` does not make a request (the step would fail without a call).
    var problem: StepFailure?

    /// Whether the journal shows every irreversible call of the step as made: a run adopts
    /// them without calling again.
    public var alreadyDone: Bool { !batches.isEmpty && batches.allSatisfy { $0.journal == .sent } }

    enum CodingKeys: String, CodingKey {
        case stepID = "step", kind = "uses", endpoints, irreversible, audience, batches
        case contentDigest = "content_digest", files, references, problem
        case alreadyDone = "already_done", message, unknown
    }

    enum ProblemKeys: String, CodingKey {
        case code, message, errcode
    }

    /// As a plan is saved: every field present (`null` when absent).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stepID, forKey: .stepID)
        try c.encode(kind, forKey: .kind)
        try c.encode(endpoints, forKey: .endpoints)
        try c.encode(irreversible?.rawValue, forKey: .irreversible)
        try c.encode(audience, forKey: .audience)
        try c.encode(batches, forKey: .batches)
        try c.encode(contentDigest, forKey: .contentDigest)
        try c.encode(files, forKey: .files)
        try c.encode(references.map(\.description), forKey: .references)
        if let problem {
            var p = c.nestedContainer(keyedBy: ProblemKeys.self, forKey: .problem)
            try p.encode(problem.code.description, forKey: .code)
            try p.encode(problem.message, forKey: .message)
            try p.encode(problem.errcode, forKey: .errcode)
        } else {
            try c.encodeNil(forKey: .problem)
        }
        try c.encode(alreadyDone, forKey: .alreadyDone)
        try c.encode(message, forKey: .message)
        try c.encode(unknown, forKey: .unknown)
    }
}

/// What a message step carries, summarised for review.
public struct PlannedMessage: Sendable, Hashable, Codable {
    /// `text`, `mpnews`, `image`, `voice`, `mpvideo`, `wxcard` (nil for uploadnews).
    public var msgtype: String?
    /// Text's first 80 characters, article titles, or the media id (or where it comes from).
    public var summary: String
    /// `send_ignore_reprint` of an mpnews send (nil when not given or not mpnews).
    public var sendIgnoreReprint: Bool?

    public init(msgtype: String?, summary: String, sendIgnoreReprint: Bool?) {
        self.msgtype = msgtype
        self.summary = summary
        self.sendIgnoreReprint = sendIgnoreReprint
    }

    enum CodingKeys: String, CodingKey {
        case msgtype, summary, sendIgnoreReprint = "send_ignore_reprint"
    }
}

/// Who a send or a preview goes to.
public struct PlannedAudience: Sendable, Hashable, Encodable {
    /// "ALL followers", "tag 100", "3 OpenIDs", "vip-openids.txt", "one follower".
    public var description: String
    /// Recipients, when known before the call (an OpenID list or file), after dedupe.
    public var recipients: Int?
    /// The batch sizes of a `mass/send`.
    public var batchSizes: [Int] = []
    /// Whether it is every follower (`is_to_all`).
    public var toAll = false
    /// The tag of a `mass/sendall` to a tag.
    public var tagID: Int?
    /// OpenIDs dropped as repeated (an OpenID list or file).
    public var duplicates: Int?
    /// Malformed lines of an OpenID file, and the first one's line number.
    public var malformedLines: Int?
    public var firstMalformedLine: Int?

    enum CodingKeys: String, CodingKey {
        case description, recipients, batchSizes = "batch_sizes", toAll = "to_all", tagID = "tag_id", duplicates
        case malformedLines = "malformed_lines", firstMalformedLine = "first_malformed_line"
    }
}

/// One irreversible call of a step.
public struct PlannedBatch: Sendable, Hashable, Encodable {
    /// From 0, as the journal keeps it.
    public var index: Int
    /// OpenIDs in the batch (`nil` for a send to a tag or to all).
    public var recipients: Int?
    /// The journal key: the send's clientmsgid; a preview's or delete's key once the run
    /// has an id (`nil` before).
    public var key: String?
    /// What the journal says of the key now (`nil`: never made).
    public var journal: JournalEntry.State?
    /// The msg_id the journal holds for it.
    public var msgID: Int64?

    enum CodingKeys: String, CodingKey {
        case index, recipients, key, journal, msgID = "msg_id"
    }
}

/// A file a step reads.
public struct PlannedFile: Sendable, Hashable, Codable {
    /// As the pipeline names it (relative to the pipeline's folder).
    public var path: String
    public var bytes: Int
    /// Hex SHA-256 of its bytes.
    public var sha256: String

    public init(path: String, bytes: Int, sha256: String) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// An output of an earlier step (`steps.<step>.outputs.<output>`). Before the run its value
/// is not known: `with` is evaluated with a placeholder text standing for it.
public struct OutputReference: Sendable, Hashable, CustomStringConvertible {
    public var step: String
    public var output: String

    public var description: String { "steps.\(step).outputs.\(output)" }

    /// The text that stands for the output while describing.
    var placeholder: String { "<output \(output) of step \(step)>" }

    init(step: String, output: String) {
        self.step = step
        self.output = output
    }

    /// The reference a placeholder text stands for.
    init?(placeholder text: String) {
        guard text.hasPrefix("<output "), text.hasSuffix(">"), let of = text.range(of: " of step ") else { return nil }
        output = String(text[text.index(text.startIndex, offsetBy: 8)..<of.lowerBound])
        step = String(text[of.upperBound..<text.index(before: text.endIndex)])
    }

    /// The references whose placeholders a value holds.
    static func all(in value: Value) -> [OutputReference] {
        var out: [OutputReference] = []
        func walk(_ v: Value) {
            switch v {
            case .string(let s):
                var rest = Substring(s)
                while let start = rest.range(of: "<output "), let end = rest[start.lowerBound...].firstIndex(of: ">") {
                    if let r = OutputReference(placeholder: String(rest[start.lowerBound...end])), !out.contains(r) {
                        out.append(r)
                    }
                    rest = rest[rest.index(after: end)...]
                }
            case .list(let items): items.forEach(walk)
            case .object(let o): o.keys.sorted().forEach { walk(o[$0]!) }
            default: break
            }
        }
        walk(value)
        return out
    }
}

/// The journal, read-only: what describing a step may ask it.
protocol JournalReading: Sendable {
    func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry?
}

/// A state store seen through ``JournalReading`` alone.
struct ReadOnlyJournal: JournalReading {
    private let journal: any SendJournal

    init(_ journal: any SendJournal) { self.journal = journal }

    func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry? {
        try await journal.journalEntry(api: api, appID: appID, key: key)
    }
}

/// What describing a step may read: the step, the account, the files (through
/// ``InputReader``), the journal (read-only) and the keys a run of this broadcast would
/// use. It holds no transport and no store that can be written.
struct PlanContext: Sendable {
    var step: Step
    var accountAPI: String
    var appID: String
    var reader: InputReader
    var journal: any JournalReading
    /// The id of the run being continued, if any (previews' and deletes' keys need it).
    var runID: String?
    /// The clientmsgid of the step's batch `n` in the generation a run would send.
    var clientMsgID: @Sendable (Int) -> String
    /// The step's `with` as content digests see it (`SourceDigest.swift`).
    var digestView: [String: Value]
    /// Earlier steps' outputs the step's `with` uses.
    var references: [OutputReference]

    /// A plan of this step with its catalog facts filled in.
    func call(endpoints: [String]) -> PlannedCall {
        PlannedCall(
            stepID: step.id.value, kind: step.uses.value, endpoints: endpoints,
            irreversible: Catalog.kind(step.uses.value)?.irreversible, references: references)
    }

    /// One irreversible call and what the journal says of its key (a journal that cannot be
    /// read says nothing: the run would refuse the call).
    func batch(_ index: Int, key: String?, recipients: Int?) async -> PlannedBatch {
        var batch = PlannedBatch(index: index, recipients: recipients, key: key)
        if let key, let entry = try? await journal.journalEntry(api: accountAPI, appID: appID, key: key) {
            batch.journal = entry.state
            batch.msgID = entry.msgID
        }
        return batch
    }

    /// A file the step reads, from its bytes.
    static func file(_ path: String, _ data: Data) -> PlannedFile {
        PlannedFile(path: path, bytes: data.count, sha256: Idempotency.digest(data))
    }
}
