import Foundation
import MasscastTesting
import RunState
import StateSQLite
import Testing
import WeChatSandbox

/// What CI and people do to a broadcast: run it again after Ctrl-C, rehearse it on the same
/// state file, point the state at a store that does not exist. The built binary against a
/// sandbox in this process, with the sandbox's own records as the witness.
@Suite("safe re-runs: the binary")
struct SafeRerunCommandTests {
    static func uploadSendWait(name: String) -> String {
        """
        version: 1
        name: \(name)
        account: brand-main
        steps:
          - id: up
            uses: media/upload
            with: { type: image, file: poster.jpg }
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 100 }
              msgtype: image
              images:
                media_ids: ["${{ steps.up.outputs.media_id }}"]
          - id: finish
            uses: mass/wait
            with:
              msg_id: ${{ steps.send.outputs.msg_id }}
              source: poll
              poll_interval: 1s
              timeout: 10m

        """
    }

    @Test("upload → send → Ctrl-C in the wait → the same `masscast run` again: one send, no second upload")
    func sameRunAgainAfterCtrlC() async throws {
        let clock = ManualClock(start: Date())
        try await withSandbox([("review: 1s", "review: 1h")], clock: clock) { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/ctrl-c.yaml", Self.uploadSendWait(name: "ctrl-c"))
            try FileManager.default.copyItem(
                atPath: RunTestEnv.root.appendingPathComponent("assets/winter-poster-1.jpg").path,
                toPath: ws.dir.appendingPathComponent("pipelines/poster.jpg").path)

            let stopped = try await ws.runInterruptedDuringWait(pipeline)
            #expect(stopped.exited(3), "\(stopped)")
            let runID = try #require(stopped.runID)
            #expect(await sandbox.engine.uploadedMediaCount(appID: RunTestEnv.appID) == 1)
            #expect(try await ws.sends().count == 1)

            clock.advance(by: .seconds(4000))  // the job finishes
            // What a CI retry does: the same command again.
            let again = try await ws.run(pipeline)
            #expect(again.exited(0), "\(again)")
            #expect(again.runID == runID, "the stopped run is continued, not started over\n\(again)")
            #expect(again.events("run.continuing").count == 1, "\(again)")
            #expect(again.events("send.accepted").isEmpty, "\(again)")
            #expect(!again.err.contains("edited"), "\(again)")
            #expect(try await ws.sends().count == 1, "exactly one accepted send")
            #expect(await sandbox.engine.uploadedMediaCount(appID: RunTestEnv.appID) == 1, "no second upload")
            await ws.expectNoSecrets()
        }
    }

