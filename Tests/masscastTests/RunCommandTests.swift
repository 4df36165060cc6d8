import Foundation
import MasscastTesting
import RunLog
import RunState
import StateSQLite
import Testing
import WeChatSandbox

/// End-to-end tests of `masscast run`, `resume` and `runs`: the built binary against a sandbox
/// started in this process, killed and interrupted at the points that matter, with the
/// sandbox's own record (`GET /sandbox/sends`) as the witness of what was sent.
@Suite("masscast run, resume and runs")
struct RunCommandTests {
    static let checkStep = """
          - id: check
            uses: mass/get
            with:
              msg_id: ${{ steps.send.outputs.msg_id }}
        """

    // MARK: 1. Crashes

    @Test(
        "a runner SIGKILLed on the send path is resumed to exactly one send",
        arguments: ["send.before_call", "send.after_response", "send.after_journal"])
    func crashOnSendPath(point: String) async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let name = "crash-" + point.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-")
            let pipeline = try ws.write("pipelines/\(name).yaml", sendAndWaitPipeline(name: name))

            let crashed = try await ws.run(pipeline, env: ["MASSCAST_CRASH_AT": point])
            #expect(crashed.signalled && crashed.status == SIGKILL, "\(crashed)")
            let runID = try #require(crashed.runID, "no run.id in the log\n\(crashed)")
            let sentBefore = try await ws.sends()
            #expect(sentBefore.count == (point == "send.before_call" ? 0 : 1), "\(sentBefore)")

            let reportFile = ws.dir.appendingPathComponent("report.json").path
            // A report file left readable by others is made private when written over.
            #expect(FileManager.default.createFile(atPath: reportFile, contents: Data(), attributes: [.posixPermissions: 0o644]))
            let resumed = try await ws.resume(runID, ["--report", reportFile])
            #expect(resumed.exited(0), "\(resumed)")
            ws.recordFile(reportFile)
            let mode = try FileManager.default.attributesOfItem(atPath: reportFile)[.posixPermissions] as? Int
            #expect(mode == 0o600, "report mode \(String(mode ?? 0, radix: 8))")

            // The run id is the one `runs list` shows; the run is now finished.
            let listed = try await ws.runsList()
            #expect(listed.count == 1)
            #expect(listed.first?["id"] as? String == runID)
            #expect(listed.first?["status"] as? String == "succeeded")

            // The journal's key and msg_id, as `runs show` reports them.
            let report = try await ws.report(runID)
            let journal = report.sends
            #expect(journal.count == 1)
            let entry = try #require(journal.first)
            let key = entry.clientmsgid
            #expect(key.hasPrefix("mc1-") && key.utf8.count == 52)
            #expect(entry.state == "sent")

            // The sandbox accepted exactly one send under that key, and it is the only one.
            let sandboxSends = try await ws.sends(clientMsgID: key)
            #expect(sandboxSends.count == 1, "\(sandboxSends)")
            #expect(try await ws.sends().count == 1)
            let accepted = try #require(sandboxSends.first)

            let send = try #require(report.step("send"))
            #expect(send.conclusion == "success")
            #expect(send.int64("msg_id") == accepted.msgID)
            #expect(entry.msgID == accepted.msgID)
            let finish = try #require(report.step("finish"))
            #expect(finish.conclusion == "success")
            #expect(finish.string("msg_status") == "SEND_SUCCESS")

