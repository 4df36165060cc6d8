import Foundation
import Testing

@testable import PipelineYAML

@Suite("Snippet lines (SourceCache)")
struct SourceCacheTests {
    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "source-cache-\(UUID().uuidString).yaml"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a file over the limit has no snippet lines and is not read whole; one under it has")
    func limit() throws {
        let big = try temporaryFile(Array(repeating: UInt8(ascii: "a"), count: 3000) + Array("\nsecond\n".utf8))
        let small = try temporaryFile(Array("first\nsecond\n".utf8))
        defer {
            try? FileManager.default.removeItem(atPath: big)
            try? FileManager.default.removeItem(atPath: small)
        }
        let cache = SourceCache(maxBytes: 2048)
        #expect(cache.line(big, 2) == nil)
        #expect(cache.line(small, 2) == "second")
        #expect(SourceCache(maxBytes: 1 << 20).line(big, 2) == "second")
        // Not a regular file: no snippet (and no wait on a FIFO or a device).
        #expect(cache.line("/dev/zero", 1) == nil)
    }

    @Test("control characters in a snippet line are shown as U+FFFD, one each; a byte order mark is dropped")
    func controlCharacters() throws {
        let path = try temporaryFile([0xEF, 0xBB, 0xBF] + Array("name: a\u{1B}[2Jb\u{0}c\ttab\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = try #require(SourceCache().line(path, 1))
        #expect(line == "name: a\u{FFFD}[2Jb\u{FFFD}c\ttab")
    }

    @Test("lines end where libyaml ends them: LF, CR LF, a lone CR, NEL, LS and PS; a BOM is dropped, bad UTF-8 repaired")
    func linesAsLibYAMLCountsThem() {
        let cases: [([UInt8], [String])] = [
            ([], [""]),
            (Array("\n".utf8), ["", ""]),
            (Array("a\nb".utf8), ["a", "b"]),
            (Array("a\nb\n".utf8), ["a", "b", ""]),
            (Array("a\n\n\nb".utf8), ["a", "", "", "b"]),
            (Array("a\r\nb\r\n".utf8), ["a", "b", ""]),
            (Array("a\rb\n\rc".utf8), ["a", "b", "", "c"]),
            (Array("a\r\r\nb".utf8), ["a", "", "b"]),
            (Array("\u{FEFF}x: 1\ny: 2".utf8), ["x: 1", "y: 2"]),
            (Array("名前: 日本\né\u{301}\n\u{301}x".utf8), ["名前: 日本", "é\u{301}", "\u{301}x"]),
            ([0x61, 0xE3, 0x81, 0x0A, 0x62, 0xFF, 0x0A], ["a\u{FFFD}", "b\u{FFFD}", ""]),
            ([0xEF, 0xBB, 0xBF], [""]),
            (Array("tab\there\r\n\n".utf8), ["tab\there", "", ""]),
            (Array("a\u{85}b\u{2028}c\u{2029}d".utf8), ["a", "b", "c", "d"]),
            // 0xC2 and 0xE2 that start other characters are not breaks.
            (Array("é: \u{A0}x\u{2014}y\u{2027}".utf8), ["é: \u{A0}x\u{2014}y\u{2027}"]),
            ([0x61, 0xC2], ["a\u{FFFD}"]), ([0x61, 0xE2, 0x80], ["a\u{FFFD}"]),
        ]
        for (bytes, expected) in cases {
            let lines = SourceCache.lineRanges(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
            #expect(lines == expected, "\(bytes)")
        }
    }

    @Test("a file with CR LF, CR or NEL line ends gets the snippet of the line its diagnostic names")
    func snippetsOfOtherLineEnds() throws {
        let pipeline = ["version: 1", "name: x", "account: brand-main", "steps:", "  - id: a", "    uses: mass/get",
                        "    with: { msg_id: 1 }", "    needs: [b, b]"]
        for end in ["\r\n", "\r", "\u{85}", "\u{2028}"] {
            let path = try temporaryFile(Array((pipeline.joined(separator: end) + end).utf8))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let loaded = PipelineLoader().load(path: path)
            let cache = SourceCache()
            if let source = loaded.source { cache.store(path, bytes: source) }
            let located = loaded.diagnostics.compactMap(\.location)
            #expect(!located.isEmpty)
            for location in located {
                #expect(cache.line(path, location.line) == pipeline[location.line - 1],
                        "line end \(Array(end.unicodeScalars)): \(location)")
            }
            // A second cache reads the file itself.
            #expect(SourceCache().line(path, 8) == "    needs: [b, b]")
        }
    }

    @Test("generated texts: the lines are those a scalar-by-scalar split at every line break gives")
    func generatedTexts() {
        let pieces = ["a", "key: value", "\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}", "é", "—", "…", "日本", "\u{A0}", "\t"]
        var seed: UInt64 = 0x5EED
        func next() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33)
        }
        for _ in 0..<500 {
            let text = (0..<(next() % 40)).map { _ in pieces[next() % pieces.count] }.joined()
            var expected: [String] = []
            var current = String.UnicodeScalarView()
            var previousCR = false
            for scalar in text.unicodeScalars {
                if scalar == "\n" && previousCR {
                    previousCR = false
                    continue
                }
                previousCR = scalar == "\r"
                if ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) {
                    expected.append(String(current))
                    current = String.UnicodeScalarView()
                } else {
                    current.append(scalar)
                }
            }
            expected.append(String(current))
            let bytes = Array(text.utf8)
            let lines = SourceCache.lineRanges(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
            #expect(lines == expected, "\(Array(text.unicodeScalars))")
        }
    }
}
