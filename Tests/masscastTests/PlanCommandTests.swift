import Foundation
import MasscastTesting
import Testing

/// `masscast plan` and `masscast show` on the built binary: exit codes, formats, a saved
/// plan read back offline, and no state file created by planning.
@Suite struct PlanCommandTests {
    /// A temporary repository with the project's masscast.yaml and a `broadcasts/` folder.
    struct Repo {
        let root: URL
        var state: String { root.appendingPathComponent(".masscast/state.sqlite").path }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-plan-\(UUID().uuidString)")
            let fm = FileManager.default
            try fm.createDirectory(at: root.appendingPathComponent(".git"), withIntermediateDirectories: true)
            try fm.createDirectory(at: root.appendingPathComponent("broadcasts"), withIntermediateDirectories: true)
            try fm.copyItem(
                at: MasscastBinary.packageRoot.appendingPathComponent("masscast.yaml"),
                to: root.appendingPathComponent("masscast.yaml"))
        }

        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let url = root.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        func plan(_ arguments: [String]) async throws -> BinaryResult {
            // No secrets in the environment: plan needs none.
            try await MasscastBinary.run(
                ["plan"] + arguments, changes: ["BRAND_MAIN_APP_SECRET": nil, "BRAND_NEWS_APP_SECRET": nil], directory: root)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    static func sendall(_ name: String, account: String = "brand-main", steps: Int = 1) -> String {
        var text = "version: 1\nname: \(name)\naccount: \(account)\nsteps:\n"
        for i in 0..<steps {
            text += """
                  - id: send\(i)
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "Weekend hours: 10:00-20:00 (\(i))" }

                """
        }
        return text
    }

    @Test func exitCodesSayWhatThePlanFound() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        try repo.write("broadcasts/weekend.yaml", Self.sendall("weekend"))

        let plain = try await repo.plan(["broadcasts"])
        #expect(plain.exited(0), "\(plain)")
        #expect(plain.out.contains("state     send: never sent; its window is open"))
        #expect(plain.out.contains("clientmsgid mc2-"))
        #expect(plain.out.contains("Nothing was sent."))
        // Planning wrote no state file.
        #expect(!FileManager.default.fileExists(atPath: repo.state))

        let detailed = try await repo.plan(["broadcasts", "--detailed-exitcode"])
        #expect(detailed.exited(5), "\(detailed)")

        // A subscription account's second sendall of the day is over its quota: refused.
        try repo.write("broadcasts/twice.yaml", Self.sendall("twice", account: "brand-news", steps: 2))
        let refused = try await repo.plan(["broadcasts", "--detailed-exitcode"])
        #expect(refused.exited(6), "\(refused)")
        #expect(
            refused.out.contains("state     blocked: brand-news is a subscription account: WeChat allows it 1 sendall a day"),
            "\(refused.out)")

        // A step that cannot make its call: invalid input.
        try repo.write(
            "broadcasts/broken.yaml",
            "version: 1\nname: broken\naccount: brand-main\nsteps:\n  - id: up\n    uses: media/upload\n    with: { type: image, file: gone.jpg }\n")
        let invalid = try await repo.plan(["broadcasts/broken.yaml"])
        #expect(invalid.exited(2), "\(invalid)")
        #expect(invalid.out.contains("✗ up: with.file: no file gone.jpg"))

        let missing = try await repo.plan(["nowhere"])
        #expect(missing.exited(2))
        #expect(missing.out.contains("nowhere: not planned: no such file or folder"))
        #expect(!FileManager.default.fileExists(atPath: repo.state))
    }

    @Test func jsonMarkdownAndASavedPlanShownOffline() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        try repo.write("broadcasts/weekend.yaml", Self.sendall("weekend"))

        let json = try await repo.plan(["broadcasts", "--format", "json"])
        #expect(json.exited(0))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["format_version"] as? Int == 1)
        let broadcasts = try #require(object["broadcasts"] as? [[String: Any]])
        #expect(broadcasts.first?["state"] as? String == "send")

        let markdown = try await repo.plan(["broadcasts", "--format", "markdown"])
        #expect(markdown.out.hasPrefix("### masscast plan\n\n| broadcast | account | state |"))
        #expect(markdown.out.contains("<details><summary><code>weekend</code> — send (1 send)</summary>"))

        let saved = repo.root.appendingPathComponent("weekend.plan.json").path
        let out = try await repo.plan(["broadcasts", "--out", saved])
        #expect(out.exited(0))
        #expect(out.out.contains("Saved to \(saved)"))
        // Offline: the pipeline is gone, show prints the plan as it was made.
        try FileManager.default.removeItem(at: repo.root.appendingPathComponent("broadcasts"))
        let shown = try await MasscastBinary.run(["show", saved], directory: repo.root)
        #expect(shown.exited(0), "\(shown)")
        #expect(shown.out == plain(out.out))
        let shownMarkdown = try await MasscastBinary.run(["show", saved, "--format", "markdown"], directory: repo.root)
        #expect(shownMarkdown.out == markdown.out)
        let detailed = try await MasscastBinary.run(["show", saved, "--detailed-exitcode"], directory: repo.root)
        #expect(detailed.exited(5))

        try repo.write("not-a-plan.json", "{\"hello\": 1}")
        let bad = try await MasscastBinary.run(["show", "not-a-plan.json"], directory: repo.root)
        #expect(bad.exited(2))
        #expect(bad.err.contains("cannot read the plan not-a-plan.json: it has no format_version: not a masscast plan"))
    }

    @Test func aCommittedInputsFileGivesTheInputsAndIsBound() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let pipeline = """
            version: 1
            name: tagged
            account: brand-main
            inputs:
              tag_id: { type: integer, required: true }
            steps:
              - id: send
                uses: mass/sendall
                with:
                  filter: { is_to_all: false, tag_id: "${{ inputs.tag_id }}" }
                  msgtype: text
                  text: { content: hi }
            """
        try repo.write("broadcasts/tagged.yaml", pipeline)
        let without = try await repo.plan(["broadcasts"])
        #expect(without.out.contains("broadcasts/tagged.yaml: not planned (needs inputs): input tag_id is required"))
        try repo.write("broadcasts/tagged.inputs.yaml", "tag_id: 104\n")
        let json = try await repo.plan(["broadcasts", "--format", "json"])
        #expect(json.exited(0), "\(json)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let broadcast = try #require((object["broadcasts"] as? [[String: Any]])?.first)
        #expect((broadcast["audiences"] as? [[String: Any]])?.first?["tag_id"] as? Int == 104)
        let roles = (broadcast["input_files"] as? [[String: Any]])?.compactMap { $0["role"] as? String }
        #expect(roles == ["pipeline", "config", "inputs"])
        // --input wins over the file.
        let given = try await repo.plan(["broadcasts", "--input", "tag_id=105"])
        #expect(given.out.contains("audience  tag 105"))
    }

    /// `plan --out`'s text without its last line ("Saved to …").
    func plain(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        lines.removeLast()
        return lines.joined(separator: "\n") + "\n"
    }
}
