import Foundation
import PipelineCore
import RunState

/// A run as one JSON document (`masscast runs show RUN_ID --format json`, the report file):
/// the run, its steps with their attempts, the sends (journal entries) and a summary.
///
/// ``jsonData()`` writes snake_case keys, sorted, pretty-printed; dates are RFC 3339 in UTC
/// with milliseconds (`2026-11-29T07:00:01.123Z`); absent values are written as `null` (every
/// key is always present). The run's inputs and the steps' outputs, stored as JSON text, are
/// embedded as JSON values (objects, not strings).
public struct RunReport: Sendable, Hashable, Codable {
    /// The run.
    public var run: Run
    /// Its steps, in pipeline order, each with its attempts.
    public var steps: [Step]
    /// The journal's sends.
    public var sends: [Send]
    /// Counts.
    public var summary: Summary

    /// Builds a report.
    /// - Parameters:
    ///   - run: the run.
    ///   - steps: its steps, in pipeline order.
    ///   - attempts: its attempts (those of other runs are ignored); attached to their step,
    ///     sorted by batch, number and start.
    ///   - journal: the sends to show, as the caller selected them (a send adopted from an
    ///     earlier run of the same broadcast may carry that run's id); sorted by step order,
    ///     batch and clientmsgid.
    ///   - scrubber: secrets to redact from every string (messages, inputs, outputs).
    public init(
        run: RunRecord, steps: [StepRecord], attempts: [AttemptRecord], journal: [JournalEntry],
        scrubber: Scrubber = Scrubber(), ownerAlive: Bool = true
    ) {
        self.run = Run(run, scrubber: scrubber, ownerAlive: ownerAlive)
        var byStep: [String: [AttemptRecord]] = [:]
        for attempt in attempts where attempt.runID == run.id { byStep[attempt.stepID, default: []].append(attempt) }
        self.steps = steps.map { step in
            Step(step, attempts: RunReport.ordered(byStep[step.stepID] ?? []), scrubber: scrubber)
        }
        let order = Dictionary(steps.enumerated().map { ($1.stepID, $0) }, uniquingKeysWith: { first, _ in first })
        self.sends = RunReport.ordered(journal, stepOrder: order).map { Send($0, scrubber: scrubber) }
        self.summary = Summary(steps: self.steps, sends: self.sends)
    }

