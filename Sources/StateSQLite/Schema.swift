import Foundation
import GRDB

/// The state file's schema, as GRDB migrations named "v1", "v2", …
///
/// Each migration also sets `PRAGMA user_version` to its number, so that `sqlite3` shows the
/// schema version and an older masscast can refuse a newer file even if the migrations table
/// were lost. Never edit a shipped migration: add the next one.
///
/// Dates are INTEGER milliseconds since 1970-01-01 UTC (`datetime(x / 1000, 'unixepoch')`).
enum Schema {
    /// The `user_version` the newest known migration leaves.
    static let version = 1

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        return migrator
    }

    static let v1 = """
        CREATE TABLE broadcasts (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            app_id           TEXT    NOT NULL,
            api_base         TEXT    NOT NULL,
            name             TEXT    NOT NULL,
            inputs_json      TEXT    NOT NULL,
            generation       INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),
            completed_run_id TEXT,
            completed_at     INTEGER,
            created_at       INTEGER NOT NULL,
            UNIQUE (app_id, api_base, name, inputs_json)
        );

        CREATE TABLE runs (
            id              TEXT    PRIMARY KEY NOT NULL,
            broadcast_id    INTEGER NOT NULL REFERENCES broadcasts(id),
            generation      INTEGER NOT NULL,
            pipeline_file   TEXT    NOT NULL,
            pipeline_digest TEXT    NOT NULL,
            inputs_json     TEXT    NOT NULL,
            account_name    TEXT    NOT NULL,
            sandbox         INTEGER NOT NULL,
            status          TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'stopped')),
            message         TEXT,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL,
            ended_at        INTEGER,
            owner           TEXT,
            heartbeat_at    INTEGER
        );
        CREATE INDEX runs_by_broadcast ON runs (broadcast_id, status);
        CREATE INDEX runs_by_created ON runs (created_at);

        CREATE TABLE steps (
            seq          INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id       TEXT    NOT NULL,
            step_id      TEXT    NOT NULL,
            uses         TEXT    NOT NULL,
            state        TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'finished')),
            outcome      TEXT,
            conclusion   TEXT,
            errcode      INTEGER,
            outputs_json TEXT,
            message      TEXT,
            started_at   INTEGER,
            ended_at     INTEGER,
            UNIQUE (run_id, step_id)
        );

        CREATE TABLE attempts (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id         TEXT    NOT NULL,
            step_id        TEXT    NOT NULL,
            batch          INTEGER NOT NULL,
            number         INTEGER NOT NULL,
            endpoint       TEXT    NOT NULL,
            started_at     INTEGER NOT NULL,
            ended_at       INTEGER,
            result         TEXT    NOT NULL,
            http_status    INTEGER,
            errcode        INTEGER,
            error_class    TEXT,
            message        TEXT,
            retry_delay_ms INTEGER
        );
        CREATE INDEX attempts_by_run ON attempts (run_id, id);

        CREATE TABLE journal (
            app_id           TEXT    NOT NULL,
            key              TEXT    NOT NULL,
            run_id           TEXT    NOT NULL,
            step_id          TEXT    NOT NULL,
            batch            INTEGER NOT NULL,
            endpoint         TEXT    NOT NULL,
            content_digest   TEXT    NOT NULL,
            recipients       INTEGER NOT NULL,
            state            TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'refused', 'unknown')),
            msg_id           INTEGER,
            msg_data_id      INTEGER,
            errcode          INTEGER,
            first_attempt_at INTEGER NOT NULL,
            last_attempt_at  INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            PRIMARY KEY (app_id, key)
        );
        CREATE INDEX journal_by_run ON journal (run_id);
        CREATE INDEX journal_by_state ON journal (app_id, state, updated_at);

        CREATE TABLE inbox (
            original_id           TEXT    NOT NULL,
            msg_id                INTEGER NOT NULL,
            status                TEXT    NOT NULL,
            total_count           INTEGER,
            filter_count          INTEGER,
            sent_count            INTEGER,
            error_count           INTEGER,
            copyright_check_state INTEGER,
            articles_json         TEXT,
            created_at            INTEGER NOT NULL,
            received_at           INTEGER NOT NULL,
            PRIMARY KEY (original_id, msg_id)
        );

        CREATE TABLE tokens (
            app_id     TEXT    PRIMARY KEY NOT NULL,
            value      TEXT    NOT NULL,
            expires_at INTEGER NOT NULL,
            stored_at  INTEGER NOT NULL
        );
        """
}

/// Dates as INTEGER milliseconds since 1970: exact to the millisecond, readable with
/// `datetime(x / 1000, 'unixepoch')`.
enum Millis {
    /// The largest magnitude kept (about ±285 000 years); beyond, dates are clamped.
    private static let limit = 9_007_199_254_740_992.0  // 2^53

    static func encode(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        guard ms.isFinite else { return ms < 0 ? -Int64(limit) : Int64(limit) }
        return Int64(min(max(ms, -limit), limit))
    }

    static func encode(_ date: Date?) -> Int64? { date.map { encode($0) } }

    static func decode(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    static func decode(_ ms: Int64?) -> Date? { ms.map { decode($0) } }

    /// The date as it will read back from the store.
    static func normalize(_ date: Date) -> Date { decode(encode(date)) }
    static func normalize(_ date: Date?) -> Date? { date.map { normalize($0) } }
}
