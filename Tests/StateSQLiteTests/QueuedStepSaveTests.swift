import Foundation
import RunState
import StateSQLite
import Testing

/// `queueStepSave`: the records of steps that make no irreversible call are queued and
/// committed together. What a user relies on: the run's own reads see them, a write that
/// fails does not lose them, and `masscast runs show` from another process sees them soon,
/// without the run writing anything else.
@Suite("Queued step saves")
struct QueuedStepSaveTests {
    static func started(_ id: String) -> StepRecord {
        StepRecord(runID: "run-1", stepID: id, uses: "mass/get", state: .running, startedAt: at(1))
    }

    static func finished(_ id: String) -> StepRecord {
        StepRecord(
            runID: "run-1", stepID: id, uses: "mass/get", state: .finished, outcome: "success", conclusion: "success",
            outputsJSON: #"{"msg_status":"SEND_SUCCESS"}"#, startedAt: at(1), endedAt: at(2))
    }

    static func attempt(_ id: String) -> AttemptRecord {
        AttemptRecord(runID: "run-1", stepID: id, number: 1, endpoint: "message/mass/get", startedAt: at(1), result: "ok")
    }

    @Test("the store's own reads see every queued save at once, in the order queued")
    func readsSeeQueuedSaves() async throws {
        try await withSQLiteStore { store, _ in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let ids = (0..<150).map { "get-\($0)" }  // more than one batch of queued saves
            for id in ids {
                await store.queueStepSave(Self.started(id), appending: [])
                await store.queueStepSave(Self.finished(id), appending: [Self.attempt(id)])
            }
            let steps = try await store.steps(runID: "run-1")
            #expect(steps.map(\.stepID) == ids)
            #expect(steps.allSatisfy { $0.state == .finished && $0.outcome == "success" })
            #expect(try await store.attempts(runID: "run-1").map(\.stepID) == ids)
        }
    }

    @Test("a write that fails still commits the saves queued before it")
    func failedWriteKeepsQueuedSaves() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
        await store.queueStepSave(Self.finished("get"), appending: [Self.attempt("get")])
        await #expect(throws: StateStoreError.self) {
            try await store.finishRun("no-such-run", status: .succeeded, message: nil, at: at(3))
        }
        // Another store on the file (another process, as `masscast runs show` is) sees them.
        let other = try SQLiteStateStore(path: path)
        #expect(try await other.steps(runID: "run-1") == [Self.finished("get")])
        #expect(try await other.attempts(runID: "run-1") == [Self.attempt("get")])
        try other.close()
        try store.close()
    }

    @Test("another store on the file sees a queued save soon, with no further write or read")
    func queuedSavesReachTheFileByThemselves() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        let store = try SQLiteStateStore(path: path)
        _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
        await store.queueStepSave(Self.finished("get"), appending: [])
        let other = try SQLiteStateStore(path: path)
        // Bounded: the save is committed within its delay (0.2 s); 10 s allows for a loaded machine.
        var seen: [StepRecord] = []
        for _ in 0..<200 {
            seen = try await other.steps(runID: "run-1")
            if !seen.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(seen == [Self.finished("get")])
        try other.close()
        try store.close()
    }
}
