import Foundation
import MasscastTesting
import PipelineCore
import RunState
import Runner
import Testing
import WeChatMP
import WeChatSandbox

/// Issue 10 ("Safe re-runs"): a `mass/wait` whose outputs agree with the push and that can
/// guard delivery (`min_sent`, the low-delivery warning), and sends to all followers that
/// need `--confirm-to-all NAME`.
@Suite("safe re-runs: mass/wait guards delivery, sends to all need intent", .serialized)
struct WaitAndToAllTests {
    /// A send to a tag, then a wait with `with` (indented for the wait's `with:`).
    static func waitPipeline(_ name: String, _ with: String, after: String = "") -> String {
        text(name, name: name) + """

              - id: finish
                uses: mass/wait
                with:
                  msg_id: ${{ steps.send.outputs.msg_id }}
            \(with)
            \(after)
            """
    }

    /// Starts the run and, once its wait reports that it is waiting (with `afterGets`, once it
    /// reports the SENDING its poll saw, and the sandbox has answered at least that many
    /// `message/mass/get` calls), stores the MASSSENDJOBFINISH push the listener would have
    /// stored, and returns the result. The rig runs on virtual time: the push lands while the
    /// runner waits, not after a real delay.
    func runWithPush(
        _ rig: Rig, _ path: String, afterGets: Int? = nil, status: String = "send success", total: Int, sent: Int
    ) async throws -> RunResult {
        // A rule that changes nothing, so that GET /sandbox/faults counts the mass/get calls.
        if afterGets != nil { try await rig.addFaults("- { on: message/mass/get, latency: 1ms }") }
        let (reports, report) = AsyncStream.makeStream(of: String.self)
        let executor = try rig.executor(path) { options in
            options.progress = { text in
                if text.hasPrefix("[finish] waiting"), afterGets == nil || text.contains("SENDING") { report.yield(text) }
            }
        }
        let task = Task {
            let result = await executor.start()
            report.finish()
            return result
        }
        var iterator = reports.makeAsyncIterator()
        let waiting = await iterator.next()
        report.finish()
        #expect(waiting != nil, "the wait reported that it is waiting")
        let id = try #require(await rig.sends().first?.msgID)
        if let afterGets {
            let seen = try await getCalls(rig)
            #expect(seen >= afterGets, "the sandbox answered \(seen) mass/get calls before the push")
        }
        let now = rig.now()
        try await rig.store.storeInboxEvent(InboxEvent(
            api: rig.account().endpoint, originalID: "gh_5d1c0e8f7a93", msgID: id, status: status, totalCount: total,
            filterCount: total,
            sentCount: sent, errorCount: total - sent, copyrightCheckState: nil, createdAt: now, receivedAt: now))
        return await task.value
    }

    /// How many `message/mass/get` calls the sandbox has answered (`GET /sandbox/faults`).
    func getCalls(_ rig: Rig) async throws -> Int {
        let response = try await rig.transport.send(
            TransportRequest(method: .get, url: rig.sandbox.baseURL + "/sandbox/faults", timeout: .seconds(10)))
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let rules = object?["faults"] as? [[String: Any]] ?? []
        return rules.first { $0["on"] as? String == "message/mass/get" }?["matched"] as? Int ?? 0
    }

