import Foundation
import PipelineCore
import RunState
import WeChatLimits

/// A plan: what `masscast apply` (or `run`) would do for each broadcast, said before and
/// without doing it. Saved with `plan --out` and read back by `show` and `apply FILE`; its
/// JSON form is documented in docs/plan-format.md (`format_version` 1).
public struct PlanDocument: Sendable, Codable, Equatable {
    /// The version of this JSON format.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// The masscast that made it.
    public var masscastVersion: String
    public var createdAt: Date
    public var broadcasts: [BroadcastPlan]
    /// Files that could not be planned at all (not a pipeline, invalid, an account not
    /// found), each with its message.
    public var errors: [PlanError]

    public init(masscastVersion: String, createdAt: Date, broadcasts: [BroadcastPlan], errors: [PlanError] = []) {
        self.formatVersion = Self.currentFormatVersion
        self.masscastVersion = masscastVersion
        // Whole seconds: the JSON form keeps no more.
        self.createdAt = Date(timeIntervalSince1970: createdAt.timeIntervalSince1970.rounded(.down))
        self.broadcasts = broadcasts
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", masscastVersion = "masscast_version", createdAt = "created_at"
        case broadcasts, errors
    }

    /// Whether any broadcast would send (a `mass/send`, `mass/sendall` or preview not yet made).
    public var sendsPlanned: Bool { broadcasts.contains { $0.sendsPlanned > 0 && !$0.refused } }
    /// Whether any broadcast is refused or blocked.
    public var refused: Bool { broadcasts.contains(where: \.refused) }
    /// Whether any file or step cannot be planned (invalid input).
    public var invalid: Bool { errors.contains { $0.code == "invalid" } || broadcasts.contains { !$0.problems.isEmpty } }
}

/// A file that could not be planned.
public struct PlanError: Sendable, Codable, Equatable {
    public var file: String
    /// `invalid` (the file, its config or its account cannot be read) or `needs_inputs` (a
    /// required input has no value).
    public var code: String
    public var message: String

    public init(file: String, code: String, message: String) {
        self.file = file
        self.code = code
        self.message = message
    }
}

/// The plan of one broadcast (one pipeline with its inputs).
public struct BroadcastPlan: Sendable, Codable, Equatable {
    public var name: String
    /// The pipeline file, as given (relative to the working directory when it was).
    public var file: String
    /// SHA-256 (hex) of the pipeline file's bytes.
    public var pipelineSHA256: String
    public var account: PlanAccount
    /// Canonical JSON of the inputs, defaults applied.
    public var inputs: String
    /// The generation a run would send in (1: never run).
    public var generation: Int
    /// The broadcast's row of the reconcile table (`send`, `wait`, `expire`, `noop`, `drift`,
    /// `resume`, `busy`, `blocked`, `orphan`, `failed`, `needs-inputs`), what apply would do
    /// about it (`send`, `resume`, `retry` or `none`) and why; `nil` when not reconciled.
    public var state: String?
    public var action: String?
    public var reason: String?
    /// The exit code the state gives `apply` (0, 1, 2, 4, 6).
    public var exitClass: Int32?
    /// The broadcast's identity in the store (project, AppID, API, name, inputs).
    public var identity: BroadcastIdentity?
    /// The broadcast's serial and the store's identity when planned (a saved plan binds to them).
    public var serial: Int64?
    public var storeIdentity: String?
    /// Who receives each send or preview, in step order.
    public var audiences: [PlanAudience]
    /// Every WeChat call, in pipeline order; one per batch for sends.
    public var calls: [PlanCall]
    public var quota: [PlanQuota]
    /// Estimated time the sends take at the account's speed level, in seconds (`nil`: not
    /// known, e.g. a tag whose follower count was not given).
    public var estimatedSeconds: Int?
    /// The speed level the estimate assumes (0–4) and whether it is a fact or WeChat's default.
    public var speedLevel: Int
    public var speedKnown: Bool
    public var warnings: [PlanWarning]
    /// Steps that cannot make their call as written (the run would fail them): `step: message`.
    public var problems: [String]
    /// What the plan could not check (no credentials: tag sizes, the speed level).
    public var unchecked: [String]
    /// Every file the plan read, with its SHA-256 (a saved plan is stale when one changed).
    public var inputFiles: [PlanInputFile]

