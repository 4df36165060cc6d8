import Foundation
import PipelineCore
import PipelineYAML
import Testing

@testable import FileChecks

/// A temp folder, removed at the end of the test.
struct Scratch {
    let path: String

    init() throws {
        path = try #require(realpathString(FileManager.default.temporaryDirectory.path))
            + "/masscast-filechecks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func realpathString(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

@Suite("the repository root and the paths a pipeline names")
struct RepositoryRootTests {
    @Test("the root is masscast.yaml's folder, else the folder holding .git, else the pipeline's folder")
    func root() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.mkdir("repo/.git")
        try s.mkdir("repo/sub/pipelines")
        try s.mkdir("alone")
        #expect(RepositoryRoot.find(forPipelineAt: s.path + "/repo/sub/pipelines/p.yaml") == s.path + "/repo")
        try s.write("repo/sub/masscast.yaml", Array("version: 1\n".utf8))
        #expect(RepositoryRoot.find(forPipelineAt: s.path + "/repo/sub/pipelines/p.yaml") == s.path + "/repo/sub")
        // No config and no .git up to `/` (the temp folder has neither): the pipeline's folder.
        #expect(RepositoryRoot.find(forPipelineAt: s.path + "/alone/p.yaml") == s.path + "/alone")
    }

    @Test("a file's folder is what NSString.deletingLastPathComponent gives, for plain and odd paths")
    func folderOfAFile() {
        for path in ["a/b.yaml", "b.yaml", "/b.yaml", "/", "", "pipelines/x/y.yaml", "/srv/p/y.yaml", "a//b.yaml",
                     "a/b/", "./a.yaml", "../x/a.yaml", "//a", "a/./b.yaml", "日本/語.yaml", "a/b//"] {
            #expect(RepositoryRoot.deletingLastComponent(path) == (path as NSString).deletingLastPathComponent, "\(path)")
            let folder = (path as NSString).deletingLastPathComponent
            #expect(RepositoryRoot.folder(of: path) == (folder.isEmpty ? "." : folder), "\(path)")
        }
    }

    @Test("a path shown in messages is relative to the current folder, '.' and '..' resolved, ASCII or not")
    func displayPaths() {
        let cwd = "/srv/repo"
        let cases: [(String, String)] = [
            ("assets/a.jpg", "assets/a.jpg"), ("./assets//a.jpg", "assets/a.jpg"), ("a/../b/c.png", "b/c.png"),
            ("../other/x.mp3", "/srv/other/x.mp3"), ("/srv/repo/p/q.yaml", "p/q.yaml"), ("/etc/x", "/etc/x"),
            ("素材/封面.jpg", "素材/封面.jpg"), ("素材/../封面.jpg", "封面.jpg"), ("a/./b/", "a/b"),
        ]
        for (path, shown) in cases {
            #expect(RepositoryRoot.displayPath(path, currentDirectory: cwd) == shown, "\(path)")
        }
    }

    @Test("paths are relative to the pipeline's folder; '..' and symbolic links are followed before the containment check")
    func containment() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.mkdir("repo/.git")
        try s.mkdir("repo/p")
        try s.write("outside.txt", [0x61])
        try s.write("repo/inside.txt", [0x61])
        let root = RepositoryRoot.find(forPipelineAt: s.path + "/repo/p/x.yaml")
        let pipeline = s.path + "/repo/p/x.yaml"
        #expect(RepositoryRoot.resolve("../inside.txt", pipelineFile: pipeline) == s.path + "/repo/p/../inside.txt")
        #expect(RepositoryRoot.resolve("/abs/f", pipelineFile: pipeline) == "/abs/f")
        #expect(RepositoryRoot.contains(root: root, path: RepositoryRoot.resolve("../inside.txt", pipelineFile: pipeline)))
        #expect(!RepositoryRoot.contains(root: root, path: RepositoryRoot.resolve("../../outside.txt", pipelineFile: pipeline)))
        // A file that does not exist yet is judged by where it would be.
        #expect(RepositoryRoot.contains(root: root, path: s.path + "/repo/p/new/file.txt"))
        #expect(!RepositoryRoot.contains(root: root, path: s.path + "/repo/../elsewhere/file.txt"))
        // A folder whose name starts like the root's is not inside it.
        try s.mkdir("repo2")
        #expect(!RepositoryRoot.contains(root: root, path: s.path + "/repo2/f"))
        try FileManager.default.createSymbolicLink(atPath: s.path + "/repo/link.txt", withDestinationPath: s.path + "/outside.txt")
        #expect(!RepositoryRoot.contains(root: root, path: s.path + "/repo/link.txt"))
        try FileManager.default.createSymbolicLink(atPath: s.path + "/repo/dirlink", withDestinationPath: s.path)
        #expect(!RepositoryRoot.contains(root: root, path: s.path + "/repo/dirlink/outside.txt"))
    }
}

