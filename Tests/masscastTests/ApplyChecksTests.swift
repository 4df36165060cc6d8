import Foundation
import MasscastTesting
import Testing
import WeChatSandbox

/// `masscast apply`'s checks before an irreversible send (issue 12): the read-only preflight,
/// WeChat's quota rules, `approvals.over_recipients` for tag audiences, an audience file's
/// drift, and `--sandbox` with one store. The built binary against a sandbox started in this
/// process; the sandbox's record of accepted sends is the witness.
@Suite("masscast apply: checks before a send")
struct ApplyChecksTests {
    typealias A = ApplyCommandTests

    /// Replaces `old` by `new` in the workspace's masscast.yaml (the text must be there).
    static func editConfig(_ ws: RunWorkspace, _ old: String, _ new: String) throws {
        let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        #expect(config.contains(old))
        try config.replacingOccurrences(of: old, with: new).write(toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    static func blockers(_ s: A.Summary, _ name: String) -> [[String: Any]] {
        s.rows[name]?["blockers"] as? [[String: Any]] ?? []
    }

    @Test("a tag the account does not have: blocked by the preflight (exit 6), nothing sent; the existing tag is sent")
    func missingTagBlocks() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try A.add(ws, "known")
            try ws.write("pipelines/unknown.yaml", A.broadcast("unknown"))
            try ws.write("pipelines/unknown.inputs.yaml", "tag_id: 999\n")
            let (r, s) = try await A.apply(ws)
            #expect(r.exited(6), "\(r)")
            #expect(s.action("known") == "send")
            #expect(s.action("unknown") == "blocked")
            let found = Self.blockers(s, "unknown")
            #expect(found.first?["kind"] as? String == "preflight", "\(found)")
            #expect((found.first?["message"] as? String)?.contains("999") == true, "\(found)")
            let sent = try await ws.sends()
            #expect(sent.count == 1, "\(sent)")
            // The preflight made read-only calls only: a stable token, never the classic /token.
            let calls = await sandbox.engine.calls().map(\.endpoint)
            #expect(calls.contains { $0.contains("tags/get") }, "\(calls)")
            #expect(!calls.contains { $0.hasSuffix("/cgi-bin/token") }, "\(calls)")

            // The text summary says why.
            let text = try await ws.masscast(["apply", "pipelines"] + ws.common)
            #expect(text.exited(6))
            #expect(text.out.contains("preflight:"), "\(text.out)")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("a subscription account's second sendall of the UTC+8 day is blocked, with the limit and when it resets")
    func subscriptionSendallPerDay() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            // masscast counts by the kind the config gives; the sandbox's account accepts both.
            try Self.editConfig(ws, "kind: service", "kind: subscription")
            try A.add(ws, "a-first", text: "first")
            try A.add(ws, "b-second", text: "second")
            let (r, s) = try await A.apply(ws)
            #expect(r.exited(6), "\(r)")
            #expect(s.action("a-first") == "send")
            #expect(s.action("b-second") == "blocked")
            let message = Self.blockers(s, "b-second").first?["message"] as? String ?? ""
            #expect(Self.blockers(s, "b-second").first?["kind"] as? String == "quota")
            #expect(message.contains("subscription account"), "\(message)")
            #expect(message.contains("1 made today by masscast and it needs 1"), "\(message)")
            #expect(message.contains("it resets \(Self.nextUTC8Midnight())"), "\(message)")
            #expect(try await ws.sends().count == 1)

            // plan agrees (the same quota function): blocked, exit 6.
            let plan = try await ws.masscast(
                ["plan", "pipelines", "--format", "json", "--state", ws.statePath, "--config", ws.configPath])
            #expect(plan.exited(6), "\(plan)")
            #expect(plan.out.contains("\"code\" : \"sendall_per_day\""), "\(plan.out)")
        }
    }

