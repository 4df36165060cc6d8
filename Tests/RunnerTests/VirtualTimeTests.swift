import Clocks
import Foundation
import MasscastTesting
import PipelineCore
import RunState
import Runner
import Testing
import WeChatMP
import WeChatSandbox

/// Waits of hours, in virtual time: the runner, the in-process transport and the sandbox
/// share one `VirtualClock`, so these take as long as the work in them, not the wait.
@Suite("runner in virtual time", .serialized)
struct VirtualTimeTests {
    /// The `mass/get` polls of the step `finish` of `result`, and the virtual seconds between
    /// the starts of each two.
    static func polls(_ rig: Rig, _ result: RunResult) async throws -> (count: Int, gaps: [Double]) {
        let polls = try await rig.store.attempts(runID: try #require(result.runID))
            .filter { $0.stepID == "finish" && $0.endpoint == "message/mass/get" }
            .sorted { $0.startedAt < $1.startedAt }
        let gaps = zip(polls.dropFirst(), polls).map { $0.startedAt.timeIntervalSince($1.startedAt) }
        return (polls.count, gaps)
    }

    /// A heartbeat every 30 s instead of every 5 s: each beat is a step of the virtual clock
    /// (1,440 in two hours, most of the test's real time), and the test is not about it. The
    /// clock can jump to the next sleeper's deadline while a store write is in flight, so a
    /// sparser heartbeat lets a poll's gap grow by up to 30 s (the bounds below allow it).
    static func slowHeartbeat(_ options: inout RunOptions) { options.heartbeatInterval = .seconds(30) }

    static func waitPipeline(_ rig: Rig, timeout: String, pollInterval: String?) throws -> String {
        try rig.write("wait-\(timeout).yaml", text("slow", name: "wait-\(timeout)") + """

              - id: finish
                uses: mass/wait
                with:
                  msg_id: ${{ steps.send.outputs.msg_id }}
                  source: poll
                  timeout: \(timeout)
            """ + (pollInterval.map { "\n      poll_interval: \($0)" } ?? ""))
    }

    // The wait polls with `poll_interval: 10m` here (about 20 polls in the 2 h); the default
    // cadence (doubling from 1 s up to 30 s) is the next test's, over 5 minutes. Every poll is
    // several steps of the virtual clock, which in a full parallel test run wait behind every
    // other test's work: 240 polls at the default cadence made this one test the run's last.
    @Test("a 2 h mass/wait timeout ends the step after 2 h of virtual time, in moments of real time", .timeLimit(.minutes(5)))
    func twoHourWaitTimeout() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 30d") }, time: .virtual) { rig in
            let virtual = try #require(rig.virtual)
            let path = try Self.waitPipeline(rig, timeout: "2h", pollInterval: "10m")
            let real = ContinuousClock.now
            let result = try await rig.run(path, configure: Self.slowHeartbeat)
            let took = ContinuousClock.now - real
            #expect(result.exitCode == 1, "\(result)")
            let finish = try #require(try await rig.steps(result)["finish"])
            let message = finish.message ?? ""
            #expect(message.contains("timed out after 120m00s"), "\(message)")
            #expect(message.contains("SENDING"), "the last poll saw the job still sending: \(message)")
            #expect(message.contains("a wait is not retried"))
            // Two hours passed on the runner's clock and in what it recorded …
            #expect(virtual.elapsed >= .seconds(7200))
            let started = try #require(finish.startedAt)
            let ended = try #require(finish.endedAt)
            #expect(ended.timeIntervalSince(started) >= 7200)
            #expect(ended.timeIntervalSince(started) < 7200 + 120)
            // … the wait polled at doubling intervals up to the 10 minutes: 1 s … 256 s (511 s),
            // then every 600 s to the end (11 more) …
            let (count, gaps) = try await Self.polls(rig, result)
            #expect(count >= 18 && count <= 24, "\(count) polls")
            #expect(gaps.allSatisfy { $0 < 600 + 45 }, "no gap much over the 10 minutes: \(gaps)")
            #expect(gaps.filter { $0 >= 600 }.count >= 9, "the cap reached and held: \(gaps)")
            // … and the real time is printed, not asserted: a timed assertion fails on a loaded
            // machine without telling anything about the runner (the virtual clock's elapsed
            // time above is what proves the wait did not sleep in real time).
            print("2 h mass/wait timeout in virtual time took \(took) of real time, \(virtual.driverCounts)")
        }
    }

    @Test("mass/wait's default cadence: polls after 1, 2, 4, 8 and 16 s, then every 30 s until the timeout",
          .timeLimit(.minutes(5)))
    func defaultPollCadence() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 30d") }, time: .virtual) { rig in
            let path = try Self.waitPipeline(rig, timeout: "5m", pollInterval: nil)
            // The rig polls first after 300 ms; a run's default is 1 s.
            let result = try await rig.run(path) { $0.firstPollDelay = RunOptions().firstPollDelay }
            #expect(result.exitCode == 1, "\(result)")
            let finish = try #require(try await rig.steps(result)["finish"])
            #expect((finish.message ?? "").contains("timed out after 5m00s"), "\(finish.message ?? "")")
            // Polls at 1, 3, 7, 15, 31 s, then every 30 s up to 301 s: 14 or 15 in all. A gap
            // can be longer than its interval by the call's own (virtual) time, not shorter.
            let (count, gaps) = try await Self.polls(rig, result)
            #expect(count >= 13 && count <= 15, "\(count) polls: \(gaps)")
            for (i, gap) in gaps.enumerated() {
                let interval = min(Double(2 << i), 30)
                #expect(gap >= interval - 0.01 && gap < interval + 5, "gap \(i + 1): \(gap) s, interval \(interval) s")
            }
        }
    }

    @Test("45066: a 1 h clientmsgid window is waited out in virtual time, then 45065 adopts the one send", .timeLimit(.minutes(5)))
    func clientMsgIDWindow() async throws {
        let edit: (String) -> String = {
            $0.replacingOccurrences(of: "clientmsgid_retry_window: 2s", with: "clientmsgid_retry_window: 1h")
                .replacingOccurrences(of: "faults: []", with: """
                    faults:
                      - { on: message/mass/sendall, reset: after, next: 1 }
                    """)
        }
        try await Rig.with(edit, time: .virtual) { rig in
            let virtual = try #require(rig.virtual)
            let path = try rig.write("window.yaml", text("window", name: "window"))
            let real = ContinuousClock.now
            let result = try await rig.run(path)
            let took = ContinuousClock.now - real
            #expect(result.exitCode == 0, "\(result)")
            let sends = await rig.sends()
            #expect(sends.count == 1, "the reset send went out once; it was never sent again")
            let runID = try #require(result.runID)
            let attempts = try await rig.store.attempts(runID: runID).filter { $0.stepID == "send" }
            // The reset (unknown), then 45066 with a wait of the window (+2 s) from the first use,
            // less the (virtual) time the retries took to get there: the virtual clock moves on
            // whenever every task waits, which on a loaded machine includes store writes in
            // flight, so that part varies by seconds; the wait is the hour, not a backoff.
            let window = try #require(attempts.first { $0.errcode == 45066 })
            let delay = try #require(window.retryDelayMS)
            #expect(delay > 3_540_000 && delay <= 3_602_000, "\(delay) ms")
            // The repeat after the window: 45065 with the earlier msg_id, adopted.
            let entry = try #require(try await rig.store.journalEntries(runID: runID).first)
            #expect(entry.state == .sent)
            #expect(entry.msgID == sends.first?.msgID)
            #expect(virtual.elapsed >= .seconds(3600))
            print("45066 window of 1 h in virtual time took \(took) of real time, \(virtual.driverCounts)")
        }
    }
}

