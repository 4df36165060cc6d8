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
    static let version = 5

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        // GRDB runs a migration with foreign keys off and checks them after it
        // (`foreignKeyChecks: .deferred`), which the table rebuilds below need.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: v2)
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: v3)
            try db.execute(sql: "INSERT INTO store_meta (key, value) VALUES ('store_id', ?)", arguments: [UUID().uuidString.lowercased()])
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        migrator.registerMigration("v4") { db in
            try db.execute(sql: v4)
            try db.execute(sql: "PRAGMA user_version = 4")
        }
        migrator.registerMigration("v5") { db in
            try db.execute(sql: v5)
            try db.execute(sql: "PRAGMA user_version = 5")
        }
        return migrator
    }

    /// The schema the migrations up to ``version`` leave, as one script: what a new file is given,
    /// in one transaction, instead of one migration after another (which rebuilt and renamed
    /// tables, and checked foreign keys after each: about 10 ms of a new state file). Each
    /// statement is the text SQLite keeps for the migrated object (`sqlite_master.sql`), so the
    /// two ways give the same file: `SchemaTests` checks it. A new migration must be added here
    /// too.
    static let current = """
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
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
        , key_format INTEGER NOT NULL DEFAULT 1);
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
        CREATE TABLE "broadcasts" (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            project          TEXT    NOT NULL DEFAULT '',
            app_id           TEXT    NOT NULL,
            api              TEXT    NOT NULL,
            name             TEXT    NOT NULL,
            inputs_json      TEXT    NOT NULL,
            generation       INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),
            key_format       INTEGER NOT NULL DEFAULT 1 CHECK (key_format IN (1, 2)),
            completed_run_id TEXT,
            completed_at     INTEGER,
            created_at       INTEGER NOT NULL, serial INTEGER NOT NULL DEFAULT 0,
            UNIQUE (project, api, app_id, name, inputs_json)
        );
        CREATE TABLE "journal" (
            api                TEXT    NOT NULL,
            app_id             TEXT    NOT NULL,
            key                TEXT    NOT NULL,
            run_id             TEXT    NOT NULL,
            step_id            TEXT    NOT NULL,
            batch              INTEGER NOT NULL,
            endpoint           TEXT    NOT NULL,
            content_digest     TEXT    NOT NULL,
            content_fields     TEXT,
            instance           TEXT,
            recipients         INTEGER NOT NULL,
            state              TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'refused', 'unknown')),
            msg_id             INTEGER,
            msg_data_id        INTEGER,
            errcode            INTEGER,
            adopted_unrecorded INTEGER NOT NULL DEFAULT 0,
            first_attempt_at   INTEGER NOT NULL,
            last_attempt_at    INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL,
            PRIMARY KEY (api, app_id, key)
        );
        CREATE INDEX journal_by_run ON journal (run_id);
        CREATE INDEX journal_by_state ON journal (api, app_id, state, updated_at);
        CREATE TABLE "inbox" (
            api                   TEXT    NOT NULL,
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
            PRIMARY KEY (api, original_id, msg_id)
        );
        CREATE TABLE tokens (
            api        TEXT    NOT NULL,
            app_id     TEXT    NOT NULL,
            value      TEXT    NOT NULL,
            expires_at INTEGER NOT NULL,
            stored_at  INTEGER NOT NULL,
            PRIMARY KEY (api, app_id)
        );
        CREATE TABLE leases (
            project     TEXT    NOT NULL,
            api         TEXT    NOT NULL,
            app_id      TEXT    NOT NULL,
            name        TEXT    NOT NULL,
            inputs_json TEXT    NOT NULL,
            owner       TEXT    NOT NULL,
            acquired_at INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL, epoch INTEGER NOT NULL DEFAULT 1, released INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (project, api, app_id, name, inputs_json)
        );
        CREATE TABLE store_meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        );
        CREATE TABLE token_refresh_claims (
            api     TEXT    NOT NULL,
            app_id  TEXT    NOT NULL,
            holder  TEXT    NOT NULL,
            until   INTEGER NOT NULL,
            PRIMARY KEY (api, app_id)
        );
        CREATE TABLE token_forced_refreshes (
            api     TEXT    NOT NULL,
            app_id  TEXT    NOT NULL,
            at      INTEGER NOT NULL
        );
        CREATE INDEX token_forced_refreshes_by_account ON token_forced_refreshes (api, app_id, at);
        """

    /// The migration identifiers ``current`` stands for.
    static let currentMigrations = (1...version).map { "v\($0)" }

    /// Version 5: the token refresh lock (a claim per account, taken in a write transaction
    /// and let go when the refresh stored its token, or void after `until`) and the forced
    /// refreshes of every process, counted against WeChat's limits.
    static let v5 = """
        CREATE TABLE token_refresh_claims (
            api     TEXT    NOT NULL,
            app_id  TEXT    NOT NULL,
            holder  TEXT    NOT NULL,
            until   INTEGER NOT NULL,
            PRIMARY KEY (api, app_id)
        );

        CREATE TABLE token_forced_refreshes (
            api     TEXT    NOT NULL,
            app_id  TEXT    NOT NULL,
            at      INTEGER NOT NULL
        );
        CREATE INDEX token_forced_refreshes_by_account ON token_forced_refreshes (api, app_id, at);
        """

    /// Version 4: a lease carries a fencing epoch (1 for the first holder, one more at every
    /// takeover) and stays, marked released, after its release, so that its epoch only grows.
    static let v4 = """
        ALTER TABLE leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE leases ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
        """

    /// Version 3: a serial per broadcast that every change of its state increments (broadcasts
    /// already run start at 1), the leases `masscast apply` takes per broadcast (keyed by the
    /// broadcast's identity, so a broadcast never run can be leased), and the store's own id.
    static let v3 = """
        ALTER TABLE broadcasts ADD COLUMN serial INTEGER NOT NULL DEFAULT 0;
        UPDATE broadcasts SET serial = 1;

        CREATE TABLE leases (
            project     TEXT    NOT NULL,
            api         TEXT    NOT NULL,
            app_id      TEXT    NOT NULL,
            name        TEXT    NOT NULL,
            inputs_json TEXT    NOT NULL,
            owner       TEXT    NOT NULL,
            acquired_at INTEGER NOT NULL,
            expires_at  INTEGER NOT NULL,
            PRIMARY KEY (project, api, app_id, name, inputs_json)
        );

        CREATE TABLE store_meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        );
        """

    /// Version 2: everything keyed by the API identity (a rehearsal's sandbox never shares
    /// keys with the real API); broadcasts carry the project id and the clientmsgid format of
    /// their generation; journal entries carry what the digest covered, the sandbox instance
    /// and whether a 45065 adopted a send this store never journaled.
    ///
    /// Rows written before keep working: broadcasts get no project and key format 1 (their
    /// `mc1-` keys stay valid for the runs in flight), journal entries take the API of their
    /// run's broadcast, pushes get an empty API (read by any wait, as before), and the token
    /// cache is emptied (tokens are fetched again).
    static let v2 = """
        CREATE TABLE broadcasts_v2 (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            project          TEXT    NOT NULL DEFAULT '',
            app_id           TEXT    NOT NULL,
            api              TEXT    NOT NULL,
            name             TEXT    NOT NULL,
            inputs_json      TEXT    NOT NULL,
            generation       INTEGER NOT NULL DEFAULT 1 CHECK (generation >= 1),
            key_format       INTEGER NOT NULL DEFAULT 1 CHECK (key_format IN (1, 2)),
            completed_run_id TEXT,
            completed_at     INTEGER,
            created_at       INTEGER NOT NULL,
            UNIQUE (project, api, app_id, name, inputs_json)
        );
        INSERT INTO broadcasts_v2 (id, project, app_id, api, name, inputs_json, generation, key_format,
                                   completed_run_id, completed_at, created_at)
            SELECT id, '', app_id, api_base, name, inputs_json, generation, 1, completed_run_id, completed_at, created_at
            FROM broadcasts;
        DROP TABLE broadcasts;
        ALTER TABLE broadcasts_v2 RENAME TO broadcasts;

        ALTER TABLE runs ADD COLUMN key_format INTEGER NOT NULL DEFAULT 1;

        CREATE TABLE journal_v2 (
            api                TEXT    NOT NULL,
            app_id             TEXT    NOT NULL,
            key                TEXT    NOT NULL,
            run_id             TEXT    NOT NULL,
            step_id            TEXT    NOT NULL,
            batch              INTEGER NOT NULL,
            endpoint           TEXT    NOT NULL,
            content_digest     TEXT    NOT NULL,
            content_fields     TEXT,
            instance           TEXT,
            recipients         INTEGER NOT NULL,
            state              TEXT    NOT NULL CHECK (state IN ('intent', 'sent', 'refused', 'unknown')),
            msg_id             INTEGER,
            msg_data_id        INTEGER,
            errcode            INTEGER,
            adopted_unrecorded INTEGER NOT NULL DEFAULT 0,
            first_attempt_at   INTEGER NOT NULL,
            last_attempt_at    INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL,
            PRIMARY KEY (api, app_id, key)
        );
        INSERT INTO journal_v2 (api, app_id, key, run_id, step_id, batch, endpoint, content_digest, recipients,
                                state, msg_id, msg_data_id, errcode, first_attempt_at, last_attempt_at, updated_at)
            SELECT coalesce((SELECT b.api FROM runs r JOIN broadcasts b ON b.id = r.broadcast_id WHERE r.id = j.run_id), ''),
                   j.app_id, j.key, j.run_id, j.step_id, j.batch, j.endpoint, j.content_digest, j.recipients,
                   j.state, j.msg_id, j.msg_data_id, j.errcode, j.first_attempt_at, j.last_attempt_at, j.updated_at
            FROM journal j;
        DROP TABLE journal;
        ALTER TABLE journal_v2 RENAME TO journal;
        CREATE INDEX journal_by_run ON journal (run_id);
        CREATE INDEX journal_by_state ON journal (api, app_id, state, updated_at);

        CREATE TABLE inbox_v2 (
            api                   TEXT    NOT NULL,
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
            PRIMARY KEY (api, original_id, msg_id)
        );
        INSERT INTO inbox_v2 SELECT '', * FROM inbox;
        DROP TABLE inbox;
        ALTER TABLE inbox_v2 RENAME TO inbox;

        DROP TABLE tokens;
        CREATE TABLE tokens (
            api        TEXT    NOT NULL,
            app_id     TEXT    NOT NULL,
            value      TEXT    NOT NULL,
            expires_at INTEGER NOT NULL,
            stored_at  INTEGER NOT NULL,
            PRIMARY KEY (api, app_id)
        );
        """

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