            let attempts = send.attempts
            let errcodes = attempts.compactMap(\.errcode)
            switch point {
            case "send.before_call":
                // The intent was journaled, nothing reached WeChat: resume repeats the key once.
                #expect(!resumed.events("send.reconcile", step: "send").isEmpty, "\(resumed)")
                let sent = resumed.events("send.accepted", step: "send")
                #expect(sent.count == 1 && sent.first?.int64("msg_id") == accepted.msgID, "\(resumed)")
                #expect(attempts.count == 1 && errcodes.isEmpty, "\(attempts)")
            case "send.after_response":
                // WeChat sent it, the journal does not know: the same key within the retry
                // window is 45066 (waited out), then 45065 carries the earlier msg_id, adopted.
                // (Under load the sandbox may have accepted it later than the journal's
                // intent, so the wait can meet 45066 again before the window ends; and a resume
                // that starts after the window meets 45065 at once. How many 45066 answers come
                // first depends on the machine's load, not on the runner.)
                #expect(errcodes.last == 45065 && errcodes.dropLast().allSatisfy { $0 == 45066 }, "\(attempts)")
                let adopted = resumed.events("send.adopted", step: "send")
                #expect(adopted.count == 1, "\(resumed)")
                #expect(adopted.first?.int64("msg_id") == accepted.msgID)
                #expect(adopted.first?["errcode"] as? Int == 45065)
                #expect(resumed.events("send.accepted").isEmpty)
            default:
                // The journal says sent: resume adopts it without calling WeChat.
                let adopted = resumed.events("send.adopted", step: "send")
                #expect(adopted.count == 1 && adopted.first?.int64("msg_id") == accepted.msgID, "\(resumed)")
                #expect(resumed.events("send.reconcile").isEmpty && resumed.events("send.accepted").isEmpty)
                #expect(attempts.count == 1 && errcodes.isEmpty, "\(attempts)")
            }