    @Test("a service account's fifth send to all followers in a month is blocked; the month's reset is named")
    func serviceToAllPerMonth() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            var confirm: [String] = []
            for i in 1...5 {
                try ws.write(
                    "pipelines/all-\(i).yaml",
                    """
                    version: 1
                    name: all-\(i)
                    account: brand-main
                    steps:
                      - id: send
                        uses: mass/sendall
                        with:
                          filter: { is_to_all: true }
                          msgtype: text
                          text: { content: "To everyone, \(i)" }

                    """)
                confirm += ["--confirm-to-all", "all-\(i)"]
            }
            let (r, s) = try await A.apply(ws, confirm)
            #expect(r.exited(6), "\(r)")
            for i in 1...4 { #expect(s.action("all-\(i)") == "send", "\(s.rows["all-\(i)"] ?? [:])") }
            #expect(s.action("all-5") == "blocked")
            let message = Self.blockers(s, "all-5").first?["message"] as? String ?? ""
            #expect(message.contains("4 sends to ALL followers a month"), "\(message)")
            #expect(message.contains("4 made this month"), "\(message)")
            #expect(message.contains("it resets \(Self.nextUTC8Month())"), "\(message)")
            #expect(try await ws.sends().count == 4)
        }
    }

    @Test("approvals.over_recipients counts a tag's followers (preflight): blocked until approved, then sent")
    func overRecipientsForTags() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            try (config + "approvals: { over_recipients: 50 }\n").write(
                toFile: ws.configPath, atomically: true, encoding: .utf8)
            try A.add(ws, "big")  // tag 101: far more than 50 followers
            let followers = await sandbox.engine.tagMembers(appID: RunTestEnv.appID, tagID: 101).count
            #expect(followers > 50)
            let (r, s) = try await A.apply(ws)
            #expect(r.exited(6), "\(r)")
            #expect(s.action("big") == "blocked")
            #expect(Self.blockers(s, "big").first?["kind"] as? String == "approval")
            #expect(try await ws.sends().isEmpty)

            let approve = try await ws.masscast(["approve", "big", "--by", "alice", "--path", "pipelines", "--config", ws.configPath])
            #expect(approve.exited(0), "\(approve)")
            let (ok, o) = try await A.apply(ws)
            #expect(ok.exited(0), "\(ok)")
            #expect(o.action("big") == "send")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("editing only the audience file of a sent mass/send is a drift: nothing re-sent, the counts before and after")
    func audienceFileDrift() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let members = await sandbox.engine.tagMembers(appID: RunTestEnv.appID, tagID: 100)
            #expect(members.count >= 5)
            try ws.write("pipelines/people.txt", members.prefix(3).joined(separator: "\n") + "\n")
            try ws.write(
                "pipelines/list.yaml",
                """
                version: 1
                name: list
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: people.txt
                      msgtype: text
                      text: { content: "Hello list" }

                """)
            let (first, one) = try await A.apply(ws)
            #expect(first.exited(0), "\(first)")
            #expect(one.action("list") == "send")
            #expect(try await ws.sends().count == 1)

            let (same, noop) = try await A.apply(ws)
            #expect(same.exited(0), "\(same)")
            #expect(noop.action("list") == "noop")

            try ws.write("pipelines/people.txt", members.prefix(5).joined(separator: "\n") + "\n")
            let (edited, drift) = try await A.apply(ws)
            #expect(edited.exited(6), "\(edited)")
            #expect(drift.action("list") == "drift")
            let changes = drift.rows["list"]?["changes"] as? [[String: Any]] ?? []
            let audience = changes.first { $0["field"] as? String == "audience" }
            #expect(audience?["sent"] as? String == "3 recipients in 1 batch", "\(changes)")
            #expect((audience?["now"] as? String)?.hasPrefix("5 recipients in 1 batch") == true, "\(changes)")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("apply --sandbox: one store for the whole invocation; twice with --state: noop; --dry-run --sandbox plans against the sandbox")
    func sandboxStore() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            // Two files of one broadcast (same name, same bytes): with one store, the second is
            // the first's noop; with a store per broadcast both would be sent.
            let text = """
                version: 1
                name: twin
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "Hello twin" }

                """
            try ws.write("rehearse/a.yaml", text)
            try ws.write("rehearse/b.yaml", text)
            func apply(_ extra: [String]) async throws -> (BinaryResult, [String]) {
                let r = try await ws.masscast(["apply", "rehearse", "--sandbox", "--format", "json", "--log-format", "json"] + extra)
                let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
                let rows = object?["broadcasts"] as? [[String: Any]] ?? []
                return (r, rows.map { $0["action"] as? String ?? "" })
            }
            let (once, actions) = try await apply([])
            #expect(once.exited(0), "\(once)")
            #expect(actions == ["send", "noop"], "\(once.out)")

            let state = ws.dir.appendingPathComponent("rehearsal.sqlite").path
            try FileManager.default.removeItem(atPath: ws.dir.appendingPathComponent("rehearse/b.yaml").path)
            let (first, a1) = try await apply(["--state", state])
            #expect(first.exited(0), "\(first)")
            #expect(a1 == ["send"])
            let (second, a2) = try await apply(["--state", state])
            #expect(second.exited(0), "\(second)")
            #expect(a2 == ["noop"], "\(second.out)")

            // The dry run plans against the sandbox's account: its tags are facts, and the
            // rehearsal's store says it was sent.
            let dry = try await ws.masscast(["apply", "rehearse", "--dry-run", "--sandbox", "--state", state])
            #expect(dry.exited(0), "\(dry)")
            #expect(dry.out.contains("noop"), "\(dry.out)")
            #expect(dry.out.contains("“beijing”"), "\(dry.out)")
            try ws.write("rehearse/c.yaml", text.replacingOccurrences(of: "twin", with: "nowhere").replacingOccurrences(of: "101", with: "999"))
            let blocked = try await ws.masscast(["apply", "rehearse", "--dry-run", "--sandbox"])
            #expect(blocked.exited(6), "\(blocked)")
            #expect(blocked.out.contains("tag 999 does not exist on the account"), "\(blocked.out)")
        }
    }

    @Test("masscast run reads NAME.inputs.yaml beside the pipeline; --input wins; --verbose says where each value came from")
    func runReadsInputsFile() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try A.add(ws, "news")  // tag_id: 101 in pipelines/news.inputs.yaml, required
            let r = try await ws.run("pipelines/news.yaml", ["--verbose"])
            #expect(r.exited(0), "\(r)")
            #expect(r.err.contains("tag_id=101 (pipelines/news.inputs.yaml)"), "\(r.err)")
            let given = try await ws.run("pipelines/news.yaml", ["--input", "tag_id=102", "--verbose"])
            #expect(given.exited(0), "\(given)")
            #expect(given.err.contains("tag_id=102 (--input)"), "\(given.err)")
            let sends = try await ws.sends()
            #expect(sends.count == 2, "\(sends)")
            let tag101 = await sandbox.engine.tagMembers(appID: RunTestEnv.appID, tagID: 101).count
            let tag102 = await sandbox.engine.tagMembers(appID: RunTestEnv.appID, tagID: 102).count
            #expect(sends.map(\.tagID) == [101, 102], "\(sends)")
            #expect(tag101 > 0 && tag102 > 0)

            // An inputs file with errors stops the run before anything is sent (exit 2).
            try ws.write("pipelines/news.inputs.yaml", "tag_id: not-a-number\n")
            let bad = try await ws.run("pipelines/news.yaml")
            #expect(bad.exited(2), "\(bad)")
            #expect(bad.err.contains("news.inputs.yaml"), "\(bad.err)")
            #expect(try await ws.sends().count == 2)
        }
    }

    @Test("the README's demo: apply pipelines/ --sandbox on the repository's examples exits 0 and sends; again, every broadcast is noop")
    func readmeDemo() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("demo.sqlite").path
        let arguments = ["apply", "pipelines/", "--sandbox", "--state", state, "--format", "json", "--log-format", "json"]
        func actions(_ r: BinaryResult) -> [String: String] {
            let object = try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            var out: [String: String] = [:]
            for row in object?["broadcasts"] as? [[String: Any]] ?? [] {
                out[row["name"] as? String ?? ""] = row["action"] as? String
            }
            return out
        }
        let first = try await MasscastBinary.run(arguments, timeout: .seconds(300))
        #expect(first.exited(0), "\(first)")
        let sent = actions(first).filter { $0.value == "send" }
        #expect(sent.count >= 5, "\(first.out)")
        #expect(actions(first).values.allSatisfy { $0 == "send" || $0 == "noop" }, "\(first.out)")
        let second = try await MasscastBinary.run(arguments, timeout: .seconds(300))
        #expect(second.exited(0), "\(second)")
        #expect(actions(second).count == actions(first).count)
        #expect(actions(second).values.allSatisfy { $0 == "noop" }, "\(second.out)")
    }

    @Test("every example pipeline with a required input has a committed inputs file or apply: manual")
    func examplesHaveTheirInputs() throws {
        let folder = RunTestEnv.root.appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".yaml") && !$0.hasSuffix(".inputs.yaml") }
        #expect(files.count >= 10)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            guard text.contains("required: true") else { continue }
            let inputs = folder.appendingPathComponent(file.replacingOccurrences(of: ".yaml", with: ".inputs.yaml"))
            let manual = text.split(separator: "\n").contains { $0.hasPrefix("apply: manual") }
            #expect(manual || FileManager.default.fileExists(atPath: inputs.path), "\(file)")
        }
    }

    /// The next midnight in UTC+8, as the quota messages write it.
    static func nextUTC8Midnight(_ now: Date = Date()) -> String {
        let local = now.timeIntervalSince1970 + 8 * 3600
        let next = (local / 86_400).rounded(.down) * 86_400 + 86_400 - 8 * 3600
        return stamp(Date(timeIntervalSince1970: next))
    }

    /// The first of the next month at 00:00 UTC+8.
    static func nextUTC8Month(_ now: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let start = calendar.dateInterval(of: .month, for: now)!.end
        return stamp(start)
    }

    static func stamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        return f.string(from: date)
    }
}
