import Foundation
import Logging
import PostgresNIO
import RunState

/// The PostgreSQL store's schema, as numbered migrations recorded in `masscast_schema`.
///
/// Migrations run in one transaction under an advisory lock, so that processes opening a new
/// database at once apply each migration once. A database whose newest recorded version is
/// above ``version`` was written by a newer masscast and is refused. Never edit a shipped
/// migration: add the next one.
///
/// Dates are `bigint` milliseconds since 1970-01-01 UTC (`to_timestamp(x / 1000.0)`), as in
/// the SQLite store, so that records read back identical from both; a lease's expiry is
/// compared with the database's own clock.
enum PostgresSchema {
    /// The newest version this code knows.
    static let version = 1

    /// The advisory lock key migrations hold (`pg_advisory_xact_lock`): "masscast" in ASCII.
    static let migrationLock: Int64 = 0x6D61_7373_6361_7374

    static let migrations: [(version: Int, sql: [String])] = [(1, v1)]

    /// Version 1: the same records as the SQLite store's schema version 3, and leases with a
    /// fencing epoch (a row per broadcast that stays after a release, so the epoch only grows).
    static let v1: [String] = [
        """
        CREATE TABLE store_meta (
            key   text PRIMARY KEY,
            value text NOT NULL
        )
        """,
        """
        CREATE TABLE broadcasts (
            id               bigserial PRIMARY KEY,
            project          text    NOT NULL DEFAULT '',
            app_id           text    NOT NULL,
            api              text    NOT NULL,
            name             text    NOT NULL,
            inputs_json      text    NOT NULL,
            generation       bigint  NOT NULL DEFAULT 1 CHECK (generation >= 1),
            key_format       bigint  NOT NULL DEFAULT 1 CHECK (key_format IN (1, 2)),
            completed_run_id text,
            completed_at     bigint,
            created_at       bigint  NOT NULL,
            serial           bigint  NOT NULL DEFAULT 0,
            UNIQUE (project, api, app_id, name, inputs_json)
        )
        """,
        """
        CREATE TABLE runs (
            id              text    PRIMARY KEY,
            seq             bigserial,
            broadcast_id    bigint  NOT NULL REFERENCES broadcasts (id),
            generation      bigint  NOT NULL,
            key_format      bigint  NOT NULL DEFAULT 1,
            pipeline_file   text    NOT NULL,
            pipeline_digest text    NOT NULL,
            inputs_json     text    NOT NULL,
            account_name    text    NOT NULL,
            sandbox         boolean NOT NULL,
            status          text    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'stopped')),
            message         text,
            created_at      bigint  NOT NULL,
            updated_at      bigint  NOT NULL,
            ended_at        bigint,
            owner           text,
            heartbeat_at    bigint
        )
        """,
        "CREATE INDEX runs_by_broadcast ON runs (broadcast_id, status)",
        "CREATE INDEX runs_by_created ON runs (created_at, seq)",
        """
        CREATE TABLE steps (
            seq          bigserial PRIMARY KEY,
            run_id       text   NOT NULL,
            step_id      text   NOT NULL,
            uses         text   NOT NULL,
            state        text   NOT NULL CHECK (state IN ('pending', 'running', 'finished')),
            outcome      text,
            conclusion   text,
            errcode      bigint,
            outputs_json text,
            message      text,
            started_at   bigint,
            ended_at     bigint,
            UNIQUE (run_id, step_id)
        )
        """,
        """
        CREATE TABLE attempts (
            id             bigserial PRIMARY KEY,
            run_id         text   NOT NULL,
            step_id        text   NOT NULL,
            batch          bigint NOT NULL,
            number         bigint NOT NULL,
            endpoint       text   NOT NULL,
            started_at     bigint NOT NULL,
            ended_at       bigint,
            result         text   NOT NULL,
            http_status    bigint,
            errcode        bigint,
            error_class    text,
            message        text,
            retry_delay_ms bigint
        )
        """,
        "CREATE INDEX attempts_by_run ON attempts (run_id, id)",
        """
        CREATE TABLE journal (
            api                text    NOT NULL,
            app_id             text    NOT NULL,
            key                text    NOT NULL,
            run_id             text    NOT NULL,
            step_id            text    NOT NULL,
            batch              bigint  NOT NULL,
            endpoint           text    NOT NULL,
            content_digest     text    NOT NULL,
            content_fields     text,
            instance           text,
            recipients         bigint  NOT NULL,
            state              text    NOT NULL CHECK (state IN ('intent', 'sent', 'refused', 'unknown')),
            msg_id             bigint,
            msg_data_id        bigint,
            errcode            bigint,
            adopted_unrecorded boolean NOT NULL DEFAULT false,
            first_attempt_at   bigint  NOT NULL,
            last_attempt_at    bigint  NOT NULL,
            updated_at         bigint  NOT NULL,
            PRIMARY KEY (api, app_id, key)
        )
        """,
        "CREATE INDEX journal_by_run ON journal (run_id)",
        "CREATE INDEX journal_by_state ON journal (api, app_id, state, updated_at)",
        """
        CREATE TABLE inbox (
            api                   text   NOT NULL,
            original_id           text   NOT NULL,
            msg_id                bigint NOT NULL,
            status                text   NOT NULL,
            total_count           bigint,
            filter_count          bigint,
            sent_count            bigint,
            error_count           bigint,
            copyright_check_state bigint,
            articles_json         text,
            created_at            bigint NOT NULL,
            received_at           bigint NOT NULL,
            PRIMARY KEY (api, original_id, msg_id)
        )
        """,
        """
        CREATE TABLE tokens (
            api        text   NOT NULL,
            app_id     text   NOT NULL,
            value      text   NOT NULL,
            expires_at bigint NOT NULL,
            stored_at  bigint NOT NULL,
            PRIMARY KEY (api, app_id)
        )
        """,
        """
        CREATE TABLE leases (
            project     text    NOT NULL,
            api         text    NOT NULL,
            app_id      text    NOT NULL,
            name        text    NOT NULL,
            inputs_json text    NOT NULL,
            owner       text    NOT NULL,
            epoch       bigint  NOT NULL,
            acquired_at bigint  NOT NULL,
            expires_at  bigint  NOT NULL,
            released    boolean NOT NULL DEFAULT false,
            PRIMARY KEY (project, api, app_id, name, inputs_json)
        )
        """,
    ]

    /// Brings the database of `connection` up to ``version``, or refuses one from a newer masscast.
    static func migrate(_ connection: PostgresConnection, location: PostgresLocation, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { db in
            try await db.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await db.query(
                """
                CREATE TABLE IF NOT EXISTS masscast_schema (
                    version    integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await db.query("SELECT version FROM masscast_schema", logger: logger)
                .decode(Int.self)
            {
                applied.insert(version)
            }
            if let newest = applied.max(), newest > version {
                throw StateStoreError(
                    code: .newerSchema, path: location.description,
                    message: "cannot use the PostgreSQL state store \(location): it was written by a newer masscast (schema version \(newest); this version knows schema version \(version))",
                    hint: "upgrade masscast, or pass --state with another store")
            }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.sql {
                    try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                if migration.version == 1 {
                    let id = UUID().uuidString.lowercased()
                    try await db.query("INSERT INTO store_meta (key, value) VALUES ('store_id', \(id))", logger: logger)
                }
                try await db.query("INSERT INTO masscast_schema (version) VALUES (\(migration.version))", logger: logger)
            }
        }
    }
}
