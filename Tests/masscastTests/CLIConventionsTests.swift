import Foundation
import MasscastTesting
import Testing
import WeChatSandbox

/// The command line's conventions, end to end on the built binary: usage errors exit 2,
/// JSON logs are JSON on every stderr line, NO_COLOR, help paragraphs wrapped once, the
/// version the docs give, signals named in the log, and resume hints that can be copied.
@Suite("masscast command-line conventions")
struct CLIConventionsTests {
    /// Runs the binary to its end with `environment` changes (`nil` removes a variable).
    static func masscast(
        _ arguments: [String], env: [String: String?] = [:], directory: URL = RunTestEnv.root
    ) async throws -> (status: Int32, out: String, err: String) {
        let r = try await MasscastBinary.run(arguments, changes: env, directory: directory)
        #expect(!r.timedOut && !r.signalled, "\(r)")
        return (r.status, r.out, r.err)
    }

    /// Every non-empty line of `text` as a JSON object; records an issue for any other line.
    static func jsonLines(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                Issue.record("a stderr line is not JSON: \(line)", sourceLocation: sourceLocation)
                continue
            }
            #expect(object["level"] is String && object["msg"] is String && object["event"] is String,
                    "\(line)", sourceLocation: sourceLocation)
            objects.append(object)
        }
        return objects
    }

    // MARK: Usage errors

    @Test(
        "usage errors exit 2 with the message and the usage",
        arguments: [
            ["run"],  // missing argument
            ["resume"],
            ["run", "pipelines/text-to-tag.yaml", "--no-such-flag"],
            ["run", "pipelines/text-to-tag.yaml", "--concurrency", "0"],
            ["run", "pipelines/text-to-tag.yaml", "--concurrency", "many"],
            ["run", "pipelines/text-to-tag.yaml", "--fixture", "f.yaml"],  // --fixture needs --sandbox
            ["validate", "--format", "yaml"],
            ["no-such-command"],
            // A command named first is parsed on its own; what it refuses is answered from the root.
            ["runs", "list", "--limit", "none"],
            ["runs", "no-such-command"],
        ])
    func usageErrors(arguments: [String]) async throws {
        let r = try await Self.masscast(arguments)
        #expect(r.status == 2, "\(arguments): \(r.status)\n\(r.err)")
        #expect(r.err.contains("Error:"), "\(r.err)")
        #expect(r.err.contains("Usage: masscast") || r.err.contains("Help:"), "\(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test("--help exits 0 and --version prints what the docs say")
    func helpAndVersion() async throws {
        for arguments in [["--help"], ["run", "--help"], ["help", "run"], ["runs", "list", "--help"], ["run", "-h"]] {
            let r = try await Self.masscast(arguments)
            #expect(r.status == 0, "\(arguments): \(r.err)")
            #expect(r.out.contains("USAGE: masscast"))
        }
        let version = try await Self.masscast(["--version"])
        #expect(version.status == 0)
        // --version anywhere, as ArgumentParser answers it from the root.
        let late = try await Self.masscast(["run", "pipelines/text-to-tag.yaml", "--version"])
        #expect(late.status == 0 && late.out == version.out, "\(late.out)\(late.err)")
        let docs = try String(contentsOf: RunTestEnv.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let line = try #require(docs.split(separator: "\n").first { $0.hasPrefix("masscast --version") })
        let documented = try #require(line.components(separatedBy: "print the version: ").last)
        #expect(version.out == documented.trimmingCharacters(in: .whitespaces) + "\n", "\(version.out) vs \(line)")
    }

    // MARK: Missing files

    @Test("a missing pipeline file exits 2 with a clear message (run and validate)")
    func missingPipeline() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/broadcast.yaml"
        let text = try await Self.masscast(["run", path, "--log-format", "text"])
        #expect(text.status == 2, "\(text.err)")
        #expect(text.err == "masscast: no such pipeline file: \(path)\n", "\(text.err)")
        let json = try await Self.masscast(["run", path, "--log-format", "json"])
        #expect(json.status == 2)
        let lines = Self.jsonLines(json.err)
        #expect(lines.count == 1)
        #expect(lines.first?["msg"] as? String == "no such pipeline file: \(path)")
        #expect(lines.first?["event"] as? String == "setup.failed" && lines.first?["level"] as? String == "error")
        let validate = try await Self.masscast(["validate", path])
        #expect(validate.status == 2)
        #expect(validate.out.contains("no such file or folder"))
    }

    // MARK: JSON logs are JSON

    @Test("--log-format json: every stderr line of a failed setup is a JSON object")
    func jsonSetupFailures() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let unknownAccount = try ws.write(
                "pipelines/nobody.yaml", sendAndWaitPipeline(name: "nobody").replacingOccurrences(of: "account: brand-main", with: "account: nobody"))
            let invalid = try ws.write(
                "pipelines/invalid.yaml", sendAndWaitPipeline(name: "invalid").replacingOccurrences(of: "source: poll", with: "sourse: poll"))
            let good = try ws.write("pipelines/good.yaml", sendAndWaitPipeline(name: "good"))
            let cases: [(String, [String], [String: String?], String)] = [
                ("unknown account", [unknownAccount], [:], "setup.failed"),
                ("invalid pipeline", [invalid], [:], "pipeline.invalid"),
                ("missing secret", [good], [RunTestEnv.secretVariable: nil], "setup.failed"),
                ("missing config file", [good, "--config", ws.dir.appendingPathComponent("none.yaml").path], [:], "setup.failed"),
            ]
            for (label, arguments, env, event) in cases {
                var args = ["run"] + arguments + ["--state", ws.statePath, "--log-format", "json"]
                if !arguments.contains("--config") { args += ["--config", ws.configPath] }
                let r = try await ws.masscast(args, env: env)
                #expect(r.exited(2), "\(label): \(r)")
                let lines = Self.jsonLines(r.err)
                #expect(!lines.isEmpty, "\(label): nothing on stderr")
                #expect(lines.contains { $0["event"] as? String == event }, "\(label): \(r.err)")
            }
            // resume too: an unknown run id.
            let resume = try await ws.masscast(["resume", "r20000101-000000-nosuch"] + ws.common)
            #expect(resume.exited(2), "\(resume)")
            let resumeLines = Self.jsonLines(resume.err)
            #expect(resumeLines.count == 1 && resumeLines.first?["event"] as? String == "setup.failed", "\(resume)")
            #expect((resumeLines.first?["msg"] as? String)?.contains("no run r20000101-000000-nosuch") == true, "\(resume)")
            // The diagnostic keeps its place: file, line and column.
            let r = try await ws.masscast(["run", invalid, "--config", ws.configPath, "--log-format", "json"])
            let diagnostic = try #require(Self.jsonLines(r.err).first { $0["event"] as? String == "pipeline.invalid" })
            #expect(diagnostic["file"] as? String == invalid)
            #expect(diagnostic["line"] as? Int == 17 && diagnostic["column"] as? Int == 7, "\(diagnostic)")
            #expect((diagnostic["msg"] as? String)?.hasPrefix("\(invalid):17:7: error: ") == true, "\(diagnostic)")
            await ws.expectNoSecrets()
        }
    }

    @Test("--log-format json: every stderr line of a --sandbox rehearsal is a JSON object, its last words included")
    func jsonSandboxRun() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = dir.appendingPathComponent("rehearsal.yaml").path
        try """
            version: 1
            name: rehearsal
            account: brand-main
            steps:
              - id: send
                uses: mass/sendall
                with:
                  filter: { is_to_all: false, tag_id: 100 }
                  msgtype: text
                  text: { content: "rehearsal" }
              - id: check
                uses: mass/get
                with:
                  msg_id: ${{ steps.send.outputs.msg_id }}
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let r = try await Self.masscast(["run", pipeline, "--sandbox", "--log-format", "json"], directory: dir)
        #expect(r.status == 0, "\(r.err)")
        let lines = Self.jsonLines(r.err)
        #expect(lines.contains { $0["event"] as? String == "run.finished" }, "\(r.err)")
        let last = try #require(lines.last)
        #expect(last["event"] as? String == "run.rehearsal_done", "\(r.err)")
        #expect((last["msg"] as? String)?.contains("sandbox rehearsal") == true)
        #expect(!r.err.contains("masscast: "), "a plain line in the JSON stream:\n\(r.err)")
        #expect(!r.err.contains(RunTestEnv.secret))
    }

    // MARK: NO_COLOR

    /// Runs `command` (a shell line) on a pseudo-terminal with `script`, returning what the
    /// terminal showed (stdout and stderr together).
    static func onTerminal(_ command: String, env: [String: String?]) async throws -> String {
        var changes = env
        changes["TERM"] = "xterm"
        let r = try await MasscastBinary.runTool(
            "/usr/bin/script", ["-qec", command, "/dev/null"], environment: MasscastBinary.environment(changes),
            directory: RunTestEnv.root)
        #expect(!r.timedOut, "\(r)")
        return r.out + r.err
    }

    @Test("NO_COLOR (non-empty) turns colour off on a terminal: validate, graph and run's diagnostics",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func noColor() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-color-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml").path
        try CLITests.bad.write(toFile: bad, atomically: true, encoding: .utf8)
        let binary = RunTestEnv.binary
        for command in ["\(binary) validate \(bad)", "\(binary) graph \(bad)", "\(binary) run \(bad) --sandbox --log-format text"] {
            let coloured = try await Self.onTerminal(command, env: ["NO_COLOR": nil])
            #expect(coloured.contains("unknown key 'retires'"), "\(command): \(coloured)")
            #expect(coloured.contains("\u{1B}["), "on a terminal without NO_COLOR there should be colour: \(command)")
            let plain = try await Self.onTerminal(command, env: ["NO_COLOR": "1"])
            #expect(plain.contains("unknown key 'retires'"), "\(command): \(plain)")
            #expect(!plain.contains("\u{1B}["), "NO_COLOR=1 but colour in: \(command)\n\(plain)")
            let empty = try await Self.onTerminal(command, env: ["NO_COLOR": ""])
            #expect(empty.contains("\u{1B}["), "an empty NO_COLOR is ignored: \(command)")
        }
    }

    // MARK: Help

    static let helpCommands = [
        [], ["validate"], ["graph"], ["run"], ["resume"], ["runs"], ["runs", "list"], ["runs", "show"], ["schema"],
        ["sandbox"], ["listen"],
    ]

    @Test("help paragraphs have no hard line breaks: at 1000 columns each is one line", arguments: helpCommands)
    func helpParagraphs(command: [String]) async throws {
        let r = try await Self.masscast(command + ["--help"], env: ["COLUMNS": "1000"])
        #expect(r.status == 0)
        // The overview (abstract and discussion) comes before USAGE.
        let overview = try #require(r.out.components(separatedBy: "\nUSAGE:").first)
        let lines = overview.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indent(_ s: String) -> Int { s.prefix { $0 == " " }.count }
        for (a, b) in zip(lines, lines.dropFirst()) where !a.isEmpty && !b.isEmpty {
            // Prose starts at column 0 and is one line per paragraph; only examples (indented)
            // come in runs of lines.
            #expect(indent(a) > 0 || indent(b) > 0,
                    "a hard line break inside a paragraph of `masscast \(command.joined(separator: " ")) --help`:\n\(a)\n\(b)")
        }
    }

    // MARK: Signals and resume hints

    @Test(
        "a signal during mass/wait is named in the log, exits 3, and the resume hint can be copied as is",
        arguments: [(SIGTERM, "SIGTERM"), (SIGINT, "Ctrl-C (SIGINT)")])
    func signalDuringWait(signal: Int32, name: String) async throws {
        let clock = ManualClock(start: Date())
        try await withSandbox([("review: 1s", "review: 1h")], clock: clock) { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/signalled.yaml", sendAndWaitPipeline(name: "signalled"))
            let process = try ws.start(["run", pipeline] + ws.common)
            let waiting = await process.waitUntil {
                process.stderrSoFar.contains("\"event\":\"step.started\"")
                    && process.stderrSoFar.contains("\"step.id\":\"finish\"")
            }
            #expect(waiting, "the run never reached mass/wait\n\(process.stderrSoFar)")
            try await Task.sleep(for: .milliseconds(300))
            process.signal(signal)
            let stopped = await ws.finish(process)
            #expect(stopped.exited(3), "\(stopped)")
            let runID = try #require(stopped.runID)
            _ = Self.jsonLines(stopped.err)  // every line JSON, the signal note included
            let stopping = stopped.events("run.stopping")
            #expect(stopping.count == 1 && stopping.first?["signal"] as? String == (signal == SIGTERM ? "SIGTERM" : "SIGINT"), "\(stopped)")
            let stoppedLine = try #require(stopped.events("run.stopped").first)
            let message = try #require(stoppedLine["msg"] as? String)
            #expect(message.contains("stopped by \(name)"), "\(message)")
            if signal == SIGTERM { #expect(!message.contains("Ctrl-C"), "\(message)") }
            // The run record says so too (runs list).
            let listed = try await ws.runsList()
            #expect((listed.first?["message"] as? String)?.contains("stopped by \(name)") == true, "\(listed)")

            // "Resume with: masscast resume RUN --state … --config …": run exactly that.
            let hint = try #require(message.components(separatedBy: "Resume with: ").last)
            #expect(hint == "masscast resume \(runID) --state \(ws.statePath) --config \(ws.configPath)", "\(hint)")
            clock.advance(by: .seconds(4000))  // the job finishes
            let words = hint.split(separator: " ").map(String.init)
            let resumed = try await ws.masscast(Array(words.dropFirst()) + ["--log-format", "json"])
            #expect(resumed.exited(0), "\(resumed)")
            #expect(try await ws.sends().count == 1)
            await ws.expectNoSecrets()
        }
    }

    // MARK: Colour decisions in the sources

    @Test("every colour decision of the CLI goes through useColor (NO_COLOR)")
    func colourDecisionsUseTheFunction() async throws {
        let folder = RunTestEnv.root.appendingPathComponent("Sources/masscast")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("DiagnosticRenderer(color:") {
                #expect(line.contains("useColor("), "\(name): \(line)")
                #expect(!line.contains("isTerminal("), "\(name): \(line)")
            }
        }
    }
}