/// The clock every wait sleeps on, driven by hand with swift-clocks' `TestClock`.
@Suite("injected clock")
struct InjectedClockTests {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    static func date(_ clock: TestClock<Duration>, from start: Date) -> @Sendable () -> Date {
        { start.addingTimeInterval(TestClock<Duration>.Instant().duration(to: clock.now).seconds) }
    }

    static func settle() async {
        for _ in 0..<20 { await Task.detached(priority: .background) { await Task.yield() }.value }
    }

    @Test("the pacer's third call in a 60 s window waits on the clock until the window has passed")
    func pacerWaitsOnClock() async {
        let clock = TestClock()
        let pacer = Pacer(limit: 2, now: Self.date(clock, from: Date(timeIntervalSince1970: 1_741_572_000)), clock: clock)
        #expect(await pacer.acquire())
        #expect(await pacer.acquire())
        let done = Flag()
        let third = Task {
            let ok = await pacer.acquire()
            done.set()
            return ok
        }
        // A second at a time, so a sleep that registers late is still woken at its deadline.
        for _ in 0..<59 {
            await Self.settle()
            await clock.advance(by: .seconds(1))
        }
        #expect(!done.isSet, "still within the window")
        for _ in 0..<5 where !done.isSet {
            await Self.settle()
            await clock.advance(by: .seconds(1))
        }
        #expect(await third.value)
        #expect(done.isSet)
    }

    @Test("a stop wakes a sleep at once, without the clock moving; otherwise it ends when the clock passes it")
    func stopWakesSleep() async {
        let clock = TestClock()
        let signal = StopSignal()
        let long = Task { await signal.sleep(.seconds(3600), clock: clock) }
        await Self.settle()
        signal.stop(reason: .terminate)
        #expect(await long.value == false)
        #expect(clock.now == TestClock<Duration>.Instant())
        #expect(await signal.sleep(.seconds(1), clock: clock) == false, "a stopped signal does not sleep")

        let other = StopSignal()
        let ended = Flag()
        let short = Task {
            let slept = await other.sleep(.seconds(30), clock: clock)
            ended.set()
            return slept
        }
        for _ in 0..<120 where !ended.isSet {
            await Self.settle()
            await clock.advance(by: .seconds(1))
        }
        #expect(await short.value == true)
    }

    @Test("in process, a latency past the call's timeout fails as a timeout after the timeout, on the clock")
    func inProcessLatencyOnClock() async throws {
        let clock = TestClock()
        let fixture = try SandboxFixture.load(yaml: SandboxFixture.defaultYAML, file: "default.yaml")
        let engine = SandboxEngine(fixture: fixture)
        let transport = InProcessTransport(engine: engine, clock: clock)
        let base = InProcessTransport.baseURL
        let rule = Data(#"{"on": "message/mass/speed/get", "latency": "2h", "next": 1}"#.utf8)
        let added = try await transport.send(
            TransportRequest(method: .post, url: base + "/sandbox/faults", body: rule, timeout: .seconds(5)))
        #expect(added.status == 200)
        let call = Task { () -> TransportFailure? in
            do throws(TransportFailure) {
                _ = try await transport.send(TransportRequest(
                    method: .get, url: base + "/cgi-bin/message/mass/speed/get?access_token=x", timeout: .seconds(30)))
                return nil
            } catch {
                return error
            }
        }
        // A second at a time until the call ends: at its 30 s timeout, not after the 2 h latency.
        let started = clock.now
        for _ in 0..<120 {
            await Self.settle()
            await clock.advance(by: .seconds(1))
            if call.isCancelled { break }
        }
        let failure = try #require(await call.value)
        #expect(failure.code == .timeout)
        #expect(failure.delivery == .maybeReceived)
        #expect(started.duration(to: clock.now) <= .seconds(120))
    }
}
