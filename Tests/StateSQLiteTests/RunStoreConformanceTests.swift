import Foundation
import RunState
import StateSQLite
import Testing

/// What any `RunStore` must do: broadcasts, generations, runs, claims, steps and attempts.
/// Each test sees a fresh store only through `RunStore` (`withRunStore`).
@Suite("RunStore conformance")
struct RunStoreConformanceTests {
    // MARK: Broadcasts, generations, --rerun

    @Test("a new broadcast starts at generation 1 and the store sets the generation", arguments: StoreKind.allCases)
    func newBroadcastStartsAtGenerationOne(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            #expect(try await store.broadcast(identity()) == nil)
            var template = runTemplate("run-1")
            template.generation = 99
            let result = try await store.beginRun(template, nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let run = try #require(result.started)
            #expect(run.generation == 1)
            #expect(run.id == "run-1" && run.status == .running && run.owner == "alive:100")
            #expect(try await store.run("run-1") == run)
            #expect(try await store.broadcast(identity()) == BroadcastRecord(identity: identity(), generation: 1))
        }
    }

    @Test("a completed broadcast is not run again; --rerun starts the next generation", arguments: StoreKind.allCases)
    func completedBroadcastAndRerun(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(60_000))
            #expect(
                try await store.broadcast(identity())
                    == BroadcastRecord(identity: identity(), generation: 1, completedRunID: "run-1", completedAt: at(60_000)))

            let again = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(again == .alreadyCompleted(runID: "run-1", completedAt: at(60_000)))
            #expect(try await store.run("run-2") == nil)

            let rerun = try await store.beginRun(runTemplate("run-3"), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(rerun.started?.generation == 2)
            #expect(try await store.broadcast(identity()) == BroadcastRecord(identity: identity(), generation: 2))

            try await store.finishRun("run-3", status: .succeeded, message: nil, at: at(120_000))
            let afterRerun = try await store.beginRun(runTemplate("run-4"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(afterRerun == .alreadyCompleted(runID: "run-3", completedAt: at(120_000)))
            #expect(try await store.broadcast(identity())?.generation == 2)
        }
    }

    @Test("a failed or stopped run does not complete the broadcast; the next run continues it", arguments: StoreKind.allCases)
    func failedRunLeavesBroadcastOpen(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .failed, message: "errcode 45028", at: at(1_000))
            let next = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            guard case .unfinished(let run) = next else {
                Issue.record("expected unfinished, got \(next)")
                return
            }
            #expect(run.id == "run-1" && run.status == .failed && run.generation == 1)
            #expect(try await store.run("run-2") == nil)
            #expect(try await store.broadcast(identity())?.completedRunID == nil)
            let claimed = try await store.claimRun("run-1", owner: "alive:2", now: at(2_000), isOwnerAlive: ownerIsAlive)
            guard case .claimed(let again) = claimed else {
                Issue.record("expected claimed, got \(claimed)")
                return
            }
            #expect(again.status == .running && again.owner == "alive:2")
        }
    }

    @Test("a broadcast recorded without a project id is the same broadcast once the project has one", arguments: StoreKind.allCases)
    func legacyBroadcastTakesProject(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(1_000))
            var withProject = identity()
            withProject.project = "mc-abcdefghij0123456789"
            var template = runTemplate("run-2", identity: withProject)
            template.keyFormat = 2
            let again = try await store.beginRun(template, nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(again == .alreadyCompleted(runID: "run-1", completedAt: at(1_000)))
            let record = try #require(try await store.broadcast(withProject))
            #expect(record.generation == 1 && record.keyFormat == 1, "the generation keeps its key format")
            #expect(try await store.broadcast(identity()) == nil)
            // Another project with the same name and account: another broadcast.
            var other = identity()
            other.project = "mc-zzzzzzzzzz0123456789"
            let fresh = try await store.beginRun(runTemplate("run-3", identity: other), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(fresh.started?.generation == 1)
        }
    }

    @Test("a running run whose heartbeat is three intervals old is continued, whatever host owned it", arguments: StoreKind.allCases)
    func staleHeartbeatOnAnotherHost(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(
                runTemplate("run-1", owner: "ci-container-7:42"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let liveness: OwnerLiveness = { owner, heartbeatAt in
                RunLiveness.isAlive(
                    owner: owner, heartbeatAt: heartbeatAt, now: at(16_000), heartbeatInterval: 5,
                    processAlive: { _ in true })  // another host: its process cannot be checked
            }
            let next = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: liveness)
            guard case .unfinished(let run) = next else {
                Issue.record("expected unfinished, got \(next)")
                return
            }
            #expect(run.id == "run-1")
            let recent: OwnerLiveness = { owner, heartbeatAt in
                RunLiveness.isAlive(
                    owner: owner, heartbeatAt: heartbeatAt, now: at(9_000), heartbeatInterval: 5, processAlive: { _ in true })
            }
            #expect(try await store.beginRun(runTemplate("run-3"), nextGeneration: false, isOwnerAlive: recent)
                == .busy(runID: "run-1", owner: "ci-container-7:42"))
        }
    }

    @Test("other inputs, another account or another api_base make another broadcast", arguments: StoreKind.allCases)
    func identityIsEveryField(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(1_000))
            var otherBase = identity()
            otherBase.api = "http://127.0.0.1:8085"
            var rehearsal = identity()
            rehearsal.api = APIIdentity.sandbox(fixtureDigest: "feedface")
            let others = [
                identity(inputs: #"{"week":13}"#), identity(appID: "wx0000000000000002"), otherBase, rehearsal,
            ]
            for (index, other) in others.enumerated() {
                let result = try await store.beginRun(
                    runTemplate("other-\(index)", identity: other), nextGeneration: false, isOwnerAlive: ownerIsAlive)
                #expect(result.started?.generation == 1)
                #expect(result.started?.identity == other)
            }
        }
    }

    @Test("a running run with a live owner makes the broadcast busy; a dead owner does not", arguments: StoreKind.allCases)
    func busyVersusDeadOwner(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(
                runTemplate("run-1", owner: "alive:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let busy = try await store.beginRun(
                runTemplate("run-2", owner: "alive:2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(busy == .busy(runID: "run-1", owner: "alive:1"))
            #expect(try await store.run("run-2") == nil)

            // The run's owner died (kill -9): the run is continued, not started over.
            let continued = try await store.beginRun(
                runTemplate("run-3", owner: "alive:3"), nextGeneration: false, isOwnerAlive: { o, _ in o == "alive:3" })
            #expect(continued == .unfinished(try #require(try await store.run("run-1"))))
            #expect(try await store.run("run-3") == nil)
            // A stopped run does not block either: it is the one to continue.
            try await store.finishRun("run-1", status: .stopped, message: "Ctrl-C", at: at(5_000))
            let afterStop = try await store.beginRun(
                runTemplate("run-4", owner: "alive:4"), nextGeneration: false, isOwnerAlive: { o, _ in o != "alive:1" })
            #expect(afterStop == .unfinished(try #require(try await store.run("run-1"))))
        }
    }

    // MARK: Runs

    @Test("finishRun sets status, message and endedAt, and refuses an unknown run", arguments: StoreKind.allCases)
    func finishRunFields(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .stopped, message: "outcome unknown", at: at(9_000))
            var run = try #require(try await store.run("run-1"))
            #expect(run.status == .stopped && run.message == "outcome unknown")
            #expect(run.endedAt == at(9_000) && run.updatedAt == at(9_000))

            try await store.finishRun("run-1", status: .failed, message: "errcode 45009", at: at(10_000))
            run = try #require(try await store.run("run-1"))
            #expect(run.status == .failed && run.message == "errcode 45009" && run.endedAt == at(10_000))
            #expect(try await store.broadcast(identity())?.completedRunID == nil)

            await #expect(throws: (any Error).self) {
                try await store.finishRun("no-such-run", status: .succeeded, message: nil, at: at(0))
            }
        }
    }

    @Test("a late success of an older generation's run does not complete the current generation", arguments: StoreKind.allCases)
    func lateSuccessOfOldGeneration(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("run-1", owner: "dead:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let rerun = try await store.beginRun(runTemplate("run-3"), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(rerun.started?.generation == 2)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(2_000))
            #expect(try await store.broadcast(identity()) == BroadcastRecord(identity: identity(), generation: 2))
        }
    }

    @Test("runs are listed newest first, up to the limit", arguments: StoreKind.allCases)
    func runsNewestFirst(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            for index in 0..<5 {
                _ = try await store.beginRun(
                    runTemplate("run-\(index)", identity: identity(name: "b\(index)"), createdAt: Int64(index) * 1_000),
                    nextGeneration: false, isOwnerAlive: ownerIsAlive)
            }
            #expect(try await store.runs(limit: 3).map(\.id) == ["run-4", "run-3", "run-2"])
            #expect(try await store.runs(limit: 100).count == 5)
            #expect(try await store.runs(limit: 0).isEmpty)
            #expect(try await store.run("missing") == nil)
        }
    }

    // MARK: claimRun and heartbeat

    @Test("claimRun: missing, finished, held by a live owner, taken over from a dead one", arguments: StoreKind.allCases)
    func claimRunCases(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            #expect(try await store.claimRun("nope", owner: "alive:9", now: at(0), isOwnerAlive: ownerIsAlive) == .notFound)

            _ = try await store.beginRun(
                runTemplate("ok", identity: identity(name: "a")), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("ok", status: .succeeded, message: nil, at: at(1))
            #expect(try await store.claimRun("ok", owner: "alive:9", now: at(2), isOwnerAlive: ownerIsAlive) == .finished(.succeeded))

            _ = try await store.beginRun(
                runTemplate("bad", identity: identity(name: "b")), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("bad", status: .failed, message: "x", at: at(1))
            // A failed run is continued like a stopped one (the convergence rule).
            let failed = try await store.claimRun("bad", owner: "alive:9", now: at(2), isOwnerAlive: ownerIsAlive)
            guard case .claimed(let failedRun) = failed else {
                Issue.record("expected claimed, got \(failed)")
                return
            }
            #expect(failedRun.status == .running && failedRun.owner == "alive:9")

            _ = try await store.beginRun(
                runTemplate("held", identity: identity(name: "c"), owner: "alive:1"), nextGeneration: false,
                isOwnerAlive: ownerIsAlive)
            #expect(
                try await store.claimRun("held", owner: "alive:9", now: at(2), isOwnerAlive: ownerIsAlive)
                    == .held(owner: "alive:1"))
            // Stopped but its owner still lives (e.g. waiting at a confirmation): held too.
            try await store.finishRun("held", status: .stopped, message: "confirm", at: at(3))
            #expect(
                try await store.claimRun("held", owner: "alive:9", now: at(4), isOwnerAlive: ownerIsAlive)
                    == .held(owner: "alive:1"))
            // The owner itself may claim it back.
            let own = try await store.claimRun("held", owner: "alive:1", now: at(5), isOwnerAlive: ownerIsAlive)
            guard case .claimed(let ownRun) = own else {
                Issue.record("expected claimed, got \(own)")
                return
            }
            #expect(ownRun.owner == "alive:1" && ownRun.status == .running)

            _ = try await store.beginRun(
                runTemplate("orphan", identity: identity(name: "d"), owner: "dead:1"), nextGeneration: false,
                isOwnerAlive: ownerIsAlive)
            try await store.finishRun("orphan", status: .stopped, message: "killed", at: at(6))
            let claim = try await store.claimRun("orphan", owner: "alive:9", now: at(7_000), isOwnerAlive: ownerIsAlive)
            guard case .claimed(let run) = claim else {
                Issue.record("expected claimed, got \(claim)")
                return
            }
            #expect(run.status == .running && run.owner == "alive:9" && run.heartbeatAt == at(7_000))
            #expect(run.endedAt == nil && run.message == nil && run.generation == 1)
            #expect(try await store.run("orphan") == run)
        }
    }

    @Test("a running run whose owner died can be claimed; claiming twice is held", arguments: StoreKind.allCases)
    func claimRunningOrphan(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("r", owner: "dead:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let first = try await store.claimRun("r", owner: "alive:2", now: at(1), isOwnerAlive: ownerIsAlive)
            #expect(first != .notFound)
            let second = try await store.claimRun("r", owner: "alive:3", now: at(2), isOwnerAlive: ownerIsAlive)
            #expect(second == .held(owner: "alive:2"))
        }
    }

    @Test("heartbeat refreshes the owner's lease and refuses another owner", arguments: StoreKind.allCases)
    func heartbeatRefreshes(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            _ = try await store.beginRun(runTemplate("r", owner: "alive:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.heartbeat("r", owner: "alive:1", at: at(30_000))
            #expect(try await store.run("r")?.heartbeatAt == at(30_000))
            await #expect(throws: (any Error).self) {
                try await store.heartbeat("r", owner: "alive:2", at: at(31_000))
            }
            #expect(try await store.run("r")?.heartbeatAt == at(30_000))
        }
    }

    // MARK: Steps and attempts

    @Test("steps come back in order of first save; a save replaces the record in place", arguments: StoreKind.allCases)
    func stepOrderAndReplace(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            for id in ["upload", "news", "send", "wait"] {
                try await store.saveStep(StepRecord(runID: "r", stepID: id, uses: "x/\(id)", state: .pending))
            }
            try await store.saveStep(StepRecord(runID: "other", stepID: "upload", uses: "x", state: .pending))
            let finished = StepRecord(
                runID: "r", stepID: "upload", uses: "media/upload", state: .finished, outcome: "success",
                conclusion: "success", errcode: 0, outputsJSON: #"{"media_id":"M1"}"#, message: nil,
                startedAt: at(100), endedAt: at(900))
            try await store.saveStep(finished)
            let steps = try await store.steps(runID: "r")
            #expect(steps.map(\.stepID) == ["upload", "news", "send", "wait"])
            #expect(steps.first == finished)
            #expect(try await store.steps(runID: "other").count == 1)
            #expect(try await store.steps(runID: "none").isEmpty)
        }
    }

    @Test("attempts come back in the order appended, every field intact", arguments: StoreKind.allCases)
    func attemptOrder(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            let attempts = (1...5).map { number in
                AttemptRecord(
                    runID: "r", stepID: "send", batch: number % 2, number: number, endpoint: "message/mass/send",
                    startedAt: at(Int64(10 - number)), endedAt: number == 5 ? nil : at(20), result: number == 5 ? "ok" : "error",
                    httpStatus: 200, errcode: number == 5 ? 0 : -1, errorClass: number == 5 ? nil : "transient",
                    message: number == 5 ? nil : "system busy", retryDelayMS: number == 5 ? nil : 1_000 * number)
            }
            for attempt in attempts { try await store.appendAttempt(attempt) }
            try await store.appendAttempt(AttemptRecord(runID: "s", stepID: "x", number: 1, endpoint: "e", startedAt: at(0), result: "ok"))
            #expect(try await store.attempts(runID: "r") == attempts)
            #expect(try await store.attempts(runID: "s").count == 1)
        }
    }

    // MARK: Dates

    @Test("dates come back exact to the millisecond, and stay stable when saved again", arguments: StoreKind.allCases)
    func dateRoundTrip(_ kind: StoreKind) async throws {
        try await withRunStore(kind) { store in
            let now = Date()
            try await store.saveStep(StepRecord(runID: "r", stepID: "s", uses: "u", state: .running, startedAt: now))
            let stored = try #require(try await store.steps(runID: "r").first?.startedAt)
            #expect(abs(stored.timeIntervalSince(now)) <= 0.0005)
            try await store.saveStep(StepRecord(runID: "r", stepID: "s", uses: "u", state: .running, startedAt: stored))
            #expect(try await store.steps(runID: "r").first?.startedAt == stored)
            // Whole milliseconds, past and future, come back equal.
            for ms: Int64 in [-1_750_000_000_000, -1, 0, 1, 999, 86_400_123, 4_102_444_800_000] {
                try await store.saveStep(StepRecord(runID: "d", stepID: "\(ms)", uses: "u", state: .running, startedAt: at(ms)))
            }
            let dates = try await store.steps(runID: "d").map(\.startedAt)
            #expect(dates == [-1_750_000_000_000, -1, 0, 1, 999, 86_400_123, 4_102_444_800_000].map { at($0) })
        }
    }
}
