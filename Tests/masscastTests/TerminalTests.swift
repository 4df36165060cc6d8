import Foundation
import MasscastTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a person sees on a real terminal: the binary runs in a tmux pane 100 columns wide
/// and the test compares the captured screen. (tmux is installed by `.ci/run`; without it
/// these tests are skipped.) tmux runs through MasscastTesting (swift-subprocess, bounded),
/// except the server's start (see `startSession`).
@Suite("masscast on a terminal", .serialized)
struct TerminalTests {
    static let tmux = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A tmux server of its own (`-L`), one detached session `width` × 30.
    struct Pane {
        let socket = "masscast-test-\(UUID().uuidString.prefix(8))"
        let width: Int

        /// Runs tmux and returns what it printed (stdout and stderr).
        @discardableResult
        func tmux(_ arguments: [String]) async throws -> String {
            let r = try await MasscastBinary.runTool(
                TerminalTests.tmux!, ["-L", socket, "-f", "/dev/null"] + arguments,
                environment: MasscastBinary.environment(["TMUX": nil]), timeout: .seconds(30))
            return r.out + r.err
        }

        /// Starts the tmux server (with the session) by `posix_spawn` and `waitpid`: the server
        /// forks off and keeps the descriptors it inherited, so a child that waits for its
        /// output would wait forever; it inherits only standard input, output and error.
        func startSession(_ arguments: [String]) throws {
            let argv = [TerminalTests.tmux!, "-L", socket, "-f", "/dev/null"] + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["TMUX"] = nil
            environment["TERM"] = "xterm"
            let envp = environment.map { "\($0.key)=\($0.value)" }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            for fd: Int32 in [0, 1, 2] {
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            }
            // Nothing else of the test process: the tmux server outlives the test, and with an
            // inherited listening socket or connection it would keep a port bound and a
            // connection open after the test's server closed it.
            let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev/fd")) ?? []).compactMap { Int32($0) }
            for fd in open where fd > 2 && fcntl(fd, F_GETFD) >= 0 && fcntl(fd, F_GETFD) & FD_CLOEXEC == 0 {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
            var cArgs = argv.map { strdup($0) } + [nil]
            var cEnv = envp.map { strdup($0) } + [nil]
            defer {
                for p in cArgs { free(p) }
                for p in cEnv { free(p) }
            }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
            guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }

        /// Runs `command` in the pane (in `directory`) and returns the screen once it has
        /// ended, wrapped rows joined (`-J`): a line wider than the pane shows as one long line.
        func run(_ command: String, in directory: URL = RunTestEnv.root, timeout: Duration = .seconds(60)) async throws -> String {
            try startSession([
                "new-session", "-d", "-x", "\(width)", "-y", "30", "-c", directory.path,
                "env NO_COLOR=1 TERM=xterm sh -c '\(command); echo; echo __ended__ $?; sleep 60'",
            ])
            defer {
                // tmux leaves its socket file behind.
                let dir = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
                try? FileManager.default.removeItem(atPath: "\(dir)/tmux-\(getuid())/\(socket)")
            }
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var screen = ""
            while clock.now < deadline {
                screen = (try? await tmux(["capture-pane", "-p", "-J", "-S", "-200"])) ?? ""
                if screen.contains("__ended__") { break }
                try? await Task.sleep(for: .milliseconds(200))
            }
            if !screen.contains("__ended__") {
                Issue.record("\(command) did not end in \(timeout): \((try? await tmux(["list-sessions"])) ?? "")")
                screen = (try? await tmux(["capture-pane", "-p", "-J", "-S", "-200"])) ?? screen
            }
            _ = try? await tmux(["kill-server"])
            return screen
        }
    }

    @Test("with MASSCAST_REQUIRE_TOOLS=1 (CI), tmux is there: the terminal tests are not skipped")
    func tmuxIsAvailableWhenRequired() {
        guard ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1" else { return }
        #expect(Self.tmux != nil, "MASSCAST_REQUIRE_TOOLS=1 but tmux is missing (bash .ci/run installs it)")
    }

    /// The screen's lines before the end marker, trailing spaces removed.
    static func lines(_ screen: String) -> [String] {
        var out: [String] = []
        for line in screen.components(separatedBy: "\n") {
            if line.hasPrefix("__ended__") { break }
            var l = line
            while l.hasSuffix(" ") { l.removeLast() }
            out.append(l)
        }
        return out
    }