@Suite("media formats by their first bytes")
struct MediaFormatTests {
    @Test("signatures", arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE0], MediaFormat.jpeg),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
        (Array("GIF89a".utf8), .gif),
        (Array("ID3\u{4}".utf8), .mp3),
        ([0xFF, 0xFB, 0x90, 0x64], .mp3),
        (Array("#!AMR\n".utf8), .amr),
        ([0, 0, 0, 0x20] + Array("ftypisom".utf8), .mp4),
    ] as [([UInt8], MediaFormat)])
    func signatures(bytes: [UInt8], format: MediaFormat) {
        #expect(MediaFormat.sniff(bytes) == format)
    }

    @Test("text and truncated headers are no format")
    func unknown() {
        #expect(MediaFormat.sniff(Array("hello world".utf8)) == nil)
        #expect(MediaFormat.sniff([0xFF, 0xD8]) == nil)
        #expect(MediaFormat.sniff([]) == nil)
    }

    @Test("accepted formats come from WeChatMP's limits")
    func accepted() {
        #expect(MediaFormat.accepted(by: .articleImage) == [.jpeg, .png])
    }
}

@Suite("PipelineFileChecker")
struct PipelineFileCheckerTests {
    @Test("one diagnostic per broken file, at the value's line:column; expressions are skipped")
    func check() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.mkdir("r/.git")
        try s.mkdir("r/p")
        try s.write("r/voice.mp3", Array("not audio at all".utf8))
        try s.write("r/ok.mp3", Array("ID3".utf8) + [4, 0, 0])
        try s.write("r/body.txt", [0x61, 0x0A, 0x62, 0xFF, 0x0A])
        let file = s.path + "/r/p/x.yaml"
        try """
            version: 1
            name: x
            inputs:
              f: { type: string, default: a.mp3 }
            account: { app_id: wx8a3f2c71d905be46, app_secret: "${{ env.S }}" }
            steps:
              - id: a
                uses: media/upload
                with: { type: voice, file: ../voice.mp3 }
              - id: b
                uses: media/upload
                with: { type: voice, file: ../ok.mp3 }
              - id: c
                uses: media/upload
                with: { type: voice, file: "${{ inputs.f }}" }
              - id: d
                uses: mass/preview
                with: { touser: oAAAAAAAAAAA1, msgtype: text, text: { content_file: ../body.txt } }
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = PipelineLoader().load(path: file)
        let pipeline = try #require(loaded.pipeline, "\(loaded.diagnostics)")
        let found = PipelineFileChecker().check(pipeline)
        #expect(found.map(\.code) == [.mediaFormat, .mediaFormat], "\(found)")
        #expect(found.first?.location == SourceLocation(file: file, line: 9, column: 32))
        #expect(found.first?.message.hasSuffix("is not an MP3 or AMR file: its first bytes are of no format masscast recognises") == true)
        #expect(found.last?.message.hasSuffix("body.txt is not UTF-8 text") == true)
        #expect(found.last?.note?.message.hasSuffix("body.txt:2: the first byte that is not UTF-8") == true)
    }

    @Test("sizes read as WeChat writes them")
    func sizes() {
        #expect(PipelineFileChecker.size(65_536) == "64 KB (65,536 bytes)")
        #expect(PipelineFileChecker.size(10 << 20) == "10 MB (10,485,760 bytes)")
        #expect(PipelineFileChecker.size(500) == "500 bytes")
    }
}
