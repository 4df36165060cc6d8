import Crypto
import Foundation
import MasscastTesting
import PipelineCore
import RunLog
import RunState
import Runner
import Testing
import WeChatMP
import WeChatSandbox

let textPipeline = """
    version: 1
    name: behaviour-text
    account: brand-main
    inputs:
      tag_id: { type: integer, default: 101 }
    defaults:
      retry: { max_attempts: 8, initial_delay: 50ms, max_delay: 300ms }
    steps:
      - id: send
        uses: mass/sendall
        with:
          filter: { is_to_all: false, tag_id: "${{ inputs.tag_id }}" }
          msgtype: text
          text: { content: "CONTENT" }
      - id: check
        uses: mass/get
        with:
          msg_id: ${{ steps.send.outputs.msg_id }}
    """

func text(_ content: String = "autumn menu", name: String = "behaviour-text") -> String {
    textPipeline.replacingOccurrences(of: "CONTENT", with: content)
        .replacingOccurrences(of: "name: behaviour-text", with: "name: \(name)")
}

@Suite("runner behaviour", .serialized)
struct RunnerBehaviourTests {
    @Test("clientmsgid follows the recipe: mc1- + 24 bytes of SHA-256 over the canonical identity")
    func clientMsgIDRecipe() {
        let key = Idempotency.clientMsgID(
            appID: "wx8a3f2c71d905be46", name: "autumn", inputs: ["tag_id": .integer(100), "note": .string("秋")],
            step: "send", batch: 0, generation: 1)
        let canonical =
            #"{"account":"wx8a3f2c71d905be46","batch":0,"generation":1,"inputs":{"note":"秋","tag_id":100},"name":"autumn","step":"send"}"#
        let digest = SHA256.hash(data: Data(canonical.utf8))
        let hex = digest.prefix(24).map { String(format: "%02x", $0) }.joined()
        #expect(key == "mc1-" + hex)
        #expect(key.utf8.count == 52)
        #expect(key != Idempotency.clientMsgID(
            appID: "wx8a3f2c71d905be46", name: "autumn", inputs: ["tag_id": .integer(100), "note": .string("秋")],
            step: "send", batch: 1, generation: 1))
    }

    @Test("a completed broadcast is not sent again; --rerun is a new generation; other inputs a new broadcast")
    func completedNotSentAgain() async throws {
        try await Rig.with { rig in
            let path = try rig.write("text.yaml", text())
            let first = try await rig.run(path)
            #expect(first.exitCode == 0)
            let second = try await rig.run(path)
            guard case .alreadyCompleted(let runID, _) = second else {
                Issue.record("expected alreadyCompleted, got \(second)")
                return
            }
            #expect(runID == first.runID)
            #expect(await rig.sends().count == 1)
            let rerun = try await rig.run(path) { $0.rerun = true }
            #expect(rerun.exitCode == 0)
            let other = try await rig.run(path, inputs: ["tag_id=102"])
            #expect(other.exitCode == 0)
            let sends = await rig.sends()
            #expect(sends.count == 3)
            #expect(Set(sends.compactMap(\.clientMsgID)).count == 3)
            #expect(rig.logs.output.contains("already completed"))
        }
    }

    @Test("under 30% transient faults, a token revocation and a reset after the send was processed: one send per send step")
    func faults() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "faults: []", with: """
            faults:
              - { on: message/mass/sendall, reset: after, next: 1 }
              - { on: message/mass/send, reset: after, next: 1 }
              - { on: message/mass/get, revoke_token: true, next: 1 }
              - { on: "*", errcode: -1, rate: 0.12 }
              - { on: "*", errcode: 9500002, rate: 0.06 }
              - { on: "*", http: 503, rate: 0.06 }
              - { on: "*", reset: before, rate: 0.06 }
            """) }, time: .virtual) { rig in
            // Inside the rig's folder (its repository root): files outside it are not read.
            try FileManager.default.copyItem(
                at: Rig.root.appendingPathComponent("audiences/vip-openids.txt"),
                to: rig.dir.appendingPathComponent("vip-openids.txt"))
            let send = try rig.write("faulty.yaml", """
                version: 1
                name: faulty
                account: brand-main
                defaults:
                  retry: { max_attempts: 10, initial_delay: 50ms, max_delay: 300ms }
                steps:
                  - id: tag-send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "faults" }
                  - id: list-send
                    uses: mass/send
                    with:
                      touser_file: vip-openids.txt
                      msgtype: text
                      text: { content: "faults too" }
                  - id: status
                    uses: mass/get
                    with:
                      msg_id: ${{ steps.tag-send.outputs.msg_id }}
                  - id: wait
                    uses: mass/wait
                    with:
                      msg_ids: ${{ steps.list-send.outputs.msg_ids }}
                      timeout: 2m
                """)
            let result = try await rig.run(send)
            #expect(result.exitCode == 0, "\(result)\n\(rig.logs.output.suffix(3000))")
            let inspected = try await rig.inspectedSends()
            let keys = inspected.compactMap { $0["clientmsgid"] as? String }
            #expect(inspected.count == 2, "\(inspected)")
            #expect(Set(keys).count == 2)
            let steps = try await rig.steps(result)
            let attempts = try await rig.store.attempts(runID: try #require(result.runID))
            #expect(attempts.contains { $0.errcode == 45065 || $0.errcode == 45066 }, "the reset-after send was adopted")
            // The three forced faults each cost a second attempt (six in all). Which calls the
            // seeded random faults land on depends on the order the concurrent steps reach the
            // sandbox (a token fetch may draw them), so their number is free: under load a
            // full run once saw none land on a journaled call.
            #expect(attempts.count >= 6, "the forced faults were retried")
            #expect(steps["tag-send"]?.outcome == "success")
            // The adopted msg_id is the one WeChat holds.
            if case .integer(let id)? = rig.outputs(steps["tag-send"])["msg_id"] {
                let sandboxIDs = await rig.sends().map(\.msgID)
                #expect(sandboxIDs.contains(Int64(id)))
            }
            // No secret or token in any log line.
            let logs = rig.logs.output
            #expect(!logs.contains(Rig.secret))
            if let token = await rig.sandbox.engine.accessToken(appID: rig.account().appID) {
                #expect(!logs.contains(token))
            }
        }
    }

    @Test("a send the journal shows as sent with other content is an error: the pipeline was edited")
    func editedAfterSent() async throws {
        try await Rig.with { rig in
            let path = try rig.write("edit.yaml", text("first copy", name: "edited"))
            let first = try await rig.run(path) { $0.concurrency = 1 }
            #expect(first.exitCode == 0)
            // Mark the broadcast incomplete by journaling nothing new: run the edited file as a
            // rerun of the same generation is impossible, so simulate an unfinished run: a
            // journal entry of the same key in state unknown with another digest.
            let pipeline = try rig.load(path)
            let key = Idempotency.clientMsgID(
                appID: rig.account().appID, name: "edited", inputs: try Inputs.resolve([], pipeline: pipeline),
                step: "send", batch: 0, generation: 2)
            let now = Date()
            try await rig.store.journal(JournalEntry(
                api: rig.account().api, appID: rig.account().appID, key: key, runID: "earlier", stepID: "send", batch: 0,
                endpoint: "message/mass/sendall", contentDigest: "0000", recipients: 0, state: .unknown,
                firstAttemptAt: now, lastAttemptAt: now, updatedAt: now))
            let edited = try rig.write("edit.yaml", text("second copy", name: "edited"))
            let second = try await rig.run(edited) { $0.rerun = true }
            #expect(second.exitCode == 1, "\(second)")
            let steps = try await rig.steps(second)
            #expect(steps["send"]?.message?.contains("was edited since") == true, "\(steps["send"]?.message ?? "")")
            #expect(await rig.sends().count == 1)
        }
    }

    @Test("an unknown outcome older than 23 hours stops the run; --confirm-resend sends it once")
    func staleUnknownOutcome() async throws {
        try await Rig.with { rig in
            let path = try rig.write("stale.yaml", text("stale", name: "stale"))
            let pipeline = try rig.load(path)
            let key = Idempotency.clientMsgID(
                appID: rig.account().appID, name: "stale", inputs: try Inputs.resolve([], pipeline: pipeline),
                step: "send", batch: 0, generation: 1)
            let body: Value = .object([
                "filter": .object(["is_to_all": .bool(false), "tag_id": .integer(101)]), "msgtype": .string("text"),
                "text": .object(["content": .string("stale")]),
            ])
            let old = Date().addingTimeInterval(-24 * 3600)
            try await rig.store.journal(JournalEntry(
                api: rig.account().api, appID: rig.account().appID, key: key, runID: "earlier", stepID: "send", batch: 0,
                endpoint: "message/mass/sendall", contentDigest: Idempotency.digest(body.jsonText), recipients: 0,
                state: .unknown, firstAttemptAt: old, lastAttemptAt: old, updatedAt: old))
            let result = try await rig.run(path)
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("--confirm-resend"))
            #expect(result.exitCode == 3)
            #expect(await rig.sends().isEmpty)
            let resumed = try await rig.executor(path) { $0.confirmResend = true }.resume(runID: runID)
            #expect(resumed == .succeeded(runID: runID), "\(resumed)")
            #expect(await rig.sends().count == 1)
        }
    }

    @Test("batches beyond the day's remaining mass sends are refused before the first one")
    func dailyQuota() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "sends_per_day: 100", with: "sends_per_day: 2") }) { rig in
            let ids = (0..<25_000).map { String(format: "o4WmZ0test%018d", $0) }
            let file = rig.dir.appendingPathComponent("big.txt").path
            try ids.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let path = try rig.write("quota.yaml", """
                version: 1
                name: quota
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: big.txt
                      msgtype: text
                      text: { content: "three batches" }
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 1)
            let steps = try await rig.steps(result)
            #expect(steps["send"]?.message?.contains("refusing to start: 3 sends needed") == true, "\(steps["send"]?.message ?? "")")
            #expect(await rig.sends().isEmpty)
        }
    }

    @Test("touser_file: de-duplicated, split into the fewest balanced batches, one msg_id each")
    func batches() async throws {
        try await Rig.with { rig in
            var lines = (0..<20_001).map { String(format: "o4WmZ0batch%017d", $0) }
            lines.insert("", at: 5)
            lines.append(lines[10])  // a duplicate
            let file = rig.dir.appendingPathComponent("audience.txt").path
            try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let path = try rig.write("batches.yaml", """
                version: 1
                name: batches
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: audience.txt
                      msgtype: text
                      text: { content: "batches" }
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 0, "\(result)")
            let sends = await rig.sends()
            #expect(sends.map(\.audience) == [6667, 6667, 6667])
            let out = rig.outputs(try await rig.steps(result)["send"])
            #expect(out["batches"] == .integer(3))
            #expect(out["recipients"] == .integer(20_001))
            if case .list(let ids)? = out["msg_ids"] { #expect(ids.count == 3) } else { Issue.record("no msg_ids") }
            // Strictly in order (the next batch is prepared while one is in flight): the n-th
            // call carries batch n's clientmsgid, journaled as sent with the msg_id it got.
            if case .succeeded(let runID) = result {
                let journal = try await rig.store.journalEntries(runID: runID).sorted { $0.batch < $1.batch }
                #expect(journal.map(\.batch) == [0, 1, 2])
                #expect(journal.map(\.key) == sends.map(\.clientMsgID))
                #expect(journal.map(\.msgID) == sends.map(\.msgID))
                #expect(journal.allSatisfy { $0.state == .sent && $0.recipients == 6667 })
            } else {
                Issue.record("expected succeeded, got \(result)")
            }
            // Running it again sends nothing: the broadcast is complete.
            let again = try await rig.run(path)
            if case .alreadyCompleted = again {} else { Issue.record("expected alreadyCompleted, got \(again)") }
            #expect(await rig.sends().count == 3)
        }
    }

    @Test("a malformed OpenID fails the step with its line number before any send")
    func malformedAudience() async throws {
        try await Rig.with { rig in
            let file = rig.dir.appendingPathComponent("bad.txt").path
            try "o4WmZ0aaaaaaaaaaaaaaaaaaaaaa\no4WmZ0bbbbbbbbbbbbbbbbbbbbbb\nnot an openid\n".write(
                toFile: file, atomically: true, encoding: .utf8)
            let path = try rig.write("bad.yaml", """
                version: 1
                name: bad-audience
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: bad.txt
                      msgtype: text
                      text: { content: "x" }
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 1)
            let message = try await rig.steps(result)["send"]?.message ?? ""
            #expect(message.contains("bad.txt:3"), "\(message)")
            #expect(await rig.sends().isEmpty)
        }
    }

    @Test("conditions: failure(), always(), cancelled steps, continue_on_error and errcode")
    func conditions() async throws {
        try await Rig.with { rig in
            let path = try rig.write("conditions.yaml", """
                version: 1
                name: conditions
                account: brand-trial
                steps:
                  - id: send
                    uses: mass/sendall
                    continue_on_error: true
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: mpnews
                      mpnews: { media_id: "not-a-real-media-id" }
                  - id: fallback
                    uses: mass/preview
                    if: ${{ steps.send.errcode == 48001 || steps.send.errcode == 48008 }}
                    with:
                      towxname: editor_01
                      msgtype: text
                      text: { content: "fallback" }
                  - id: broken
                    uses: mass/get
                    with:
                      msg_id: 999
                  - id: after-broken
                    uses: mass/get
                    with:
                      msg_id: 999
                  - id: on-failure
                    uses: mass/speed
                    if: failure()
                  - id: cleanup
                    uses: mass/speed
                    if: always()
                  - id: only-on-success
                    uses: mass/speed
                    needs: [broken]
                    if: success()
                  - id: nothing-failed-here
                    uses: mass/speed
                    needs: [send]
                    if: failure()
                """)
            let result = try await rig.run(path, account: "brand-trial") { $0.concurrency = 1 }
            #expect(result.exitCode == 1)
            let s = try await rig.steps(result)
            #expect(s["send"]?.outcome == "failure")
            #expect(s["send"]?.conclusion == "success")
            #expect(s["send"]?.errcode == 48001)
            #expect(s["fallback"]?.outcome == "success")
            #expect(s["broken"]?.outcome == "failure")
            #expect(s["broken"]?.errcode == 40059)
            #expect(s["after-broken"]?.outcome == "cancelled")
            #expect(s["on-failure"]?.outcome == "success")
            #expect(s["cleanup"]?.outcome == "success")
            #expect(s["only-on-success"]?.outcome == "cancelled")
            #expect(s["nothing-failed-here"]?.outcome == "skipped")
            #expect(await rig.sends().isEmpty)
        }
    }

    @Test("a required field that resolves to null fails its step before any call")
    func nullAudience() async throws {
        try await Rig.with { rig in
            let path = try rig.write("null.yaml", """
                version: 1
                name: null-audience
                account: brand-main
                inputs:
                  tag_id: { type: integer }
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: "${{ inputs.tag_id }}" }
                      msgtype: text
                      text: { content: "x" }
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 1)
            let message = try await rig.steps(result)["send"]?.message ?? ""
            #expect(message.contains("filter.tag_id") && message.contains("null"), "\(message)")
            #expect(await rig.sends().isEmpty)
            let attempts = try await rig.store.attempts(runID: try #require(result.runID))
            #expect(attempts.isEmpty)
        }
    }

    @Test("stop (Ctrl-C) during a wait: exit 3, resumable; resume finishes without sending again")
    func stopAndResume() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 10m") }, time: .virtual) { rig in
            let path = try rig.write("wait.yaml", text("wait for it", name: "waiting") + """

                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      timeout: 30m
                """)
            // Stop when the wait reports that it is waiting, just before it sleeps on the clock:
            // the send is made and its job (10 minutes of review) is not done yet (a busy machine can
            // let virtual time pass heartbeats while a store write is slow).
            let stop = StopWhileWaiting(step: "finish", clock: rig.virtual)
            let executor = try rig.executor(path) { $0.progress = stop.progress }
            stop.signal = executor.stopSignal
            let result = await executor.start()
            guard case .stopped(let runID, _) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(stop.stoppedAt.count == 1, "stopped once, while waiting")
            #expect(result.exitCode == 3)
            #expect(await rig.sends().count == 1)
            let stopped = try await rig.steps(result)
            #expect(stopped["send"]?.outcome == "success")
            #expect(stopped["finish"]?.state == .pending)
            #expect(stopped["finish"]?.message?.hasSuffix("while waiting") == true, "\(stopped["finish"]?.message ?? "")")
            #expect(try #require(stop.elapsedAtStop) < .seconds(600), "stopped before the job's review ended")
            let resumed = try await rig.executor(path).resume(runID: runID)
            #expect(resumed == .succeeded(runID: runID), "\(resumed)")
            #expect(await rig.sends().count == 1)
            let steps = try await rig.steps(resumed)
            #expect(steps["finish"]?.outcome == "success")
        }
    }

    @Test("mass/wait ends on the push in the inbox, with its counts (polling off)")
    func waitFromInbox() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("inbox.yaml", text("push", name: "inbox") + """

                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      source: callback
                      timeout: 30m
                """)
            // The push goes into the inbox once the wait reports that it is waiting (the
            // timeout leaves a busy machine's store writes room in virtual time).
            let (waiting, waited) = AsyncStream.makeStream(of: String.self)
            let executor = try rig.executor(path) { options in
                options.progress = { text in if text.hasPrefix("[finish] waiting") { waited.yield(text) } }
            }
            let task = Task { await executor.start() }
            var iterator = waiting.makeAsyncIterator()
            let first = await iterator.next()
            waited.finish()
            #expect(first != nil)
            let id = try #require(await rig.sends().first?.msgID)
            let now = rig.now()
            try await rig.store.storeInboxEvent(InboxEvent(
                api: rig.account().endpoint, originalID: "gh_5d1c0e8f7a93", msgID: id, status: "send success", totalCount: 150, filterCount: 148,
                sentCount: 147, errorCount: 1, copyrightCheckState: 1, createdAt: now, receivedAt: now))
            let result = await task.value
            #expect(result.exitCode == 0, "\(result)")
            let out = rig.outputs(try await rig.steps(result)["finish"])
            #expect(out["status"] == .string("send success"))
            #expect(out["sent_count"] == .integer(147))
            #expect(out["filter_count"] == .integer(148))
            #expect(out["copyright_check_state"] == .integer(1))
            #expect(rig.logs.output.contains("MASSSENDJOBFINISH for msg_id \(id)"))
        }
    }

    @Test("mass/wait times out by its own timeout and is not retried")
    func waitTimeout() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "review: 10s", with: "review: 1h") }, time: .virtual) { rig in
            let path = try rig.write("timeout.yaml", text("slow", name: "slow") + """

                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      timeout: 2s
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 1)
            let message = try await rig.steps(result)["finish"]?.message ?? ""
            #expect(message.contains("timed out"), "\(message)")
        }
    }

    @Test("JSON log lines carry dotted keys and no secret")
    func logs() async throws {
        try await Rig.with { rig in
            let path = try rig.write("logs.yaml", text("logs", name: "logs"))
            let result = try await rig.run(path)
            #expect(result.exitCode == 0)
            var events = Set<String>()
            for line in rig.logs.lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["run.id"] as? String == result.runID)
                #expect(object["pipeline"] as? String == "logs")
                if let e = object["event"] as? String { events.insert(e) }
                if object["event"] as? String == "attempt.ok" {
                    #expect(object["attempt"] as? Int == 1)
                    #expect(object["http.status"] as? Int == 200)
                    #expect(object["step.id"] != nil && object["uses"] != nil && object["duration_ms"] != nil)
                }
            }
            #expect(events.isSuperset(of: ["run.started", "step.started", "attempt.ok", "send.accepted", "step.finished", "run.finished"]))
            #expect(!rig.logs.output.contains(Rig.secret))
        }
    }
}

/// Stops a run from its wait step's progress report ("[finish] waiting 1s · …"), which the
/// wait gives just before it sleeps on the run's clock: the stop lands while the runner waits.
private final class StopWhileWaiting: @unchecked Sendable {
    let step: String
    let clock: VirtualClock?
    private let lock = NSLock()
    private var _signal: StopSignal?
    private var _stoppedAt: [String] = []
    private var _elapsedAtStop: Duration?

    init(step: String, clock: VirtualClock?) {
        self.step = step
        self.clock = clock
    }

    var signal: StopSignal? {
        get { lock.withLock { _signal } }
        set { lock.withLock { _signal = newValue } }
    }
    /// The progress texts at which it stopped the run.
    var stoppedAt: [String] { lock.withLock { _stoppedAt } }
    /// How far virtual time had moved when it stopped the run.
    var elapsedAtStop: Duration? { lock.withLock { _elapsedAtStop } }

    var progress: @Sendable (String) -> Void {
        { [self] text in
            guard text.hasPrefix("[\(step)] waiting") else { return }
            let signal = lock.withLock { () -> StopSignal? in
                guard _stoppedAt.isEmpty else { return nil }
                _stoppedAt.append(text)
                _elapsedAtStop = clock?.elapsed
                return _signal
            }
            signal?.stop()
        }
    }
}