    enum CodingKeys: String, CodingKey {
        case name, file, pipelineSHA256 = "pipeline_sha256", account, inputs, generation, state, action, reason
        case exitClass = "exit_class", serial, storeIdentity = "store_identity", identity
        case audiences, calls, quota, estimatedSeconds = "estimated_seconds", speedLevel = "speed_level"
        case speedKnown = "speed_known", warnings, problems, unchecked, inputFiles = "input_files"
    }

    /// Irreversible sends not yet made: `mass/send` batches, `mass/sendall`s and previews.
    public var sendsPlanned: Int {
        guard action == nil || ["send", "resume", "retry"].contains(action) else { return 0 }
        return calls.filter { $0.irreversible == "send" || $0.irreversible == "preview" }.filter { $0.journal != "sent" }
            .count
    }

    /// Whether apply would refuse it or is blocked (quota, approval, lease, drift).
    public var refused: Bool {
        if let exitClass { return exitClass == 6 }
        return quota.contains(where: \.exceeded)
    }
}

/// The account a broadcast is sent from (never its secret).
public struct PlanAccount: Sendable, Codable, Equatable {
    public var name: String
    public var appID: String
    public var kind: String
    /// Where its calls go (the API base, or a sandbox's identity).
    public var api: String

    enum CodingKeys: String, CodingKey {
        case name, appID = "app_id", kind, api
    }
}

/// Who a send or preview reaches.
public struct PlanAudience: Sendable, Codable, Equatable {
    public var step: String
    /// `ALL FOLLOWERS`, `tag 100`, `audiences/vip.txt`, `3 OpenIDs`, `one follower`.
    public var description: String
    public var toAll: Bool
    public var tagID: Int?
    /// The tag's name and follower count, when known (preflight facts).
    public var tagName: String?
    public var followers: Int?
    /// Recipients after dedupe (an OpenID list or file).
    public var recipients: Int?
    public var duplicates: Int?
    public var batches: Int
    public var malformedLines: Int?
    public var firstMalformedLine: Int?

    enum CodingKeys: String, CodingKey {
        case step, description, toAll = "to_all", tagID = "tag_id", tagName = "tag_name", followers, recipients
        case duplicates, batches, malformedLines = "malformed_lines", firstMalformedLine = "first_malformed_line"
    }

    /// One line: `ALL FOLLOWERS`, `tag 100 "VIP" (2,345 followers)`, `vip.txt: 3 recipients in 1 batch`.
    public var text: String {
        if toAll { return followers.map { "ALL FOLLOWERS (\(PlanNumbers.grouped($0)))" } ?? "ALL FOLLOWERS" }
        var out = description
        if let tagName { out += " “\(tagName)”" }
        if let followers { out += " (\(PlanNumbers.grouped(followers)) follower\(followers == 1 ? "" : "s"))" }
        if let recipients, tagID == nil, description != "one follower" {
            out += ": \(PlanNumbers.grouped(recipients)) recipient\(recipients == 1 ? "" : "s") in \(batches) batch\(batches == 1 ? "" : "es")"
            if let duplicates, duplicates > 0 { out += " (\(PlanNumbers.grouped(duplicates)) duplicates dropped)" }
        }
        if let malformedLines {
            out += ": \(malformedLines) malformed line\(malformedLines == 1 ? "" : "s")"
            if let firstMalformedLine { out += ", the first at line \(firstMalformedLine)" }
        }
        return out
    }
}

