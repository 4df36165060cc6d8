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

/// A sandbox, a temporary state store, and a runner wired to both. By default the runner
/// reaches the sandbox in process (`InProcessTransport`, no socket) on wall time; `.virtual`
/// time puts the runner, the transport and the sandbox on one ``VirtualClock``, so waits of
/// hours take milliseconds; `.socket` serves the sandbox over HTTP on a free loopback port
/// (the end-to-end checks in `LiveSocketTests`).
final class Rig: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let secret = "sandbox-secret-brand-main-0001"

    /// How the runner reaches the sandbox.
    enum Reach: Sendable { case inProcess, socket }
    /// Which time the runner and the sandbox follow.
    enum Time: Sendable { case wall, virtual }

    /// The sandbox as the tests see it: its engine and the base URL the runner calls.
    struct Sandbox: Sendable {
        let engine: SandboxEngine
        let baseURL: String
        let running: RunningSandbox?
    }

    let sandbox: Sandbox
    let store: SQLiteStateStore
    let fixture: SandboxFixture
    let logs = LogSink.memory()
    let dir: URL
    /// What every executor of this rig calls WeChat through.
    let transport: any WeChatTransport
    /// Virtual time, when the rig runs on it.
    let virtual: VirtualClock?
    private let background: Task<Void, Never>?

    /// `edit` changes the default fixture's YAML text (shorter windows, quotas, faults).
    /// - Parameter virtualStart: the wall time at which virtual time starts (now by default).
    static func start(
        _ edit: (String) -> String = { $0 }, reach: Reach = .inProcess, time: Time = .wall, virtualStart: Date? = nil
    ) async throws -> Rig {
        var yaml = SandboxFixture.defaultYAML
        yaml = yaml.replacingOccurrences(of: "clientmsgid_retry_window: 1m", with: "clientmsgid_retry_window: 2s")
        yaml = yaml.replacingOccurrences(of: "review: 30s", with: "review: 10s")
        yaml = edit(yaml)
        let fixture = try SandboxFixture.load(yaml: yaml, file: "test-fixture.yaml")
        let virtual = time == .virtual ? VirtualClock(start: virtualStart ?? Date()) : nil
        let engine = SandboxEngine(
            fixture: fixture, clock: virtual?.sandboxClock ?? WallClock(), pushSender: HTTPPushSender())
        let sandbox: Sandbox
        let transport: any WeChatTransport
        let background: Task<Void, Never>?
        switch reach {
        case .socket:
            let running = try await RunningSandbox.start(engine: engine)
            sandbox = Sandbox(engine: engine, baseURL: running.baseURL, running: running)
            transport = AsyncHTTPTransport()
            background = virtual?.drive()
        case .inProcess:
            sandbox = Sandbox(engine: engine, baseURL: InProcessTransport.baseURL, running: nil)
            if let virtual {
                transport = InProcessTransport(engine: engine, clock: virtual)
                // Jobs progress and pushes go out on virtual time, at each step of the driver;
                // a push to a slow callback server must not hold the clock, so a tick runs
                // beside the driver (one at a time).
                let ticking = TickGate()
                background = virtual.drive {
                    guard ticking.enter() else { return }
                    Task {
                        await engine.tick()
                        ticking.leave()
                    }
                }
            } else {
                transport = InProcessTransport(engine: engine)
                background = Task {
                    while !Task.isCancelled {
                        await engine.tick()
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: dir.appendingPathComponent("state.sqlite").path)
        return Rig(
            sandbox: sandbox, store: store, fixture: fixture, dir: dir, transport: transport, virtual: virtual,
            background: background)
    }

    /// Runs `body` with a fresh rig and always stops it.
    static func with<T>(
        _ edit: (String) -> String = { $0 }, reach: Reach = .inProcess, time: Time = .wall, virtualStart: Date? = nil,
        _ body: (Rig) async throws -> T
    ) async throws -> T {
        let rig = try await start(edit, reach: reach, time: time, virtualStart: virtualStart)
        do {
            let value = try await body(rig)
            await rig.stop()
            return value
        } catch {
            await rig.stop()
            throw error
        }
    }

    private init(
        sandbox: Sandbox, store: SQLiteStateStore, fixture: SandboxFixture, dir: URL, transport: any WeChatTransport,
        virtual: VirtualClock?, background: Task<Void, Never>?
    ) {
        self.sandbox = sandbox
        self.store = store
        self.fixture = fixture
        self.dir = dir
        self.transport = transport
        self.virtual = virtual
        self.background = background
    }

    func stop() async {
        background?.cancel()
        await sandbox.running?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Wall time as the runner and the sandbox see it (virtual or not).
    func now() -> Date { virtual?.date ?? Date() }

    /// Options every executor of this rig starts from: the rig's time.
    func baseOptions() -> RunOptions {
        var options = RunOptions()
        if let virtual {
            options.clock = virtual
            options.now = { virtual.date }
        }
        return options
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
        _ path: String, inputs: [String] = [], account: String = "brand-main", store: (any StateStore)? = nil,
        configure: (inout RunOptions) -> Void = { _ in }
    ) throws -> RunExecutor {
        let pipeline = try load(path)
        var options = baseOptions()
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
            pipeline: pipeline, pipelineFile: path, pipelineDigest: digest, account: account, store: store ?? self.store,
            transport: transport, logger: logger, options: options)
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
        let response = try await transport.send(
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

/// At most one sandbox tick in flight.
final class TickGate: @unchecked Sendable {
    private let lock = NSLock()
    private var busy = false

    func enter() -> Bool {
        lock.withLock {
            if busy { return false }
            busy = true
            return true
        }
    }

    func leave() { lock.withLock { busy = false } }
}
