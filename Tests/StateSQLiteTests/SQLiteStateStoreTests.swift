import Foundation
import RunState
import Testing

@testable import StateSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What is particular to the SQLite file: permissions, persistence, sharing, errors.
@Suite("SQLiteStateStore")
struct SQLiteStateStoreTests {
    @Test("the default path is .masscast/state.sqlite")
    func defaultPath() {
        #expect(SQLiteStateStore.defaultPath == ".masscast/state.sqlite")
    }

    @Test("the file is created 0600 (and -wal, -shm too) in a directory created 0700")
    func fileModes() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("deep/er/state.sqlite")
        let store = try SQLiteStateStore(path: path)
        #expect(store.path == path)
        try await store.storeToken(StoredToken(value: "secret-token", expiresAt: at(1)), api: testAPI, appID: "wx1")
        #expect(mode(of: path) == 0o600)
        #expect(mode(of: scratch.file("deep")) == 0o700)
        #expect(mode(of: scratch.file("deep/er")) == 0o700)
        #expect(mode(of: path + "-wal") == 0o600)
        for sidecar in [path + "-wal", path + "-shm"] {
            if let sidecarMode = mode(of: sidecar) { #expect(sidecarMode == 0o600, "\(sidecar)") }
        }
        try store.close()
    }

    @Test("everything written survives closing and reopening the file")
    func persistenceAcrossReopen() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        let step = StepRecord(runID: "run-1", stepID: "send", uses: "mass/sendall", state: .finished, outcome: "success")
        let attempt = AttemptRecord(runID: "run-1", stepID: "send", number: 1, endpoint: "message/mass/sendall", startedAt: at(3), result: "ok")
        let entry = journalEntry("mc1-k", state: .sent, updatedAt: 4)
        let token = StoredToken(value: "T0KEN", expiresAt: at(7_200_000))
        do {
            let store = try SQLiteStateStore(path: path)
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.saveStep(step)
            try await store.appendAttempt(attempt)
            try await store.journal(entry)
            try await store.storeInboxEvent(inboxEvent(77))
            try await store.storeToken(token, api: testAPI, appID: "wx1")
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(10))
            try store.close()
        }
        let reopened = try SQLiteStateStore(path: path)
        #expect(try await reopened.run("run-1")?.status == .succeeded)
        #expect(try await reopened.broadcast(identity())?.completedRunID == "run-1")
        #expect(try await reopened.steps(runID: "run-1") == [step])
        #expect(try await reopened.attempts(runID: "run-1") == [attempt])
        #expect(try await reopened.journalEntry(api: testAPI, appID: entry.appID, key: "mc1-k") == entry)
        #expect(try await reopened.inboxEvents(api: testAPI, originalID: "gh_0123456789ab", msgIDs: [77]) == [inboxEvent(77)])
        #expect(try await reopened.loadToken(api: testAPI, appID: "wx1") == token)
        #expect(try await reopened.storeInboxEvent(inboxEvent(77)) == false)
        let again = try await reopened.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
        #expect(again == .alreadyCompleted(runID: "run-1", completedAt: at(10)))
        try reopened.close()
    }

    @Test("two stores on the same file write concurrently without losing a write")
    func twoInstancesConcurrently() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("shared.sqlite")
        let first = try SQLiteStateStore(path: path)
        let second = try SQLiteStateStore(path: path)
        let perStore = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, store) in [("a", first), ("b", second)] {
                for index in 0..<perStore {
                    group.addTask {
                        try await store.journal(journalEntry("\(name)-\(index)", state: .sent, updatedAt: Int64(index)))
                        try await store.storeToken(StoredToken(value: "tok-\(name)-\(index)", expiresAt: at(1)), api: testAPI, appID: "wx-\(name)-\(index)")
                        try await store.storeToken(StoredToken(value: "shared-\(name)-\(index)", expiresAt: at(2)), api: testAPI, appID: "wx-shared")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(0)) == 2 * perStore)
        for name in ["a", "b"] {
            for index in [0, 57, perStore - 1] {
                #expect(try await second.loadToken(api: testAPI, appID: "wx-\(name)-\(index)")?.value == "tok-\(name)-\(index)")
                #expect(try await first.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "\(name)-\(index)") != nil)
            }
        }
        #expect(try await first.loadToken(api: testAPI, appID: "wx-shared")?.value.hasPrefix("shared-") == true)
        try first.close()
        try second.close()
    }

    @Test("several stores opening a new file at once all migrate it")
    func concurrentFirstOpen() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("fresh.sqlite")
        let stores = try await withThrowingTaskGroup(of: SQLiteStateStore.self) { group in
            for _ in 0..<4 { group.addTask { try SQLiteStateStore(path: path) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (index, store) in stores.enumerated() {
            try await store.storeToken(StoredToken(value: "v\(index)", expiresAt: at(0)), api: testAPI, appID: "wx\(index)")
        }
        #expect(try await stores[0].loadToken(api: testAPI, appID: "wx3")?.value == "v3")
        for store in stores { try store.close() }
    }

    @Test("a version 1 file is upgraded in place: broadcasts, runs and the journal keep working")
    func upgradeFromVersion1() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        try SQLiteStateStore.createVersion1ForTesting(
            at: path,
            sql: """
                INSERT INTO broadcasts (id, app_id, api_base, name, inputs_json, generation, created_at)
                    VALUES (1, 'wx0000000000000001', 'https://api.weixin.qq.com', 'spring-sale', '{"week":12}', 1, 0);
                INSERT INTO runs (id, broadcast_id, generation, pipeline_file, pipeline_digest, inputs_json, account_name,
                    sandbox, status, created_at, updated_at, owner, heartbeat_at)
                    VALUES ('run-1', 1, 1, '/repo/p.yaml', 'ab', '{"week":12}', 'brand-main', 0, 'stopped', 0, 0, 'dead:1', 0);
                INSERT INTO journal (app_id, key, run_id, step_id, batch, endpoint, content_digest, recipients, state,
                    msg_id, first_attempt_at, last_attempt_at, updated_at)
                    VALUES ('wx0000000000000001', 'mc1-old', 'run-1', 'send', 0, 'message/mass/sendall', 'cafe', 0, 'sent',
                    1000000001, 0, 0, 0);
                INSERT INTO inbox (original_id, msg_id, status, created_at, received_at)
                    VALUES ('gh_0123456789ab', 1000000001, 'send success', 0, 0);
                INSERT INTO tokens (app_id, value, expires_at, stored_at) VALUES ('wx0000000000000001', 'old-token', 9999999999999, 0);
                """)
        let store = try SQLiteStateStore(path: path)
        defer { try? store.close() }
        let broadcast = try #require(try await store.broadcast(identity()))
        #expect(broadcast.generation == 1 && broadcast.keyFormat == 1 && broadcast.identity.project == "")
        let entry = try #require(try await store.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "mc1-old"))
        #expect(entry.state == .sent && entry.msgID == 1_000_000_001 && entry.contentDigest == "cafe")
        #expect(entry.contentFields == nil && !entry.adoptedUnrecorded)
        #expect(try await store.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(-1_750_000_000_000)) == 1)
        // A push stored before pushes had an API identity is read by any wait, as before.
        #expect(try await store.inboxEvents(api: testAPI, originalID: "gh_0123456789ab", msgIDs: [1_000_000_001]).count == 1)
        // The token cache is emptied: tokens are fetched again.
        #expect(try await store.loadToken(api: testAPI, appID: "wx0000000000000001") == nil)
        // The stopped run of the upgraded broadcast is the one the next run continues.
        let next = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
        guard case .unfinished(let run) = next else {
            Issue.record("expected unfinished, got \(next)")
            return
        }
        #expect(run.id == "run-1" && run.keyFormat == 1)
    }

    @Test("a version 2 file is upgraded to version 3: its broadcasts keep their runs and get a serial, leases and an id")
    func upgradeFromVersion2() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        try SQLiteStateStore.createForTesting(
            at: path, version: 2,
            sql: """
                INSERT INTO broadcasts (id, project, app_id, api, name, inputs_json, generation, key_format,
                    completed_run_id, completed_at, created_at)
                    VALUES (1, '', 'wx0000000000000001', 'https://api.weixin.qq.com', 'spring-sale', '{"week":12}', 1, 2,
                    'run-1', 5, 0);
                INSERT INTO runs (id, broadcast_id, generation, key_format, pipeline_file, pipeline_digest, inputs_json,
                    account_name, sandbox, status, created_at, updated_at, owner, heartbeat_at)
                    VALUES ('run-1', 1, 1, 2, '/repo/p.yaml', 'ab', '{"week":12}', 'brand-main', 0, 'succeeded', 0, 0,
                    'dead:1', 0);
                """)
        let store = try SQLiteStateStore(path: path)
        defer { try? store.close() }
        let broadcast = try #require(try await store.broadcast(identity()))
        #expect(broadcast.completedRunID == "run-1" && broadcast.keyFormat == 2)
        #expect(try await store.serial(identity()) == 1)
        #expect(try await store.storeIdentity().count == 36)
        #expect(try await store.lease(identity()) == nil)
        #expect(try await store.acquireLease(identity(), owner: "ci:1", ttl: 60, now: at(0)).acquired != nil)
        let again = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
        #expect(again == .alreadyCompleted(runID: "run-1", completedAt: Date(timeIntervalSince1970: 0.005)))
        let rerun = try await store.beginRun(runTemplate("run-3"), nextGeneration: true, isOwnerAlive: nobodyIsAlive)
        #expect(rerun.started?.generation == 2)
        #expect(try await store.serial(identity()) == 2)
        #expect(SQLiteStateStore.schemaVersion == 4)
    }

    @Test("a version 3 file is upgraded to version 4: a lease held keeps its holder and expiry, at epoch 1")
    func upgradeFromVersion3() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        try SQLiteStateStore.createForTesting(
            at: path, version: 3,
            sql: """
                INSERT INTO leases (project, api, app_id, name, inputs_json, owner, acquired_at, expires_at)
                    VALUES ('', 'https://api.weixin.qq.com', 'wx0000000000000001', 'spring-sale', '{"week":12}', 'ci:1',
                    \(Millis.encode(at(0))), \(Millis.encode(at(60_000))));
                """)
        let store = try SQLiteStateStore(path: path)
        defer { try? store.close() }
        let lease = try #require(try await store.lease(identity()))
        #expect(lease.owner == "ci:1" && lease.expiresAt == at(60_000) && lease.epoch == 1)
        #expect(try await store.acquireLease(identity(), owner: "ci:2", ttl: 60, now: at(1_000)) == .held(owner: "ci:1", until: at(60_000)))
        #expect(try await store.acquireLease(identity(), owner: "ci:2", ttl: 60, now: at(60_001)).acquired?.epoch == 2)
    }

    @Test(
        "a file written by a newer masscast is refused with a clear error",
        arguments: ["PRAGMA user_version = 5", "INSERT INTO grdb_migrations (identifier) VALUES ('v5')"])
    func newerSchemaRefused(sql: String) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        try store.executeForTesting(sql)
        try store.close()
        let error = try #require(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error.code == .newerSchema)
        #expect(error.description.contains(path))
        #expect(error.description.contains("newer masscast"))
        #expect(error.description.contains("--state"))
    }

    @Test("a file that is not a database is refused, naming the file and the way out")
    func notADatabase() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        try Data(String(repeating: "this is a text file, not SQLite\n", count: 200).utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error.code == .notADatabase)
        #expect(error.description.contains("cannot open state file \(path)"))
        #expect(error.description.contains("--state PATH"))
    }

    @Test("a directory at the path is refused")
    func directoryAtPath() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let error = try #require(throws: StateStoreError.self) { try SQLiteStateStore(path: scratch.path) }
        #expect(error.code == .invalidPath)
        #expect(error.description.contains(scratch.path))
    }

    @Test("a directory without write permission gives a permission error", .enabled(if: geteuid() != 0))
    func permissionDenied() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        #expect(chmod(scratch.path, 0o500) == 0)
        let path = scratch.file("sub/state.sqlite")
        let error = try #require(throws: StateStoreError.self) { try SQLiteStateStore(path: path) }
        #expect(error.code == .permissionDenied)
        #expect(error.description.contains("permission denied"))
        #expect(error.description.contains(path))
    }

    @Test("errors never show the token, and GRDB errors come out as StateStoreError")
    func errorsHideTokens() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let store = try SQLiteStateStore(path: scratch.file("state.sqlite"))
        try store.close()
        let token = StoredToken(value: "VERY-SECRET-ACCESS-TOKEN", expiresAt: at(1))
        #expect(!String(describing: token).contains(token.value))
        do {
            try await store.storeToken(token, api: testAPI, appID: "wx1")
            Issue.record("a closed store accepted a write")
        } catch let error as StateStoreError {
            #expect(!error.description.contains("VERY-SECRET"))
            #expect(error.description.contains(store.path))
            #expect(error.description.contains("closed"))
        } catch {
            Issue.record("unexpected error type \(type(of: error))")
        }
        do {
            try await store.invalidateToken(token.value, api: testAPI, appID: "wx1")
        } catch {
            #expect(!String(describing: error).contains("VERY-SECRET"))
        }
    }

    @Test("finishing or heartbeating an unknown run says which run and which file")
    func unknownRunErrors() async throws {
        try await withSQLiteStore { store, _ in
            let error = try await #require(throws: StateStoreError.self) {
                try await store.finishRun("run-x", status: .succeeded, message: nil, at: at(0))
            }
            #expect(error.code == .notFound)
            #expect(error.description.contains("run-x") && error.description.contains(store.path))
            _ = try await store.beginRun(runTemplate("r", owner: "alive:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let notOwner = try await #require(throws: StateStoreError.self) {
                try await store.heartbeat("r", owner: "alive:2", at: at(1))
            }
            #expect(notOwner.code == .notOwner)
            #expect(notOwner.description.contains("alive:1"))
        }
    }

    @Test("temporary() makes a fresh private store each time")
    func temporaryStores() async throws {
        let first = try SQLiteStateStore.temporary()
        let second = try SQLiteStateStore.temporary()
        defer {
            for store in [first, second] {
                try? store.close()
                try? FileManager.default.removeItem(atPath: (store.path as NSString).deletingLastPathComponent)
            }
        }
        #expect(first.path != second.path)
        #expect(mode(of: first.path) == 0o600)
        #expect(mode(of: (first.path as NSString).deletingLastPathComponent) == 0o700)
        _ = try await first.beginRun(runTemplate("r"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
        #expect(try await second.run("r") == nil)
    }
}

@Suite("StateStoreError: extensible codes")
struct StateStoreErrorCodeTests {
    @Test func codesCompareAndNameThemselves() {
        let codes: [StateStoreError.Code] = [
            .permissionDenied, .invalidPath, .notADatabase, .newerSchema, .busy, .diskFull, .io, .notFound, .notOwner,
            .unreadableRecord, .other,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == [
            "permissionDenied", "invalidPath", "notADatabase", "newerSchema", "busy", "diskFull", "io", "notFound",
            "notOwner", "unreadableRecord", "other",
        ])
        let error = StateStoreError(code: .busy, path: "s.sqlite", message: "cannot open state file s.sqlite: busy", hint: "retry")
        #expect(error.code == .busy && error.code != .io)
        #expect(error.description == "cannot open state file s.sqlite: busy; retry")
    }
}
