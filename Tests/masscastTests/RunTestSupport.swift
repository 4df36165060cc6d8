import Foundation
import MasscastTesting
import RunLog
import RunState
import StateSQLite
import Testing
import WeChatMP
import WeChatSandbox

// Support for the end-to-end tests of `masscast run`, `resume` and `runs`: the built binary
// as a child process (bounded, killable, signalled), an in-process sandbox it talks to over
// loopback, and a temporary folder holding its masscast.yaml, pipelines and state file.

/// Constants shared by the run tests.
enum RunTestEnv {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `masscast` binary next to the test bundle (any --scratch-path).
    static let binary = MasscastBinary.path

    static let appID = "wx8a3f2c71d905be46"
    static let originalID = "gh_5d1c0e8f7a93"
    /// brand-main's app secret in the default fixture: it must never be printed.
    static let secret = "sandbox-secret-brand-main-0001"
    static let secretVariable = "BRAND_MAIN_APP_SECRET"
    /// The bound on one masscast process.
    static let processTimeout: Duration = .seconds(60)
    /// The clientmsgid retry window (45066) of the test sandboxes and of masscast.yaml's pacing.
    static let retryWindow = "6s"
}

// MARK: - Processes

/// Everything the tests' processes printed, and the report files they wrote: scanned for
/// secrets at the end of each test.
final class Transcript: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [(label: String, text: String)] = []

    func add(_ label: String, _ text: String) { lock.withLock { texts.append((label: label, text: text)) } }

    var all: [(label: String, text: String)] { lock.withLock { texts } }
}

// MARK: - Sandbox

/// The default fixture, tuned for these tests: jobs review for 1 s of sandbox time (0.1 s of
/// wall time), the clientmsgid retry window is `RunTestEnv.retryWindow`, and pushes go to
/// a closed port (the tests' waits poll).
func testFixture(_ edits: [(String, String)] = []) throws -> SandboxFixture {
    var text = SandboxFixture.defaultYAML
    let base: [(String, String)] = [
        ("clientmsgid_retry_window: 1m", "clientmsgid_retry_window: \(RunTestEnv.retryWindow)"),
        ("review: 30s", "review: 1s"),
        ("url: http://127.0.0.1:8081/wechat/callback", "url: http://127.0.0.1:9/wechat/callback"),
    ]
    for (from, to) in base + edits {
        #expect(text.contains(from), "the default fixture no longer has '\(from)'")
        text = text.replacingOccurrences(of: from, with: to)
    }
    return try SandboxFixture.load(yaml: text, file: "run-test-fixture.yaml")
}

/// Runs `body` with a sandbox on a free loopback port, and stops it afterwards (also when
/// `body` throws).
func withSandbox<T>(
    _ edits: [(String, String)] = [], clock: ManualClock? = nil, _ body: (RunningSandbox) async throws -> T
) async throws -> T {
    let fixture = try testFixture(edits)
    let engine: SandboxEngine
    if let clock {
        engine = SandboxEngine(fixture: fixture, clock: clock, pushSender: HTTPPushSender())
    } else {
        engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
    }
    let running = try await RunningSandbox.start(engine: engine)
    do {
        let result = try await body(running)
        await running.stop()
        return result
    } catch {
        await running.stop()
        throw error
    }
}

// MARK: - Workspace

/// A temporary project: masscast.yaml pointing at the sandbox, pipelines, a state file.
final class RunWorkspace: @unchecked Sendable {
    let sandbox: RunningSandbox
    let dir: URL
    let configPath: String
    let statePath: String
    let transcript = Transcript()
    private let logs: URL
    private var openedStore: SQLiteStateStore?

