import Crypto
import Foundation
import MasscastTesting
import PipelineCore
import RunLog
import RunState
import Runner
import StateSQLite
import Testing
import WeChatMP
import WeChatSandbox

/// A send whose check fails once (HTTP 503, not retried): the run fails after the send.
/// `text` replaces the text payload's fields (`content_file: menu.txt`).
func sendThenFlakyCheck(name: String, content: String = "winter menu", tag: Int = 101, text: String? = nil) -> String {
    """
    version: 1
    name: \(name)
    account: brand-main
    steps:
      - id: send
        uses: mass/sendall
        with:
          filter: { is_to_all: false, tag_id: \(tag) }
          msgtype: text
          text: { \(text ?? "content: \"\(content)\"") }
      - id: check
        uses: mass/get
        retry: { max_attempts: 1 }
        with:
          msg_id: ${{ steps.send.outputs.msg_id }}
    """
}

/// Upload an image, send it, check: the send's digest must not depend on the media_id.
func uploadThenSend(name: String, file: String) -> String {
    """
    version: 1
    name: \(name)
    account: brand-main
    steps:
      - id: up
        uses: media/upload
        with: { type: image, file: \(file) }
      - id: send
        uses: mass/sendall
        with:
          filter: { is_to_all: false, tag_id: 101 }
          msgtype: image
          images:
            media_ids: ["${{ steps.up.outputs.media_id }}"]
      - id: check
        uses: mass/get
        retry: { max_attempts: 1 }
        with:
          msg_id: ${{ steps.send.outputs.msg_id }}
    """
}

/// An executor of `pipeline` for an account set up by hand (a rehearsal's identity, or a
/// second sandbox standing in for the real API), on the rig's store, logging to its logs.
private func handmadeExecutor(
    _ rig: Rig, _ pipeline: Pipeline, at path: String, account: AccountSettings, transport: any WeChatTransport,
    configure: (inout RunOptions) -> Void
) throws -> RunExecutor {
    var options = rig.baseOptions()
    options.inputs = try Inputs.resolve([], pipeline: pipeline)
    configure(&options)
    return RunExecutor(
        pipeline: pipeline, pipelineFile: path, pipelineDigest: "x", account: account, store: rig.store,
        transport: transport,
        logger: LogFormat.makeLogger(label: "t", format: .json, sink: rig.logs, scrubber: Scrubber(), level: .debug),
        options: options)
}

@Suite("safe re-runs", .serialized)
struct SafeRerunTests {
    @Test("mc2 clientmsgids carry the project id; without one the mc1 recipe is unchanged")
    func projectKeys() {
        let inputs: [String: Value] = ["tag_id": .integer(100)]
        let mc1 = Idempotency.clientMsgID(
            appID: "wx8a3f2c71d905be46", name: "autumn", inputs: inputs, step: "send", batch: 0, generation: 1)
        let canonical =
            #"{"account":"wx8a3f2c71d905be46","batch":0,"generation":1,"inputs":{"tag_id":100},"name":"autumn","project":"mc-abcdefghij0123456789","step":"send"}"#
        let hex = SHA256.hash(data: Data(canonical.utf8)).prefix(24).map { String(format: "%02x", $0) }.joined()
        let mc2 = Idempotency.clientMsgID(
            format: 2, project: "mc-abcdefghij0123456789", appID: "wx8a3f2c71d905be46", name: "autumn", inputs: inputs,
            step: "send", batch: 0, generation: 1)
        #expect(mc2 == "mc2-" + hex)
        #expect(mc2.utf8.count == 52 && mc1.hasPrefix("mc1-"))
        let otherProject = Idempotency.clientMsgID(
            format: 2, project: "mc-zzzzzzzzzz0123456789", appID: "wx8a3f2c71d905be46", name: "autumn", inputs: inputs,
            step: "send", batch: 0, generation: 1)
        #expect(otherProject != mc2, "two repositories sharing an account never share keys")
        #expect(Idempotency.keyFormat(project: "") == 1 && Idempotency.keyFormat(project: "mc-x") == 2)
    }

