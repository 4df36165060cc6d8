import Foundation
import MasscastTesting
import Testing

/// `validate --deep` reads whole audience files; on a terminal it says so while it reads.
/// The binary runs under `script`, which gives it a real pseudo-terminal and records every
/// byte it writes (the status line is drawn with `\r` and erase-line, then erased).
@Suite("validate --deep on a terminal")
struct ValidateProgressTests {
    static let script = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("a long audience scan shows which file and how far from its first MiB, and the line is gone before the result", .enabled(if: script != nil))
    func deepScanShowsProgress() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mc-deep-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 200,000 OpenIDs, 5.8 MB: several progress reports (one per MiB read).
        var text = ""
        text.reserveCapacity(6_000_000)
        for i in 0..<200_000 { text += "o4WmZ0" + String(format: "%022d", i) + "\n" }
        try text.write(to: dir.appendingPathComponent("big.txt"), atomically: true, encoding: .utf8)
        try """
            version: 1
            name: deep
            account: brand-main
            steps:
              - id: send
                uses: mass/send
                with:
                  touser_file: big.txt
                  msgtype: text
                  text: { content: hi }
            """.write(to: dir.appendingPathComponent("deep.yaml"), atomically: true, encoding: .utf8)
        let typescript = dir.appendingPathComponent("typescript")
        let r = try await MasscastBinary.runTool(
            Self.script!, ["-q", "-e", "-c", "\(RunTestEnv.binary) validate deep.yaml --deep", typescript.path],
            environment: MasscastBinary.environment(["NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "100"]), directory: dir)
        if r.timedOut { Issue.record("validate --deep did not end in 60 s") }
        #expect(r.exited(0))
        // Compared as bytes: "\r\n" would be one Character in a String.
        let raw = try Data(contentsOf: typescript)
        let shown = String(decoding: raw, as: UTF8.self).debugDescription
        func at(_ text: String, backwards: Bool = false) -> Range<Data.Index>? {
            raw.range(of: Data(text.utf8), options: backwards ? .backwards : [])
        }
        let erase = "\r\u{1B}[2K"
        #expect(at(erase + "reading big.txt: ") != nil, "no status line: \(shown)")
        // The status line is erased before the result is printed, which reads cleanly.
        let note = try #require(at("deep.yaml:8:20: note: big.txt: 200,000 recipients"), "\(shown)")
        let lastStatus = try #require(at("reading big.txt: ", backwards: true))
        #expect(lastStatus.upperBound < note.lowerBound)
        let between = raw[lastStatus.upperBound..<note.lowerBound]
        #expect(between.range(of: Data(erase.utf8)) != nil, "the status line was not erased: \(shown)")
    }
}