/// One WeChat call of a plan.
public struct PlanCall: Sendable, Codable, Equatable {
    public var step: String
    public var uses: String
    public var endpoint: String
    /// `send`, `preview`, `delete` for an irreversible call.
    public var irreversible: String?
    /// The batch index (from 0) and its recipients, for sends.
    public var batch: Int?
    public var batchSize: Int?
    /// The send's clientmsgid (a preview's or delete's journal key once a run has an id).
    public var clientmsgid: String?
    public var msgtype: String?
    /// Text's first 80 characters, article titles, media ids.
    public var summary: String?
    public var sendIgnoreReprint: Bool?
    /// Files the call reads, with size and SHA-256.
    public var files: [PlannedFile]
    /// What the journal says of this call (`sent`, `intent`, `unknown`, …; nil: never made).
    public var journal: String?
    public var msgID: Int64?
    /// The step's `if`, as written.
    public var condition: String?
    /// Fields of the request known only after an earlier step ran: field → that step's id
    /// (Terraform's `after_unknown`).
    public var unknown: [String: String]
    /// Shown for those fields: `upload`, `send`, … (the step kind's verb).
    public var unknownAfter: [String: String]

    enum CodingKeys: String, CodingKey {
        case step, uses, endpoint, irreversible, batch, batchSize = "batch_size", clientmsgid, msgtype, summary
        case sendIgnoreReprint = "send_ignore_reprint", files, journal, msgID = "msg_id", condition, unknown
        case unknownAfter = "unknown_after"
    }
}

/// How much of a quota the plan uses.
public struct PlanQuota: Sendable, Codable, Equatable {
    /// `mass sends today`, `sendall today (subscription account)`, `to-all sends this month`, …
    public var name: String
    /// What the store counts as used (`nil`: the store does not count it).
    public var used: Int?
    public var planned: Int
    public var limit: Int
    /// Which rule: `sends_per_day`, `sendall_per_day`, `to_all_per_month`, `previews_per_day`,
    /// `uploadnews_per_day`, `deletes_per_day` (``SendQuota``); `nil` in plans saved before.
    public var code: String? = nil
    /// When the count starts again (the next day or month, UTC+8).
    public var resetsAt: Date? = nil

    enum CodingKeys: String, CodingKey {
        case name, used, planned, limit, code, resetsAt = "resets_at"
    }

    public var exceeded: Bool { (used ?? 0) + planned > limit }

    public var text: String {
        let usedText = used.map { "\($0) used + " } ?? ""
        let over = exceeded ? " — OVER THE LIMIT" + (resetsAt.map { " until \(SendQuota.stamp($0))" } ?? "") : ""
        return "\(name): \(usedText)\(planned) planned of \(limit)\(used == nil ? " (earlier use not counted by the store)" : "")\(over)"
    }
}

/// Something a reviewer should know before merging.
public struct PlanWarning: Sendable, Codable, Equatable {
    /// `to_all_service_account`, `mpnews_reprint`, `delete_never_runs`, `window_passed`,
    /// `window_not_open`, `media_too_large`, `file_missing`, `tag_empty`, `tag_missing` (blocks it), `quota`.
    public var code: String
    public var step: String?
    public var message: String

    public init(code: String, step: String? = nil, message: String) {
        self.code = code
        self.step = step
        self.message = message
    }
}

/// What is known of the account beyond the files: from a preflight's read-only calls.
public struct AccountFacts: Sendable, Codable, Equatable {
    /// Tag id → (name, follower count); `nil` when the account's tags were not read.
    public var tags: [Int: TagFact]?
    /// The account's mass-send speed level (0–4).
    public var speedLevel: Int?
    /// Every follower (for a to-all send), when known.
    public var followers: Int?

    public struct TagFact: Sendable, Codable, Equatable {
        public var name: String
        public var followers: Int

        public init(name: String, followers: Int) {
            self.name = name
            self.followers = followers
        }
    }

    public init(tags: [Int: TagFact]? = nil, speedLevel: Int? = nil, followers: Int? = nil) {
        self.tags = tags
        self.speedLevel = speedLevel
        self.followers = followers
    }
}

/// Number formatting shared by the plan's formats.
public enum PlanNumbers {
    /// `12345` → `12,345`.
    public static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// `about 2 min`, `under a minute`, `about 1 h 5 min`.
    public static func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "under a minute" }
        let minutes = (seconds + 59) / 60
        if minutes < 60 { return "about \(minutes) min" }
        return "about \(minutes / 60) h" + (minutes % 60 == 0 ? "" : " \(minutes % 60) min")
    }
}