    @Test("a failed run is continued by the next run: the send is kept, the failed step runs again")
    func failedRunContinued() async throws {
        try await Rig.with { rig in
            let path = try rig.write("flaky.yaml", sendThenFlakyCheck(name: "flaky"))
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let first = try await rig.run(path)
            guard case .failed(let runID, _) = first else {
                Issue.record("expected a failed run, got \(first)")
                return
            }
            #expect(await rig.sends().count == 1)
            let second = try await rig.run(path)
            #expect(second == .succeeded(runID: runID), "the failed run is continued, not started over: \(second)")
            #expect(await rig.sends().count == 1, "the send is not repeated")
            #expect(rig.logs.output.contains("\"event\":\"run.continuing\""))
            #expect(rig.logs.output.contains("failed at check"), "the log says where the run stood")
            // `resume` of a failed run follows the same rule (it no longer refuses failed runs).
            let third = try await rig.run(path)
            guard case .alreadyCompleted(let completedBy, _) = third else {
                Issue.record("expected already completed, got \(third)")
                return
            }
            #expect(completedBy == runID)
        }
    }

    @Test("resume of a failed run continues it (it used to be refused)")
    func resumeFailedRun() async throws {
        try await Rig.with { rig in
            let path = try rig.write("resume-failed.yaml", sendThenFlakyCheck(name: "resume-failed"))
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let first = try await rig.run(path)
            let runID = try #require(first.runID)
            #expect(first.exitCode == 1, "\(first)")
            let resumed = try await rig.executor(path).resume(runID: runID)
            #expect(resumed == .succeeded(runID: runID), "\(resumed)")
            #expect(await rig.sends().count == 1)
        }
    }

    @Test("re-uploading the same file gives the same send digest: no 'edited' error, no second send")
    func reuploadSameFile() async throws {
        try await Rig.with { rig in
            let image = rig.dir.appendingPathComponent("poster.jpg")
            try FileManager.default.copyItem(at: Rig.root.appendingPathComponent("assets/winter-poster-1.jpg"), to: image)
            let path = try rig.write("upload.yaml", uploadThenSend(name: "upload-digest", file: "poster.jpg"))
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let first = try await rig.run(path)
            #expect(first.exitCode == 1, "\(first)")
            let uploadsBefore = await rig.sandbox.engine.uploadedMediaCount(appID: rig.account().appID)
            // Four days later the media is past WeChat's 3-day lifetime: it is uploaded again
            // (a new media_id), and the send is still recognised by its source digest.
            let later = Date().addingTimeInterval(4 * 86_400)
            let second = try await rig.run(path) { $0.now = { later } }
            #expect(second.exitCode == 0, "\(second)\n\(rig.logs.output.suffix(3000))")
            #expect(await rig.sandbox.engine.uploadedMediaCount(appID: rig.account().appID) == uploadsBefore + 1)
            #expect(rig.logs.output.contains("\"event\":\"step.media_expired\""))
            #expect(await rig.sends().count == 1, "the send is adopted from the journal, not repeated")
            #expect(!rig.logs.output.contains("edited"))
        }
    }

    @Test("an edit to a file the send reads (content_file, an uploaded image) after the send is refused, naming it; an unchanged file is adopted")
    func fileEditRefused() async throws {
        try await Rig.with { rig in
            try "winter menu, first draft".write(to: rig.dir.appendingPathComponent("menu.txt"), atomically: true, encoding: .utf8)
            let image = rig.dir.appendingPathComponent("poster.jpg")
            try FileManager.default.copyItem(at: Rig.root.appendingPathComponent("assets/winter-poster-1.jpg"), to: image)
            let text = sendThenFlakyCheck(name: "file-edit", text: "content_file: menu.txt")
            let path = try rig.write("file-edit.yaml", text)
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            #expect(try await rig.run(path).exitCode == 1)
            // The same file: adopted from the journal, no second send.
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let same = try await rig.run(path)
            #expect(same.exitCode == 1, "\(same)")
            #expect(try await rig.steps(same)["send"]?.outcome == "success")
            // The file edited: refused, naming the field; nothing sent.
            try "winter menu, SECOND draft".write(to: rig.dir.appendingPathComponent("menu.txt"), atomically: true, encoding: .utf8)
            let edited = try await rig.run(path)
            #expect(edited.exitCode == 1, "\(edited)")
            let message = try await rig.steps(edited)["send"]?.message ?? ""
            #expect(message.contains("text.content_file sha256:"), "\(message)")
            #expect(message.contains("--rerun"), "\(message)")
            #expect(await rig.sends().count == 1)

            // An image replaced after its send: the send that refers to the upload is refused.
            let upload = try rig.write("image-edit.yaml", uploadThenSend(name: "image-edit", file: "poster.jpg"))
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            #expect(try await rig.run(upload).exitCode == 1)
            try FileManager.default.removeItem(at: image)
            try FileManager.default.copyItem(at: Rig.root.appendingPathComponent("assets/autumn-tea-thumb.jpg"), to: image)
            let later = Date().addingTimeInterval(4 * 86_400)
            let replaced = try await rig.run(upload) { $0.now = { later } }
            #expect(replaced.exitCode == 1, "\(replaced)")
            let imageMessage = try await rig.steps(replaced)["send"]?.message ?? ""
            #expect(imageMessage.contains("was already sent") && imageMessage.contains("edited"), "\(imageMessage)")
            #expect(await rig.sends().count == 2)
        }
    }

