import Foundation
import MasscastTesting
import PipelineCore
import RunState
import Runner
import StateSQLite
import Testing
import WeChatSandbox

/// The state store of the rig, whose journal writes fail for the keys a test names: a disk
/// that filled up, a store that went away. Everything else goes to the real SQLite store.
final class JournalFaultStore: StateStore, @unchecked Sendable {
    let inner: SQLiteStateStore
    /// Journal writes of keys with this prefix fail.
    let failingPrefix: String

    init(_ inner: SQLiteStateStore, failing prefix: String) {
        self.inner = inner
        self.failingPrefix = prefix
    }

    func close() async throws { try inner.close() }

    struct DiskFull: Error, CustomStringConvertible {
        var description: String { "disk I/O error (injected)" }
    }

    func journal(_ entry: JournalEntry) async throws {
        if entry.key.hasPrefix(failingPrefix) { throw DiskFull() }
        try await inner.journal(entry)
    }

    func broadcast(_ identity: BroadcastIdentity) async throws -> BroadcastRecord? { try await inner.broadcast(identity) }
    func beginRun(_ template: RunRecord, nextGeneration: Bool, isOwnerAlive: OwnerLiveness) async throws -> BeginRunResult {
        try await inner.beginRun(template, nextGeneration: nextGeneration, isOwnerAlive: isOwnerAlive)
    }
    func claimRun(_ runID: String, owner: String, now: Date, isOwnerAlive: OwnerLiveness) async throws -> ClaimResult {
        try await inner.claimRun(runID, owner: owner, now: now, isOwnerAlive: isOwnerAlive)
    }
    func finishRun(_ runID: String, status: RunStatus, message: String?, at: Date) async throws {
        try await inner.finishRun(runID, status: status, message: message, at: at)
    }
    func heartbeat(_ runID: String, owner: String, at: Date) async throws { try await inner.heartbeat(runID, owner: owner, at: at) }
    func run(_ runID: String) async throws -> RunRecord? { try await inner.run(runID) }
    func runs(limit: Int) async throws -> [RunRecord] { try await inner.runs(limit: limit) }
    func saveStep(_ step: StepRecord) async throws { try await inner.saveStep(step) }
    func saveStep(_ step: StepRecord, appending attempts: [AttemptRecord]) async throws {
        try await inner.saveStep(step, appending: attempts)
    }
    func queueStepSave(_ step: StepRecord, appending attempts: [AttemptRecord]) async {
        await inner.queueStepSave(step, appending: attempts)
    }
    func steps(runID: String) async throws -> [StepRecord] { try await inner.steps(runID: runID) }
    func appendAttempt(_ attempt: AttemptRecord) async throws { try await inner.appendAttempt(attempt) }
    func attempts(runID: String) async throws -> [AttemptRecord] { try await inner.attempts(runID: runID) }
    func journalEntry(api: String, appID: String, key: String) async throws -> JournalEntry? {
        try await inner.journalEntry(api: api, appID: appID, key: key)
    }
    func journalEntries(runID: String) async throws -> [JournalEntry] { try await inner.journalEntries(runID: runID) }
    func acceptedSends(api: String, appID: String, since: Date) async throws -> Int {
        try await inner.acceptedSends(api: api, appID: appID, since: since)
    }
    func storeInboxEvent(_ event: InboxEvent) async throws -> Bool { try await inner.storeInboxEvent(event) }
    func inboxEvents(api: String, originalID: String, msgIDs: [Int64]) async throws -> [InboxEvent] {
        try await inner.inboxEvents(api: api, originalID: originalID, msgIDs: msgIDs)
    }
    func loadToken(api: String, appID: String) async throws -> StoredToken? { try await inner.loadToken(api: api, appID: appID) }
    func storeToken(_ token: StoredToken, api: String, appID: String) async throws {
        try await inner.storeToken(token, api: api, appID: appID)
    }
    func invalidateToken(_ value: String, api: String, appID: String) async throws {
        try await inner.invalidateToken(value, api: api, appID: appID)
    }
    func acquireLease(_ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date) async throws -> LeaseResult {
        try await inner.acquireLease(identity, owner: owner, ttl: ttl, now: now)
    }
    func renewLease(_ identity: BroadcastIdentity, owner: String, ttl: TimeInterval, now: Date) async throws -> Bool {
        try await inner.renewLease(identity, owner: owner, ttl: ttl, now: now)
    }
    func releaseLease(_ identity: BroadcastIdentity, owner: String) async throws {
        try await inner.releaseLease(identity, owner: owner)
    }
    func lease(_ identity: BroadcastIdentity) async throws -> BroadcastLease? { try await inner.lease(identity) }
    func serial(_ identity: BroadcastIdentity) async throws -> Int64 { try await inner.serial(identity) }
    func storeIdentity() async throws -> String { try await inner.storeIdentity() }
    func leases() async throws -> [BroadcastLease] { try await inner.leases() }
    func forceTakeLease(_ identity: BroadcastIdentity, epoch: Int64, owner: String, ttl: TimeInterval, now: Date)
        async throws -> ForceTakeResult
    {
        try await inner.forceTakeLease(identity, epoch: epoch, owner: owner, ttl: ttl, now: now)
    }
    func journal(_ entry: JournalEntry, fence: LeaseFence) async throws {
        if entry.key.hasPrefix(failingPrefix) { throw DiskFull() }
        try await inner.journal(entry, fence: fence)
    }
    func runs(of identity: BroadcastIdentity, generation: Int) async throws -> [RunRecord] {
        try await inner.runs(of: identity, generation: generation)
    }
}

