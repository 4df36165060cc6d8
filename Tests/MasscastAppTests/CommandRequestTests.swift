import Foundation
import MasscastApp
import PipelineCore
import Testing

/// What the command line's flags become in `MasscastApp`: requests, their usage errors, and
/// the work `init` and `validate` do before printing.
@Suite("Requests built from flags")
struct CommandRequestTests {
    @Test("a run request: --concurrency below 1 and --fixture without --sandbox are usage errors")
    func runUsage() {
        #expect(RunRequest(pipeline: "p.yaml").usageError == nil)
        #expect(RunRequest(pipeline: "p.yaml", sandbox: true, fixture: "f.yaml").usageError == nil)
        #expect(RunRequest(pipeline: "p.yaml", fixture: "f.yaml").usageError == "--fixture needs --sandbox")
        #expect(
            RunRequest(pipeline: "p.yaml", settings: SessionSettings(concurrency: 0)).usageError
                == "--concurrency must be at least 1")
        // resume has no such flags to check (as before: its --concurrency is not checked).
        #expect(RunRequest(resuming: "r1", settings: SessionSettings(concurrency: 0)).usageError == nil)
    }

    @Test("run and resume are one request: the action says which, and only resume confirms a resend")
    func oneRequest() {
        let run = RunRequest(pipeline: "p.yaml", inputs: ["a=1"], sandbox: true, rerun: true, confirmToAll: "x")
        #expect(run.action == .start(pipeline: "p.yaml"))
        #expect(run.inputs == ["a=1"] && run.sandbox && run.rerun && !run.confirmResend && run.confirmToAll == "x")
        let resume = RunRequest(
            resuming: "r20261129-070001-k3x9qa", confirmResend: true, fixture: "f.yaml",
            settings: SessionSettings(state: "s.sqlite", secrets: ".env"))
        #expect(resume.action == .resume(runID: "r20261129-070001-k3x9qa"))
        #expect(resume.confirmResend && !resume.sandbox && !resume.rerun && resume.inputs.isEmpty)
        #expect(resume.settings.resumeArguments == ["--state", "s.sqlite", "--secrets", ".env"])
    }

    @Test(
        "listen's flags: each one out of range is a usage error naming it",
        arguments: [
            ("0s", 65536, 8081, nil, nil, "--timestamp-window must be a duration such as 5m, 300s or 1m30s"),
            ("soon", 65536, 8081, nil, nil, "--timestamp-window must be a duration such as 5m, 300s or 1m30s"),
            ("5m", 1023, 8081, nil, nil, "--max-body-bytes must be at least 1024"),
            ("5m", 1024, 65536, nil, nil, "--port must be 0…65535"),
            ("5m", 1024, -1, nil, nil, "--port must be 0…65535"),
            ("5m", 1024, 0, "wx8a3f2c71d905be46", nil, "--app-id goes with --account-original-id"),
        ] as [(String, Int, Int, String?, String?, String)])
    func listenUsage(window: String, maxBody: Int, port: Int, appID: String?, originalID: String?, message: String) {
        do {
            _ = try ListenRequest(
                flags: port, timestampWindow: window, maxBodyBytes: maxBody, path: "/wechat/callback", config: nil,
                state: nil, secrets: nil, accountOriginalID: originalID, appID: appID, accountName: "default")
            Issue.record("expected a usage error")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test("listen's flags in range make the request, the window parsed")
    func listenRequest() throws {
        let request = try ListenRequest(
            flags: 0, timestampWindow: "1m30s", maxBodyBytes: 2048, path: "/cb", config: "c.yaml", state: "s.sqlite",
            secrets: ".env", accountOriginalID: "gh_5d1c0e8f7a93", appID: "wx8a3f2c71d905be46", accountName: "main")
        #expect(request.timestampWindow == .seconds(90))
        #expect(request.maxBodyBytes == 2048 && request.path == "/cb" && request.accountName == "main")
        #expect(request.config == "c.yaml" && request.state == "s.sqlite" && request.secrets == ".env")
        #expect(request.accountOriginalID == "gh_5d1c0e8f7a93" && request.appID == "wx8a3f2c71d905be46")
    }

    @Test("init in a folder: a config with a project id, .masscast/ ignored, each said; again, nothing added")
    func initialize() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        var said: [String] = []
        try ProjectSetup.initialize(folder: nil, environment: ws.environment) { said.append($0) }
        let config = ws.root.appendingPathComponent("masscast.yaml").path
        #expect(said.count == 2)
        #expect(said.first?.hasPrefix("wrote \(config) with project id mc-") == true)
        #expect(said.last == "added .masscast/ to \(ws.root.appendingPathComponent(".gitignore").path)")
        let text = try String(contentsOfFile: config, encoding: .utf8)
        #expect(text.contains("project: mc-"))
        said = []
        try ProjectSetup.initialize(folder: ".", environment: ws.environment) { said.append($0) }
        #expect(said.count == 1 && said[0].contains("already has project id"))
        #expect(try String(contentsOfFile: config, encoding: .utf8) == text)
    }

    @Test("init in a folder that does not exist is a setup error naming it; nothing is said")
    func initializeMissingFolder() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        var said: [String] = []
        do {
            try ProjectSetup.initialize(folder: "nowhere", environment: ws.environment) { said.append($0) }
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .file)
            #expect(error.message == "no folder \(ws.root.appendingPathComponent("nowhere").path)")
        }
        #expect(said.isEmpty)
    }

    @Test("validate's report: text with a summary (none when quiet and clean), json, github annotations")
    func validationReport() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let good = try ws.write("pipelines/good.yaml", Workspace.pipeline(account: "brand-main"))
        let clean = Validation(paths: [good], jobs: 1).run(workingDirectory: ws.root.path)
        #expect(!clean.failed)
        #expect(clean.report(format: .text, color: false, quiet: true).isEmpty == clean.diagnostics.isEmpty)
        #expect(!clean.report(format: .text, color: false).isEmpty)
        let bad = try ws.write("pipelines/bad.yaml", "version: 1\nname: bad\nsteps: 3\n")
        let outcome = Validation(paths: [bad], jobs: 1).run(workingDirectory: ws.root.path)
        #expect(outcome.failed)
        let text = outcome.report(format: .text, color: false, quiet: true)
        #expect(text.contains("bad.yaml:") && text.contains("error"))
        #expect(!text.contains("\u{1B}["), "no colour unless asked")
        #expect(outcome.report(format: .text, color: true).contains("\u{1B}["))
        let json = try JSONSerialization.jsonObject(with: Data(outcome.report(format: .json, color: false).utf8))
        #expect(json is [String: Any])
        #expect(outcome.report(format: .github, color: false).hasPrefix("::error file="))
    }

    @Test("validate's snippets show the text that was checked, even when the file changes before the report")
    func validationSnippetsComeFromTheCheckedText() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let bad = try ws.write("pipelines/bad.yaml", "version: 1\nname: bad\nsteps: 3   # checked\n")
        let outcome = Validation(paths: [bad], jobs: 2).run(workingDirectory: ws.root.path)
        #expect(outcome.failed)
        _ = try ws.write("pipelines/bad.yaml", "version: 1\nname: bad\nsteps: 4   # edited\n")
        let text = outcome.report(format: .text, color: false)
        #expect(text.contains("steps: 3   # checked"))
        #expect(!text.contains("# edited"))
    }

    @Test("validate masks a secret-named key's value in a snippet, and leaves other lines whole")
    func validationSnippetsMaskSecrets() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let bad = try ws.write(
            "pipelines/bad.yaml",
            "version: 1\nname: bad\naccount: { app_id: wx1, App_Secret: hunter2-literal, kind: service }\nsteps: 3 # 群发 token\n")
        let text = Validation(paths: [bad], jobs: 1).run(workingDirectory: ws.root.path)
            .report(format: .text, color: false)
        #expect(!text.contains("hunter2-literal"))
        #expect(text.contains("App_Secret: <redacted>"))
        #expect(text.contains("steps: 3 # 群发 token"))
    }
}
