import Foundation
import Logging
import MasscastApp
import PipelineCore
import PipelineYAML
import RunLog
import RunState
import Runner
import StateSQLite
import WeChatMP
import WeChatSandbox

/// The runner's test rig: a sandbox, a temporary state store, and runs of pipelines against
/// both, prepared by `MasscastApp` as `masscast run --sandbox` prepares them
/// (``RunSession/prepare(_:account:environment:wiring:configure:logging:)``: the pipeline,
/// inputs, config, the fixture's account, the options and the executor).
/// What differs is only what a test needs: the sandbox stands in for the real API (its
/// account is keyed by the sandbox's URL, not as a rehearsal's), runs in this process with a fixture
/// the test may edit, the runner reaches it in process (`InProcessTransport`, no socket) by
/// default, `.virtual` time puts the runner, the transport and the sandbox on one
/// ``VirtualClock`` (waits of hours take milliseconds), `.socket` serves the sandbox over HTTP
/// on a free loopback port (end-to-end checks), and waits before polls are short.
public final class Rig: @unchecked Sendable {
    /// The repository's root (its `pipelines/` hold the examples).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The default fixture's secret of `brand-main`, for tests that check it is never shown.
    public static let secret = "sandbox-secret-brand-main-0001"

    /// How the runner reaches the sandbox.
    public enum Reach: Sendable { case inProcess, socket }
    /// Which time the runner and the sandbox follow.
    public enum Time: Sendable { case wall, virtual }

    /// The sandbox as the tests see it: its engine and the base URL the runner calls.
    public struct Sandbox: Sendable {
        /// The engine (inspect its sends, pushes, faults).
        public let engine: SandboxEngine
        /// Where the runner calls it.
        public let baseURL: String
        /// The HTTP server, with `.socket`.
        public let running: RunningSandbox?
    }

    /// The sandbox.
    public let sandbox: Sandbox
    /// The state store every run of this rig uses.
    public let store: SQLiteStateStore
    /// The fixture the sandbox serves.
    public let fixture: SandboxFixture
    /// Every run's log lines (JSON, debug level, nothing scrubbed: tests check no secret is logged).
    public let logs = LogSink.memory()
    /// A temporary folder for pipelines and stores, removed by ``stop()``.
    public let dir: URL
    /// What every executor of this rig calls WeChat through.
    public let transport: any WeChatTransport
    /// Virtual time, when the rig runs on it.
    public let virtual: VirtualClock?
    private let background: Task<Void, Never>?

    /// `edit` changes the default fixture's YAML text (shorter windows, quotas, faults).
    /// - Parameter virtualStart: the wall time at which virtual time starts (now by default).
    public static func start(
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
        // A repository of its own: a masscast.yaml is looked for up to here, never in the folders above.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".git"), withIntermediateDirectories: true)
        let store = try SQLiteStateStore(path: dir.appendingPathComponent("state.sqlite").path)
        return Rig(
            sandbox: sandbox, store: store, fixture: fixture, dir: dir, transport: transport, virtual: virtual,
            background: background)
    }

