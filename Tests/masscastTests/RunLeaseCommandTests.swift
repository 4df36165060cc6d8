import Foundation
import MasscastTesting
import RunState
import Testing
import WeChatSandbox

/// `masscast run` and `masscast resume` on the broadcast's lease, through the binary.
@Suite("run and resume on leases")
struct RunLeaseCommandTests {
    @Test("a run killed on another host: resume refuses while that host's lease is live, naming holder and expiry; after it expires it takes over and sends once")
    func resumeAfterLeaseExpiry() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox, originalID: false)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/lease-resume.yaml", sendAndWaitPipeline(name: "lease-resume"))
            let crashed = try await ws.run(pipeline, env: ["MASSCAST_CRASH_AT": "send.before_call"])
            #expect(crashed.signalled, "\(crashed)")
            let runID = try #require(crashed.runID, "\(crashed)")
            let store = try ws.store()
            let run = try #require(try await store.run(runID))
            let left = try #require(try await store.lease(run.identity), "the killed runner's lease")
            // The runner was on another machine: its lease is that machine's, live for 10 more minutes.
            guard case .taken(let theirs) = try await store.forceTakeLease(
                run.identity, epoch: left.epoch, owner: "ci-other:4242", ttl: 600, now: Date())
            else { Issue.record("could not move the lease to ci-other:4242"); return }

            let early = try await ws.resume(runID)
            #expect(early.exited(3), "\(early)")
            let held = try #require(early.events("run.lease_held").first, "\(early)")
            #expect(held["lease.owner"] as? String == "ci-other:4242")
            #expect((held["msg"] as? String)?.contains("is being run by ci-other:4242 (run \(runID)), whose lease runs until") == true, "\(held)")
            #expect(held["lease.expires_at"] as? String == ISO8601DateFormatter().string(from: theirs.expiresAt))
            #expect(try await ws.sends().isEmpty)
            let listed = try await ws.runsList()
            #expect(listed.first?["interrupted"] as? Bool == true, "the killed runner's pid is gone: \(listed)")

            // That machine's lease lapses (as if taken an hour ago): the run is resumable here.
            let lapsed = try #require(
                try await store.acquireLease(run.identity, owner: "ci-other:4242", ttl: 60, now: Date(timeIntervalSinceNow: -3_600))
                    .acquired)
            #expect(lapsed.epoch == theirs.epoch && lapsed.expiresAt < Date())
            let resumed = try await ws.resume(runID)
            #expect(resumed.exited(0), "\(resumed)")
            let takeover = try #require(resumed.events("run.taken_over").first, "\(resumed)")
            #expect(takeover["lease.previous_owner"] as? String == "ci-other:4242")
            #expect(takeover["lease.epoch"] as? String == "\(theirs.epoch + 1)")
            #expect(try await ws.sends().count == 1)
            #expect(try await store.lease(run.identity) == nil, "released at the end")
        }
    }

    @Test("a run whose lease is force-unlocked by another stops at its next journal write without calling WeChat; force-unlock logs run.taken_over")
    func forcedRunStops() async throws {
        let clock = ManualClock(start: Date())
        try await withSandbox([("review: 1s", "review: 1h")], clock: clock) { sandbox in
            let ws = try RunWorkspace(sandbox, originalID: false)
            defer { ws.cleanUp() }
            let second = """
                  - id: again
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "second" }

                """
            let pipeline = try ws.write(
                "pipelines/lease-moved.yaml", sendAndWaitPipeline(name: "lease-moved", extraSteps: second))
            let process = try ws.start(["run", pipeline] + ws.common)
            let waiting = await process.waitUntil {
                guard process.stderrSoFar.contains("\"run.started\""), let store = try? ws.store(),
                    let run = try? await store.runs(limit: 1).first
                else { return false }
                let journal = (try? await store.journalEntries(runID: run.id)) ?? []
                let steps = (try? await store.steps(runID: run.id)) ?? []
                return journal.contains { $0.state == .sent && $0.msgID != nil }
                    && steps.contains { $0.stepID == "finish" && $0.state == .running }
            }
            #expect(waiting, "the run never reached mass/wait\n\(process.stderrSoFar)")
            let store = try ws.store()
            let run = try #require(try await store.runs(limit: 1).first)
            let lease = try #require(try await store.lease(run.identity), "the running run holds its broadcast's lease")
            #expect(run.owner == lease.owner)

            let forced = try await ws.masscast(
                ["force-unlock", "lease-moved", "--epoch", "\(lease.epoch)", "--state", ws.statePath, "--log-format", "json"])
            #expect(forced.exited(0), "\(forced)")
            let logged = try #require(forced.events("run.taken_over").first, "\(forced)")
            #expect(logged["lease.forced"] as? String == "true")
            #expect(logged["lease.previous_owner"] as? String == lease.owner)
            #expect(logged["lease.previous_epoch"] as? String == "\(lease.epoch)")
            #expect(logged["lease.epoch"] as? String == "\(lease.epoch + 1)")

            clock.advance(by: .seconds(400))  // the job is done: the wait ends, `again` would send
            let stopped = await ws.finish(process)
            #expect(stopped.exited(3), "\(stopped)")
            #expect(stopped.err.contains("lease lost"), "\(stopped)")
            let sends = try await ws.sends()
            #expect(sends.count == 1, "only the first send reached WeChat: \(sends)")
            let report = try await ws.report(run.id)
            #expect(report.step("again")?.conclusion != "success")
        }
    }
}
