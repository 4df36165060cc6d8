import Foundation
import MasscastTesting
import Testing

/// `masscast validate` checks the files a pipeline will read (issue 16): run on the built
/// binary, in a temp "repository" (a folder with `.git`), one broken file at a time.
@Suite("validate checks the files a pipeline reads")
struct ValidateFilesCommandTests {
    let cli = CLITests()

    /// A temp repository: `.git/`, `p/` for pipelines, `files/` with good media and audiences.
    struct Repo {
        let root: String
        var pipelines: String { root + "/p" }

        init() throws {
            root = FileManager.default.temporaryDirectory
                .appendingPathComponent("masscast-files-\(UUID().uuidString)").path
            let fm = FileManager.default
            for dir in ["/.git", "/p", "/files"] {
                try fm.createDirectory(atPath: root + dir, withIntermediateDirectories: true)
            }
            try write("files/good.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0, count: 100))
            try write("files/good.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 100))
            try write("files/fake.jpg", Array("GIF89a".utf8) + Array(repeating: 0, count: 100))
            try write("files/huge-thumb.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 0, count: 65_536))
            try write("files/ids.txt", Array("oAAAAAAAAAAA1\noAAAAAAAAAAA2\noAAAAAAAAAAA1\n\noAAAAAAAAAAA3\n".utf8))
            try write("files/ids.csv", Array("name,open_id\nann,oAAAAAAAAAAA1\nbob,oAAAAAAAAAAA2\n".utf8))
            try write("files/body.txt", Array("你好".utf8))
            try write("masscast.yaml", Array("version: 1\nproject: mc-tkgn9pp9f9m5znl95pvo\naccounts: {}\n".utf8))
        }

        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + name))
        }

        /// Writes `p/<name>.yaml` with `steps` (YAML, indented as under `steps:`); returns its path.
        func pipeline(_ name: String, _ steps: String) throws -> String {
            let text = """
                version: 1
                name: \(name)
                account:
                  app_id: wx8a3f2c71d905be46
                  app_secret: ${{ env.SECRET }}
                steps:
                \(steps)
                """
            let path = pipelines + "/\(name).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func upload(_ type: String, _ file: String) -> String {
        """
          - id: up
            uses: media/upload
            with:
              type: \(type)
              file: \(file)
        """
    }

    static func send(_ file: String, column: String? = nil) -> String {
        """
          - id: send
            uses: mass/send
            with:
              touser_file: \(file)\(column.map { "\n      touser_column: \($0)" } ?? "")
              msgtype: text
              text: { content: hi }
        """
    }

    /// Codes of the diagnostics in `validate --format json`, with their line:column.
    func diagnostics(_ path: String, _ extra: String...) async throws -> (status: Int32, items: [[String: Any]], out: String) {
        var args = ["validate", path, "--format", "json"]
        args += extra
        let r = try await run(args)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        return (r.status, object["diagnostics"] as? [[String: Any]] ?? [], r.out)
    }

    func run(_ args: [String]) async throws -> (status: Int32, out: String, err: String) {
        // validate must never block (a FIFO is refused unopened): a deadline, not a hang.
        let r = try await MasscastBinary.run(args, directory: CLITests.root, timeout: .seconds(30))
        if r.timedOut { Issue.record("validate did not finish within 30 s") }
        return (r.status, r.out, r.err)
    }

    func only(_ items: [[String: Any]], code: String) -> [String: Any]? {
        let matching = items.filter { $0["code"] as? String == code }
        return matching.count == 1 ? matching[0] : nil
    }

    func place(_ item: [String: Any]) -> String {
        let range = item["range"] as? [String: Any]
        let start = range?["start"] as? [String: Any]
        return "\(start?["line"] as? Int ?? 0):\(start?["column"] as? Int ?? 0)"
    }

