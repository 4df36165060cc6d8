import Foundation
import GRDB
import RunState

// GRDB's rows read as RunState's `StoredRow`, whose record initialisers both stores share.

extension Row: StoredRow {
    func value<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(T.self, forColumn: column)
    }

    func optional<T: DatabaseValueConvertible>(_ column: String, as type: T.Type = T.self) throws -> T? {
        try decode(T?.self, forColumn: column)
    }

    public func string(_ column: String) throws -> String { try value(column) }
    public func optionalString(_ column: String) throws -> String? { try optional(column) }
    public func int64(_ column: String) throws -> Int64 { try value(column) }
    public func optionalInt64(_ column: String) throws -> Int64? { try optional(column) }
    public func bool(_ column: String) throws -> Bool { try value(column) }
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

