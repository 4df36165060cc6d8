import Foundation
import GRDB
import RunState

// Row ⇄ record mapping, by column name. Decoding throws (never traps) on a NULL or a value of
// the wrong type, so that a damaged or hand-edited file gives an error, not a crash.

extension Row {
    func value<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(T.self, forColumn: column)
    }

    func optional<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T? {
        try decode(T?.self, forColumn: column)
    }

    func date(_ column: String) throws -> Date { Millis.decode(try value(column, as: Int64.self)) }

    func optionalDate(_ column: String) throws -> Date? { Millis.decode(try optional(column, as: Int64.self)) }

    func optionalInt(_ column: String) throws -> Int? { try optional(column, as: Int64.self).map { Int($0) } }

    func int(_ column: String) throws -> Int { Int(try value(column, as: Int64.self)) }

    func enumValue<E: RawRepresentable>(_ column: String, as type: E.Type) throws -> E where E.RawValue == String {
        let raw = try value(column, as: String.self)
        guard let value = E(rawValue: raw) else { throw UnknownValue(column: column) }
        return value
    }
}

/// A stored text column holds a value this version does not know (e.g. a run status).
struct UnknownValue: Error {
    var column: String
}

enum Columns {
    static let run = """
        runs.id, runs.generation, runs.pipeline_file, runs.pipeline_digest, runs.inputs_json,
        runs.account_name, runs.sandbox, runs.status, runs.message, runs.created_at, runs.updated_at,
        runs.ended_at, runs.owner, runs.heartbeat_at, runs.key_format,
        broadcasts.project, broadcasts.app_id, broadcasts.api, broadcasts.name,
        broadcasts.inputs_json AS identity_inputs_json
        """
    static let runFrom = "runs JOIN broadcasts ON broadcasts.id = runs.broadcast_id"
}

extension BroadcastRecord {
    init(row: Row) throws {
        self.init(
            identity: BroadcastIdentity(
                project: try row.value("project"), appID: try row.value("app_id"), api: try row.value("api"),
                name: try row.value("name"), inputsJSON: try row.value("inputs_json")),
            generation: try row.int("generation"),
            keyFormat: try row.int("key_format"),
            completedRunID: try row.optional("completed_run_id"),
            completedAt: try row.optionalDate("completed_at"))
    }
}

extension RunRecord {
    /// From a row selected with `Columns.run`.
    init(row: Row) throws {
        self.init(
            id: try row.value("id"),
            identity: BroadcastIdentity(
                project: try row.value("project"), appID: try row.value("app_id"), api: try row.value("api"),
                name: try row.value("name"), inputsJSON: try row.value("identity_inputs_json")),
            generation: try row.int("generation"),
            keyFormat: try row.int("key_format"),
            pipelineFile: try row.value("pipeline_file"),
            pipelineDigest: try row.value("pipeline_digest"),
            inputsJSON: try row.value("inputs_json"),
            accountName: try row.value("account_name"),
            sandbox: try row.value("sandbox", as: Bool.self),
            status: try row.enumValue("status", as: RunStatus.self),
            message: try row.optional("message"),
            createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"),
            endedAt: try row.optionalDate("ended_at"),
            owner: try row.optional("owner"),
            heartbeatAt: try row.optionalDate("heartbeat_at"))
    }

    /// The record as it reads back from the store (dates to the millisecond).
    var normalized: RunRecord {
        var copy = self
        copy.createdAt = Millis.normalize(createdAt)
        copy.updatedAt = Millis.normalize(updatedAt)
        copy.endedAt = Millis.normalize(endedAt)
        copy.heartbeatAt = Millis.normalize(heartbeatAt)
        return copy
    }
}

extension StepRecord {
    init(row: Row) throws {
        self.init(
            runID: try row.value("run_id"),
            stepID: try row.value("step_id"),
            uses: try row.value("uses"),
            state: try row.enumValue("state", as: StepRecord.State.self),
            outcome: try row.optional("outcome"),
            conclusion: try row.optional("conclusion"),
            errcode: try row.optionalInt("errcode"),
            outputsJSON: try row.optional("outputs_json"),
            message: try row.optional("message"),
            startedAt: try row.optionalDate("started_at"),
            endedAt: try row.optionalDate("ended_at"))
    }
}

extension AttemptRecord {
    init(row: Row) throws {
        self.init(
            runID: try row.value("run_id"),
            stepID: try row.value("step_id"),
            batch: try row.int("batch"),
            number: try row.int("number"),
            endpoint: try row.value("endpoint"),
            startedAt: try row.date("started_at"),
            endedAt: try row.optionalDate("ended_at"),
            result: try row.value("result"),
            httpStatus: try row.optionalInt("http_status"),
            errcode: try row.optionalInt("errcode"),
            errorClass: try row.optional("error_class"),
            message: try row.optional("message"),
            retryDelayMS: try row.optionalInt("retry_delay_ms"))
    }
}

extension JournalEntry {
    init(row: Row) throws {
        self.init(
            api: try row.value("api"),
            appID: try row.value("app_id"),
            key: try row.value("key"),
            runID: try row.value("run_id"),
            stepID: try row.value("step_id"),
            batch: try row.int("batch"),
            endpoint: try row.value("endpoint"),
            contentDigest: try row.value("content_digest"),
            contentFields: try row.optional("content_fields"),
            instance: try row.optional("instance"),
            recipients: try row.int("recipients"),
            state: try row.enumValue("state", as: JournalEntry.State.self),
            msgID: try row.optional("msg_id"),
            msgDataID: try row.optional("msg_data_id"),
            errcode: try row.optionalInt("errcode"),
            adoptedUnrecorded: try row.value("adopted_unrecorded", as: Bool.self),
            firstAttemptAt: try row.date("first_attempt_at"),
            lastAttemptAt: try row.date("last_attempt_at"),
            updatedAt: try row.date("updated_at"))
    }
}

extension InboxEvent {
    init(row: Row) throws {
        self.init(
            api: try row.value("api"),
            originalID: try row.value("original_id"),
            msgID: try row.value("msg_id"),
            status: try row.value("status"),
            totalCount: try row.optionalInt("total_count"),
            filterCount: try row.optionalInt("filter_count"),
            sentCount: try row.optionalInt("sent_count"),
            errorCount: try row.optionalInt("error_count"),
            copyrightCheckState: try row.optionalInt("copyright_check_state"),
            articlesJSON: try row.optional("articles_json"),
            createdAt: try row.date("created_at"),
            receivedAt: try row.date("received_at"))
    }
}
