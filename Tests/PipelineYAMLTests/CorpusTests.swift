import Foundation
import PipelineCore
import PipelineYAML
import Testing

/// One invalid pipeline of the corpus with what its header comments expect.
struct CorpusCase: CustomTestStringConvertible, Sendable {
    struct Expectation: Sendable, Hashable, CustomStringConvertible {
        var code: String
        var line: Int
        var column: Int
        var description: String { "\(code) \(line):\(column)" }
    }

    var url: URL
    var expectations: [Expectation]
    /// The JSON Schema can express the problem, so it must reject the file too.
    var schemaRejects: Bool
    var testDescription: String { url.lastPathComponent }

    static func all() -> [CorpusCase] {
        Repo.files(in: Repo.invalidCorpus).map { url in
            let bytes = (try? Data(contentsOf: url)) ?? Data()
            // Header comments are ASCII even where the body is not valid UTF-8.
            let header = String(decoding: bytes.prefix(2048), as: UTF8.self).split(separator: "\n")
                .prefix { $0.hasPrefix("#") }
            var expectations: [Expectation] = []
            var schema = false
            for line in header {
                let parts = line.dropFirst().trimmingCharacters(in: .whitespaces).split(separator: " ")
                if parts.first == "expect:", parts.count >= 3 {
                    let position = parts[2].split(separator: ":").compactMap { Int($0) }
                    if position.count == 2 {
                        expectations.append(Expectation(code: String(parts[1]), line: position[0], column: position[1]))
                    }
                } else if parts.first == "schema:" {
                    schema = parts.dropFirst().first == "reject"
                }
            }
            return CorpusCase(url: url, expectations: expectations, schemaRejects: schema)
        }
    }
}

@Suite("Invalid pipeline corpus")
struct CorpusTests {
    @Test("the corpus has at least 60 cases, each with an expectation")
    func corpusSize() {
        let cases = CorpusCase.all()
        #expect(cases.count >= 60)
        for c in cases { #expect(!c.expectations.isEmpty, "\(c.url.lastPathComponent) has no `# expect:` line") }
    }

    @Test("each case yields its expected code at its expected line and column", arguments: CorpusCase.all())
    func expectedDiagnostic(_ c: CorpusCase) {
        let loaded = PipelineLoader().load(path: c.url.path, displayName: c.url.lastPathComponent)
        let found = Set(loaded.diagnostics.compactMap { d in
            d.location.map { CorpusCase.Expectation(code: d.code.rawValue, line: $0.line, column: $0.column) }
        })
        for e in c.expectations {
            #expect(found.contains(e), "expected \(e); got \(loaded.diagnostics.map { "\($0.code.rawValue) \($0.location.map { "\($0.line):\($0.column)" } ?? "-") \($0.message)" })")
        }
        // Nothing is missed and nothing crashes: an error case is an error for the loader.
        if c.expectations.contains(where: { !["MC1009", "MC2028", "MC4006", "MC4007"].contains($0.code) }) {
            #expect(loaded.hasErrors)
        }
    }
}