    /// - Parameter originalID: write the account's `original_id` (then `mass/wait` with
    ///   `source: auto` waits a grace period for the push after a terminal status).
    init(_ sandbox: RunningSandbox, originalID: Bool = true) throws {
        self.sandbox = sandbox
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-run-\(UUID().uuidString)")
        logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        configPath = dir.appendingPathComponent("masscast.yaml").path
        statePath = dir.appendingPathComponent("state/state.sqlite").path
        var lines = [
            "version: 1",
            "accounts:",
            "  brand-main:",
            "    app_id: \(RunTestEnv.appID)",
            "    app_secret: ${{ env.\(RunTestEnv.secretVariable) }}",
            "    kind: service",
        ]
        if originalID { lines.append("    original_id: \(RunTestEnv.originalID)") }
        lines.append("    api_base: \(sandbox.baseURL)")
        lines.append("    pacing: { clientmsgid_retry_window: \(RunTestEnv.retryWindow) }")
        let config = lines.joined(separator: "\n") + "\n"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Writes a file into the workspace; returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The environment of a child: this one, without the test hooks, plus the app secret.
    func environment(_ extra: [String: String?]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["MASSCAST_CRASH_AT"] = nil
        env[RunTestEnv.secretVariable] = RunTestEnv.secret
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Starts masscast with `arguments` (in the workspace folder unless `directory`).
    func start(_ arguments: [String], env: [String: String?] = [:], directory: URL? = nil) throws -> BinaryProcess {
        try BinaryProcess(arguments, environment: environment(env), directory: directory ?? dir)
    }

    /// Waits for a process started with `start` and records its output.
    func finish(_ process: BinaryProcess, timeout: Duration = RunTestEnv.processTimeout) async -> BinaryResult {
        let result = await process.wait(timeout: timeout)
        if result.timedOut { Issue.record("masscast did not end within \(timeout); killed it.\n\(result)") }
        transcript.add("masscast \(result.arguments.joined(separator: " ")) stdout", result.out)
        transcript.add("masscast \(result.arguments.joined(separator: " ")) stderr", result.err)
        return result
    }

    /// Runs masscast to its end (bounded).
    func masscast(_ arguments: [String], env: [String: String?] = [:], directory: URL? = nil) async throws
        -> BinaryResult
    {
        await finish(try start(arguments, env: env, directory: directory))
    }

    /// The options every run/resume gets: this workspace's state and config, JSON logs.
    var common: [String] { ["--state", statePath, "--config", configPath, "--log-format", "json"] }

    /// `masscast run PIPELINE` with the workspace's state and config.
    func run(_ pipeline: String, _ extra: [String] = [], env: [String: String?] = [:]) async throws -> BinaryResult {
        try await masscast(["run", pipeline] + common + extra, env: env)
    }

    /// Starts `masscast run PIPELINE`, waits until its `step` (a `mass/wait`) has started,
    /// presses Ctrl-C (SIGINT) and waits for it to end.
    func runInterruptedDuringWait(_ pipeline: String, step: String = "finish", extra: [String] = []) async throws -> BinaryResult {
        let process = try start(["run", pipeline] + common + extra)
        let waiting = await process.waitUntil {
            process.stderrSoFar.contains("\"event\":\"step.started\"")
                && process.stderrSoFar.contains("\"step.id\":\"\(step)\"")
        }
        #expect(waiting, "the run never reached \(step)\n\(process.stderrSoFar)")
        try await Task.sleep(for: .milliseconds(300))
        process.signal(SIGINT)
        return await finish(process)
    }

    /// `masscast resume RUN_ID` with the workspace's state and config.
    func resume(_ runID: String, _ extra: [String] = [], env: [String: String?] = [:]) async throws -> BinaryResult {
        try await masscast(["resume", runID] + common + extra, env: env)
    }

    /// `masscast runs show RUN_ID --format json`, decoded.
    func report(_ runID: String) async throws -> RunReport {
        let r = try await masscast(["runs", "show", runID, "--state", statePath, "--format", "json"])
        #expect(r.exited(0), "\(r)")
        let data = Data(r.out.utf8)
        return try RunReport.decode(data)
    }

    /// `masscast runs list --format json`, parsed.
    func runsList() async throws -> [[String: Any]] {
        let r = try await masscast(["runs", "list", "--state", statePath, "--format", "json"])
        #expect(r.exited(0), "\(r)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]], "\(r)")
    }

    /// The state file, opened in this process (after a masscast process created it).
    func store() throws -> SQLiteStateStore {
        if let openedStore { return openedStore }
        let s = try SQLiteStateStore(path: statePath)
        openedStore = s
        return s
    }

    /// The sandbox's accepted sends, through its inspection endpoint `GET /sandbox/sends`.
    func sends(clientMsgID: String? = nil) async throws -> [SandboxSendRecord] {
        var url = sandbox.baseURL + "/sandbox/sends"
        if let clientMsgID { url += "?clientmsgid=" + clientMsgID }
        let response = try await AsyncHTTPTransport().send(TransportRequest(method: .get, url: url, timeout: .seconds(10)))
        #expect(response.status == 200)
        struct Answer: Decodable { var sends: [SandboxSendRecord] }
        return try JSONDecoder().decode(Answer.self, from: response.body).sends
    }

    /// The sandbox's fault rules with how often each fired (`GET /sandbox/faults`).
    func faults() async throws -> [[String: Any]] {
        let response = try await AsyncHTTPTransport().send(
            TransportRequest(method: .get, url: sandbox.baseURL + "/sandbox/faults", timeout: .seconds(10)))
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        return object?["faults"] as? [[String: Any]] ?? []
    }

    /// Adds a file's text (a `--report` file) to what is scanned for secrets.
    func recordFile(_ path: String) {
        transcript.add(path, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    /// Checks that nothing printed or reported holds the app secret or an access token
    /// (the sandbox's current token, and the token cached in the state file).
    func expectNoSecrets(_ more: [String] = []) async {
        var secrets = [RunTestEnv.secret] + more
        if let token = await sandbox.engine.accessToken(appID: RunTestEnv.appID) { secrets.append(token) }
        if FileManager.default.fileExists(atPath: statePath),
            let cached = try? await store().loadToken(api: sandbox.baseURL, appID: RunTestEnv.appID)
        {
            secrets.append(cached.value)
        }
        for (label, text) in transcript.all {
            for secret in secrets where !secret.isEmpty && text.contains(secret) {
                Issue.record("a secret (\(secret.prefix(6))…) appears in \(label)")
            }
        }
    }

    func cleanUp() {
        try? openedStore?.close()
        try? FileManager.default.removeItem(at: dir)
    }
}

// MARK: - Values from JSON

extension Dictionary where Key == String {
    /// An integer value (a JSON log line's `msg_id`).
    func int64(_ key: String) -> Int64? {
        switch self[key] as Any {
        case let n as Int: Int64(n)
        case let n as Int64: n
        case let n as NSNumber: n.int64Value
        default: nil
        }
    }
}

/// A small pipeline: a text send to a tag, then a polled wait (no push grace period).
func sendAndWaitPipeline(name: String, extraSteps: String = "", schedule: String = "") -> String {
    """
    version: 1
    name: \(name)
    account: brand-main
    inputs:
      tag_id: { type: integer, default: 100 }
    \(schedule)steps:
      - id: send
        uses: mass/sendall
        with:
          filter: { is_to_all: false, tag_id: "${{ inputs.tag_id }}" }
          msgtype: text
          text: { content: "周末营业时间调整 · opening hours" }
      - id: finish
        uses: mass/wait
        with:
          msg_id: ${{ steps.send.outputs.msg_id }}
          source: poll
          poll_interval: 1s
          timeout: 10m
    \(extraSteps)
    """
}