    @Test("good files in the repository pass")
    func goodFiles() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let path = try repo.pipeline("good", Self.upload("image", "../files/good.png") + "\n" + Self.send("../files/ids.csv", column: "open_id"))
        let r = try await cli.masscast("validate", path)
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.hasSuffix("1 pipeline valid (and \(repo.root)/masscast.yaml)\n"), "\(r.out)")
    }

    @Test("a missing upload file, a missing touser_file and a folder are MC2030 at the value")
    func missingAndFolder() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let missing = try repo.pipeline("missing", Self.upload("image", "../files/nope.jpg"))
        var r = try await diagnostics(missing)
        #expect(r.status == 2)
        let item = try #require(only(r.items, code: "MC2030"), "\(r.out)")
        #expect(place(item) == "11:13")
        #expect((item["summary"] as? String)?.contains("'../files/nope.jpg' does not exist") == true)

        let audience = try repo.pipeline("audience", Self.send("../files/nobody.txt"))
        r = try await diagnostics(audience)
        #expect(place(try #require(only(r.items, code: "MC2030"), "\(r.out)")) == "10:20")

        let folder = try repo.pipeline("folder", Self.upload("image", "../files"))
        r = try await diagnostics(folder)
        #expect((try #require(only(r.items, code: "MC2030"))["summary"] as? String)?.contains("is a folder") == true)
    }

    @Test("a FIFO is refused by its type, and validate does not hang on it")
    func fifo() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        #expect(mkfifo(repo.root + "/files/pipe", 0o600) == 0)
        let path = try repo.pipeline("fifo", Self.upload("image", "../files/pipe") + "\n" + Self.send("../files/pipe"))
        let r = try await diagnostics(path)
        let items = r.items.filter { $0["code"] as? String == "MC2030" }
        #expect(items.count == 2, "\(r.out)")
        #expect(items.allSatisfy { ($0["summary"] as? String)?.contains("is a FIFO") == true })
    }

    @Test("a FIFO named as a pipeline, or found in a folder, is MC1000 by its type; validate does not hang")
    func fifoPipeline() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        _ = try repo.pipeline("fine", Self.upload("image", "../files/good.jpg"))
        #expect(mkfifo(repo.pipelines + "/pipe.yaml", 0o600) == 0)
        for target in [repo.pipelines + "/pipe.yaml", repo.pipelines] {
            let r = try await run(["validate", target])
            #expect(r.status == 2, "\(r.out)\(r.err)")
            #expect((r.out + r.err).contains("is a FIFO (named pipe), not a regular file"), "\(r.out)\(r.err)")
            #expect((r.out + r.err).contains("MC1000"))
        }
    }

    @Test("media are checked by their first bytes and their type's size limit")
    func mediaContent() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let fake = try repo.pipeline("fake", Self.upload("image", "../files/fake.jpg"))
        var r = try await diagnostics(fake)
        let format = try #require(only(r.items, code: "MC2032"), "\(r.out)")
        #expect(format["summary"] as? String == "files/fake.jpg is not a JPEG or PNG file: its first bytes are those of a GIF file"
            || (format["summary"] as? String)?.hasSuffix("fake.jpg is not a JPEG or PNG file: its first bytes are those of a GIF file") == true)

        // 65,540 bytes: fine as an image (10 MB), too big for a thumb (64 KB).
        let image = try repo.pipeline("image", Self.upload("image", "../files/huge-thumb.jpg"))
        #expect(try await diagnostics(image).status == 0)
        let thumb = try repo.pipeline("thumb", Self.upload("thumb", "../files/huge-thumb.jpg"))
        r = try await diagnostics(thumb)
        let size = try #require(only(r.items, code: "MC2033"), "\(r.out)")
        #expect((size["summary"] as? String)?.contains("takes at most 64 KB (65,536 bytes)") == true)

        // media/uploadimg takes 1 MB; a PNG is fine, a GIF is not.
        let img = try repo.pipeline("img", """
              - id: pic
                uses: media/uploadimg
                with: { file: ../files/fake.jpg }
            """)
        r = try await diagnostics(img)
        #expect(only(r.items, code: "MC2032") != nil, "\(r.out)")
    }

    @Test("a CSV audience needs its column, matched as the runner matches it")
    func csvColumn() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let path = try repo.pipeline("csv", Self.send("../files/ids.csv", column: "openid"))
        let r = try await diagnostics(path)
        let item = try #require(only(r.items, code: "MC2034"), "\(r.out)")
        #expect(place(item) == "11:22")  // at touser_column's value
        #expect((item["detail"] as? String)?.contains("columns found: \"name\", \"open_id\"") == true)
        // Spaces around the name are ignored, as by the runner.
        let spaced = try repo.pipeline("spaced", Self.send("../files/ids.csv", column: "' open_id '"))
        #expect(try await diagnostics(spaced).status == 0)
    }

    @Test("a malformed OpenID is reported with its line in the file, masked")
    func malformedOpenID() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        try repo.write("files/bad.txt", Array("oAAAAAAAAAAA1\noAAAAAAAAAAA2\nsecret note for ops\n".utf8))
        let path = try repo.pipeline("bad", Self.send("../files/bad.txt"))
        let text = try await cli.masscast("validate", path)
        #expect(text.status == 2)
        #expect(text.out.contains("error: files/bad.txt has 1 bad line (in the first 1,000 lines): nothing would be sent [MC2035]")
            || text.out.contains("bad.txt has 1 bad line (in the first 1,000 lines): nothing would be sent [MC2035]"))
        #expect(text.out.contains("bad.txt:3:7: malformed OpenID \"sec…\" (space is not allowed)"), "\(text.out)")
        #expect(!text.out.contains("secret note"))
        // The same in every format.
        for format in ["json", "github"] {
            let r = try await cli.masscast("validate", path, "--format", format)
            #expect(r.out.contains("bad.txt:3:7: malformed OpenID"))
            #expect(!r.out.contains("secret note"))
        }
    }

    @Test("only the first 1,000 lines are read unless --deep, which also counts the recipients")
    func deep() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        var lines = (1...1500).map { String(format: "oUSER%08d", $0) }
        lines += ["oUSER00000001", "bad"]
        try repo.write("files/many.txt", Array((lines.joined(separator: "\n") + "\n").utf8))
        let path = try repo.pipeline("many", Self.send("../files/many.txt"))
        #expect(try await cli.masscast("validate", path).status == 0)
        let deep = try await diagnostics(path, "--deep")
        #expect(deep.status == 2)
        #expect((try #require(only(deep.items, code: "MC2035"))["detail"] as? String)?.contains("many.txt:1502:1:") == true)

        let good = try repo.pipeline("good", Self.send("../files/ids.txt"))
        let text = try await cli.masscast("validate", good, "--deep")
        #expect(text.status == 0)
        #expect(text.out.contains(": note: files/ids.txt: 3 recipients after removing 1 duplicate [MC2036]")
            || text.out.contains("ids.txt: 3 recipients after removing 1 duplicate [MC2036]"), "\(text.out)")
        let json = try await diagnostics(good, "--deep")
        let note = try #require(only(json.items, code: "MC2036"))
        #expect(note["severity"] as? String == "note")
        #expect(place(note) == "10:20")
        let github = try await cli.masscast("validate", good, "--deep", "--format", "github")
        #expect(github.out.hasPrefix("::notice file="))
        #expect(github.out.contains("title=MC2036::"))
    }

    @Test("a path outside the repository is MC2031, through ../ or a symbolic link")
    func outsideRoot() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let outside = FileManager.default.temporaryDirectory.path + "/masscast-outside-\(UUID().uuidString).jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).write(to: URL(fileURLWithPath: outside))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let name = (outside as NSString).lastPathComponent
        let dotdot = try repo.pipeline("dotdot", Self.upload("image", "../../\(name)"))
        var r = try await diagnostics(dotdot)
        #expect(place(try #require(only(r.items, code: "MC2031"), "\(r.out)")) == "11:13")

        try FileManager.default.createSymbolicLink(atPath: repo.root + "/files/link.jpg", withDestinationPath: outside)
        let linked = try repo.pipeline("linked", Self.upload("image", "../files/link.jpg"))
        r = try await diagnostics(linked)
        let item = try #require(only(r.items, code: "MC2031"), "\(r.out)")
        #expect((item["detail"] as? String)?.contains("through a symbolic link") == true)
        // A link that stays inside the repository is fine.
        try FileManager.default.createSymbolicLink(atPath: repo.root + "/files/inside.jpg", withDestinationPath: repo.root + "/files/good.jpg")
        #expect(try await diagnostics(try repo.pipeline("inside", Self.upload("image", "../files/inside.jpg"))).status == 0)
    }

    @Test("a path written as an expression is not checked")
    func expressionPath() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let path = try repo.pipeline("expr", """
              - id: up
                uses: media/upload
                with: { type: image, file: "${{ inputs.file }}" }
            """.replacingOccurrences(of: "  - id", with: "  - id"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "steps:", with: "inputs:\n  file: { type: string, default: nothing.jpg }\nsteps:")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try await diagnostics(path)
        #expect(r.status == 0, "\(r.out)")
    }

    @Test("a content_file that does not exist is MC2030")
    func contentFile() async throws {
        let repo = try Repo()
        defer { repo.remove() }
        let ok = try repo.pipeline("ok", Self.send("../files/ids.txt").replacingOccurrences(of: "content: hi", with: "content_file: ../files/body.txt"))
        #expect(try await diagnostics(ok).status == 0)
        let missing = try repo.pipeline("missing", Self.send("../files/ids.txt").replacingOccurrences(of: "content: hi", with: "content_file: ../files/gone.txt"))
        let r = try await diagnostics(missing)
        #expect((try #require(only(r.items, code: "MC2030"), "\(r.out)")["summary"] as? String)?.contains("content_file '../files/gone.txt' does not exist") == true)
    }
}

