import Foundation
import PipelineYAML
import Testing

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
}