    /// The screen's text with every run of spaces and newlines made one space.
    static func flat(_ lines: [String]) -> String {
        lines.joined(separator: " ").split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    @Test("a --sandbox run at 100 columns: lines fit, message first, no metadata, short ids, the summary", .enabled(if: tmux != nil))
    func sandboxRun() async throws {
        let pane = Pane(width: 100)
        let screen = try await pane.run("\(RunTestEnv.binary) run pipelines/video-to-tag.yaml --sandbox")
        let lines = Self.lines(screen)
        #expect(screen.contains("__ended__ 0"), "\(screen)")
        for line in lines { #expect(line.count <= 100, "wider than the terminal: \(line)") }
        let text = Self.flat(lines)
        #expect(!text.contains("event="), "\(screen)")
        #expect(!text.contains("clientmsgid="), "\(screen)")
        // WeChat's media ids are shortened: 8 characters and an ellipsis.
        #expect(text.range(of: #"media_id=[A-Za-z0-9_-]{8}…"#, options: .regularExpression) != nil, "\(screen)")
        #expect(text.range(of: #"media_id=[A-Za-z0-9_-]{9}"#, options: .regularExpression) == nil, "\(screen)")
        #expect(text.contains("send sent to tag 100, msg_id 1000000001"), "\(screen)")
        #expect(
            text.contains(
                "sent 1 message: tag 100 (162 followers); brand-main has 99 of 100 mass sends left today (UTC+8, sandbox)"),
            "\(screen)")
        // A wrapped line continues under the message column.
        let summary = try #require(lines.firstIndex { $0.contains("sent 1 message: tag 100") })
        #expect(lines[summary].count > 80 || !lines[summary + 1].hasPrefix("   "))
        #expect(lines.last { !$0.isEmpty }?.hasPrefix("masscast: sandbox rehearsal") == true
            || lines.contains { $0.hasPrefix("masscast: sandbox rehearsal") }, "\(screen)")
    }

    @Test("--verbose shows each line's metadata (event=, ids shortened), still within 100 columns", .enabled(if: tmux != nil))
    func verboseRun() async throws {
        let pane = Pane(width: 100)
        let screen = try await pane.run("\(RunTestEnv.binary) run pipelines/video-to-tag.yaml --sandbox --verbose")
        let lines = Self.lines(screen)
        #expect(screen.contains("__ended__ 0"), "\(screen)")
        for line in lines { #expect(line.count <= 100, "wider than the terminal: \(line)") }
        let text = Self.flat(lines)
        #expect(text.contains("event=send.accepted"), "\(screen)")
        #expect(text.contains("event=run.summary"), "\(screen)")
        // A clientmsgid (mc1-/mc2- and 48 hex digits) is shortened on the screen.
        #expect(text.range(of: #"clientmsgid=mc[12]-[0-9a-f]{4}…"#, options: .regularExpression) != nil, "\(screen)")
        #expect(text.range(of: #"mc[12]-[0-9a-f]{12}"#, options: .regularExpression) == nil, "\(screen)")
    }
}

/// Small things a person runs into.
@Suite("masscast: small usage answers")
struct SmallUsageTests {
    @Test("runs list --format mermaid is refused (exit 2): only runs show draws a timeline")
    func runsListMermaid() async throws {
        let r = try await CLIConventionsTests.masscast(["runs", "list", "--format", "mermaid"])
        #expect(r.status == 2, "\(r.err)")
        #expect(r.err.contains("only `runs show` draws a timeline"), "\(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test("a --port already in use is named, with the way out (sandbox and listen)", arguments: ["sandbox", "listen"])
    func portInUse(command: String) async throws {
        // Hold a loopback port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound && listen(fd, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        var arguments = [command, "--port", "\(port)"]
        var env: [String: String?] = [:]
        if command == "listen" {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-port-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            arguments += [
                "--state", dir.appendingPathComponent("s.sqlite").path, "--account-original-id", RunTestEnv.originalID,
                "--app-id", RunTestEnv.appID, "--log-format", "text",
            ]
            env["MASSCAST_CALLBACK_TOKEN"] = "port-test-token"
            let r = try await CLIConventionsTests.masscast(arguments, env: env, directory: dir)
            Self.check(r, port: port, what: "masscast listen")
        } else {
            let r = try await CLIConventionsTests.masscast(arguments)
            Self.check(r, port: port, what: "masscast sandbox")
        }
    }

    static func check(_ r: (status: Int32, out: String, err: String), port: Int, what: String) {
        #expect(r.status == 1, "\(r.err)")
        #expect(
            r.err.contains("masscast: port \(port) is in use (another \(what)?); pass --port 0 for any free port"),
            "\(r.err)")
        #expect(!r.err.contains("bind(descriptor"), "\(r.err)")
    }
}
