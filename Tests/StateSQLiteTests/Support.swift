import Foundation
import MasscastTesting
import RunState
import StatePostgres
import StateSQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh private directory, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = (FileManager.default.temporaryDirectory.path as NSString)
            .appendingPathComponent("masscast-state-tests-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() {
        // Give back permissions a test may have taken away, then delete.
        _ = chmod(path, 0o700)
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a new SQLite store in a scratch directory, then closes and deletes it.
func withSQLiteStore(_ body: (SQLiteStateStore, ScratchDirectory) async throws -> Void) async throws {
    let directory = try ScratchDirectory()
    defer { directory.remove() }
    let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
    try await body(store, directory)
    try store.close()
}

/// The stores the conformance suites run against: every test of a suite runs once per kind.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// The conformance suite's entry: a `StateStore` of `kind`, fresh and empty. A PostgreSQL
/// store gets a new database on the test server (`MASSCAST_TEST_POSTGRES_URL`), dropped after;
/// without a server the PostgreSQL case is skipped with a printed reason, or fails when
/// `MASSCAST_REQUIRE_TOOLS=1`.
func withStore(_ kind: StoreKind, _ body: (any StateStore) async throws -> Void) async throws {
    switch kind {
    case .sqlite:
        try await withSQLiteStore { store, _ in try await body(store) }
    case .postgres:
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        try await TestPostgres.withStore { store in try await body(store) }
    }
}

/// The conformance suites' entries for each part of a store, fresh and empty, seen only
/// through that part's protocol (what its users see).
func withRunStore(_ kind: StoreKind, _ body: (any RunStore) async throws -> Void) async throws {
    try await withStore(kind) { store in try await body(store) }
}

func withSendJournal(_ kind: StoreKind, _ body: (any SendJournal) async throws -> Void) async throws {
    try await withStore(kind) { store in try await body(store) }
}

func withPushInbox(_ kind: StoreKind, _ body: (any PushInbox) async throws -> Void) async throws {
    try await withStore(kind) { store in try await body(store) }
}

func withTokenCacheStore(_ kind: StoreKind, _ body: (any TokenCacheStore) async throws -> Void) async throws {
    try await withStore(kind) { store in try await body(store) }
}

func withBroadcastLeases(_ kind: StoreKind, _ body: (any BroadcastLeases) async throws -> Void) async throws {
    try await withStore(kind) { store in try await body(store) }
}

/// Dates with whole milliseconds, built the way a store reads them back.
func at(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(1_750_000_000_000 + ms) / 1000) }

/// Owners whose name starts with `alive` are alive.
let ownerIsAlive: OwnerLiveness = { owner, _ in owner.hasPrefix("alive") }
let nobodyIsAlive: OwnerLiveness = { _, _ in false }

func identity(
    appID: String = "wx0000000000000001", name: String = "spring-sale", inputs: String = #"{"week":12}"#
) -> BroadcastIdentity {
    BroadcastIdentity(appID: appID, api: testAPI, name: name, inputsJSON: inputs)
}

func runTemplate(
    _ id: String, identity: BroadcastIdentity = identity(), owner: String? = "alive:100", createdAt: Int64 = 0
) -> RunRecord {
    RunRecord(
        id: id, identity: identity, generation: 0, pipelineFile: "/repo/pipelines/spring.yaml",
        pipelineDigest: String(repeating: "ab", count: 32), inputsJSON: identity.inputsJSON,
        accountName: "brand-main", sandbox: false, status: .running, createdAt: at(createdAt),
        updatedAt: at(createdAt), owner: owner, heartbeatAt: at(createdAt))
}

func journalEntry(
    _ key: String, appID: String = "wx0000000000000001", runID: String = "run-1", batch: Int = 0,
    state: JournalEntry.State = .intent, updatedAt: Int64 = 0
) -> JournalEntry {
    JournalEntry(
        api: testAPI, appID: appID, key: key, runID: runID, stepID: "send", batch: batch, endpoint: "message/mass/send",
        contentDigest: String(repeating: "cd", count: 32), recipients: 10_000, state: state,
        msgID: state == .sent ? 1_000_000_001 : nil, msgDataID: state == .sent ? 2_247_483_647 : nil,
        errcode: state == .refused ? 45028 : nil, firstAttemptAt: at(updatedAt), lastAttemptAt: at(updatedAt),
        updatedAt: at(updatedAt))
}

func inboxEvent(_ msgID: Int64, originalID: String = "gh_0123456789ab", status: String = "send success") -> InboxEvent {
    InboxEvent(
        api: testAPI, originalID: originalID, msgID: msgID, status: status, totalCount: 100, filterCount: 90, sentCount: 88,
        errorCount: 2, copyrightCheckState: 2, articlesJSON: #"[{"article_idx":1,"article_url":"https://mp.weixin.qq.com/s/x"}]"#,
        createdAt: at(5_000), receivedAt: at(5_250))
}

/// Permission bits of a file, or nil if it does not exist.
func mode(of path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o777
}

extension BeginRunResult {
    var started: RunRecord? {
        if case .started(let run) = self { return run }
        return nil
    }
}

/// The API identity the tests' records use (WeChat's api_base).
let testAPI = "https://api.weixin.qq.com"