    func logLines(_ rig: Rig, event: String) throws -> [[String: Any]] {
        try rig.logs.lines.compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["event"] as? String == event ? object : nil
        }
    }

    // MARK: Item 7: mass/wait

    @Test("a push after a poll that saw SENDING: msg_status is SEND_SUCCESS, and a condition on it does not misfire")
    func msgStatusAgreesWithPush() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 1h") }, time: .virtual) { rig in
            let path = try rig.write("coherent.yaml", Self.waitPipeline("coherent", "      timeout: 30m", after: """
                  - id: delivered
                    uses: mass/speed
                    if: ${{ steps.finish.outputs.msg_status == 'SEND_SUCCESS' }}
                  - id: alert
                    uses: mass/speed
                    if: ${{ steps.finish.outputs.msg_status != 'SEND_SUCCESS' }}
                """))
            // The job reviews for an hour, so every poll before the push answers SENDING. The
            // push is stored once the wait has reported the SENDING of its poll and the sandbox
            // has answered the check step's mass/get and that poll.
            let result = try await runWithPush(rig, path, afterGets: 2, total: 150, sent: 147)
            #expect(result.exitCode == 0, "\(result)")
            let steps = try await rig.steps(result)
            let runID = try #require(result.runID)
            let polls = try await rig.store.attempts(runID: runID).filter {
                $0.stepID == "finish" && $0.endpoint == "message/mass/get"
            }
            #expect(!polls.isEmpty, "the wait polled")
            let out = rig.outputs(steps["finish"])
            #expect(out["status"] == .string("send success"))
            #expect(out["msg_status"] == .string("SEND_SUCCESS"), "\(out)")
            #expect(out["sent_count"] == .integer(147))
            #expect(steps["delivered"]?.conclusion == "success")
            #expect(steps["alert"]?.conclusion == "skipped")
        }
    }

    @Test("a push that says send fail or err(N) gives msg_status SEND_FAIL", arguments: ["send fail", "err(30003)"])
    func msgStatusFailFromPush(status: String) async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 1h") }, time: .virtual) { rig in
            let path = try rig.write("fail.yaml", Self.waitPipeline("push-fail", "      timeout: 30m"))
            let result = try await runWithPush(rig, path, afterGets: 2, status: status, total: 150, sent: 0)
            let out = rig.outputs(try await rig.steps(result)["finish"])
            #expect(out["status"] == .string(status))
            #expect(out["msg_status"] == .string("SEND_FAIL"), "\(out)")
        }
    }

    @Test("a wait that ends with nothing sent, or under half sent, logs wait.low_delivery with the counts")
    func lowDeliveryWarning() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("nobody.yaml", Self.waitPipeline("nobody", "      source: callback\n      timeout: 30m"))
            let result = try await runWithPush(rig, path, total: 30_000, sent: 0)
            #expect(result.exitCode == 0, "\(result)")
            let lines = try logLines(rig, event: "wait.low_delivery")
            #expect(lines.count == 1, "\(rig.logs.lines)")
            let line = try #require(lines.first)
            #expect(line["level"] as? String == "warning")
            #expect((line["msg"] as? String)?.contains("0 of 30000 followers were sent the message") == true, "\(line)")
            #expect(line["step.id"] as? String == "finish")
        }
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("half.yaml", Self.waitPipeline("under-half", "      source: callback\n      timeout: 30m"))
            _ = try await runWithPush(rig, path, total: 30_000, sent: 14_999)
            let lines = try logLines(rig, event: "wait.low_delivery")
            #expect((lines.first?["msg"] as? String)?.contains("14999 of 30000 followers") == true, "\(lines)")
        }
        // Half or more sent: no warning.
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("most.yaml", Self.waitPipeline("most", "      source: callback\n      timeout: 30m"))
            let result = try await runWithPush(rig, path, total: 30_000, sent: 15_000)
            #expect(result.exitCode == 0, "\(result)")
            #expect(try logLines(rig, event: "wait.low_delivery").isEmpty)
        }
    }

    @Test("min_sent not met fails the step with the counts; met, the step succeeds",
          arguments: [("\"99%\"", false), ("148", false), ("\"98%\"", true), ("147", true)])
    func minSent(threshold: String, passes: Bool) async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("min.yaml", Self.waitPipeline(
                "min-sent", "      source: callback\n      timeout: 30m\n      min_sent: \(threshold)"))
            let result = try await runWithPush(rig, path, total: 150, sent: 147)
            let finish = try await rig.steps(result)["finish"]
            if passes {
                #expect(result.exitCode == 0, "\(result)")
                #expect(finish?.outcome == "success")
            } else {
                #expect(result.exitCode == 1, "\(result)")
                #expect(finish?.outcome == "failure")
                let message = finish?.message ?? ""
                #expect(message.contains("147 of 150 followers were sent the message"), "\(message)")
                #expect(message.contains(threshold == "148" ? "min_sent requires 148" : "min_sent requires 149 (99% of 150)"), "\(message)")
                // The counts stay readable for the steps that report them.
                #expect(rig.outputs(finish)["sent_count"] == .integer(147))
            }
        }
    }

    @Test("min_sent with counts unknown (no push arrived) fails the step and says why")
    func minSentCountsUnknown() async throws {
        try await Rig.with(time: .virtual) { rig in
            // source: auto ends on the polled SEND_SUCCESS after the grace period; no push comes.
            let path = try rig.write("unknown.yaml", Self.waitPipeline(
                "counts-unknown", "      timeout: 1m\n      poll_interval: 1s\n      min_sent: 1"))
            let result = try await rig.run(path)
            #expect(result.exitCode == 1, "\(result)")
            let finish = try await rig.steps(result)["finish"]
            #expect(finish?.outcome == "failure")
            let message = finish?.message ?? ""
            #expect(message.contains("counts unknown: no MASSSENDJOBFINISH push arrived"), "\(message)")
            #expect(rig.outputs(finish)["status"] == .string("send success"))
            #expect(rig.outputs(finish)["sent_count"] == .null)
        }
    }

    // MARK: Item 8: sends to all followers

    static let toAll = """
        version: 1
        name: autumn-launch
        account: brand-main
        steps:
          - id: launch
            uses: mass/sendall
            with:
              filter: { is_to_all: true }
              msgtype: text
              text: { content: "秋季新品上线" }
        """

    @Test("a send to all followers without --confirm-to-all is refused before the run starts: nothing sent, no run")
    func toAllRefusedWithoutConfirmation() async throws {
        try await Rig.with { rig in
            let path = try rig.write("all.yaml", Self.toAll)
            let result = try await rig.run(path) { $0.sandbox = false }
            guard case .invalid(let message) = result else {
                Issue.record("expected a refusal, got \(result)")
                return
            }
            #expect(result.exitCode == 2)
            #expect(message.contains("'launch' sends to ALL followers") && message.contains("cannot be undone"), "\(message)")
            #expect(message.contains("--confirm-to-all autumn-launch"), "\(message)")
            #expect(try await rig.inspectedSends().isEmpty)
            #expect(try await rig.store.runs(limit: 10).isEmpty, "no run is recorded")
            #expect(try logLines(rig, event: "run.to_all_refused").count == 1)
        }
    }

    @Test("--confirm-to-all with another name is refused too, naming both")
    func toAllRefusedWithWrongName() async throws {
        try await Rig.with { rig in
            let path = try rig.write("all.yaml", Self.toAll)
            for sandbox in [false, true] {
                let result = try await rig.run(path) {
                    $0.sandbox = sandbox
                    $0.confirmToAll = "weekly-digest"
                }
                guard case .invalid(let message) = result else {
                    Issue.record("expected a refusal, got \(result)")
                    return
                }
                #expect(message.contains("'weekly-digest'") && message.contains("'autumn-launch'"), "\(message)")
            }
            #expect(try await rig.inspectedSends().isEmpty)
            #expect(try await rig.store.runs(limit: 10).isEmpty)
        }
    }

    @Test("--confirm-to-all NAME sends once, logged as sent to ALL followers")
    func toAllConfirmed() async throws {
        try await Rig.with { rig in
            let path = try rig.write("all.yaml", Self.toAll)
            let result = try await rig.run(path) {
                $0.sandbox = false
                $0.confirmToAll = "autumn-launch"
            }
            #expect(result.exitCode == 0, "\(result)")
            let sends = try await rig.inspectedSends()
            #expect(sends.count == 1)
            #expect(sends.first?["is_to_all"] as? Bool == true, "\(sends)")
            let accepted = try logLines(rig, event: "send.accepted")
            #expect(accepted.count == 1)
            #expect((accepted.first?["msg"] as? String)?.hasPrefix("sent to ALL followers, msg_id ") == true, "\(accepted)")
        }
    }

    @Test("a send to a tag needs no confirmation and is logged as sent to tag N")
    func tagSendLogged() async throws {
        try await Rig.with { rig in
            let path = try rig.write("tag.yaml", text("tag", name: "tag-send"))
            let result = try await rig.run(path) { $0.sandbox = false }
            #expect(result.exitCode == 0, "\(result)")
            let accepted = try logLines(rig, event: "send.accepted")
            #expect((accepted.first?["msg"] as? String)?.hasPrefix("sent to tag 101, msg_id ") == true, "\(accepted)")
        }
    }

    @Test("a sandbox rehearsal sends to all without the flag, with a warning")
    func toAllRehearsal() async throws {
        try await Rig.with { rig in
            let path = try rig.write("all.yaml", Self.toAll)
            let result = try await rig.run(path)  // the rig's options say sandbox
            #expect(result.exitCode == 0, "\(result)")
            #expect(try await rig.inspectedSends().count == 1)
            let warnings = try logLines(rig, event: "run.to_all_rehearsal")
            #expect(warnings.count == 1)
            #expect((warnings.first?["msg"] as? String)?.contains("--confirm-to-all autumn-launch") == true, "\(warnings)")
        }
    }

    @Test("once the send to all went out, running the broadcast again needs no flag: it converges without a second send")
    func toAllAlreadySentNeedsNoFlag() async throws {
        try await Rig.with { rig in
            // The send to all goes out, then a later step fails: the run is unfinished.
            let path = try rig.write("all.yaml", Self.toAll + """

                  - id: check
                    uses: mass/get
                    retry: { max_attempts: 1 }
                    with:
                      msg_id: ${{ steps.launch.outputs.msg_id }}
                """)
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let first = try await rig.run(path) {
                $0.sandbox = false
                $0.confirmToAll = "autumn-launch"
            }
            #expect(first.exitCode == 1, "\(first)")
            #expect(try await rig.inspectedSends().count == 1)
            // The same command without the flag (a CI retry): the send is adopted, not refused.
            let again = try await rig.run(path) { $0.sandbox = false }
            #expect(again.exitCode == 0, "\(again)")
            #expect(again.runID == first.runID)
            // Completed: running it again says so (exit 0), with or without the flag.
            let completed = try await rig.run(path) { $0.sandbox = false }
            guard case .alreadyCompleted = completed else {
                Issue.record("expected already completed, got \(completed)")
                return
            }
            // --rerun is a new send to all: it needs the flag again.
            let rerun = try await rig.run(path) {
                $0.sandbox = false
                $0.rerun = true
            }
            #expect(rerun.exitCode == 2, "\(rerun)")
            #expect(try await rig.inspectedSends().count == 1)
        }
    }

    @Test("resume needs --confirm-to-all while the send to all has not been made; with it, one send")
    func toAllResume() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("all.yaml", Self.toAll.replacingOccurrences(of: "steps:\n", with: """
                steps:
                  - { id: speed, uses: mass/speed }

                """))
            // The speed call is held 1.5 s (virtual) by the sandbox; the run is stopped when the
            // step reports its start.
            try await rig.addFaults("- { on: message/mass/speed/get, latency: 1500ms, next: 1 }")
            let stop = StopAtProgress(prefix: "[speed] mass/speed started")
            let executor = try rig.executor(path) {
                $0.sandbox = false
                $0.confirmToAll = "autumn-launch"
                $0.progress = stop.progress
            }
            stop.signal = executor.stopSignal
            let stopped = await executor.start()
            guard case .stopped(let runID, _) = stopped else {
                Issue.record("expected stopped, got \(stopped)")
                return
            }
            #expect(try await rig.inspectedSends().isEmpty)
            let steps = try await rig.steps(stopped)
            // Stopped inside the speed step, whose call the sandbox held: it stays unfinished.
            #expect(steps["speed"]?.state == .pending, "\(String(describing: steps["speed"]))")
            #expect(steps["speed"]?.message?.hasPrefix("stopped") == true, "\(steps["speed"]?.message ?? "")")
            #expect(steps["launch"]?.state != .finished, "the send to all did not run")

            let refused = try await rig.executor(path) { $0.sandbox = false }.resume(runID: runID)
            guard case .invalid(let message) = refused else {
                Issue.record("expected a refusal, got \(refused)")
                return
            }
            #expect(message.contains("--confirm-to-all autumn-launch") && message.contains("not resumed"), "\(message)")
            let wrong = try await rig.executor(path) {
                $0.sandbox = false
                $0.confirmToAll = "other"
            }.resume(runID: runID)
            #expect(wrong.exitCode == 2, "\(wrong)")
            #expect(try await rig.inspectedSends().isEmpty)

            let resumed = try await rig.executor(path) {
                $0.sandbox = false
                $0.confirmToAll = "autumn-launch"
            }.resume(runID: runID)
            #expect(resumed == .succeeded(runID: runID), "\(resumed)")
            #expect(try await rig.inspectedSends().count == 1)
        }
    }
}

/// Stops a run when its progress line shows a text starting with `prefix`, once.
private final class StopAtProgress: @unchecked Sendable {
    let prefix: String
    private let lock = NSLock()
    private var _signal: StopSignal?
    private var stopped = false

    init(prefix: String) { self.prefix = prefix }

    var signal: StopSignal? {
        get { lock.withLock { _signal } }
        set { lock.withLock { _signal = newValue } }
    }

    var progress: @Sendable (String) -> Void {
        { [self] text in
            guard text.hasPrefix(prefix) else { return }
            let signal = lock.withLock { () -> StopSignal? in
                guard !stopped else { return nil }
                stopped = true
                return _signal
            }
            signal?.stop()
        }
    }
}
