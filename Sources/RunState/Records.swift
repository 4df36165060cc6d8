import Foundation

// The records masscast keeps about broadcasts, runs, steps, attempts, sends, pushes and
// tokens. Plain values: every `StateStore` stores and returns exactly these.

/// A broadcast's identity: (project, API identity, account app_id, name, inputs with
/// defaults applied). Runs of the same identity share generations; the generation goes into
/// every clientmsgid.
public struct BroadcastIdentity: Sendable, Hashable, Codable {
    /// The `project:` id of masscast.yaml; empty for a pipeline with no project (an inline
    /// account without masscast.yaml, or a config written before project ids existed).
    public var project: String
    public var appID: String
    /// The API identity the calls go to (`APIIdentity`): the api_base of a real account, or
    /// `sandbox:` + the fixture's digest for a rehearsal.
    public var api: String
    public var name: String
    /// Canonical JSON of every declared input, defaults applied (sorted keys, no spaces).
    public var inputsJSON: String

    public init(project: String = "", appID: String, api: String, name: String, inputsJSON: String) {
        self.project = project
        self.appID = appID
        self.api = api
        self.name = name
        self.inputsJSON = inputsJSON
    }
}

/// Where calls go, as the state store keys what it knows: the journal, the inbox, the token
/// cache, the daily send counts and broadcasts are all per API identity, so that a rehearsal
/// against the sandbox can never satisfy, block or count against a real send.
public enum APIIdentity {
    /// A sandbox rehearsal's identity: `sandbox:` + the SHA-256 (hex) of its fixture. Stable
    /// across sandbox instances, so a rehearsal run again with `--state` is the same broadcast.
    public static func sandbox(fixtureDigest: String) -> String { "sandbox:" + fixtureDigest }

    /// One running sandbox instance of a rehearsal (`sandbox:<digest>/<instance>`): what its
    /// pushes and tokens are keyed by, since every sandbox numbers msg_ids from 1000000001.
    public static func sandboxInstance(fixtureDigest: String, instance: String) -> String {
        sandbox(fixtureDigest: fixtureDigest) + "/" + instance
    }

    /// Whether `api` is a rehearsal's identity.
    public static func isSandbox(_ api: String) -> Bool { api.hasPrefix("sandbox:") }
}

/// Whether the runner that owns a run is still working on it.
public enum RunLiveness {
    /// A heartbeat older than this many intervals means the owner is gone, whatever host
    /// wrote it (a CI container that was killed never comes back).
    public static let missedHeartbeats = 3

    /// `true` when `owner` (`host:pid`) still holds its run: its heartbeat is recent (within
    /// three intervals of `now`) and, when it runs on this host, its process exists.
    public static func isAlive(
        owner: String, heartbeatAt: Date?, now: Date, heartbeatInterval: TimeInterval,
        processAlive: (String) -> Bool
    ) -> Bool {
        if let heartbeatAt, now.timeIntervalSince(heartbeatAt) > heartbeatInterval * Double(missedHeartbeats) {
            return false
        }
        return processAlive(owner)
    }
}

/// What the store knows of a broadcast.
public struct BroadcastRecord: Sendable, Hashable, Codable {
    public var identity: BroadcastIdentity
    /// The current generation (1 for a broadcast never re-run).
    public var generation: Int
    /// The clientmsgid format of the current generation (1: `mc1-`, 2: `mc2-` with the
    /// project id); a generation keeps the format it started with.
    public var keyFormat: Int
    /// The run that completed the current generation, if one did.
    public var completedRunID: String?
    public var completedAt: Date?

    public init(
        identity: BroadcastIdentity, generation: Int, keyFormat: Int = 1, completedRunID: String? = nil,
        completedAt: Date? = nil
    ) {
        self.identity = identity
        self.generation = generation
        self.keyFormat = keyFormat
        self.completedRunID = completedRunID
        self.completedAt = completedAt
    }
}

/// Where a run is.
public enum RunStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// A runner is executing it (or was, until it was killed: see `RunRecord.owner`).
    case running
    /// Every step concluded success or skipped.
    case succeeded
    /// A step concluded failure.
    case failed
    /// Stopped before the end (Ctrl-C, an outcome that is unknown, a confirmation needed);
    /// `masscast resume` continues it.
    case stopped

    /// How a person reads it: a `running` run whose owner is gone is `interrupted`.
    public func display(ownerAlive: Bool) -> String {
        self == .running && !ownerAlive ? "interrupted" : rawValue
    }
}