    @Test("a rehearsal and then the real run on one state file: the real API gets its send")
    func rehearsalThenRealRun() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            // The in-process rehearsal sandbox has the same AppIDs as this "real" API.
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "rehearsed"))
            let rehearsal = try await ws.run(pipeline, ["--sandbox"])
            #expect(rehearsal.exited(0), "\(rehearsal)")
            #expect(rehearsal.events("send.accepted").count == 1, "\(rehearsal)")
            #expect(try await ws.sends().isEmpty, "a rehearsal sends nothing to the real API")

            let real = try await ws.run(pipeline)
            #expect(real.exited(0), "\(real)")
            #expect(real.events("send.accepted").count == 1, "the real run sends, not adopts\n\(real)")
            #expect(real.events("send.adopted").isEmpty && real.events("run.already_completed").isEmpty, "\(real)")
            #expect(try await ws.sends().count == 1, "exactly one send to the real API")

            // And the rehearsal, repeated, is the same broadcast (its fixture, not its port).
            let again = try await ws.run(pipeline, ["--sandbox"])
            #expect(again.exited(0), "\(again)")
            #expect(again.events("run.already_completed").count == 1, "\(again)")
            #expect(try await ws.sends().count == 1)
            await ws.expectNoSecrets()
        }
    }

    @Test("a --sandbox rehearsal with --state, Ctrl-C in the wait: resume says its send's sandbox is gone; the same command again rehearses it from the start")
    func rehearsalAgainAfterCtrlC() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "rehearsal-again"))
            let stopped = try await ws.runInterruptedDuringWait(pipeline, extra: ["--sandbox"])
            #expect(stopped.exited(3), "\(stopped)")
            let stoppedID = try #require(stopped.runID)
            // `masscast resume` continues that very run: its send is adopted (a rehearsal is the
            // same broadcast), but the sandbox that accepted it ended with its process.
            let resumed = try await ws.resume(stoppedID)
            #expect(resumed.exited(1), "\(resumed)")
            #expect(resumed.events("send.adopted", step: "send").count == 1, "\(resumed)")
            let warning = resumed.events("send.adopted_from_gone_sandbox", step: "send").first
            let message = warning?["msg"] as? String ?? ""
            #expect(message.contains("ended with its process") && message.contains("40059") && message.contains("masscast run --sandbox"), "\(resumed)")
            #expect(warning?["level"] as? String == "warning")
            #expect(resumed.events("step.finished", step: "finish").first?["errcode"] as? Int == 40059, "\(resumed)")
            // What a CI retry does: the same command again. An unfinished rehearsal of another
            // process is not continued: the broadcast is rehearsed again, in full, in this
            // process's sandbox, as the next generation; it succeeds.
            let again = try await ws.run(pipeline, ["--sandbox"])
            #expect(again.exited(0), "\(again)")
            let restarted = again.events("run.rehearsal_restarted").first
            #expect(restarted?["previous_run.id"] as? String == stoppedID, "\(again)")
            #expect((restarted?["msg"] as? String ?? "").contains("rehearsing the broadcast again from the start"), "\(again)")
            #expect(again.events("run.continuing").isEmpty && again.events("send.adopted").isEmpty, "\(again)")
            #expect(again.events("send.accepted").count == 1, "\(again)")
            #expect(again.events("run.started").first?["generation"] as? Int == 2, "\(again)")
            #expect(again.runID != nil && again.runID != stoppedID, "\(again)")
            // Converged: the same command once more has nothing to do.
            let once = try await ws.run(pipeline, ["--sandbox"])
            #expect(once.exited(0) && once.events("run.already_completed").count == 1, "\(once)")
            #expect(try await ws.sends().isEmpty, "nothing reached the API the workspace's config names")
            await ws.expectNoSecrets()
        }
    }

    @Test("a rehearsal resumed with --state: a fresh sandbox; an unknown outcome of the old one is never repeated")
    func rehearsalResumedUnknownNotRepeated() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "rehearsal-unknown"))
            // The runner dies after the in-process sandbox accepted the send, before its answer
            // was journaled: the journal holds an intent, and that sandbox is gone with it.
            let crashed = try await ws.run(pipeline, ["--sandbox"], env: ["MASSCAST_CRASH_AT": "send.after_response"])
            #expect(crashed.signalled && crashed.status == SIGKILL, "\(crashed)")
            let runID = try #require(crashed.runID)
            let resumed = try await ws.resume(runID)
            #expect(resumed.exited(1), "\(resumed)")
            let finished = resumed.events("step.finished", step: "send").first
            let message = finished?["msg"] as? String ?? ""
            #expect(message.contains("sandbox is gone") && message.contains("never repeats"), "\(resumed)")
            #expect(resumed.events("send.accepted").isEmpty && resumed.events("send.reconcile").isEmpty, "\(resumed)")
            // The same command again does not continue that run (its sandbox is gone): it
            // rehearses the broadcast again from the start, and nothing reaches the real API.
            let again = try await ws.run(pipeline, ["--sandbox"])
            #expect(again.exited(0) && again.runID != runID, "\(again)")
            #expect(again.events("run.rehearsal_restarted").first?["previous_run.id"] as? String == runID, "\(again)")
            // --rerun starts a fresh rehearsal generation too (a rehearsal's unknown never blocks it).
            let rerun = try await ws.run(pipeline, ["--sandbox", "--rerun"])
            #expect(rerun.exited(0), "\(rerun)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("two rehearsals of different broadcasts sharing one state file each see only their own push")
    func rehearsalsSharingState() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            func pipeline(_ name: String, tag: Int) -> String {
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
                      text: { content: "\(name)" }
                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      source: callback
                      timeout: 2m

                """
            }
            // Tags 101 and 102 have different follower counts, so their pushes differ.
            let a = try ws.write("pipelines/a.yaml", pipeline("rehearsal-a", tag: 101))
            let b = try ws.write("pipelines/b.yaml", pipeline("rehearsal-b", tag: 102))
            let first = try await ws.run(a, ["--sandbox"])
            #expect(first.exited(0), "\(first)")
            let second = try await ws.run(b, ["--sandbox"])
            #expect(second.exited(0), "\(second)")
            // Both sandboxes numbered their job 1000000001; each wait ended on its own push.
            let store = try ws.store()
            func total(_ r: BinaryResult) async throws -> String? {
                let steps = try await store.steps(runID: try #require(r.runID))
                let outputs = steps.first { $0.stepID == "finish" }?.outputsJSON ?? ""
                guard let range = outputs.range(of: #""total_count":[0-9]+"#, options: .regularExpression) else { return nil }
                return String(outputs[range])
            }
            let firstTotal = try await total(first)
            let secondTotal = try await total(second)
            #expect(firstTotal != nil && secondTotal != nil, "\(String(describing: firstTotal)) \(String(describing: secondTotal))")
            #expect(firstTotal != secondTotal, "the second rehearsal read the first one's push: \(String(describing: secondTotal))")
            let pushes = try await store.inboxEvents(api: "", originalID: RunTestEnv.originalID, msgIDs: [1_000_000_001])
            #expect(pushes.isEmpty, "pushes are stored under their sandbox instance, never under no API")
            await ws.expectNoSecrets()
        }
    }

    @Test("state.url naming a PostgreSQL server that cannot be reached exits 2, sends nothing and writes no SQLite file")
    func stateURLUnreachable() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            try (config + "state:\n  url: postgres://masscast@127.0.0.1:9/masscast?connect_timeout=2\n")
                .write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "pg"))
            let r = try await ws.masscast(["run", pipeline, "--config", ws.configPath, "--log-format", "json"])
            #expect(r.exited(2), "\(r)")
            #expect(r.err.contains("PostgreSQL state store postgres://masscast@127.0.0.1:9/masscast"), "\(r)")
            let created = FileManager.default.enumerator(atPath: ws.dir.path)?.compactMap { $0 as? String }
                .filter { $0.contains("sqlite") } ?? []
            #expect(created.isEmpty, "no SQLite file may be created: \(created)")
            // --state with a password in the URL is refused before anything runs.
            let flag = try await ws.masscast([
                "run", pipeline, "--state", "postgres://masscast:hunter22@127.0.0.1:9/x", "--log-format", "json",
            ])
            #expect(flag.exited(2), "\(flag)")
            #expect(flag.err.contains("carries a password") && !flag.err.contains("hunter22"), "\(flag)")
            #expect(try await ws.sends().isEmpty)
            await ws.expectNoSecrets()
        }
    }

    @Test("runs and resume find the store as run does; a missing --state is an error, not an empty store")
    func storeLocation() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            try (config + "state:\n  path: var/state.sqlite\n").write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "located"))
            // No --state: run discovers masscast.yaml from the pipeline's folder and uses state.path.
            let r = try await ws.masscast(["run", pipeline, "--log-format", "json"])
            #expect(r.exited(0), "\(r)")
            let statePath = ws.dir.appendingPathComponent("var/state.sqlite").path
            #expect(FileManager.default.fileExists(atPath: statePath))
            // `runs list` from the project folder finds the same store.
            let listed = try await ws.masscast(["runs", "list", "--format", "json"])
            #expect(listed.exited(0), "\(listed)")
            #expect(listed.out.contains(try #require(r.runID)), "\(listed)")
            let shown = try await ws.masscast(["runs", "show", try #require(r.runID)])
            #expect(shown.exited(0), "\(shown)")
            // A --state that does not exist: an error, and no file is created.
            let missing = ws.dir.appendingPathComponent("nope/state.sqlite").path
            let none = try await ws.masscast(["runs", "list", "--state", missing])
            #expect(none.exited(2), "\(none)")
            #expect(none.err.contains(missing), "\(none)")
            #expect(!FileManager.default.fileExists(atPath: missing))
            let resume = try await ws.masscast(["resume", "r-nope", "--state", missing])
            #expect(resume.exited(2), "\(resume)")
            #expect(!FileManager.default.fileExists(atPath: missing))
            await ws.expectNoSecrets()
        }
    }

    @Test("masscast init writes a project id and ignores .masscast/; validate warns without one")
    func initProject() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/p.yaml", sendAndWaitPipeline(name: "project"))
            let before = try await ws.masscast(["validate", pipeline, "--config", ws.configPath])
            #expect(before.exited(0), "\(before)")
            #expect(before.out.contains("MC2029"), "\(before)")

            let initialized = try await ws.masscast(["init"])
            #expect(initialized.exited(0), "\(initialized)")
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            let line = try #require(config.split(separator: "\n").first { $0.hasPrefix("project: ") })
            let id = String(line.dropFirst("project: ".count))
            #expect(id.hasPrefix("mc-") && id.count == 23, "\(id)")
            #expect(config.contains("app_id: \(RunTestEnv.appID)"), "the rest of the file is kept")
            let ignore = try String(contentsOfFile: ws.dir.appendingPathComponent(".gitignore").path, encoding: .utf8)
            #expect(ignore.contains(".masscast/"))
            let twice = try await ws.masscast(["init"])
            #expect(twice.exited(0) && twice.out.contains("already has project id \(id)"), "\(twice)")

            let after = try await ws.masscast(["validate", pipeline, "--config", ws.configPath])
            #expect(after.exited(0) && !after.out.contains("MC2029"), "\(after)")
            // The keys are now mc2- keys that carry the project id.
            let run = try await ws.run(pipeline)
            #expect(run.exited(0), "\(run)")
            let sends = try await ws.sends()
            #expect(sends.count == 1 && sends.first?.clientMsgID?.hasPrefix("mc2-") == true, "\(sends)")

            // A fresh folder: init writes a whole masscast.yaml.
            let fresh = ws.dir.appendingPathComponent("fresh")
            try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
            let created = try await ws.masscast(["init", "--dir", fresh.path])
            #expect(created.exited(0), "\(created)")
            let validated = try await ws.masscast(["validate", fresh.appendingPathComponent("masscast.yaml").path])
            #expect(validated.exited(0) && !validated.out.contains("warning"), "\(validated)")
            await ws.expectNoSecrets()
        }
    }
}
