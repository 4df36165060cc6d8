import Foundation
import PipelineCore
import PipelineYAML
import Testing

@Suite("Schema and loader agree")
struct SchemaAgreementTests {
    @Test("schemas/pipeline.schema.json is the schema masscast generates")
    func committedSchemaIsCurrent() throws {
        let committed = try String(contentsOf: Repo.schema, encoding: .utf8)
        #expect(committed == PipelineSchema.json(), "run `swift run masscast schema > schemas/pipeline.schema.json`")
    }

    @Test("every example in pipelines/ is valid for the loader, without warnings")
    func examplesValid() {
        let files = Repo.files(in: Repo.pipelines)
        #expect(files.count >= 10)
        for url in files {
            let loaded = PipelineLoader().load(path: url.path)
            #expect(loaded.diagnostics.isEmpty, "\(url.lastPathComponent): \(loaded.diagnostics.map(\.message))")
        }
    }

    /// Runs check-jsonschema (a real draft-07 validator, YAML 1.2 through ruamel) on `files`
    /// in one process; returns the names of the files it rejected.
    func schemaRejections(_ files: [URL]) async throws -> Set<String>? {
        guard let tool = which("check-jsonschema") else {
            if toolsRequired { Issue.record("check-jsonschema is required (MASSCAST_REQUIRE_TOOLS=1) but not on PATH") }
            return nil
        }
        // One call for all files; its JSON report names each file it rejected.
        let r = try await runProcess(tool, ["--schemafile", Repo.schema.path, "-o", "json"] + files.map(\.path))
        guard let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] else {
            Issue.record("check-jsonschema gave no JSON report: \(r.err)")
            return nil
        }
        var rejected: Set<String> = []
        for key in ["errors", "parse_errors"] {
            for item in report[key] as? [[String: Any]] ?? [] {
                if let name = item["filename"] as? String { rejected.insert(URL(fileURLWithPath: name).lastPathComponent) }
            }
        }
        return rejected
    }

    @Test("the schema accepts every example, and rejects every corpus case it can express")
    func schemaAgrees() async throws {
        let examples = Repo.files(in: Repo.pipelines)
        let expressible = CorpusCase.all().filter(\.schemaRejects)
        #expect(expressible.count >= 25)
        guard let rejected = try await schemaRejections(examples + expressible.map(\.url)) else { return }
        for url in examples { #expect(!rejected.contains(url.lastPathComponent), "schema rejects \(url.lastPathComponent)") }
        for c in expressible {
            #expect(rejected.contains(c.url.lastPathComponent), "schema accepts \(c.url.lastPathComponent)")
            #expect(PipelineLoader().load(path: c.url.path).hasErrors, "loader accepts \(c.url.lastPathComponent)")
        }
    }
}

@Suite("Docs")
struct DocsTests {
    @Test("every diagnostic code is documented in docs/diagnostics.md")
    func codesDocumented() throws {
        let text = try String(contentsOf: Repo.root.appendingPathComponent("docs/diagnostics.md"), encoding: .utf8)
        for code in DiagnosticCode.allCases {
            #expect(text.contains("| \(code.rawValue) |"), "\(code.rawValue) (\(code)) is not in docs/diagnostics.md")
        }
    }
}

@Suite("Schema and loader agree on generated pipelines")
struct GeneratedCorpusAgreementTests {
    @Test("100 generated realistic pipelines of each shape are valid for both the loader and the schema",
          arguments: ["tag", "inline"])
    func generated(shape: String) async throws {
        guard let python = which("python3"), let tool = which("check-jsonschema") else {
            if toolsRequired { Issue.record("python3 and check-jsonschema are required (MASSCAST_REQUIRE_TOOLS=1)") }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-gen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let generator = Repo.root.appendingPathComponent("Benchmarks/validate/gen_corpus.py").path
        let gen = try await runProcess(python, [generator, dir.path, "--count", "100", "--seed", "7", "--shape", shape])
        #expect(gen.status == 0, "\(gen.err)")
        let files = Repo.files(in: dir.appendingPathComponent("pipelines"))
        #expect(files.count == 100)
        for url in files {
            let loaded = PipelineLoader().load(path: url.path)
            #expect(loaded.diagnostics.isEmpty, "\(url.lastPathComponent): \(loaded.diagnostics.map(\.message))")
        }
        let r = try await runProcess(tool, ["--schemafile", Repo.schema.path] + files.map(\.path))
        #expect(r.status == 0, "\(r.out)")
    }
}