/// One execution of a pipeline (resumed runs keep their id).
public struct RunRecord: Sendable, Hashable, Codable {
    public var id: String
    public var identity: BroadcastIdentity
    public var generation: Int
    /// The clientmsgid format of its generation (`BroadcastRecord.keyFormat`).
    public var keyFormat: Int
    /// The pipeline file as given on the command line (absolute path).
    public var pipelineFile: String
    /// SHA-256 (hex) of the pipeline file's bytes when the run started.
    public var pipelineDigest: String
    /// The inputs given, as canonical JSON (defaults applied).
    public var inputsJSON: String
    /// The account's name in the pipeline or masscast.yaml (`brand-main`), for display.
    public var accountName: String
    /// `true` when the run talks to a sandbox.
    public var sandbox: Bool
    public var status: RunStatus
    /// Why the run stopped or failed, in one line (no secret).
    public var message: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var endedAt: Date?
    /// Who runs it now: `host:pid`; a runner takes over a run only when this owner is gone
    /// (its process is not alive, or its heartbeat is older than the lease).
    public var owner: String?
    public var heartbeatAt: Date?

    public init(
        id: String, identity: BroadcastIdentity, generation: Int, keyFormat: Int = 1, pipelineFile: String,
        pipelineDigest: String, inputsJSON: String, accountName: String, sandbox: Bool, status: RunStatus,
        message: String? = nil, createdAt: Date, updatedAt: Date, endedAt: Date? = nil, owner: String? = nil,
        heartbeatAt: Date? = nil
    ) {
        self.id = id
        self.identity = identity
        self.generation = generation
        self.keyFormat = keyFormat
        self.pipelineFile = pipelineFile
        self.pipelineDigest = pipelineDigest
        self.inputsJSON = inputsJSON
        self.accountName = accountName
        self.sandbox = sandbox
        self.status = status
        self.message = message
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.endedAt = endedAt
        self.owner = owner
        self.heartbeatAt = heartbeatAt
    }
}

/// A step's state inside a run.
public struct StepRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        case pending, running, finished
    }

    public var runID: String
    public var stepID: String
    /// The step kind (`mass/sendall`).
    public var uses: String
    public var state: State
    /// `success`, `failure`, `skipped`, `cancelled` once finished.
    public var outcome: String?
    public var conclusion: String?
    public var errcode: Int?
    /// The step's outputs as a JSON object (no secret ever reaches an output).
    public var outputsJSON: String?
    /// One line: why it failed, was skipped or cancelled.
    public var message: String?
    public var startedAt: Date?
    public var endedAt: Date?

    public init(
        runID: String, stepID: String, uses: String, state: State, outcome: String? = nil, conclusion: String? = nil,
        errcode: Int? = nil, outputsJSON: String? = nil, message: String? = nil, startedAt: Date? = nil,
        endedAt: Date? = nil
    ) {
        self.runID = runID
        self.stepID = stepID
        self.uses = uses
        self.state = state
        self.outcome = outcome
        self.conclusion = conclusion
        self.errcode = errcode
        self.outputsJSON = outputsJSON
        self.message = message
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// One call attempt of a step (a `mass/send` batch makes its own attempts).
public struct AttemptRecord: Sendable, Hashable, Codable {
    public var runID: String
    public var stepID: String
    /// The batch for `mass/send`, 0 otherwise.
    public var batch: Int
    /// 1-based; repeats that are not attempts (token refresh, 45066) keep the number.
    public var number: Int
    /// The endpoint (`message/mass/sendall`).
    public var endpoint: String
    public var startedAt: Date
    public var endedAt: Date?
    /// `ok`, `error`, `unknown` (the request may have arrived; no answer).
    public var result: String
    public var httpStatus: Int?
    public var errcode: Int?
    /// `transient`, `rate_limit`, `duplicate`, `permanent`, `token`.
    public var errorClass: String?
    /// One line, no secret.
    public var message: String?
    /// The wait before the next attempt, in milliseconds, if one follows.
    public var retryDelayMS: Int?

    public init(
        runID: String, stepID: String, batch: Int = 0, number: Int, endpoint: String, startedAt: Date,
        endedAt: Date? = nil, result: String, httpStatus: Int? = nil, errcode: Int? = nil, errorClass: String? = nil,
        message: String? = nil, retryDelayMS: Int? = nil
    ) {
        self.runID = runID
        self.stepID = stepID
        self.batch = batch
        self.number = number
        self.endpoint = endpoint
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.result = result
        self.httpStatus = httpStatus
        self.errcode = errcode
        self.errorClass = errorClass
        self.message = message
        self.retryDelayMS = retryDelayMS
    }
}

/// The journal: one entry per irreversible call (a send batch, a preview), written as an
/// intent before the call and completed after it.
public struct JournalEntry: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Written before the call; if nothing follows, the outcome is unknown.
        case intent
        /// WeChat accepted it (or answered 45065 with the earlier msg_id).
        case sent
        /// WeChat refused it: nothing was sent.
        case refused
        /// The request may have arrived and no answer came.
        case unknown
    }

    /// The API identity the call went to (`APIIdentity`); part of the entry's key.
    public var api: String
    public var appID: String
    /// The clientmsgid (`mc1-…`, `mc2-…`); for a preview, `preview:<run>:<step>`.
    public var key: String
    public var runID: String
    public var stepID: String
    public var batch: Int
    public var endpoint: String
    /// What was sent under the key: `v2:` + the source digest (docs/runner.md, "Content
    /// digests"); entries written before digests were versioned hold a bare SHA-256 (hex) of
    /// the request body without its clientmsgid.
    public var contentDigest: String
    /// Field by field, what the digest covered (a JSON object of path → value or short
    /// digest), so that an edit can be named; `nil` in entries written before.
    public var contentFields: String?
    /// For a rehearsal, the sandbox instance the call went to (`APIIdentity.sandboxInstance`):
    /// an unknown outcome of a sandbox that is gone is never repeated. `nil` for real accounts.
    public var instance: String?
    /// WeChat answered 45065 to the first attempt of a send this store had never journaled:
    /// another state store (or tool) sent under the same key; its content could not be compared.
    public var adoptedUnrecorded: Bool
    /// Recipients in this call (OpenIDs for mass/send; 0 for a tag send).
    public var recipients: Int
    public var state: State
    public var msgID: Int64?
    public var msgDataID: Int64?
    public var errcode: Int?
    /// The first attempt: after 23 hours WeChat may have forgotten the key.
    public var firstAttemptAt: Date
    /// The latest attempt (45066 counts a minute from it).
    public var lastAttemptAt: Date
    public var updatedAt: Date

    public init(
        api: String, appID: String, key: String, runID: String, stepID: String, batch: Int, endpoint: String,
        contentDigest: String, contentFields: String? = nil, instance: String? = nil, recipients: Int, state: State,
        msgID: Int64? = nil, msgDataID: Int64? = nil, errcode: Int? = nil, adoptedUnrecorded: Bool = false,
        firstAttemptAt: Date, lastAttemptAt: Date, updatedAt: Date
    ) {
        self.api = api
        self.contentFields = contentFields
        self.instance = instance
        self.adoptedUnrecorded = adoptedUnrecorded
        self.appID = appID
        self.key = key
        self.runID = runID
        self.stepID = stepID
        self.batch = batch
        self.endpoint = endpoint
        self.contentDigest = contentDigest
        self.recipients = recipients
        self.state = state
        self.msgID = msgID
        self.msgDataID = msgDataID
        self.errcode = errcode
        self.firstAttemptAt = firstAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.updatedAt = updatedAt
    }
}

