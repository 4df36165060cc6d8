import Foundation
import MasscastTesting
import Testing
import WeChatSandbox

/// End-to-end tests of `masscast apply DIR`: the built binary against a sandbox started in this
/// process, with the sandbox's record of accepted sends (`GET /sandbox/sends`) as the witness.
@Suite("masscast apply")
struct ApplyCommandTests {
    /// A broadcast to the tag its required input names (given by its inputs file).
    static func broadcast(_ name: String, text: String = "Hello", extra: String = "") -> String {
        """
        version: 1
        name: \(name)
        account: brand-main
        inputs:
          tag_id: { type: integer, required: true }
        \(extra)steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: "${{ inputs.tag_id }}" }
              msgtype: text
              text: { content: "\(text)" }

        """
    }

    /// Writes `pipelines/NAME.yaml` and its inputs file (tag 101).
    static func add(_ ws: RunWorkspace, _ name: String, text: String = "Hello", extra: String = "") throws {
        try ws.write("pipelines/\(name).yaml", broadcast(name, text: text, extra: extra))
        try ws.write("pipelines/\(name).inputs.yaml", "tag_id: 101\n")
    }

    struct Summary {
        var exitCode: Int
        var rows: [String: [String: Any]]
        func action(_ name: String) -> String? { rows[name]?["action"] as? String }
    }