    @Test("a send journaled by masscast 0.1's v2 scheme (files named by path) is still recognised: adopted, not taken for edited")
    func v2JournalAdopted() async throws {
        try await Rig.with { rig in
            try "winter menu".write(to: rig.dir.appendingPathComponent("menu.txt"), atomically: true, encoding: .utf8)
            let text = sendThenFlakyCheck(name: "v2-compat", text: "content_file: menu.txt")
            let path = try rig.write("v2.yaml", text)
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            let first = try await rig.run(path)
            #expect(first.exitCode == 1)
            // Rewrite the entry as 0.1 wrote it: `v2:` over the view with the file's path.
            let runID = try #require(first.runID)
            var entry = try #require(try await rig.store.journalEntries(runID: runID).first { $0.stepID == "send" })
            #expect(entry.contentDigest.hasPrefix("v3:"))
            let view = #"{"filter":{"is_to_all":false,"tag_id":101},"msgtype":"text","text":{"content_file":"menu.txt"}}"#
            let v2 = SHA256.hash(data: Data(("masscast mass/sendall v2\n" + view).utf8)).map { String(format: "%02x", $0) }.joined()
            entry.contentDigest = "v2:" + v2
            try await rig.store.journal(entry)
            let second = try await rig.run(path)
            #expect(second.exitCode == 0, "\(second)\n\(rig.logs.output.suffix(2000))")
            #expect(!rig.logs.output.contains("edited"))
            #expect(await rig.sends().count == 1)
        }
    }