/// Previews and deletes follow the send rule: journaled before and after the call, refused
/// when the journal cannot be written, settled (not repeated) when run again.
@Suite("journaled previews and deletes", .serialized)
struct JournaledCallTests {
    static let preview = """
        version: 1
        name: preview-journal
        account: brand-main
        steps:
          - id: preview
            uses: mass/preview
            with:
              towxname: editor_01
              msgtype: text
              text: { content: "proof" }
        """

    static func delete(_ msgID: Int) -> String {
        """
        version: 1
        name: delete-journal
        account: brand-main
        steps:
          - id: delete
            uses: mass/delete
            with: { msg_id: \(msgID), article_idx: 0 }
            retry: { max_attempts: 1 }
        """
    }

    /// A sent mpvideo message to delete (the example's), and its msg_id.
    func sentVideo(_ rig: Rig) async throws -> Int {
        let result = try await rig.run(Rig.example("video-to-tag"))
        #expect(result.exitCode == 0, "\(result)")
        guard case .integer(let id)? = rig.outputs(try await rig.steps(result)["send"])["msg_id"] else {
            throw CancellationError()
        }
        return id
    }

    @Test("a preview is not sent when its intent cannot be journaled: the run stops, nothing reaches WeChat")
    func previewRefusedWithoutJournal() async throws {
        try await Rig.with { rig in
            let path = try rig.write("preview.yaml", Self.preview)
            let executor = try rig.executor(path, store: JournalFaultStore(rig.store, failing: "preview:"))
            let result = await executor.start()
            guard case .stopped(_, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("the journal cannot be written"), "\(message)")
            #expect(message.contains("not sending the preview without it"), "\(message)")
            #expect(await rig.sandbox.engine.previewRecords().isEmpty)
            // With a working journal the same run sends it, once.
            let runID = try #require(result.runID)
            let resumed = try await rig.executor(path).resume(runID: runID)
            #expect(resumed.exitCode == 0, "\(resumed)")
            #expect(await rig.sandbox.engine.previewRecords().count == 1)
            let entry = try #require(try await rig.store.journalEntries(runID: runID).first)
            #expect(entry.key.hasPrefix("preview:") && entry.state == .sent)
        }
    }

    @Test("a delete is not made when its intent cannot be journaled; made once the journal works")
    func deleteRefusedWithoutJournal() async throws {
        try await Rig.with { rig in
            let id = try await sentVideo(rig)
            let path = try rig.write("delete.yaml", Self.delete(id))
            let refused = try await rig.executor(path, store: JournalFaultStore(rig.store, failing: "delete:")).start()
            guard case .stopped(let runID, let message) = refused else {
                Issue.record("expected stopped, got \(refused)")
                return
            }
            #expect(message.contains("the journal cannot be written") && message.contains("not deleting without it"), "\(message)")
            let resumed = try await rig.executor(path).resume(runID: runID)
            #expect(resumed.exitCode == 0, "\(resumed)")
            // The first attempt did not delete it: the delete now is a plain success, not 40059.
            #expect(!rig.logs.output.contains("delete.already_done"), "\(rig.logs.output.suffix(1500))")
            let entry = try #require(try await rig.store.journalEntries(runID: runID).first)
            #expect(entry.key == "delete:\(runID):delete:0")
            #expect(entry.state == .sent)
            #expect(entry.endpoint == "message/mass/delete")
        }
    }

    @Test("a delete whose answer was lost is journaled unknown; running again settles it (40059 means done), never fails it")
    func deleteSettledOnRerun() async throws {
        try await Rig.with { rig in
            let id = try await sentVideo(rig)
            let path = try rig.write("delete.yaml", Self.delete(id))
            let account = rig.account()
            let since = Date().addingTimeInterval(-86_400)
            let sendsBefore = try await rig.store.acceptedSends(api: account.api, appID: account.appID, since: since)
            try await rig.addFaults("- { on: message/mass/delete, reset: after, next: 1 }")
            let first = try await rig.run(path)
            #expect(first.exitCode == 1, "the lost answer fails the step (one attempt allowed): \(first)")
            let runID = try #require(first.runID)
            #expect(try await rig.store.journalEntries(runID: runID).first?.state == .unknown)
            // Running the broadcast again continues the failed run: the delete went through,
            // WeChat answers 40059, and the journal says an earlier attempt may have arrived.
            let again = try await rig.run(path)
            #expect(again == .succeeded(runID: runID), "\(again)")
            #expect(rig.logs.output.contains("\"event\":\"delete.already_done\""))
            #expect(try await rig.store.journalEntries(runID: runID).first?.state == .sent)
            // Deletes are not sends: the day's quota and the summary do not count them.
            #expect(try await rig.store.acceptedSends(api: account.api, appID: account.appID, since: since) == sendsBefore)
        }
    }

    @Test("irreversibility is one catalog property: sends, the preview and the delete")
    func catalogIrreversibility() {
        let irreversible = Dictionary(uniqueKeysWithValues: Catalog.kinds.map { ($0.name, $0.irreversible) })
        #expect(irreversible["mass/sendall"] == .send)
        #expect(irreversible["mass/send"] == .send)
        #expect(irreversible["mass/preview"] == .preview)
        #expect(irreversible["mass/delete"] == .delete)
        #expect(Catalog.kinds.filter { $0.irreversible != nil }.count == 4)
        #expect(Catalog.kinds.filter(\.sends).map(\.name).sorted() == ["mass/send", "mass/sendall"])
    }
}
