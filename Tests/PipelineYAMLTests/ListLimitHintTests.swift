import PipelineCore
import PipelineYAML
import Testing

@Suite("Hints on list limits")
struct ListLimitHintTests {
    @Test("an inline touser over 10,000 points to touser_file, which is sent in batches")
    func touserOverLimitPointsToFile() throws {
        let ids = (0..<10_001).map { String(format: "o4WmZ0%022d", $0) }.joined(separator: ", ")
        let loaded = load("""
            version: 1
            name: big
            account: brand-main
            steps:
              - id: send
                uses: mass/send
                with:
                  touser: [\(ids)]
                  msgtype: text
                  text: { content: hi }
            """)
        let d = try #require(loaded.diagnostics.first { $0.code.rawValue == "MC2017" }, "\(loaded.diagnostics)")
        #expect(d.message == "with.touser has 10001 items; at most 10000 are allowed")
        #expect(d.hint?.contains("`touser_file`") == true, "\(d.hint ?? "no hint")")
        #expect(d.location?.line == 8)
    }
}