    @Test("files outside the repository root (absolute, ../, a symbolic link out) are not read: the step fails before any call, the content not quoted",
          arguments: ["/etc/hostname", "../../../../../../etc/hostname", "link.txt"])
    func outsideFilesRefused(_ file: String) async throws {
        try await Rig.with { rig in
            // The rig's folder holds a .git: it is the repository root.
            try? FileManager.default.createSymbolicLink(
                atPath: rig.dir.appendingPathComponent("link.txt").path, withDestinationPath: "/etc/hostname")
            let hostname = (try? String(contentsOfFile: "/etc/hostname", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let text = """
                version: 1
                name: outside-\(abs(file.hashValue % 1000))
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content_file: "\(file)" }
                  - id: members
                    uses: mass/send
                    needs: []
                    with:
                      touser_file: "\(file)"
                      msgtype: text
                      text: { content: "x" }
                """
            let path = try rig.write("outside.yaml", text)
            let result = try await rig.run(path)
            #expect(result.exitCode == 1, "\(result)")
            let steps = try await rig.steps(result)
            for id in ["send", "members"] {
                let message = steps[id]?.message ?? ""
                #expect(message.contains("outside the repository root"), "\(id): \(message)")
                if hostname.count >= 4 { #expect(!message.contains(hostname)) }
            }
            if file == "link.txt" {
                #expect(steps["send"]?.message?.contains("symbolic link") == true, "\(steps["send"]?.message ?? "")")
            }
            #expect(await rig.sends().isEmpty)
        }
    }

    @Test("an edit after the send is named: step, field, old → new, and what each way out does")
    func editNamed() async throws {
        try await Rig.with { rig in
            let path = try rig.write("edit.yaml", sendThenFlakyCheck(name: "edit-named", tag: 101))
            try await rig.addFaults("- { on: message/mass/get, http: 503, next: 1 }")
            #expect(try await rig.run(path).exitCode == 1)
            _ = try rig.write("edit.yaml", sendThenFlakyCheck(name: "edit-named", tag: 102))
            let second = try await rig.run(path)
            #expect(second.exitCode == 1, "\(second)")
            let message = try await rig.steps(second)["send"]?.message ?? ""
            #expect(message.contains("filter.tag_id 101 → 102"), "\(message)")
            #expect(message.contains("--rerun") && message.contains("SENDS AGAIN"), "\(message)")
            #expect(message.contains("restore"), "\(message)")
            #expect(await rig.sends().count == 1)
        }
    }

    @Test("--rerun is refused while a send's outcome is unknown; after it is settled it sends again")
    func rerunRefusedWhileUnknown() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write(
                "unknown.yaml",
                sendThenFlakyCheck(name: "rerun-unknown").replacingOccurrences(
                    of: "  - id: check", with: "    retry: { max_attempts: 1 }\n  - id: check"))
            try await rig.addFaults("- { on: message/mass/sendall, reset: after, next: 1 }")
            let first = try await rig.run(path)
            #expect(first.exitCode == 3, "an unknown outcome stops the run: \(first)")
            #expect(await rig.sends().count == 1, "the reset came after the sandbox accepted it")

            let refused = try await rig.run(path) { $0.rerun = true }
            guard case .invalid(let message) = refused else {
                Issue.record("expected a refusal, got \(refused)")
                return
            }
            #expect(message.contains("--rerun refused") && message.contains("unknown outcome"), "\(message)")
            #expect(await rig.sends().count == 1)

            // Run again: the unknown send is settled with the same key (45065), the run finishes.
            let settled = try await rig.run(path)
            #expect(settled.exitCode == 0, "\(settled)\n\(rig.logs.output.suffix(2000))")
            #expect(await rig.sends().count == 1)
            // Now --rerun is a deliberate second send.
            let again = try await rig.run(path) { $0.rerun = true }
            #expect(again.exitCode == 0, "\(again)")
            #expect(await rig.sends().count == 2)
        }
    }

    @Test("45065 for a key this store never journaled is adopted with a warning, shown in the report")
    func adoptedUnrecorded() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("lost.yaml", text("lost state", name: "lost-state"))
            #expect(try await rig.run(path).exitCode == 0)
            // A second machine, or a fresh disk: another state store, the same broadcast.
            let other = try SQLiteStateStore(path: rig.dir.appendingPathComponent("other.sqlite").path)
            let logs = LogSink.memory()
            let logger = LogFormat.makeLogger(label: "t", format: .json, sink: logs, scrubber: Scrubber(), level: .debug)
            let result = try await rig.executor(path, store: other, logger: logger) { options in
                options.waitGrace = RunOptions().waitGrace
                options.firstPollDelay = RunOptions().firstPollDelay
            }.start()
            #expect(result.exitCode == 0, "the lost-state case converges: \(result)")
            #expect(await rig.sends().count == 1, "never sent twice")
            #expect(logs.output.contains("\"event\":\"send.adopted_unrecorded\""), "\(logs.output)")
            #expect(logs.output.contains("from another state store"))
            let runID = try #require(result.runID)
            let entries = try await other.journalEntries(runID: runID)
            #expect(entries.count == 1 && entries.first?.adoptedUnrecorded == true)
            let record = try #require(try await other.run(runID))
            let report = RunReport(run: record, steps: [], attempts: [], journal: entries)
            #expect(report.sends.first?.adoptedUnrecorded == true)
            #expect(RunTimeline.renderText(report).contains("ADOPTED from another state store"))
            try other.close()
        }
    }

    @Test("a rehearsal's journal never satisfies a real send on the same store")
    func rehearsalJournalApart() async throws {
        try await Rig.with { rig in
            // The "real" API: a second sandbox, which never saw the rehearsal's key.
            let realAPI = try await RunningSandbox.start(
                engine: SandboxEngine(fixture: rig.fixture, pushSender: HTTPPushSender()))
            defer { Task { await realAPI.stop() } }
            let path = try rig.write("apart.yaml", text("apart", name: "apart"))
            let pipeline = try rig.load(path)
            var rehearsal = rig.account()
            rehearsal.rehearse(fixtureDigest: "feedface", instance: "one")
            var real = rig.account()
            real.apiBase = realAPI.baseURL
            real.api = realAPI.baseURL
            real.endpoint = realAPI.baseURL
            func executor(_ account: AccountSettings, _ transport: any WeChatTransport) throws -> RunExecutor {
                try handmadeExecutor(rig, pipeline, at: path, account: account, transport: transport) {
                    $0.sandbox = true
                    $0.enforceSchedule = false
                }
            }
            #expect(try await executor(rehearsal, rig.transport).start().exitCode == 0)
            #expect(await rig.sends().count == 1)
            // The real account (another API identity) on the same store: its own broadcast,
            // its own journal, its own quota count.
            let result = try await executor(real, AsyncHTTPTransport()).start()
            #expect(result.exitCode == 0, "\(result)")
            #expect(await realAPI.engine.sends().count == 1, "the real API got its send; nothing was adopted")
            let since = Date().addingTimeInterval(-3600)
            #expect(try await rig.store.acceptedSends(api: real.api, appID: real.appID, since: since) == 1)
            #expect(try await rig.store.acceptedSends(api: rehearsal.api, appID: rehearsal.appID, since: since) == 1)
        }
    }

    @Test("an unfinished rehearsal is continued by its own process, and rehearsed again from the start by another")
    func unfinishedRehearsalOfAnotherProcess() async throws {
        try await Rig.with { rig in
            // The send is accepted; the get asks about a msg_id no sandbox knows, so the run fails.
            let path = try rig.write(
                "again.yaml",
                """
                version: 1
                name: rehearsal-again
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "again" }
                  - id: check
                    uses: mass/get
                    with: { msg_id: 4242 }
                """)
            let pipeline = try rig.load(path)
            var rehearsal = rig.account()
            rehearsal.rehearse(fixtureDigest: "feedface", instance: "one")
            func executor(owner: String) throws -> RunExecutor {
                try handmadeExecutor(rig, pipeline, at: path, account: rehearsal, transport: rig.transport) {
                    $0.sandbox = true
                    $0.owner = owner
                }
            }
            func events(_ name: String) -> [String] { rig.logs.lines.filter { $0.contains("\"event\":\"\(name)\"") } }
            let first = try await executor(owner: "host-a:1").start()
            #expect(first.exitCode == 1, "\(first)")
            #expect(await rig.sends().count == 1)
            // The same process (its sandbox is alive) continues its own run: the send is adopted.
            let same = try await executor(owner: "host-a:1").start()
            #expect(same.exitCode == 1, "\(same)")
            #expect(events("run.continuing").count == 1 && events("run.rehearsal_restarted").isEmpty)
            #expect(await rig.sends().count == 1, "adopted, not sent again")
            // Another process: that run's sandbox ended with its process; the broadcast is
            // rehearsed again from the start, as generation 2, and sends again (to the sandbox).
            let other = try await executor(owner: "host-b:2").start()
            #expect(other.exitCode == 1, "\(other)")
            #expect(events("run.rehearsal_restarted").count == 1 && events("run.continuing").count == 1)
            #expect(events("run.started").last?.contains("\"generation\":2") == true, "\(events("run.started"))")
            #expect(await rig.sends().count == 2)
            // A real account's unfinished run is never restarted this way: another process
            // continues it, and its send is adopted. (Its own API: a second sandbox.)
            let realAPI = try await RunningSandbox.start(
                engine: SandboxEngine(fixture: rig.fixture, pushSender: HTTPPushSender()))
            defer { Task { await realAPI.stop() } }
            var real = rig.account()
            real.apiBase = realAPI.baseURL
            real.api = realAPI.baseURL
            real.endpoint = realAPI.baseURL
            func realExecutor(owner: String) throws -> RunExecutor {
                try handmadeExecutor(rig, pipeline, at: path, account: real, transport: AsyncHTTPTransport()) {
                    $0.owner = owner
                }
            }
            let realFirst = try await realExecutor(owner: "host-a:1").start()
            #expect(realFirst.exitCode == 1, "\(realFirst)")
            let realOther = try await realExecutor(owner: "host-b:2").start()
            #expect(realOther.exitCode == 1, "\(realOther)")
            #expect(events("run.rehearsal_restarted").count == 1 && events("run.continuing").count == 2)
            #expect(await realAPI.engine.sends().count == 1, "the real broadcast's send was adopted, not repeated")
        }
    }

    @Test("a runner whose heartbeat is three intervals old is gone, whatever host it ran on")
    func heartbeatLiveness() {
        let now = Date()
        let alive = RunLiveness.isAlive(
            owner: "ci-runner-7:123", heartbeatAt: now.addingTimeInterval(-10), now: now, heartbeatInterval: 5,
            processAlive: { _ in true })
        let gone = RunLiveness.isAlive(
            owner: "ci-runner-7:123", heartbeatAt: now.addingTimeInterval(-16), now: now, heartbeatInterval: 5,
            processAlive: { _ in true })
        #expect(alive && !gone)
        #expect(RunStatus.running.display(ownerAlive: false) == "interrupted")
        #expect(RunStatus.running.display(ownerAlive: true) == "running")
    }
}
