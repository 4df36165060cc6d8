import Foundation
import MasscastTesting
import Testing

/// masscast.yaml's `paths.allow` (issue 14, item 3): folders outside the repository that
/// `file`, `content_file` and `touser_file` may resolve into, after symbolic links; validate,
/// plan and run decide alike. Run on the built binary against a sandbox.
@Suite("paths.allow: folders outside the repository a pipeline may read")
struct AllowedPathsCommandTests {
    /// A folder beside the workspace (outside its repository) with a text body and an audience.
    struct Outside {
        let dir: String
        let forbidden: String

        init() throws {
            let temp = FileManager.default.temporaryDirectory.path
            dir = temp + "/masscast-allowed-\(UUID().uuidString)"
            forbidden = temp + "/masscast-forbidden-\(UUID().uuidString)"
            for folder in [dir, forbidden] {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
            try "来自共享素材目录的通知".write(toFile: dir + "/body.txt", atomically: true, encoding: .utf8)
            try "a forbidden file's content".write(toFile: forbidden + "/secret.txt", atomically: true, encoding: .utf8)
            // A link inside the allowed folder that leads out of it, into a folder not allowed.
            try FileManager.default.createSymbolicLink(atPath: dir + "/escape.txt", withDestinationPath: forbidden + "/secret.txt")
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: forbidden)
        }
    }

    static func pipeline(_ name: String, contentFile: String) -> String {
        """
        version: 1
        name: \(name)
        account: brand-main
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 100 }
              msgtype: text
              text: { content_file: "\(contentFile)" }
        """
    }

    /// Appends `paths:` to the workspace's masscast.yaml.
    static func allow(_ ws: RunWorkspace, _ entries: [String]) throws {
        let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        let list = entries.map { "\"\($0)\"" }.joined(separator: ", ")
        try (config + "paths:\n  allow: [\(list)]\n").write(toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    func validate(_ ws: RunWorkspace, _ pipeline: String) async throws -> (result: BinaryResult, codes: [String]) {
        let r = try await ws.masscast(["validate", pipeline, "--config", ws.configPath, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        let items = object?["diagnostics"] as? [[String: Any]] ?? []
        // Errors only (the workspace's config has no project id: a warning).
        return (r, items.filter { $0["severity"] as? String == "error" }.compactMap { $0["code"] as? String })
    }

    @Test("a content_file in an allowed folder (relative entry) is validated, planned and sent; before the entry it is refused")
    func allowedFolderIsRead() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            let outside = try Outside()
            defer { ws.cleanUp(); outside.remove() }
            let pipeline = try ws.write("pipelines/notice.yaml", Self.pipeline("notice", contentFile: outside.dir + "/body.txt"))

            // Not allowed yet: validate, plan and run all refuse it, and nothing is sent.
            let refused = try await validate(ws, pipeline)
            #expect(refused.result.exited(2) && refused.codes == ["MC2031"], "\(refused.result)")
            let planRefused = try await ws.masscast(["plan", pipeline, "--config", ws.configPath, "--state", ws.statePath])
            #expect(!planRefused.exited(0), "\(planRefused)")
            #expect(planRefused.out.contains("outside the repository root"), "\(planRefused)")
            let runRefused = try await ws.run(pipeline)
            #expect(runRefused.exited(1), "\(runRefused)")
            let message = runRefused.events("step.finished", step: "send").first?["msg"] as? String ?? ""
            #expect(message.contains("outside the repository root"), "\(runRefused)")
            #expect(try await ws.sends().isEmpty)

            // Allowed, written relative to masscast.yaml's folder.
            let relative = "../" + (outside.dir as NSString).lastPathComponent
            try Self.allow(ws, [relative])
            let valid = try await validate(ws, pipeline)
            #expect(valid.result.exited(0) && valid.codes.isEmpty, "\(valid.result)")
            let plan = try await ws.masscast(["plan", pipeline, "--config", ws.configPath, "--state", ws.statePath])
            #expect(plan.exited(0), "\(plan)")
            #expect(!plan.out.contains("outside"), "\(plan)")
            let run = try await ws.run(pipeline)
            #expect(run.exited(0), "\(run)")
            #expect(try await ws.sends().count == 1)
        }
    }

    @Test("a symbolic link inside an allowed folder that leads into a folder not allowed is refused by validate and run")
    func linkOutOfAllowedFolder() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            let outside = try Outside()
            defer { ws.cleanUp(); outside.remove() }
            try Self.allow(ws, [outside.dir])
            let pipeline = try ws.write("pipelines/escape.yaml", Self.pipeline("escape", contentFile: outside.dir + "/escape.txt"))
            let checked = try await validate(ws, pipeline)
            #expect(checked.result.exited(2) && checked.codes == ["MC2031"], "\(checked.result)")
            #expect(checked.result.out.contains("through a symbolic link"), "\(checked.result)")
            let run = try await ws.run(pipeline)
            #expect(run.exited(1), "\(run)")
            let message = run.events("step.finished", step: "send").first?["msg"] as? String ?? ""
            #expect(message.contains("through a symbolic link") && message.contains("folders masscast.yaml allows"), "\(run)")
            #expect(!run.err.contains("a forbidden file's content"))
            #expect(try await ws.sends().isEmpty)
        }
    }

    @Test("a listed folder that does not exist is an error at its line and column, for validate and run")
    func missingFolder() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try Self.allow(ws, ["/nonexistent-masscast-media"])
            let lines = try String(contentsOfFile: ws.configPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let line = try #require(lines.firstIndex { $0.contains("allow:") }) + 1
            let pipeline = try ws.write("pipelines/p.yaml", Self.pipeline("p", contentFile: "../body.txt"))
            _ = try ws.write("body.txt", "inside")
            let checked = try await ws.masscast(["validate", pipeline, "--config", ws.configPath])
            #expect(checked.exited(2), "\(checked)")
            #expect(checked.out.contains("masscast.yaml:\(line):11: error: paths.allow: '/nonexistent-masscast-media' does not exist [MC2030]"),
                    "\(checked)")
            let run = try await ws.run(pipeline)
            #expect(run.exited(2), "\(run)")
            #expect(run.err.contains("paths.allow: '/nonexistent-masscast-media' does not exist"), "\(run)")
            #expect(try await ws.sends().isEmpty)
        }
    }
}