    /// The report as pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        try RunReport.makeEncoder().encode(self)
    }

    /// Reads a report written by ``jsonData()``.
    public static func decode(_ data: Data) throws -> RunReport {
        try makeDecoder().decode(RunReport.self, from: data)
    }

    /// The encoder reports use: sorted keys, pretty-printed, slashes unescaped, RFC 3339 dates
    /// in UTC with milliseconds.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(TimeText.rfc3339(date))
        }
        return encoder
    }

    /// The decoder matching ``makeEncoder()``.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = TimeText.parseRFC3339(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "not an RFC 3339 date: \(text)")
            }
            return date
        }
        return decoder
    }

    static func ordered(_ attempts: [AttemptRecord]) -> [AttemptRecord] {
        attempts.sorted {
            ($0.batch, $0.number, $0.startedAt.timeIntervalSince1970)
                < ($1.batch, $1.number, $1.startedAt.timeIntervalSince1970)
        }
    }

    static func ordered(_ journal: [JournalEntry], stepOrder: [String: Int]) -> [JournalEntry] {
        journal.sorted {
            let a = (stepOrder[$0.stepID] ?? Int.max, $0.batch)
            let b = (stepOrder[$1.stepID] ?? Int.max, $1.batch)
            return a != b ? a < b : $0.key < $1.key
        }
    }

    static func durationMS(_ start: Date?, _ end: Date?) -> Int64? {
        guard let start, let end else { return nil }
        return TimeText.milliseconds(end) - TimeText.milliseconds(start)
    }

    // MARK: - Run

    /// The run.
    public struct Run: Sendable, Hashable, Codable {
        public var id: String
        /// The pipeline's name.
        public var pipeline: String
        public var pipelineFile: String
        public var pipelineDigest: String
        /// The account's name (`brand-main`).
        public var account: String
        public var appID: String
        /// The API identity: the api_base of a real account, `sandbox:<fixture digest>` for a
        /// rehearsal (`api_base` in JSON, as before).
        public var apiBase: String
        public var generation: Int
        public var status: RunStatus
        /// `running`, but its runner is gone (its process died, or it missed three
        /// heartbeats): `masscast run` or `resume` continues it.
        public var interrupted: Bool
        public var message: String?
        public var sandbox: Bool
        public var createdAt: Date
        public var updatedAt: Date
        public var endedAt: Date?
        /// `ended_at - created_at`, `null` while the run has not ended.
        public var durationMS: Int64?
        /// The inputs, as a JSON object.
        public var inputs: Value?

        /// The run's object, as in a report and in `runs list --format json`.
        public init(_ record: RunRecord, scrubber: Scrubber = Scrubber(), ownerAlive: Bool = true) {
            interrupted = record.status == .running && !ownerAlive
            id = record.id
            pipeline = record.identity.name
            pipelineFile = record.pipelineFile
            pipelineDigest = record.pipelineDigest
            account = record.accountName
            appID = record.identity.appID
            apiBase = record.identity.api
            generation = record.generation
            status = record.status
            message = scrubber.scrub(record.message)
            sandbox = record.sandbox
            createdAt = TimeText.normalized(record.createdAt)
            updatedAt = TimeText.normalized(record.updatedAt)
            endedAt = record.endedAt.map(TimeText.normalized)
            durationMS = RunReport.durationMS(record.createdAt, record.endedAt)
            inputs = Value.embedding(record.inputsJSON).map { scrubber.scrub($0) }
        }

        enum CodingKeys: String, CodingKey {
            case id, pipeline, account, generation, status, message, sandbox, inputs, interrupted
            case pipelineFile = "pipeline_file"
            case pipelineDigest = "pipeline_digest"
            case appID = "app_id"
            case apiBase = "api_base"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case endedAt = "ended_at"
            case durationMS = "duration_ms"
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(pipeline, forKey: .pipeline)
            try c.encode(pipelineFile, forKey: .pipelineFile)
            try c.encode(pipelineDigest, forKey: .pipelineDigest)
            try c.encode(account, forKey: .account)
            try c.encode(appID, forKey: .appID)
            try c.encode(apiBase, forKey: .apiBase)
            try c.encode(generation, forKey: .generation)
            try c.encode(status, forKey: .status)
            try c.encode(interrupted, forKey: .interrupted)
            try c.encode(message, forKey: .message)
            try c.encode(sandbox, forKey: .sandbox)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(updatedAt, forKey: .updatedAt)
            try c.encode(endedAt, forKey: .endedAt)
            try c.encode(durationMS, forKey: .durationMS)
            try c.encode(inputs, forKey: .inputs)
        }
    }

    // MARK: - Step

    /// A step and its attempts.
    public struct Step: Sendable, Hashable, Codable {
        public var id: String
        public var uses: String
        /// `pending`, `running`, `finished`.
        public var state: String
        /// `success`, `failure`, `skipped`, `cancelled` (before continue-on-error).
        public var outcome: String?
        /// As `outcome`, after continue-on-error.
        public var conclusion: String?
        public var errcode: Int?
        public var message: String?
        public var startedAt: Date?
        public var endedAt: Date?
        public var durationMS: Int64?
        /// The outputs, as a JSON object.
        public var outputs: Value?
        public var attempts: [Attempt]

        init(_ record: StepRecord, attempts: [AttemptRecord], scrubber: Scrubber) {
            id = record.stepID
            uses = record.uses
            state = record.state.rawValue
            outcome = record.outcome
            conclusion = record.conclusion
            errcode = record.errcode
            message = scrubber.scrub(record.message)
            startedAt = record.startedAt.map(TimeText.normalized)
            endedAt = record.endedAt.map(TimeText.normalized)
            durationMS = RunReport.durationMS(record.startedAt, record.endedAt)
            outputs = Value.embedding(record.outputsJSON).map { scrubber.scrub($0) }
            self.attempts = attempts.map { Attempt($0, scrubber: scrubber) }
        }

        /// The conclusion, else the outcome, else the state (`pending`, `running`).
        public var result: String { conclusion ?? outcome ?? state }

        enum CodingKeys: String, CodingKey {
            case id, uses, state, outcome, conclusion, errcode, message, outputs, attempts
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case durationMS = "duration_ms"
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(uses, forKey: .uses)
            try c.encode(state, forKey: .state)
            try c.encode(outcome, forKey: .outcome)
            try c.encode(conclusion, forKey: .conclusion)
            try c.encode(errcode, forKey: .errcode)
            try c.encode(message, forKey: .message)
            try c.encode(startedAt, forKey: .startedAt)
            try c.encode(endedAt, forKey: .endedAt)
            try c.encode(durationMS, forKey: .durationMS)
            try c.encode(outputs, forKey: .outputs)
            try c.encode(attempts, forKey: .attempts)
        }
    }

    // MARK: - Attempt

    /// One call attempt.
    public struct Attempt: Sendable, Hashable, Codable {
        /// The batch, counted from 1 as the logs count it (the store keeps it from 0).
        public var batch: Int
        public var number: Int
        public var endpoint: String
        /// `ok`, `error`, `unknown`.
        public var result: String
        public var httpStatus: Int?
        public var errcode: Int?
        /// `transient`, `rate_limit`, `duplicate`, `permanent`, `token`.
        public var errorClass: String?
        public var message: String?
        public var startedAt: Date
        public var endedAt: Date?
        public var durationMS: Int64?
        public var retryDelayMS: Int?

        init(_ record: AttemptRecord, scrubber: Scrubber) {
            batch = record.batch + 1
            number = record.number
            endpoint = record.endpoint
            result = record.result
            httpStatus = record.httpStatus
            errcode = record.errcode
            errorClass = record.errorClass
            message = scrubber.scrub(record.message)
            startedAt = TimeText.normalized(record.startedAt)
            endedAt = record.endedAt.map(TimeText.normalized)
            durationMS = RunReport.durationMS(record.startedAt, record.endedAt)
            retryDelayMS = record.retryDelayMS
        }

        enum CodingKeys: String, CodingKey {
            case batch, number, endpoint, result, errcode, message
            case httpStatus = "http_status"
            case errorClass = "error_class"
            case startedAt = "started_at"
            case endedAt = "ended_at"
            case durationMS = "duration_ms"
            case retryDelayMS = "retry_delay_ms"
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(batch, forKey: .batch)
            try c.encode(number, forKey: .number)
            try c.encode(endpoint, forKey: .endpoint)
            try c.encode(result, forKey: .result)
            try c.encode(httpStatus, forKey: .httpStatus)
            try c.encode(errcode, forKey: .errcode)
            try c.encode(errorClass, forKey: .errorClass)
            try c.encode(message, forKey: .message)
            try c.encode(startedAt, forKey: .startedAt)
            try c.encode(endedAt, forKey: .endedAt)
            try c.encode(durationMS, forKey: .durationMS)
            try c.encode(retryDelayMS, forKey: .retryDelayMS)
        }
    }

    // MARK: - Send

    /// One irreversible call (a send batch, a preview) from the journal.
    public struct Send: Sendable, Hashable, Codable {
        public var step: String
        /// The batch, counted from 1 as the logs count it (the journal keeps it from 0).
        public var batch: Int
        /// The journal key (`mc1-…`; `preview:<run>:<step>` for a preview).
        public var clientmsgid: String
        public var endpoint: String
        /// `intent`, `sent`, `refused`, `unknown`.
        public var state: String
        public var msgID: Int64?
        public var msgDataID: Int64?
        public var recipients: Int
        public var errcode: Int?
        public var firstAttemptAt: Date
        public var lastAttemptAt: Date
        /// WeChat answered 45065 for a key this store had never journaled: another state
        /// store sent it; its content could not be compared.
        public var adoptedUnrecorded: Bool

        init(_ entry: JournalEntry, scrubber: Scrubber) {
            adoptedUnrecorded = entry.adoptedUnrecorded
            step = entry.stepID
            batch = entry.batch + 1
            clientmsgid = scrubber.scrub(entry.key)
            endpoint = entry.endpoint
            state = entry.state.rawValue
            msgID = entry.msgID
            msgDataID = entry.msgDataID
            recipients = entry.recipients
            errcode = entry.errcode
            firstAttemptAt = TimeText.normalized(entry.firstAttemptAt)
            lastAttemptAt = TimeText.normalized(entry.lastAttemptAt)
        }

        enum CodingKeys: String, CodingKey {
            case step, batch, clientmsgid, endpoint, state, recipients, errcode
            case adoptedUnrecorded = "adopted_unrecorded"
            case msgID = "msg_id"
            case msgDataID = "msg_data_id"
            case firstAttemptAt = "first_attempt_at"
            case lastAttemptAt = "last_attempt_at"
        }

        /// Encodes every key, absent values as `null`.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step, forKey: .step)
            try c.encode(batch, forKey: .batch)
            try c.encode(clientmsgid, forKey: .clientmsgid)
            try c.encode(endpoint, forKey: .endpoint)
            try c.encode(state, forKey: .state)
            try c.encode(msgID, forKey: .msgID)
            try c.encode(msgDataID, forKey: .msgDataID)
            try c.encode(recipients, forKey: .recipients)
            try c.encode(errcode, forKey: .errcode)
            try c.encode(adoptedUnrecorded, forKey: .adoptedUnrecorded)
            try c.encode(firstAttemptAt, forKey: .firstAttemptAt)
            try c.encode(lastAttemptAt, forKey: .lastAttemptAt)
        }
    }

    // MARK: - Summary

    /// Counts.
    public struct Summary: Sendable, Hashable, Codable {
        /// Steps in all.
        public var steps: Int
        /// Steps concluded `success` (conclusion, else outcome).
        public var succeeded: Int
        /// Steps concluded `failure`.
        public var failed: Int
        public var skipped: Int
        public var cancelled: Int
        /// Steps not finished (pending or running).
        public var unfinished: Int
        /// Attempts of all steps.
        public var attempts: Int
        /// Sends WeChat accepted (journal state `sent`).
        public var sendsAccepted: Int
        /// Recipients of the accepted sends (0 for tag sends, which carry no count).
        public var recipients: Int

        public init(
            steps: Int, succeeded: Int, failed: Int, skipped: Int, cancelled: Int, unfinished: Int, attempts: Int,
            sendsAccepted: Int, recipients: Int
        ) {
            self.steps = steps
            self.succeeded = succeeded
            self.failed = failed
            self.skipped = skipped
            self.cancelled = cancelled
            self.unfinished = unfinished
            self.attempts = attempts
            self.sendsAccepted = sendsAccepted
            self.recipients = recipients
        }

        init(steps: [Step], sends: [Send]) {
            func count(_ result: String) -> Int {
                steps.filter { $0.state == StepRecord.State.finished.rawValue && $0.result == result }.count
            }
            let accepted = sends.filter {
                $0.state == JournalEntry.State.sent.rawValue && $0.endpoint != "message/mass/delete"
            }
            self.init(
                steps: steps.count, succeeded: count("success"), failed: count("failure"), skipped: count("skipped"),
                cancelled: count("cancelled"),
                unfinished: steps.filter { $0.state != StepRecord.State.finished.rawValue }.count,
                attempts: steps.reduce(0) { $0 + $1.attempts.count }, sendsAccepted: accepted.count,
                recipients: accepted.reduce(0) { $0 + $1.recipients })
        }

        enum CodingKeys: String, CodingKey {
            case steps, succeeded, failed, skipped, cancelled, unfinished, attempts, recipients
            case sendsAccepted = "sends_accepted"
        }
    }
}
