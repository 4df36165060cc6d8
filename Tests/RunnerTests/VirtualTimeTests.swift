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
    @Test("a 2 h mass/wait timeout ends the step after 2 h of virtual time, in moments of real time", .timeLimit(.minutes(5)))
    func twoHourWaitTimeout() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 30d") }, time: .virtual) { rig in
            let virtual = try #require(rig.virtual)
            let path = try rig.write("two-hours.yaml", text("slow", name: "two-hours") + """

                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      source: poll
                      timeout: 2h
                """)
            let real = ContinuousClock.now
            let result = try await rig.run(path)
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
            // … the wait polled mass/get at doubling intervals up to 30 s (about 240 polls) …
            let polls = try await rig.store.attempts(runID: try #require(result.runID))
                .filter { $0.stepID == "finish" && $0.endpoint == "message/mass/get" }
            #expect(polls.count > 200 && polls.count < 260, "\(polls.count) polls")
            // … and the real time is printed, not asserted: a timed assertion fails on a loaded
            // machine without telling anything about the runner (the virtual clock's elapsed
            // time above is what proves the wait did not sleep in real time).
            print("2 h mass/wait timeout in virtual time took \(took) of real time")
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
            print("45066 window of 1 h in virtual time took \(took) of real time")
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
