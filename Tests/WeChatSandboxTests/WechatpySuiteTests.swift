import Foundation
import MasscastTesting
import Testing

/// Runs the wechatpy interop suite, `Fixtures/wechatpy` (pytest, wechatpy 1.8.18), against a
/// real `masscast sandbox` process: wechatpy's `WeChatClient` drives the sandbox as an
/// application would (mass sends of every kind to a tag and to OpenIDs, previews, get_mass,
/// delete_mass, uploads), and a wechatpy-based handler receives, verifies and decrypts the
/// sandbox's MASSSENDJOBFINISH pushes. The suite starts and stops the sandbox itself.
///
/// The suite is skipped when python3, pytest or wechatpy 1.8.18 (with cryptography) is
/// missing, unless `MASSCAST_REQUIRE_TOOLS=1`: then ``WechatpySuiteTests/toolsAreAvailableWhenRequired()``
/// fails and says what to install. `MASSCAST_PYTHON` overrides the interpreter (default
/// `python3`); `MASSCAST_BIN` the sandbox binary (default: the `masscast` built next to
/// this test bundle, else `.build/debug/masscast`).
enum WechatpySuite {
    static let expectedVersion = "1.8.18"
    static let installHint = "python3 -m pip install \"wechatpy==1.8.18\" cryptography pytest"

    /// `Tests/WeChatSandboxTests/Fixtures/wechatpy`.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wechatpy")

    /// The repository root (three levels above this file).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let environment = ProcessInfo.processInfo.environment
    static let required = environment["MASSCAST_REQUIRE_TOOLS"] == "1"
    static let python = environment["MASSCAST_PYTHON"] ?? "python3"

    /// The whole pytest run is killed after this long (the suite itself gives up after
    /// `pythonTimeout`, dumping its stacks).
    static let timeout: TimeInterval = 110
    static let pythonTimeout = 90

    /// `nil` when python3 can import pytest, cryptography and wechatpy 1.8.18; else why not
    /// (asked once).
    static let availability = Task<String?, Never> {
        let probe = await ChildProcess.run(
            [python, "-c", "import pytest, cryptography, wechatpy; print(wechatpy.__version__)"], timeout: 60)
        guard probe.status == 0 else {
            if probe.status == 127 { return "\(python) is not on PATH" }
            let detail = probe.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last
                .map(String.init) ?? "exit \(probe.status)"
            return "\(python) cannot import pytest, cryptography and wechatpy (\(detail))"
        }
        let version = probe.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last
            .map(String.init) ?? "?"
        guard version == expectedVersion else {
            return "wechatpy \(version) is installed; the suite needs \(expectedVersion)"
        }
        return nil
    }

    static var unavailableReason: String? { get async { await availability.value } }
    static var isAvailable: Bool { get async { await unavailableReason == nil } }

    /// The sandbox binary: `MASSCAST_BIN`, else an executable `masscast` in the directory of
    /// the running test binary or one of its parents (SwiftPM builds it next to the test
    /// bundle), else `<repo>/.build/debug/masscast`.
    static func masscastBinary() -> URL? {
        let files = FileManager.default
        func executable(_ url: URL) -> Bool {
            var isDirectory: ObjCBool = false
            return files.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && files.isExecutableFile(atPath: url.path)
        }
        if let value = environment["MASSCAST_BIN"], !value.isEmpty {
            let url = value.hasPrefix("/") ? URL(fileURLWithPath: value) : repository.appendingPathComponent(value)
            return executable(url) ? url : nil
        }
        var starts: [URL] = []
        if let exe = try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            starts.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let main = Bundle.main.executableURL { starts.append(main.deletingLastPathComponent()) }
        for start in starts {
            var directory = start.standardizedFileURL
            while true {
                let candidate = directory.appendingPathComponent("masscast")
                if executable(candidate) { return candidate }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        let fallback = repository.appendingPathComponent(".build/debug/masscast")
        return executable(fallback) ? fallback : nil
    }
}

/// A child process's exit status and output (standard output, then standard error),
/// bounded by a timeout.
struct ChildProcess {
    var status: Int32
    var output: String
    var timedOut: Bool

    /// Runs `arguments` through `/usr/bin/env` (so the first one is looked up on PATH), in
    /// `directory`, with exactly `environment` (default: this process's); killed (SIGKILL)
    /// after `timeout` seconds.
    static func run(_ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
                    timeout: TimeInterval) async -> ChildProcess {
        do {
            let r = try await MasscastBinary.runTool(
                "/usr/bin/env", arguments, environment: environment, directory: directory,
                timeout: .milliseconds(Int64(timeout * 1000)))
            return ChildProcess(status: r.signalled || r.timedOut ? -1 : r.status, output: r.out + r.err,
                                timedOut: r.timedOut)
        } catch {
            return ChildProcess(status: 127, output: "could not start \(arguments.first ?? "?"): \(error)", timedOut: false)
        }
    }
}

private let wechatpyAvailable = Testing.ConditionTrait.enabled(
    Comment(rawValue: "python3 with pytest and wechatpy 1.8.18 is not available (\(WechatpySuite.installHint))")
) { await WechatpySuite.isAvailable }

@Suite("wechatpy 1.8.18 against the sandbox")
struct WechatpySuiteTests {
    @Test func toolsAreAvailableWhenRequired() async {
        if WechatpySuite.required, let reason = await WechatpySuite.unavailableReason {
            Issue.record(Comment(rawValue:
                "MASSCAST_REQUIRE_TOOLS=1 but the wechatpy interop suite cannot run: \(reason). "
                + "Install with: \(WechatpySuite.installHint)"))
        }
    }

    @Test(wechatpyAvailable, .timeLimit(.minutes(2)))
    func wechatpySuitePasses() async throws {
        guard let binary = WechatpySuite.masscastBinary() else {
            Issue.record(Comment(rawValue:
                WechatpySuite.environment["MASSCAST_BIN"].map { "MASSCAST_BIN=\($0) is not an executable file" }
                    ?? ("no masscast binary next to the test bundle nor in \(WechatpySuite.repository.path)/.build/debug: "
                        + "build it with `swift build`, or set MASSCAST_BIN")))
            return
        }
        var environment = WechatpySuite.environment
        environment["MASSCAST_BIN"] = binary.path
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  // only pytest itself: no reordering, faster start
        environment["MASSCAST_PYTEST_TIMEOUT"] = String(WechatpySuite.pythonTimeout)
        let directory = WechatpySuite.directory
        let result = await ChildProcess.run(
            [WechatpySuite.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", directory.path],
            environment: environment, directory: directory, timeout: WechatpySuite.timeout)
        let output = result.output.count > 30_000 ? "…" + result.output.suffix(30_000) : result.output
        if result.timedOut {
            Issue.record(Comment(rawValue:
                "the wechatpy suite did not finish within \(Int(WechatpySuite.timeout)) s (killed); output:\n\(output)"))
        }
        #expect(result.status == 0, Comment(rawValue:
            "pytest \(directory.path) (MASSCAST_BIN=\(binary.path)) exited \(result.status); output:\n\(output)"))
    }
}