/// `masscast graph DIR`: every pipeline of a folder in one picture.
@Suite("graph of a folder")
struct GraphFolderCommandTests {
    let cli = CLITests()

    @Test("graph pipelines/ draws one subgraph per pipeline, and graphviz accepts the DOT")
    func folderDOT() async throws {
        let mermaid = try await cli.masscast("graph", "pipelines/")
        #expect(mermaid.status == 0, "\(mermaid.err)")
        #expect(mermaid.out.contains("  subgraph p0[\"always-cleanup (pipelines/always-cleanup.yaml)\"]"))
        #expect(mermaid.out.contains("text → vip-openids.txt"))
        let r = try await cli.masscast("graph", "pipelines", "--format", "dot")
        #expect(r.status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: CLITests.root.appendingPathComponent("pipelines").path)
            .filter { $0.hasSuffix(".yaml") && !$0.hasSuffix(".inputs.yaml") }
        #expect(r.out.components(separatedBy: "subgraph cluster_p").count - 1 == files.count)
        let dot = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/dot" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let dot else {
            if ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1" {
                Issue.record("graphviz `dot` is required (MASSCAST_REQUIRE_TOOLS=1) but not on PATH")
            }
            return
        }
        let graph = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-graph-\(UUID().uuidString).dot")
        try r.out.write(to: graph, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: graph) }
        let rendered = try await MasscastBinary.runTool(dot, ["-Tsvg", graph.path])
        let svg = rendered.out
        #expect(rendered.exited(0), "\(rendered)")
        #expect(svg.contains("<svg") && svg.contains("Legend"))
    }

    @Test("graph of a folder with an invalid pipeline draws nothing and exits 2")
    func folderInvalid() async throws {
        let path = try cli.temp("bad.yaml", CLITests.bad)
        let folder = (path as NSString).deletingLastPathComponent
        let r = try await cli.masscast("graph", folder)
        #expect(r.status == 2)
        #expect(r.out.isEmpty)
        #expect(r.err.contains("MC2001"))
    }
}
