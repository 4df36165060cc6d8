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

    @Test("lines are split as the characters split them: LF ends a line, CR LF does not, a BOM is dropped, bad UTF-8 repaired")
    func linesAsCharactersSplitThem() {
        let texts: [[UInt8]] = [
            [], Array("\n".utf8), Array("a\nb".utf8), Array("a\nb\n".utf8), Array("a\n\n\nb".utf8),
            Array("a\r\nb\r\n".utf8), Array("a\rb\n\rc".utf8), Array("\u{FEFF}x: 1\ny: 2".utf8),
            Array("名前: 日本\né\u{301}\n\u{301}x".utf8), [0x61, 0xE3, 0x81, 0x0A, 0x62, 0xFF, 0x0A],
            Array("\n\u{301}a\n".utf8), [0xEF, 0xBB, 0xBF], Array("tab\there\r\n\n".utf8),
        ]
        for bytes in texts {
            var text = String(decoding: bytes, as: UTF8.self)
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            let expected = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(SourceCache.split(bytes).map(String.init) == expected, "\(bytes)")
        }
    }
}
