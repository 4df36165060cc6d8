import Foundation

/// One row a store read, by column name: what the record initialisers below need, whatever
/// the database. Each store adapts its own row type (no database type crosses into this
/// module), so both stores map the same columns to the same records through one definition.
/// Reading throws (never traps) on a NULL or a value of the wrong type, so that a damaged or
/// hand-edited store gives an error, not a crash.
public protocol StoredRow {
    func string(_ column: String) throws -> String
    func optionalString(_ column: String) throws -> String?
    func int64(_ column: String) throws -> Int64
    func optionalInt64(_ column: String) throws -> Int64?
    func bool(_ column: String) throws -> Bool
}

extension StoredRow {
    public func int(_ column: String) throws -> Int { Int(try int64(column)) }
    public func optionalInt(_ column: String) throws -> Int? { try optionalInt64(column).map { Int($0) } }
    /// A date stored as INTEGER milliseconds since the Unix epoch.
    public func date(_ column: String) throws -> Date { Millis.decode(try int64(column)) }
    public func optionalDate(_ column: String) throws -> Date? { Millis.decode(try optionalInt64(column)) }

    /// A text column holding one of `E`'s raw values; another value is ``UnknownStoredValue``.
    public func enumValue<E: RawRepresentable>(_ column: String, as type: E.Type) throws -> E
    where E.RawValue == String {
        let raw = try string(column)
        guard let value = E(rawValue: raw) else { throw UnknownStoredValue(column: column) }
        return value
    }
}

/// A stored text column holds a value this version does not know (e.g. a run status written
/// by a newer masscast).
public struct UnknownStoredValue: Error, Sendable {
    public var column: String
    public init(column: String) { self.column = column }
}

extension BroadcastLease {
    /// From a lease row joined with its broadcast's identity columns.
    public init(stored row: some StoredRow) throws {
        self.init(
            identity: BroadcastIdentity(
                project: try row.string("project"), appID: try row.string("app_id"), api: try row.string("api"),
                name: try row.string("name"), inputsJSON: try row.string("inputs_json")),
            owner: try row.string("owner"), acquiredAt: try row.date("acquired_at"), expiresAt: try row.date("expires_at"),
            epoch: try row.int64("epoch"))
    }
}

extension BroadcastRecord {
    public init(stored row: some StoredRow) throws {
        self.init(
            identity: BroadcastIdentity(
                project: try row.string("project"), appID: try row.string("app_id"), api: try row.string("api"),
                name: try row.string("name"), inputsJSON: try row.string("inputs_json")),
            generation: try row.int("generation"),
            keyFormat: try row.int("key_format"),
            completedRunID: try row.optionalString("completed_run_id"),
            completedAt: try row.optionalDate("completed_at"))
    }
}

extension RunRecord {
    /// From a row holding a run's columns joined with its broadcast's (the broadcast's
    /// `inputs_json` as `identity_inputs_json`).
    public init(stored row: some StoredRow) throws {
        self.init(
            id: try row.string("id"),
            identity: BroadcastIdentity(
                project: try row.string("project"), appID: try row.string("app_id"), api: try row.string("api"),
                name: try row.string("name"), inputsJSON: try row.string("identity_inputs_json")),
            generation: try row.int("generation"),
            keyFormat: try row.int("key_format"),
            pipelineFile: try row.string("pipeline_file"),
            pipelineDigest: try row.string("pipeline_digest"),
            inputsJSON: try row.string("inputs_json"),
            accountName: try row.string("account_name"),
            sandbox: try row.bool("sandbox"),
            status: try row.enumValue("status", as: RunStatus.self),
            message: try row.optionalString("message"),
            createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"),
            endedAt: try row.optionalDate("ended_at"),
            owner: try row.optionalString("owner"),
            heartbeatAt: try row.optionalDate("heartbeat_at"))
    }

    /// The record as it reads back from the store (dates to the millisecond).
    public var normalized: RunRecord {
        var copy = self
        copy.createdAt = Millis.normalize(createdAt)
        copy.updatedAt = Millis.normalize(updatedAt)
        copy.endedAt = Millis.normalize(endedAt)
        copy.heartbeatAt = Millis.normalize(heartbeatAt)
        return copy
    }
}

extension StepRecord {
    public init(stored row: some StoredRow) throws {
        self.init(
            runID: try row.string("run_id"),
            stepID: try row.string("step_id"),
            uses: try row.string("uses"),
            state: try row.enumValue("state", as: StepRecord.State.self),
            outcome: try row.optionalString("outcome"),
            conclusion: try row.optionalString("conclusion"),
            errcode: try row.optionalInt("errcode"),
            outputsJSON: try row.optionalString("outputs_json"),
            message: try row.optionalString("message"),
            startedAt: try row.optionalDate("started_at"),
            endedAt: try row.optionalDate("ended_at"))
    }
}

extension AttemptRecord {
    public init(stored row: some StoredRow) throws {
        self.init(
            runID: try row.string("run_id"),
            stepID: try row.string("step_id"),
            batch: try row.int("batch"),
            number: try row.int("number"),
            endpoint: try row.string("endpoint"),
            startedAt: try row.date("started_at"),
            endedAt: try row.optionalDate("ended_at"),
            result: try row.string("result"),
            httpStatus: try row.optionalInt("http_status"),
            errcode: try row.optionalInt("errcode"),
            errorClass: try row.optionalString("error_class"),
            message: try row.optionalString("message"),
            retryDelayMS: try row.optionalInt("retry_delay_ms"))
    }
}

extension JournalEntry {
    public init(stored row: some StoredRow) throws {
        self.init(
            api: try row.string("api"),
            appID: try row.string("app_id"),
            key: try row.string("key"),
            runID: try row.string("run_id"),
            stepID: try row.string("step_id"),
            batch: try row.int("batch"),
            endpoint: try row.string("endpoint"),
            contentDigest: try row.string("content_digest"),
            contentFields: try row.optionalString("content_fields"),
            instance: try row.optionalString("instance"),
            recipients: try row.int("recipients"),
            state: try row.enumValue("state", as: JournalEntry.State.self),
            msgID: try row.optionalInt64("msg_id"),
            msgDataID: try row.optionalInt64("msg_data_id"),
            errcode: try row.optionalInt("errcode"),
            adoptedUnrecorded: try row.bool("adopted_unrecorded"),
            firstAttemptAt: try row.date("first_attempt_at"),
            lastAttemptAt: try row.date("last_attempt_at"),
            updatedAt: try row.date("updated_at"))
    }
}

extension InboxEvent {
    public init(stored row: some StoredRow) throws {
        self.init(
            api: try row.string("api"),
            originalID: try row.string("original_id"),
            msgID: try row.int64("msg_id"),
            status: try row.string("status"),
            totalCount: try row.optionalInt("total_count"),
            filterCount: try row.optionalInt("filter_count"),
            sentCount: try row.optionalInt("sent_count"),
            errorCount: try row.optionalInt("error_count"),
            copyrightCheckState: try row.optionalInt("copyright_check_state"),
            articlesJSON: try row.optionalString("articles_json"),
            createdAt: try row.date("created_at"),
            receivedAt: try row.date("received_at"))
    }
}
