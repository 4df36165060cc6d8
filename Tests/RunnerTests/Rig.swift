import Foundation
import Logging
import PipelineCore
import PipelineYAML
import RunLog
import RunState
import Runner
import StateSQLite
import Testing
import WeChatMP
import WeChatSandbox

/// A sandbox on a free loopback port, a temporary state store, and a runner wired to both.
final class Rig: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let secret = "sandbox-secret-brand-main-0001"

    let sandbox: RunningSandbox
    let store: SQLiteStateStore
    let fixture: SandboxFixture
    let logs = LogSink.memory()
    let dir: URL

    /// `edit` changes the default fixture's YAML text (shorter windows, quotas, faults).
    static func start(_ edit: (String) -> String = { $0 }) async throws -> Rig {
        var yaml = SandboxFixture.defaultYAML
        yaml = yaml.replacingOccurrences(of: "clientmsgid_retry_window: 1m", with: "clientmsgid_retry_window: 2s")
        yaml = yaml.replacingOccurrences(of: "review: 30s", with: "review: 10s")
        yaml = edit(yaml)
        let fixture = try SandboxFixture.load(yaml: yaml, file: "test-fixture.yaml")
        let engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
        let sandbox = try await RunningSandbox.start(engine: engine)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: dir.appendingPathComponent("state.sqlite").path)
        return Rig(sandbox: sandbox, store: store, fixture: fixture, dir: dir)
    }

    /// Runs `body` with a fresh rig and always stops it.
    static func with<T>(_ edit: (String) -> String = { $0 }, _ body: (Rig) async throws -> T) async throws -> T {
        let rig = try await start(edit)
        do {
            let value = try await body(rig)
            await rig.stop()
            return value
        } catch {
            await rig.stop()
            throw error
        }
    }

    init(sandbox: RunningSandbox, store: SQLiteStateStore, fixture: SandboxFixture, dir: URL) {
        self.sandbox = sandbox
        self.store = store
        self.fixture = fixture
        self.dir = dir
    }

    func stop() async {
        await sandbox.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func account(_ name: String = "brand-main") -> AccountSettings {
        let a = fixture.accounts.first { $0.name == name }!
        var pacing = Pacing()
        pacing.clientMsgIDRetryWindow = fixture.windows.clientMsgIDRetryWindow
        if let s = fixture.quotas.sendsPerDay { pacing.sendsPerDay = s }
        return AccountSettings(
            name: a.name, appID: a.appID, secret: a.secret, apiBase: sandbox.baseURL,
            kind: a.kind.rawValue == "subscription" ? .subscription : .service, originalID: a.originalID,
            pacing: pacing)
    }

    /// Writes a pipeline into the rig's folder (relative files resolve against the repo's
    /// `pipelines/` folder when `besideExamples`).
    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func example(_ name: String) -> String {
        root.appendingPathComponent("pipelines/\(name).yaml").path
    }

    func load(_ path: String) throws -> Pipeline {
        let loaded = PipelineLoader().load(path: path)
        #expect(!loaded.hasErrors, "\(loaded.diagnostics)")
        return try #require(loaded.pipeline)
    }

    func executor(
        _ path: String, inputs: [String] = [], account: String = "brand-main",
        configure: (inout RunOptions) -> Void = { _ in }
    ) throws -> RunExecutor {
        let pipeline = try load(path)
        var options = RunOptions()
        options.inputs = try Inputs.resolve(inputs, pipeline: pipeline)
        options.sandbox = true
        options.enforceSchedule = false
        options.waitGrace = .milliseconds(300)
        options.firstPollDelay = .milliseconds(300)
        configure(&options)
        let account = self.account(account)
        let logger = LogFormat.makeLogger(
            label: "test", format: .json, sink: logs, scrubber: Scrubber(), level: .debug)
        let digest = Idempotency.digest(FileManager.default.contents(atPath: path) ?? Data())
        return RunExecutor(
            pipeline: pipeline, pipelineFile: path, pipelineDigest: digest, account: account, store: store,
            transport: AsyncHTTPTransport(), logger: logger, options: options)
    }

    func run(
        _ path: String, inputs: [String] = [], account: String = "brand-main",
        configure: (inout RunOptions) -> Void = { _ in }
    ) async throws -> RunResult {
        try await executor(path, inputs: inputs, account: account, configure: configure).start()
    }

    func sends() async -> [SandboxSendRecord] { await sandbox.engine.sends() }

    /// `GET /sandbox/sends`, the inspection endpoint, as JSON objects.
    func inspectedSends() async throws -> [[String: Any]] {
        let response = try await AsyncHTTPTransport().send(
            TransportRequest(method: .get, url: sandbox.baseURL + "/sandbox/sends", timeout: .seconds(10)))
        let data = response.body
        let json = try JSONSerialization.jsonObject(with: data)
        if let list = json as? [[String: Any]] { return list }
        if let object = json as? [String: Any], let list = object["sends"] as? [[String: Any]] { return list }
        Issue.record("unexpected /sandbox/sends shape: \(String(decoding: data, as: UTF8.self).prefix(300))")
        return []
    }

    func steps(_ result: RunResult) async throws -> [String: StepRecord] {
        guard let id = result.runID else { return [:] }
        return Dictionary(uniqueKeysWithValues: try await store.steps(runID: id).map { ($0.stepID, $0) })
    }

    func outputs(_ step: StepRecord?) -> [String: Value] {
        guard let json = step?.outputsJSON, case .object(let o)? = try? Value.parseJSON(json) else { return [:] }
        return o
    }

    func addFaults(_ yaml: String) async throws {
        let rules = try SandboxFixture.loadFaults(text: yaml, file: "faults.yaml").rules
        await sandbox.engine.addFaults(rules)
    }
}