/// A MASSSENDJOBFINISH push as the listener stored it (deduplicated by account and MsgID).
public struct InboxEvent: Sendable, Hashable, Codable {
    /// The API identity of the account the push is for: the api_base of a real account, or
    /// the sandbox instance (`APIIdentity.sandboxInstance`) that pushed it. A wait reads only
    /// the pushes of the API its sends went to.
    public var api: String
    /// The account's original id (`gh_…`, the push's ToUserName).
    public var originalID: String
    public var msgID: Int64
    /// `send success`, `send fail`, `err(30003)`.
    public var status: String
    public var totalCount: Int?
    public var filterCount: Int?
    public var sentCount: Int?
    public var errorCount: Int?
    /// CopyrightCheckResult's CheckState, if the push carried one.
    public var copyrightCheckState: Int?
    /// ArticleUrlResult as a JSON array of {article_idx, article_url}, if any.
    public var articlesJSON: String?
    /// The push's CreateTime.
    public var createdAt: Date
    public var receivedAt: Date

    public init(
        api: String, originalID: String, msgID: Int64, status: String, totalCount: Int? = nil, filterCount: Int? = nil,
        sentCount: Int? = nil, errorCount: Int? = nil, copyrightCheckState: Int? = nil, articlesJSON: String? = nil,
        createdAt: Date, receivedAt: Date
    ) {
        self.api = api
        self.originalID = originalID
        self.msgID = msgID
        self.status = status
        self.totalCount = totalCount
        self.filterCount = filterCount
        self.sentCount = sentCount
        self.errorCount = errorCount
        self.copyrightCheckState = copyrightCheckState
        self.articlesJSON = articlesJSON
        self.createdAt = createdAt
        self.receivedAt = receivedAt
    }
}

/// A cached access token (the one secret the store holds: the file is created 0600).
public struct StoredToken: Sendable, Hashable, Codable, CustomStringConvertible {
    public var value: String
    public var expiresAt: Date

    public init(value: String, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
    }

    public var description: String { "token [redacted] until \(expiresAt)" }
}
