import Foundation
import RunState
import StateSQLite
import Testing

/// What any `StateStore` must do, as a runner and a user notice it. Each test takes a fresh
/// store from `withStore` (SQLite here; another implementation plugs in the same way).
@Suite("StateStore conformance")
struct StateStoreConformanceTests {
    // MARK: Broadcasts, generations, --rerun

    @Test("a new broadcast starts at generation 1 and the store sets the generation")
    func newBroadcastStartsAtGenerationOne() async throws {
        try await withStore { store in
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

    @Test("a completed broadcast is not run again; --rerun starts the next generation")
    func completedBroadcastAndRerun() async throws {
        try await withStore { store in
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

    @Test("--rerun of an unfinished broadcast keeps its generation, so sent batches are recognised")
    func rerunOfUnfinishedBroadcastKeepsGeneration() async throws {
        try await withStore { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .stopped, message: "interrupted", at: at(1_000))
            let rerun = try await store.beginRun(runTemplate("run-2"), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(rerun.started?.generation == 1)
            let fresh = try await store.beginRun(
                runTemplate("run-3", identity: identity(name: "other")), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(fresh.started?.generation == 1)
        }
    }

    @Test("a failed run does not complete the broadcast; the next run uses the same generation")
    func failedRunLeavesBroadcastOpen() async throws {
        try await withStore { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .failed, message: "errcode 45028", at: at(1_000))
            let next = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(next.started?.generation == 1)
            #expect(try await store.broadcast(identity())?.completedRunID == nil)
        }
    }

    @Test("other inputs, another account or another api_base make another broadcast")
    func identityIsEveryField() async throws {
        try await withStore { store in
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(1_000))
            var otherBase = identity()
            otherBase.apiBase = "http://127.0.0.1:8085"
            let others = [identity(inputs: #"{"week":13}"#), identity(appID: "wx0000000000000002"), otherBase]
            for (index, other) in others.enumerated() {
                let result = try await store.beginRun(
                    runTemplate("other-\(index)", identity: other), nextGeneration: false, isOwnerAlive: ownerIsAlive)
                #expect(result.started?.generation == 1)
                #expect(result.started?.identity == other)
            }
        }
    }

    @Test("a running run with a live owner makes the broadcast busy; a dead owner does not")
    func busyVersusDeadOwner() async throws {
        try await withStore { store in
            _ = try await store.beginRun(
                runTemplate("run-1", owner: "alive:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let busy = try await store.beginRun(
                runTemplate("run-2", owner: "alive:2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            #expect(busy == .busy(runID: "run-1", owner: "alive:1"))
            #expect(try await store.run("run-2") == nil)

            // The same run's owner died (kill -9): a new run may start, in the same generation.
            let started = try await store.beginRun(
                runTemplate("run-3", owner: "alive:3"), nextGeneration: false, isOwnerAlive: { $0 == "alive:3" })
            #expect(started.started?.generation == 1)
            // A stopped run (owner alive or not) does not block either.
            try await store.finishRun("run-3", status: .stopped, message: "Ctrl-C", at: at(5_000))
            let afterStop = try await store.beginRun(
                runTemplate("run-4", owner: "alive:4"), nextGeneration: false, isOwnerAlive: { $0 != "alive:1" })
            #expect(afterStop.started != nil)
        }
    }

    // MARK: Runs

    @Test("finishRun sets status, message and endedAt, and refuses an unknown run")
    func finishRunFields() async throws {
        try await withStore { store in
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

    @Test("a late success of an older generation's run does not complete the current generation")
    func lateSuccessOfOldGeneration() async throws {
        try await withStore { store in
            _ = try await store.beginRun(runTemplate("run-1", owner: "dead:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            _ = try await store.beginRun(runTemplate("run-2"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("run-2", status: .succeeded, message: nil, at: at(1_000))
            let rerun = try await store.beginRun(runTemplate("run-3"), nextGeneration: true, isOwnerAlive: ownerIsAlive)
            #expect(rerun.started?.generation == 2)
            try await store.finishRun("run-1", status: .succeeded, message: nil, at: at(2_000))
            #expect(try await store.broadcast(identity()) == BroadcastRecord(identity: identity(), generation: 2))
        }
    }

    @Test("runs are listed newest first, up to the limit")
    func runsNewestFirst() async throws {
        try await withStore { store in
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

    @Test("claimRun: missing, finished, held by a live owner, taken over from a dead one")
    func claimRunCases() async throws {
        try await withStore { store in
            #expect(try await store.claimRun("nope", owner: "alive:9", now: at(0), isOwnerAlive: ownerIsAlive) == .notFound)

            _ = try await store.beginRun(
                runTemplate("ok", identity: identity(name: "a")), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("ok", status: .succeeded, message: nil, at: at(1))
            #expect(try await store.claimRun("ok", owner: "alive:9", now: at(2), isOwnerAlive: ownerIsAlive) == .finished(.succeeded))

            _ = try await store.beginRun(
                runTemplate("bad", identity: identity(name: "b")), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            try await store.finishRun("bad", status: .failed, message: "x", at: at(1))
            #expect(try await store.claimRun("bad", owner: "alive:9", now: at(2), isOwnerAlive: ownerIsAlive) == .finished(.failed))

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

    @Test("a running run whose owner died can be claimed; claiming twice is held")
    func claimRunningOrphan() async throws {
        try await withStore { store in
            _ = try await store.beginRun(runTemplate("r", owner: "dead:1"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            let first = try await store.claimRun("r", owner: "alive:2", now: at(1), isOwnerAlive: ownerIsAlive)
            #expect(first != .notFound)
            let second = try await store.claimRun("r", owner: "alive:3", now: at(2), isOwnerAlive: ownerIsAlive)
            #expect(second == .held(owner: "alive:2"))
        }
    }

    @Test("heartbeat refreshes the owner's lease and refuses another owner")
    func heartbeatRefreshes() async throws {
        try await withStore { store in
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

    @Test("steps come back in order of first save; a save replaces the record in place")
    func stepOrderAndReplace() async throws {
        try await withStore { store in
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

    @Test("attempts come back in the order appended, every field intact")
    func attemptOrder() async throws {
        try await withStore { store in
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

    // MARK: Journal

    @Test("journal entries are written, replaced by key, looked up and listed per run")
    func journalReplaceAndLookup() async throws {
        try await withStore { store in
            let intent = journalEntry("mc1-aaa", batch: 0, state: .intent, updatedAt: 0)
            try await store.journal(intent)
            #expect(try await store.journalEntry(appID: intent.appID, key: "mc1-aaa") == intent)
            var sent = intent
            sent.state = .sent
            sent.msgID = 1_000_000_001
            sent.msgDataID = 2_247_483_647
            sent.lastAttemptAt = at(700)
            sent.updatedAt = at(800)
            try await store.journal(sent)
            #expect(try await store.journalEntry(appID: intent.appID, key: "mc1-aaa") == sent)
            // The same key under another account is another entry.
            #expect(try await store.journalEntry(appID: "wx0000000000000002", key: "mc1-aaa") == nil)

            try await store.journal(journalEntry("mc1-ccc", batch: 2, updatedAt: 50))
            try await store.journal(journalEntry("mc1-bbb", batch: 1, updatedAt: 20))
            try await store.journal(journalEntry("mc1-zzz", runID: "run-2"))
            #expect(try await store.journalEntries(runID: "run-1").map(\.key) == ["mc1-aaa", "mc1-bbb", "mc1-ccc"])
            #expect(try await store.journalEntries(runID: "run-2").map(\.key) == ["mc1-zzz"])
        }
    }

    @Test("acceptedSends counts sent entries of the account at or after the instant")
    func acceptedSendsWindow() async throws {
        try await withStore { store in
            try await store.journal(journalEntry("k1", state: .sent, updatedAt: -1))  // before the window
            try await store.journal(journalEntry("k2", state: .sent, updatedAt: 0))  // at its start
            try await store.journal(journalEntry("k3", state: .sent, updatedAt: 3_600_000))
            try await store.journal(journalEntry("k4", state: .intent, updatedAt: 10))
            try await store.journal(journalEntry("k5", state: .refused, updatedAt: 10))
            try await store.journal(journalEntry("k6", state: .unknown, updatedAt: 10))
            try await store.journal(journalEntry("k7", appID: "wx0000000000000002", state: .sent, updatedAt: 10))
            #expect(try await store.acceptedSends(appID: "wx0000000000000001", since: at(0)) == 2)
            #expect(try await store.acceptedSends(appID: "wx0000000000000001", since: at(-1)) == 3)
            #expect(try await store.acceptedSends(appID: "wx0000000000000001", since: at(3_600_001)) == 0)
            #expect(try await store.acceptedSends(appID: "wx0000000000000002", since: at(0)) == 1)
            #expect(try await store.acceptedSends(appID: "wx-nobody", since: at(0)) == 0)
        }
    }

    // MARK: Inbox

    @Test("a push is stored once per (original id, msg id); the repeat returns false and changes nothing")
    func inboxDedupe() async throws {
        try await withStore { store in
            let first = inboxEvent(1_000_000_001)
            #expect(try await store.storeInboxEvent(first) == true)
            var repeated = first
            repeated.status = "send fail"
            #expect(try await store.storeInboxEvent(repeated) == false)
            #expect(try await store.storeInboxEvent(inboxEvent(1_000_000_001, originalID: "gh_other")) == true)
            #expect(try await store.storeInboxEvent(inboxEvent(1_000_000_003, status: "err(30003)")) == true)

            let found = try await store.inboxEvents(
                originalID: first.originalID, msgIDs: [1_000_000_003, 42, 1_000_000_001, 1_000_000_003])
            #expect(found.map(\.msgID) == [1_000_000_003, 1_000_000_001])
            #expect(found.last == first)
            #expect(try await store.inboxEvents(originalID: first.originalID, msgIDs: []).isEmpty)
            #expect(try await store.inboxEvents(originalID: "gh_other", msgIDs: [1_000_000_001]).first?.originalID == "gh_other")
        }
    }

    @Test("inboxEvents handles long id lists")
    func inboxManyIDs() async throws {
        try await withStore { store in
            for id in Int64(1)...20 { try await store.storeInboxEvent(inboxEvent(id * 7)) }
            let ids = Array(Int64(1)...2_000)
            #expect(try await store.inboxEvents(originalID: "gh_0123456789ab", msgIDs: ids).map(\.msgID) == (1...20).map { Int64($0) * 7 })
        }
    }

    // MARK: Token cache

    @Test("tokens are cached per account; invalidating an old value keeps a newer token")
    func tokenCompareAndSwap() async throws {
        try await withStore { store in
            let app = "wx0000000000000001"
            #expect(try await store.loadToken(appID: app) == nil)
            let old = StoredToken(value: "OLD-TOKEN-value", expiresAt: at(7_200_000))
            try await store.storeToken(old, appID: app)
            #expect(try await store.loadToken(appID: app) == old)

            // Another process refreshed meanwhile.
            let newer = StoredToken(value: "NEW-TOKEN-value", expiresAt: at(9_000_000))
            try await store.storeToken(newer, appID: app)
            try await store.invalidateToken("OLD-TOKEN-value", appID: app)
            #expect(try await store.loadToken(appID: app) == newer)

            try await store.storeToken(StoredToken(value: "OTHER", expiresAt: at(1)), appID: "wx0000000000000002")
            try await store.invalidateToken("NEW-TOKEN-value", appID: app)
            #expect(try await store.loadToken(appID: app) == nil)
            #expect(try await store.loadToken(appID: "wx0000000000000002")?.value == "OTHER")
        }
    }

    // MARK: Dates

    @Test("dates come back exact to the millisecond, and stay stable when saved again")
    func dateRoundTrip() async throws {
        try await withStore { store in
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