    /// `masscast apply pipelines --format json` with the workspace's state and config.
    static func apply(_ ws: RunWorkspace, _ extra: [String] = [], state: String? = nil) async throws -> (BinaryResult, Summary) {
        var arguments = ["apply", "pipelines", "--format", "json", "--config", ws.configPath, "--log-format", "json"]
        arguments += ["--state", state ?? ws.statePath] + extra
        let result = try await ws.masscast(arguments)
        let object = try #require(
            try? JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any], "\(result)")
        var rows: [String: [String: Any]] = [:]
        for row in object["broadcasts"] as? [[String: Any]] ?? [] { rows[row["name"] as? String ?? ""] = row }
        #expect(object["format_version"] as? Int == 1)
        return (result, Summary(exitCode: object["exit_code"] as? Int ?? -1, rows: rows))
    }

    @Test("apply twice sends once; a fresh state file within the window adopts the send; each pipeline's state and the worst exit code")
    func applyTwiceAndAdoption() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.add(ws, "news")
            try ws.write("pipelines/later.yaml", Self.broadcast("later", extra: "apply: manual\n"))
            try ws.write("pipelines/later.inputs.yaml", "tag_id: 101\n")
            try ws.write("pipelines/no-inputs.yaml", Self.broadcast("no-inputs"))
            try ws.write(
                "pipelines/status.yaml",
                "version: 1\nname: status\naccount: brand-main\nsteps:\n  - id: get\n    uses: mass/get\n    with: {msg_id: 1000000001}\n")

            let (first, one) = try await Self.apply(ws)
            #expect(first.exited(2), "\(first)")  // the worst: needs-inputs is invalid input
            #expect(one.exitCode == 2)
            #expect(one.action("news") == "send")
            #expect(one.rows["news"]?["result"] as? String == "sent (run \(one.rows["news"]?["run_id"] as? String ?? "?"))")
            #expect(one.action("later") == "noop")
            #expect((one.rows["later"]?["reason"] as? String)?.contains("apply: manual") == true)
            #expect(one.action("no-inputs") == "needs-inputs")
            #expect((one.rows["no-inputs"]?["reason"] as? String)?.contains("no-inputs.inputs.yaml") == true)
            #expect(one.action("status") == "noop")
            let sent = try await ws.sends()
            #expect(sent.count == 1, "\(sent)")

            try FileManager.default.removeItem(atPath: ws.dir.appendingPathComponent("pipelines/no-inputs.yaml").path)
            let (second, two) = try await Self.apply(ws)
            #expect(second.exited(0), "\(second)")
            #expect(two.action("news") == "noop")
            #expect(try await ws.sends().count == 1)

            // Another state file (state lost): apply sends again under the same clientmsgid,
            // which WeChat (the sandbox) answers with the earlier msg_id: nothing new is sent.
            let fresh = ws.dir.appendingPathComponent("other/state.sqlite").path
            let (third, three) = try await Self.apply(ws, state: fresh)
            #expect(third.exited(0), "\(third)")
            #expect(three.action("news") == "send")
            let after = try await ws.sends()
            #expect(after.count == 1, "\(after)")
            #expect(after.first?.msgID == sent.first?.msgID)
            await ws.expectNoSecrets()
        }
    }

    @Test("an edit after sending is a drift (nothing sent, exit 6, the field named); --rerun sends it again; a deleted file is an orphan")
    func driftRerunOrphan() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.add(ws, "news")
            let (first, _) = try await Self.apply(ws)
            #expect(first.exited(0), "\(first)")
            #expect(try await ws.sends().count == 1)

            try Self.add(ws, "news", text: "Hello again")
            let (edited, drift) = try await Self.apply(ws)
            #expect(edited.exited(6), "\(edited)")
            #expect(drift.action("news") == "drift")
            let changes = drift.rows["news"]?["changes"] as? [[String: Any]] ?? []
            #expect(changes.contains { $0["field"] as? String == "text.content" && $0["sent"] as? String == "Hello" && $0["now"] as? String == "Hello again" }, "\(changes)")
            #expect(try await ws.sends().count == 1)

            // The text summary names it too; --dry-run prints the plan of the folder.
            let text = try await ws.masscast(["apply", "pipelines"] + ws.common)
            #expect(text.exited(6))
            #expect(text.out.contains("~ send.text.content: Hello → Hello again"), "\(text.out)")
            let dry = try await ws.masscast(["apply", "pipelines", "--dry-run"] + ws.common)
            #expect(dry.exited(6), "\(dry)")
            #expect(dry.out.contains("drift"), "\(dry.out)")
            #expect(try await ws.sends().count == 1)

            let (rerun, again) = try await Self.apply(ws, ["--rerun", "news"])
            #expect(rerun.exited(0), "\(rerun)")
            #expect(again.action("news") == "send")
            #expect(again.rows["news"]?["new_generation"] as? Bool == true)
            #expect(try await ws.sends().count == 2)

            try FileManager.default.removeItem(atPath: ws.dir.appendingPathComponent("pipelines/news.yaml").path)
            let (gone, orphan) = try await Self.apply(ws)
            #expect(gone.exited(0), "\(gone)")
            #expect(orphan.action("news") == "orphan")
            #expect(try await ws.sends().count == 2)
        }
    }

    @Test("two apply processes on one folder at once: every broadcast is sent exactly once")
    func concurrentAppliers() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let names = ["one", "two", "three"]
            for name in names { try Self.add(ws, name, text: "Hello \(name)") }
            // Create the state file first, so that both processes open the same one.
            _ = try ws.store()

            let arguments = ["apply", "pipelines", "--format", "json"] + ws.common
            let a = try ws.start(arguments)
            let b = try ws.start(arguments)
            let results = [await ws.finish(a), await ws.finish(b)]
            for r in results { #expect(r.exited(0) || r.exited(6), "\(r)") }
            let sends = try await ws.sends()
            #expect(sends.count == names.count, "\(sends)")
            #expect(Set(sends.compactMap(\.clientMsgID)).count == names.count)

            let (_, after) = try await Self.apply(ws)
            #expect(names.allSatisfy { after.action($0) == "noop" })
        }
    }

    @Test("an applier taking over a lease whose holder let it expire logs run.taken_over naming that holder and the new epoch")
    func takeoverLogged() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.add(ws, "news")
            let (first, _) = try await Self.apply(ws)
            #expect(!first.err.contains("run.taken_over"), "\(first)")
            let store = try ws.store()
            let identity = try #require(try await store.runs(limit: 1).first?.identity)
            // Another machine's applier took the lease and let it expire (its clock an hour ago).
            let theirs = try #require(
                try await store.acquireLease(identity, owner: "ci-other:4242", ttl: 60, now: Date(timeIntervalSinceNow: -3_600)).acquired)
            let (second, _) = try await Self.apply(ws)
            #expect(second.err.contains("run.taken_over"), "\(second)")
            #expect(second.err.contains("over from ci-other:4242"), "\(second)")
            #expect(second.err.contains("lease epoch \(theirs.epoch + 1)"), "\(second)")
        }
    }

    @Test("the window: wait before it opens, expire after it closed (nothing sent), --allow-late sends")
    func windows() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.add(
                ws, "future",
                extra: "schedule: { not_before: \"2099-01-01T09:00:00+08:00\" }\n")
            try Self.add(
                ws, "past",
                extra: "schedule: { not_before: \"2020-01-01T09:00:00+08:00\", not_after: \"2020-01-01T21:00:00+08:00\" }\n")
            let (r, s) = try await Self.apply(ws)
            #expect(r.exited(4), "\(r)")
            #expect(s.action("future") == "wait")
            #expect(s.rows["future"]?["opens_at"] as? String == "2099-01-01T01:00:00Z")
            #expect(s.action("past") == "expire")
            #expect(s.rows["past"]?["exit_code"] as? Int == 4)
            #expect(try await ws.sends().isEmpty)

            let (late, l) = try await Self.apply(ws, ["--allow-late"])
            #expect(late.exited(0), "\(late)")
            #expect(l.action("past") == "send")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("approvals: a to-all send is blocked without one (--confirm-to-all cannot replace it), sent with one, and an edit voids it")
    func approvals() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            try (config + "approvals: { to_all: 1, over_recipients: 2 }\n").write(
                toFile: ws.configPath, atomically: true, encoding: .utf8)
            func toAll(_ name: String, _ text: String) -> String {
                """
                version: 1
                name: \(name)
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: true }
                      msgtype: text
                      text: { content: "\(text)" }

                """
            }
            try ws.write("pipelines/all-news.yaml", toAll("all-news", "To everyone"))
            try ws.write(
                "pipelines/vip.yaml",
                """
                version: 1
                name: vip
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser: [o4WmZ0C2lUFynUYDK9SGewL2AGe4, o4WmZ0Ae_yHC3A_lCbFs83cEDU3q, o4WmZ0LyjjjBGiqRbC5o-X2a7cZm]
                      msgtype: text
                      text: { content: "VIP" }

                """)
            // plan says what apply will do: both blocked for their approvals, exit 6.
            func planned() async throws -> (BinaryResult, [String: [String: Any]]) {
                let plan = try await ws.masscast(
                    ["plan", "pipelines", "--format", "json", "--config", ws.configPath, "--state", ws.statePath])
                let object = try JSONSerialization.jsonObject(with: Data(plan.out.utf8)) as? [String: Any]
                let rows = (object?["broadcasts"] as? [[String: Any]] ?? []).reduce(into: [String: [String: Any]]()) {
                    $0[$1["name"] as? String ?? ""] = $1
                }
                return (plan, rows)
            }
            let (plan, p) = try await planned()
            #expect(plan.exited(6), "\(plan)")
            #expect(p["all-news"]?["state"] as? String == "blocked", "\(plan)")
            #expect((p["all-news"]?["reason"] as? String)?.contains("masscast approve all-news --by WHO") == true, "\(plan)")
            #expect(p["vip"]?["state"] as? String == "blocked", "\(plan)")
            let (blocked, b) = try await Self.apply(ws, ["--confirm-to-all", "all-news"])
            #expect(blocked.exited(6), "\(blocked)")
            #expect(b.action("all-news") == "blocked")
            #expect((b.rows["all-news"]?["reason"] as? String)?.contains("masscast approve all-news --by WHO") == true)
            #expect(b.action("vip") == "blocked", "3 OpenIDs are over over_recipients: 2")
            #expect(try await ws.sends().isEmpty)

            let approve = try await ws.masscast(
                ["approve", "all-news", "--by", "alice", "--path", "pipelines", "--config", ws.configPath])
            #expect(approve.exited(0), "\(approve)")
            let file = ws.dir.appendingPathComponent("approvals/all-news.yaml").path
            let written = try String(contentsOfFile: file, encoding: .utf8)
            #expect(written.contains("by: \"alice\""))
            #expect(written.contains("source_digest: "))

            let (replanned, r) = try await planned()
            #expect(r["all-news"]?["state"] as? String == "send", "\(replanned)")
            #expect(r["vip"]?["state"] as? String == "blocked", "\(replanned)")
            // Approved: sent without --confirm-to-all. vip is still blocked.
            let (sent, s) = try await Self.apply(ws)
            #expect(sent.exited(6), "\(sent)")
            #expect(s.action("all-news") == "send")
            #expect(s.rows["all-news"]?["result"] as? String != "-")
            #expect(s.action("vip") == "blocked")
            #expect(try await ws.sends().count == 1)

            // An edit voids the approval of a broadcast not yet sent.
            let vipApproval = try await ws.masscast(["approve", "vip", "--by", "bob", "--path", "pipelines", "--config", ws.configPath])
            #expect(vipApproval.exited(0), "\(vipApproval)")
            try ws.write(
                "pipelines/vip.yaml",
                try String(contentsOfFile: ws.dir.appendingPathComponent("pipelines/vip.yaml").path, encoding: .utf8)
                    .replacingOccurrences(of: "\"VIP\"", with: "\"VIP!\""))
            let (void, v) = try await Self.apply(ws)
            #expect(void.exited(6), "\(void)")
            #expect((v.rows["vip"]?["reason"] as? String)?.contains("void") == true, "\(v.rows["vip"] ?? [:])")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("quota: a broadcast that needs more mass sends than the account has left today is blocked, nothing sent")
    func quota() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            #expect(config.contains("pacing: { clientmsgid_retry_window:"))
            try config.replacingOccurrences(
                of: "pacing: { clientmsgid_retry_window:", with: "pacing: { sends_per_day: 1, clientmsgid_retry_window:"
            ).write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            try Self.add(ws, "a-first", text: "first")
            try Self.add(ws, "b-second", text: "second")
            let (r, s) = try await Self.apply(ws)
            #expect(r.exited(6), "\(r)")
            #expect(s.action("a-first") == "send")
            #expect(s.action("b-second") == "blocked")
            let blockers = s.rows["b-second"]?["blockers"] as? [[String: Any]] ?? []
            #expect(blockers.first?["kind"] as? String == "quota")
            #expect((blockers.first?["message"] as? String)?.contains("has 0 of its 1 left today") == true, "\(blockers)")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("a half-sent broadcast whose window closed is expired, saying what was sent; no further batch is sent")
    func halfSentExpires() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            func pipeline(notAfter: String) -> String {
                """
                version: 1
                name: half
                account: brand-main
                schedule: { not_after: "\(notAfter)" }
                steps:
                  - id: first
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "Part one" }
                  - id: second
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 102 }
                      msgtype: text
                      text: { content: "Part two" }

                """
            }
            try ws.write("pipelines/half.yaml", pipeline(notAfter: "2099-01-01T00:00:00Z"))
            // The applier is killed right after the first batch is journaled.
            let crashed = try await ws.masscast(
                ["apply", "pipelines"] + ws.common,
                env: ["MASSCAST_CRASH_AT": "send.after_journal"])
            #expect(crashed.signalled, "\(crashed)")
            #expect(try await ws.sends().count == 1)
            // Its window closes (the file is edited to say so: no test waits for a clock).
            try ws.write("pipelines/half.yaml", pipeline(notAfter: "2020-01-01T00:00:00Z"))

            let (r, s) = try await Self.apply(ws)
            #expect(r.exited(4), "\(r)")
            #expect(s.action("half") == "expire")
            let reason = s.rows["half"]?["reason"] as? String ?? ""
            #expect(reason.contains("1 of 2 sends made: first batch 0 msg_id"), "\(reason)")
            #expect(reason.contains("no further batch is sent"))
            #expect((s.rows["half"]?["sent"] as? [[String: Any]])?.count == 1)
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("apply FILE: a saved plan is applied as planned; refused (exit 6, nothing sent) once a file changed or the broadcast ran meanwhile")
    func savedPlans() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.add(ws, "news")
            try Self.add(ws, "later", text: "Later")
            let store = ["--state", ws.statePath, "--config", ws.configPath]
            // Create the store, so that the plans bind to its identity.
            _ = try ws.store()

            let planned = try await ws.masscast(["plan", "pipelines", "--out", "first.json"] + store)
            #expect(planned.exited(0), "\(planned)")
            let applied = try await ws.masscast(["apply", "first.json", "--format", "json"] + ws.common)
            #expect(applied.exited(0), "\(applied)")
            #expect(applied.out.contains("\"action\" : \"send\""), "\(applied.out)")
            #expect(try await ws.sends().count == 2)

            // A file changed since the plan: stale.
            try Self.add(ws, "third", text: "Third")
            let second = try await ws.masscast(["plan", "pipelines", "--out", "second.json"] + store)
            #expect(second.exited(0), "\(second)")
            try Self.add(ws, "third", text: "Third, edited")
            let stale = try await ws.masscast(["apply", "second.json"] + ws.common)
            #expect(stale.exited(6), "\(stale)")
            #expect(stale.out.contains("refused"))
            #expect(stale.out.contains("plan is stale: pipelines/third.yaml changed"), "\(stale.out)")
            #expect(try await ws.sends().count == 2)

            // The broadcast ran meanwhile: its serial moved.
            let third = try await ws.masscast(["plan", "pipelines", "--out", "third.json"] + store)
            #expect(third.exited(0), "\(third)")
            let (ran, _) = try await Self.apply(ws)
            #expect(ran.exited(0), "\(ran)")
            #expect(try await ws.sends().count == 3)
            let moved = try await ws.masscast(["apply", "third.json"] + ws.common)
            #expect(moved.exited(6), "\(moved)")
            #expect(moved.out.contains("changed in the store since the plan"), "\(moved.out)")
            #expect(try await ws.sends().count == 3)
        }
    }
}