    /// Runs `body` with a fresh rig and always stops it.
    public static func with<T>(
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

    /// Stops the sandbox's server and ticks and removes the rig's folder.
    public func stop() async {
        background?.cancel()
        await sandbox.running?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Wall time as the runner and the sandbox see it (virtual or not).
    public func now() -> Date { virtual?.date ?? Date() }

    /// Options for an executor a test makes itself: the rig's time.
    public func baseOptions() -> RunOptions {
        var options = RunOptions()
        keepTime(&options)
        return options
    }

    /// Puts `options` on the rig's time (the virtual clock's, when it has one).
    func keepTime(_ options: inout RunOptions) {
        if let virtual {
            options.clock = virtual
            options.now = { virtual.date }
        }
    }

    /// What a run of this rig reads from its process: no variables, the rig's folder.
    public var environment: AppEnvironment { AppEnvironment(variables: [:], workingDirectory: dir.path) }

    /// Where a run of this rig finds its account: the fixture's, the sandbox standing in for
    /// the real API (``AccountSource/standIn(_:baseURL:)``).
    public var accountSource: AccountSource { .standIn(fixture, baseURL: sandbox.baseURL) }

    /// The fixture's account `name` as this rig's runs use it.
    public func account(_ name: String = "brand-main") -> AccountSettings {
        guard let fixtureAccount = fixture.accounts.first(where: { $0.name == name }) else {
            preconditionFailure("the rig's fixture has no account \(name)")
        }
        return AccountResolver.standIn(fixtureAccount, of: fixture, baseURL: sandbox.baseURL)
    }

    /// Writes a pipeline into the rig's folder.
    public func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The example pipeline `pipelines/<name>.yaml`.
    public static func example(_ name: String) -> String {
        root.appendingPathComponent("pipelines/\(name).yaml").path
    }

    /// The pipeline at `path`, read as a run reads it; one with errors is a ``SetupError``
    /// carrying its diagnostics.
    public func load(_ path: String) throws -> Pipeline {
        try ProjectFiles.loadPipeline(path, environment: environment).pipeline
    }

    /// The session `masscast run PATH --sandbox --input …` would prepare, against this rig's
    /// sandbox and store.
    /// - Parameters:
    ///   - account: the account the pipeline names (a different one is refused: the
    ///     pipeline says which account it sends as).
    ///   - store: the store the run journals to instead of ``store`` (a wrapper that injects
    ///     faults, a second connection standing for another process).
    ///   - transport: what the run calls the sandbox through instead of ``transport`` (one
    ///     that counts calls).
    ///   - logger: where the run logs instead of ``logs`` (a terminal's text).
    ///   - configure: last changes to the options.
    public func session(
        _ path: String, inputs: [String] = [], account: String = "brand-main", store: (any StateStore)? = nil,
        transport: (any WeChatTransport)? = nil, logger: Logger? = nil, configure: (inout RunOptions) -> Void = { _ in }
    ) throws -> RunSession {
        let session = try RunSession.prepare(
            RunRequest(pipeline: path, inputs: inputs, sandbox: true), account: accountSource,
            environment: environment,
            wiring: SessionWiring(transport: transport ?? self.transport, store: self.store, journal: store),
            configure: { options in
                keepTime(&options)
                options.waitGrace = .milliseconds(300)
                options.firstPollDelay = .milliseconds(300)
                configure(&options)
            },
            logging: { _ in
                SessionLogging(
                    logger: logger
                        ?? LogFormat.makeLogger(label: "test", format: .json, sink: logs, scrubber: Scrubber(), level: .debug))
            })
        guard session.account.name == account else {
            throw SetupError(
                .account, "\(path) sends as account \(session.account.name), not \(account) as the test expects")
        }
        return session
    }

    /// The executor of ``session(_:inputs:account:store:transport:logger:configure:)``.
    public func executor(
        _ path: String, inputs: [String] = [], account: String = "brand-main", store: (any StateStore)? = nil,
        transport: (any WeChatTransport)? = nil, logger: Logger? = nil, configure: (inout RunOptions) -> Void = { _ in }
    ) throws -> RunExecutor {
        try session(
            path, inputs: inputs, account: account, store: store, transport: transport, logger: logger,
            configure: configure
        ).executor
    }

    /// Runs the pipeline at `path` to its end.
    public func run(
        _ path: String, inputs: [String] = [], account: String = "brand-main",
        configure: (inout RunOptions) -> Void = { _ in }
    ) async throws -> RunResult {
        try await executor(path, inputs: inputs, account: account, configure: configure).start()
    }

    /// The sandbox's accepted sends.
    public func sends() async -> [SandboxSendRecord] { await sandbox.engine.sends() }

    /// `GET /sandbox/sends`, the inspection endpoint, as JSON objects.
    public func inspectedSends() async throws -> [[String: Any]] {
        let response = try await transport.send(
            TransportRequest(method: .get, url: sandbox.baseURL + "/sandbox/sends", timeout: .seconds(10)))
        let data = response.body
        let json = try JSONSerialization.jsonObject(with: data)
        if let list = json as? [[String: Any]] { return list }
        if let object = json as? [String: Any], let list = object["sends"] as? [[String: Any]] { return list }
        throw RigError(message: "unexpected /sandbox/sends shape: \(String(decoding: data, as: UTF8.self).prefix(300))")
    }

    /// The steps of a run, by id.
    public func steps(_ result: RunResult) async throws -> [String: StepRecord] {
        guard let id = result.runID else { return [:] }
        return Dictionary(uniqueKeysWithValues: try await store.steps(runID: id).map { ($0.stepID, $0) })
    }

    /// A step's outputs.
    public func outputs(_ step: StepRecord?) -> [String: Value] {
        guard let json = step?.outputsJSON, case .object(let o)? = try? Value.parseJSON(json) else { return [:] }
        return o
    }

    /// Adds fault rules (the fixture's `faults:` format) to the sandbox.
    public func addFaults(_ yaml: String) async throws {
        let rules = try SandboxFixture.loadFaults(text: yaml, file: "faults.yaml").rules
        await sandbox.engine.addFaults(rules)
    }
}

/// Something the rig was given or answered that it cannot use.
public struct RigError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
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