            // A finished run is not resumed again.
            let twice = try await ws.resume(runID)
            #expect(twice.exited(2), "\(twice)")
            #expect(try await ws.sends().count == 1)
            await ws.expectNoSecrets()
        }
    }

    @Test("a runner SIGKILLed from outside during mass/wait is resumed without a second send")
    func killedDuringWait() async throws {
        // A manual clock: the job stays in review until the test moves the clock.
        let clock = ManualClock(start: Date())
        try await withSandbox([("review: 1s", "review: 1h")], clock: clock) { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/killed.yaml", sendAndWaitPipeline(name: "killed-in-wait"))
            let process = try ws.start(["run", pipeline] + ws.common)
            // Poll the state store: the send journaled as sent and the wait begun.
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
            // While its runner lives, neither a second run nor a resume takes it over (exit 3).
            let runningID = try #require(try await ws.store().runs(limit: 1).first?.id)
            let second = try await ws.run(pipeline)
            #expect(second.exited(3), "\(second)")
            #expect(second.err.contains("is being run by"), "\(second)")
            let early = try await ws.resume(runningID)
            #expect(early.exited(3), "\(early)")
            process.signal(SIGKILL)
            let killed = await ws.finish(process)
            #expect(killed.signalled && killed.status == SIGKILL, "\(killed)")
            let runID = try #require(killed.runID, "\(killed)")
            #expect(runID == runningID)
            #expect(try await ws.sends().map(\.status) == ["SENDING"])
            // Its runner is gone: `runs list` shows the run as interrupted, not running.
            let listedText = try await ws.masscast(["runs", "list", "--state", ws.statePath])
            #expect(listedText.exited(0) && listedText.out.contains("interrupted"), "\(listedText)")
            let listedJSON = try await ws.runsList()
            #expect(listedJSON.first?["status"] as? String == "running")
            #expect(listedJSON.first?["interrupted"] as? Bool == true)

            clock.advance(by: .seconds(400))  // 4,000 s of sandbox time: review over, job done
            let resumed = try await ws.resume(runID)
            #expect(resumed.exited(0), "\(resumed)")
            let resumedLine = resumed.events("run.resumed").first?["msg"] as? String
            #expect(resumedLine?.contains("0 of 2 steps keep their results") == true, "\(resumed)")
            // The send step runs again and finds its send in the journal: adopted, no call.
            #expect(resumed.events("send.accepted").isEmpty && resumed.events("send.reconcile").isEmpty)
            #expect(resumed.events("send.adopted").count == 1)

            let sends = try await ws.sends()
            #expect(sends.count == 1, "\(sends)")
            let report = try await ws.report(runID)
            let key = try #require(report.sends.first?.clientmsgid)
            #expect(try await ws.sends(clientMsgID: key).count == 1)
            #expect(report.step("send")?.int64("msg_id") == sends.first?.msgID)
            #expect(report.step("finish")?.conclusion == "success")
            #expect(report.run.status.rawValue == "succeeded")
            await ws.expectNoSecrets()
        }
    }

    // MARK: 2. Identity: completed, --rerun, other inputs

    @Test("a completed broadcast is not sent again; --rerun and other inputs are new sends")
    func secondRuns() async throws {
        try await withSandbox { sandbox in
            // No original_id: mass/wait ends on the polled status, without a push grace period.
            let ws = try RunWorkspace(sandbox, originalID: false)
            defer { ws.cleanUp() }
            let source = RunTestEnv.root.appendingPathComponent("pipelines/text-to-tag.yaml")
            let pipeline = try ws.write("pipelines/text-to-tag.yaml", try String(contentsOf: source, encoding: .utf8))

            let first = try await ws.run(pipeline, ["--input", "tag_id=100"])
            #expect(first.exited(0), "\(first)")
            let firstRun = try #require(first.runID)
            let afterFirst = try await ws.sends()
            #expect(afterFirst.count == 1)
            let firstKey = try #require(afterFirst.first?.clientMsgID)

            let again = try await ws.run(pipeline, ["--input", "tag_id=100"])
            #expect(again.exited(0), "\(again)")
            #expect(again.err.contains("already completed"), "\(again)")
            #expect(again.events("run.already_completed").first?["run.id"] as? String == firstRun)
            #expect(again.events("run.started").isEmpty)
            #expect(try await ws.sends().count == 1)

            let rerun = try await ws.run(pipeline, ["--input", "tag_id=100", "--rerun"])
            #expect(rerun.exited(0), "\(rerun)")
            let afterRerun = try await ws.sends()
            #expect(afterRerun.count == 2, "\(afterRerun)")
            let rerunKey = try #require(afterRerun.last?.clientMsgID)
            #expect(rerunKey != firstKey)
            #expect(afterRerun.last?.tagID == 100)
            let rerunID = try #require(rerun.runID)
            #expect(rerunID != firstRun)

            let other = try await ws.run(pipeline, ["--input", "tag_id=101"])
            #expect(other.exited(0), "\(other)")
            let afterOther = try await ws.sends()
            #expect(afterOther.count == 3, "\(afterOther)")
            let otherKey = try #require(afterOther.last?.clientMsgID)
            #expect(otherKey != firstKey && otherKey != rerunKey)
            #expect(afterOther.last?.tagID == 101)

            // And that other broadcast is itself completed now.
            let otherAgain = try await ws.run(pipeline, ["--input", "tag_id=101"])
            #expect(otherAgain.exited(0) && otherAgain.err.contains("already completed"), "\(otherAgain)")
            #expect(try await ws.sends().count == 3)

            let runs = try await ws.runsList()
            let generations = Dictionary(
                runs.compactMap { r in (r["id"] as? String).map { ($0, r["generation"] as? Int ?? 0) } },
                uniquingKeysWith: { a, _ in a })
            #expect(generations[firstRun] == 1)
            #expect(generations[rerunID] == 2)
            #expect(generations[try #require(other.runID)] == 1)
            await ws.expectNoSecrets()
        }
    }

    // MARK: 3. Ctrl-C

    @Test("Ctrl-C during mass/wait stops with exit 3 and a resume hint; resume finishes with one send")
    func interruptDuringWait() async throws {
        let clock = ManualClock(start: Date())
        try await withSandbox([("review: 1s", "review: 1h")], clock: clock) { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write(
                "pipelines/interrupted.yaml", sendAndWaitPipeline(name: "interrupted", extraSteps: Self.checkStep))
            let stopped = try await ws.runInterruptedDuringWait(pipeline)
            #expect(stopped.exited(3), "\(stopped)")
            let runID = try #require(stopped.runID)
            #expect(stopped.err.contains("masscast resume \(runID)"), "\(stopped)")
            #expect(stopped.events("run.stopped").count == 1)
            let listed = try await ws.runsList()
            #expect(listed.first?["status"] as? String == "stopped")
            #expect(try await ws.sends().map(\.status) == ["SENDING"])

            clock.advance(by: .seconds(400))  // the job finishes
            let resumed = try await ws.resume(runID)
            #expect(resumed.exited(0), "\(resumed)")
            #expect(resumed.events("send.accepted").isEmpty && resumed.events("send.reconcile").isEmpty)
            let sends = try await ws.sends()
            #expect(sends.count == 1, "\(sends)")
            #expect(sends.first?.status == "SEND_SUCCESS")
            let report = try await ws.report(runID)
            #expect(report.run.status.rawValue == "succeeded")
            #expect(report.step("finish")?.conclusion == "success")
            #expect(report.step("check")?.string("msg_status") == "SEND_SUCCESS")
            #expect(report.step("send")?.int64("msg_id") == sends.first?.msgID)
            await ws.expectNoSecrets()
        }
    }

    // MARK: 4. Exit codes and errors

    @Test("an invalid pipeline exits 2 with file:line:col on stderr")
    func invalidPipeline() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write(
                "pipelines/bad.yaml",
                """
                version: 1
                name: bad
                account: brand-main
                steps:
                  - id: check
                    uses: mass/get
                    with:
                      msg_id: 1
                      retires: 3

                """)
            let r = try await ws.run(pipeline)
            #expect(r.exited(2), "\(r)")
            #expect(r.err.contains("\(pipeline):9:7: error: unknown key 'retires'"), "\(r)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("an unknown --input exits 2 and names the declared inputs")
    func unknownInput() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "unknown-input"))
            let r = try await ws.run(pipeline, ["--input", "tag=101"])
            #expect(r.exited(2), "\(r)")
            #expect(r.err.contains("--input tag") && r.err.contains("tag_id"), "\(r)")
            let badType = try await ws.run(pipeline, ["--input", "tag_id=vip"])
            #expect(badType.exited(2), "\(badType)")
            #expect(badType.err.contains("tag_id"), "\(badType)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("a missing secret variable exits 2, names the variable and prints no secret")
    func missingSecret() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "missing-secret"))
            // The secret is in the environment, but under a name the config does not use.
            let r = try await ws.run(
                pipeline, env: [RunTestEnv.secretVariable: nil, "MASSCAST_SECRET_BRAND_MAIN": RunTestEnv.secret])
            #expect(r.exited(2), "\(r)")
            #expect(r.err.contains(RunTestEnv.secretVariable), "\(r)")
            let empty = try await ws.run(pipeline, env: [RunTestEnv.secretVariable: ""])
            #expect(empty.exited(2), "\(empty)")
            #expect(empty.err.contains(RunTestEnv.secretVariable), "\(empty)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("a schedule window in the future exits 4 without --sandbox, and nothing is sent")
    func scheduleInFuture() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let f = ISO8601DateFormatter()
            f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
            let opens = f.string(from: Date().addingTimeInterval(86_400))
            let closes = f.string(from: Date().addingTimeInterval(2 * 86_400))
            let schedule = "schedule:\n  not_before: \"\(opens)\"\n  not_after: \"\(closes)\"\n"
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "later", schedule: schedule))
            let r = try await ws.run(pipeline)
            #expect(r.exited(4), "\(r)")
            #expect(r.err.contains("schedule") && r.err.contains(opens), "\(r)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("a run that fails exits 1, and runs show lists the attempt with its errcode")
    func failedRun() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write(
                "pipelines/p.yaml",
                """
                version: 1
                name: get-unknown
                account: brand-main
                steps:
                  - id: check
                    uses: mass/get
                    with:
                      msg_id: 999

                """)
            let r = try await ws.run(pipeline)
            #expect(r.exited(1), "\(r)")
            let runID = try #require(r.runID)
            let finished = r.events("step.finished", step: "check").first
            #expect(finished?["outcome"] as? String == "failure" && finished?["errcode"] as? Int == 40059, "\(r)")

            let report = try await ws.report(runID)
            #expect(report.run.status.rawValue == "failed")
            let check = try #require(report.step("check"))
            #expect(check.conclusion == "failure")
            #expect(check.errcode == 40059)
            let attempts = check.attempts
            #expect(attempts.count == 1)
            #expect(attempts.first?.errcode == 40059)
            #expect(attempts.first?.errorClass == "permanent")

            let text = try await ws.masscast(["runs", "show", runID, "--state", ws.statePath])
            #expect(text.exited(0), "\(text)")
            #expect(text.out.contains("✗ check") && text.out.contains("errcode=40059"), "\(text)")
            #expect(text.out.contains("attempt 1") && text.out.contains("errcode 40059"), "\(text)")
            await ws.expectNoSecrets()
        }
    }

    // MARK: 5. runs list / runs show

    @Test("runs list and runs show in text, json and mermaid")
    func runsOutputs() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write(
                "pipelines/p.yaml", sendAndWaitPipeline(name: "shown", extraSteps: Self.checkStep))
            let r = try await ws.run(pipeline)
            #expect(r.exited(0), "\(r)")
            let runID = try #require(r.runID)
            let msgID = try #require(try await ws.sends().first?.msgID)

            let list = try await ws.masscast(["runs", "list", "--state", ws.statePath])
            #expect(list.exited(0), "\(list)")
            let lines = list.out.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("PIPELINE") == true, "\(list)")
            #expect(lines.count == 2)
            #expect(lines.last?.hasPrefix(runID) == true, "\(list)")
            #expect(lines.last?.contains("shown") == true && lines.last?.contains("succeeded") == true, "\(list)")

            let json = try await ws.runsList()
            #expect(json.count == 1)
            let run = try #require(json.first)
            #expect(run["id"] as? String == runID)
            #expect(run["pipeline"] as? String == "shown")
            #expect(run["status"] as? String == "succeeded")
            #expect(run["generation"] as? Int == 1)
            #expect(run["app_id"] as? String == RunTestEnv.appID)
            #expect(run["sandbox"] as? Bool == false)
            #expect((run["inputs"] as? [String: Any])?["tag_id"] as? Int == 100)

            let text = try await ws.masscast(["runs", "show", runID, "--state", ws.statePath, "--format", "text"])
            #expect(text.exited(0), "\(text)")
            #expect(text.out.hasPrefix("Run       \(runID)\n"), "\(text)")
            #expect(text.out.contains("Status    succeeded"))
            for step in ["send", "finish", "check"] {
                #expect(text.out.contains("✓ \(step)"), "\(text)")
            }
            #expect(text.out.contains("msg_id=\(msgID)"))
            #expect(text.out.contains("3 steps: 3 succeeded, 0 failed, 0 skipped, 0 cancelled"), "\(text)")
            #expect(text.out.contains("1 send accepted"), "\(text)")

            let report = try await ws.report(runID)
            #expect(report.run.id == runID)
            #expect(report.steps.map(\.id) == ["send", "finish", "check"])
            #expect(report.summary.sendsAccepted == 1 && report.summary.succeeded == 3)
            #expect(report.sends.first?.msgID == msgID)

            let mermaid = try await ws.masscast(["runs", "show", runID, "--state", ws.statePath, "--format", "mermaid"])
            #expect(mermaid.exited(0), "\(mermaid)")
            #expect(mermaid.out.hasPrefix("gantt\n"), "\(mermaid)")
            for step in ["send", "finish", "check"] {
                #expect(mermaid.out.contains("section \(step)\n"), "\(mermaid)")
            }

            let missing = try await ws.masscast(["runs", "show", "r00000000-000000-nosuch", "--state", ws.statePath])
            #expect(missing.exited(2), "\(missing)")
            #expect(missing.err.contains("no run r00000000-000000-nosuch"), "\(missing)")

            // A state file that does not exist is an error, never a new empty store ("no runs").
            let emptyState = ws.dir.appendingPathComponent("empty/state.sqlite").path
            let none = try await ws.masscast(["runs", "list", "--state", emptyState])
            #expect(none.exited(2) && none.err.contains("no state file at \(emptyState)"), "\(none)")
            #expect(!FileManager.default.fileExists(atPath: emptyState))
            // A store that exists but has no runs lists none.
            let emptyStore = try SQLiteStateStore(path: ws.dir.appendingPathComponent("fresh/state.sqlite").path)
            try emptyStore.close()
            let noneJSON = try await ws.masscast(
                ["runs", "list", "--state", ws.dir.appendingPathComponent("fresh/state.sqlite").path, "--format", "json"])
            #expect(noneJSON.exited(0), "\(noneJSON)")
            #expect((try? JSONSerialization.jsonObject(with: Data(noneJSON.out.utf8))) as? [Any] != nil, "\(noneJSON)")
            await ws.expectNoSecrets()
        }
    }

    // MARK: 6. Secrets

    @Test("no secret or access token in logs, runs output or the report, also with faults and --verbose")
    func secretsNeverPrinted() async throws {
        let faults = """
            faults:
              - { on: message/mass/get, http: 503, next: 1 }
              - { on: message/mass/get, revoke_token: true, skip: 2, next: 1 }
            """
        try await withSandbox([("faults: []", faults)]) { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write(
                "pipelines/p.yaml", sendAndWaitPipeline(name: "secrets", extraSteps: Self.checkStep))
            let reportFile = ws.dir.appendingPathComponent("report.json").path
            let r = try await ws.run(pipeline, ["--verbose", "--report", reportFile])
            #expect(r.exited(0), "\(r)")
            ws.recordFile(reportFile)
            let runID = try #require(r.runID)
            let report = try RunReport.load(contentsOf: reportFile)
            #expect(report.run.id == runID)
            #expect(!r.events("attempt.ok").isEmpty, "--verbose logs every attempt\n\(r)")
            // Both faults fired: a 503 (logged with its URL, if anything logged URLs) and a
            // revoked token (40001, then a new token).
            #expect(try await ws.faults().map { $0["fired"] as? Int } == [1, 1])
            for format in ["text", "json", "mermaid"] {
                let shown = try await ws.masscast(["runs", "show", runID, "--state", ws.statePath, "--format", format])
                #expect(shown.exited(0), "\(shown)")
            }
            _ = try await ws.runsList()
            // The text log, too.
            let again = try await ws.run(pipeline, ["--rerun", "--log-format", "text", "--verbose"])
            #expect(again.exited(0), "\(again)")

            let token = await sandbox.engine.accessToken(appID: RunTestEnv.appID)
            #expect(token != nil)
            let cached = try await ws.store().loadToken(api: ws.sandbox.baseURL, appID: RunTestEnv.appID)
            #expect(cached != nil, "the run caches its token in the state file")
            #expect(ws.transcript.all.count >= 10)
            await ws.expectNoSecrets()
        }
    }

    // MARK: 7. Quickstart

    @Test("the README quickstart: masscast run pipelines/video-to-tag.yaml --sandbox")
    func quickstart() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: logs) }
        var env = ProcessInfo.processInfo.environment
        env["MASSCAST_CRASH_AT"] = nil
        let process = try BinaryProcess(
            ["run", "pipelines/video-to-tag.yaml", "--sandbox", "--log-format", "json"], environment: env,
            directory: RunTestEnv.root)
        let r = await process.wait()
        #expect(r.exited(0), "\(r)")
        let sent = r.events("send.accepted", step: "send")
        #expect(sent.count == 1, "\(r)")
        #expect(sent.first?.int64("msg_id") != nil)
        let waited = r.events("step.finished", step: "finish").first
        #expect(waited?["outcome"] as? String == "success", "\(r)")
        #expect((waited?["msg"] as? String)?.contains("SEND_SUCCESS") == true, "\(r)")
        #expect(r.events("run.finished").first?["status"] as? String == "succeeded")
        #expect(r.err.contains("temporary"), "run --sandbox says its state store was temporary\n\(r)")
        #expect(!r.out.contains(RunTestEnv.secret) && !r.err.contains(RunTestEnv.secret))
    }
}
