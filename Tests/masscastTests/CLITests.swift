import Foundation
import MasscastTesting
import Testing

/// End-to-end tests of the built `masscast` binary: stdout, stderr and exit status.
@Suite("masscast command line")
struct CLITests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the binary (MasscastTesting: swift-subprocess, a time limit) in the package root.
    @discardableResult
    func masscast(_ args: String...) async throws -> (status: Int32, out: String, err: String) {
        let r = try await MasscastBinary.run(args, directory: Self.root)
        #expect(!r.timedOut && !r.signalled, "\(r)")
        return (r.status, r.out, r.err)
    }

    func temp(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let bad = """
        version: 1
        name: demo
        account: brand-main
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 100 }
              msgtype: text
              text: { content: 你好 }
              retires: 3
        """

    @Test("validate pipelines/ is clean and exits 0")
    func validateExamples() async throws {
        let r = try await masscast("validate", "pipelines")
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.hasSuffix("10 pipelines valid (and masscast.yaml)\n"))
    }

    @Test("validate reports file:line:col, the source line and a caret, and exits 2")
    func validateText() async throws {
        let path = try temp("bad.yaml", Self.bad)
        let r = try await masscast("validate", path)
        #expect(r.status == 2)
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "\(path):11:7: error: unknown key 'retires' in with [MC2001]")
        #expect(lines[1] == "  11 |       retires: 3")
        #expect(lines[2] == "     |       ^")
        #expect(r.out.hasSuffix("\n1 pipeline checked: 1 error, 0 warnings\n"))
    }

    @Test("validate --format json is shaped like terraform validate -json")
    func validateJSON() async throws {
        let path = try temp("bad.yaml", Self.bad)
        let r = try await masscast("validate", path, "--format", "json")
        #expect(r.status == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        #expect(object["error_count"] as? Int == 1)
        let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
        let d = try #require(diagnostics.first)
        #expect(d["severity"] as? String == "error")
        #expect(d["code"] as? String == "MC2001")
        let range = try #require(d["range"] as? [String: Any])
        #expect(range["filename"] as? String == path)
        let start = try #require(range["start"] as? [String: Any])
        #expect(start["line"] as? Int == 11 && start["column"] as? Int == 7)
    }

    @Test("validate --format github prints workflow annotations")
    func validateGitHub() async throws {
        let path = try temp("bad.yaml", Self.bad)
        let r = try await masscast("validate", path, "--format", "github")
        #expect(r.status == 2)
        #expect(r.out.hasPrefix("::error file=\(path),line=11,col=7,title=MC2001::unknown key 'retires' in with%0Ahint: "))
    }

    @Test("validate walks folders recursively and reports missing paths")
    func validateFolders() async throws {
        let path = try temp("a.yaml", Self.bad)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let nested = folder.appendingPathComponent("nested")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try Self.bad.write(to: nested.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try "not yaml".write(to: nested.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let r = try await masscast("validate", folder.path, "--format", "json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(object["file_count"] as? Int == 2)
        // Both files are named `demo`: the second is reported (MC2025) besides their own errors.
        let codes = (object["diagnostics"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes.filter { $0 == "MC2025" }.count == 1)
        let missing = try await masscast("validate", "/nonexistent/x.yaml")
        #expect(missing.status == 2)
        #expect(missing.out.contains("no such file or folder"))
    }

    @Test("warnings do not fail validate unless --warnings-as-errors")
    func warnings() async throws {
        let path = try temp("w.yaml", Self.bad.replacingOccurrences(of: "\n      retires: 3", with: "")
            .replacingOccurrences(of: "text: { content: 你好 }", with: "text:\n        content: 新品 #话题#"))
        #expect(try await masscast("validate", path).status == 0)
        #expect(try await masscast("validate", path, "--warnings-as-errors").status == 2)
    }

    @Test("graph prints Mermaid by default and DOT on request; invalid pipelines exit 2")
    func graph() async throws {
        let mermaid = try await masscast("graph", "pipelines/video-to-tag.yaml")
        #expect(mermaid.status == 0)
        #expect(mermaid.out.hasPrefix("flowchart TD\n"))
        let dot = try await masscast("graph", "pipelines/video-to-tag.yaml", "--format", "dot")
        #expect(dot.out.hasPrefix("digraph "))
        let path = try temp("bad.yaml", Self.bad)
        let bad = try await masscast("graph", path)
        #expect(bad.status == 2)
        #expect(bad.err.contains("MC2001"))
        #expect(bad.out.isEmpty)
    }

    @Test("schema prints the committed schema")
    func schema() async throws {
        let r = try await masscast("schema")
        let committed = try String(contentsOf: Self.root.appendingPathComponent("schemas/pipeline.schema.json"), encoding: .utf8)
        #expect(r.status == 0)
        #expect(r.out == committed)
    }

    @Test("a literal secret never reaches the output, in any format", arguments: ["text", "json", "github"])
    func secretsRedacted(format: String) async throws {
        let secrets = ["9f8e7d6c5b4a39281706f5e4d3c2b1a0", "12345678901234567890", "s3cr3t-in-flow-mapping-xyz"]
        let block = try temp("block.yaml", """
            version: 1
            name: leak-block
            account:
              app_id: wx0123456789abcdef
              app_secret: \(secrets[0])
              app_secret: \(secrets[1])
            steps:
              - { id: s, uses: mass/speed, with: { speed: 9 } }
            """)
        let flow = try temp("flow.yaml", """
            version: 1
            name: leak-flow
            account: { app_id: wx0123456789abcdef, app_secret: "\(secrets[2])", kind: servic }
            steps:
              - { id: s, uses: mass/speed }
            """)
        let r = try await masscast("validate", block, flow, "--format", format)
        #expect(r.status == 2)
        #expect(r.out.contains("MC2019"))
        for secret in secrets {
            #expect(!r.out.contains(secret) && !r.err.contains(secret), "secret leaked in \(format) output")
        }
    }

    @Test("validate checks account names against masscast.yaml, found upward from the pipeline or given with --config")
    func validateAccounts() async throws {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: repo) }
        try FileManager.default.createDirectory(at: repo.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try """
            version: 1
            accounts:
              brand-main: { app_id: wx8a3f2c71d905be46, app_secret: "${{ env.A }}", kind: service, colour: red }
            """.write(to: repo.appendingPathComponent("masscast.yaml"), atomically: true, encoding: .utf8)
        let pipeline = repo.appendingPathComponent("pipelines/p.yaml").path
        try Self.bad.replacingOccurrences(of: "brand-main", with: "brand-mian").replacingOccurrences(of: "\n      retires: 3", with: "")
            .write(toFile: pipeline, atomically: true, encoding: .utf8)
        let config = repo.appendingPathComponent("masscast.yaml").path
        let r = try await masscast("validate", pipeline)
        #expect(r.status == 2)
        #expect(r.out.contains("\(config):3:88: error: unknown key 'colour' in accounts.brand-main [MC2001]"), "\(r.out)")
        #expect(r.out.contains("\(pipeline):3:10: error: account 'brand-mian' is not defined in masscast.yaml (defined: brand-main) [MC2026]"))
        #expect(r.out.contains("hint: did you mean 'brand-main'?"))
        #expect(r.out.hasSuffix("\n1 pipeline checked (and \(config)): 2 errors, 0 warnings\n"))
        // --config names the config for a pipeline outside any repository: here this repository's.
        let outside = try temp("p.yaml", Self.bad.replacingOccurrences(of: "brand-main", with: "brand-newz")
            .replacingOccurrences(of: "\n      retires: 3", with: ""))
        let named = try await masscast("validate", outside, "--config", "masscast.yaml", "--format", "json")
        #expect(named.status == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(named.out.utf8)) as? [String: Any])
        let codes = (object["diagnostics"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes == ["MC2026"] && object["file_count"] as? Int == 2)
        #expect(try await masscast("validate", outside).status == 0)  // no config found: names are not checked
    }

    @Test("each command has help with examples")
    func help() async throws {
        for command in ["validate", "graph", "schema"] {
            let r = try await masscast(command, "--help")
            #expect(r.status == 0)
            #expect(r.out.contains("USAGE: masscast \(command)"))
        }
        #expect(try await masscast("validate", "--help").out.contains("--format"))
    }
}
