import Foundation
import MasscastTesting
import Testing
import WeChatMP

/// `masscast listen` and `masscast sandbox` when connections outnumber their file
/// descriptors: a flood of connections (a hostile client, or a proxy gone wrong) must not
/// make them spin, and they must serve again once the connections close.
@Suite("servers out of file descriptors")
struct ServerDescriptorsTests {
    /// CPU time (user + system) the process `pid` has used so far.
    static func cpuTime(_ pid: Int32) -> Duration? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields 14 and 15 of the file (utime, stime), counted after the command's ")".
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        let ticks = Int(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / max(ticks, 1))
    }

    /// CPU time `pid` uses in the next 2 s (while every descriptor or slot stays taken).
    static func cpuOverTwoSeconds(_ pid: Int32) async throws -> Duration {
        let before = try #require(cpuTime(pid))
        try await Task.sleep(for: .seconds(2))
        return try #require(cpuTime(pid)) - before
    }

    /// Whether a GET of `url` is answered 200 within 20 s (tries every 200 ms).
    static func answers(_ url: String) async throws -> Bool {
        let transport = AsyncHTTPTransport()
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while ContinuousClock.now < deadline {
            let response = try? await transport.send(TransportRequest(
                method: .get, url: url, headers: [], body: nil, timeout: .seconds(3)))
            if response?.status == 200 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// A TCP connection to 127.0.0.1:`port` (completed by the kernel's backlog whether or
    /// not the server accepts it), or -1.
    static func connectLoopback(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 {
            Glibc.close(fd)
            return -1
        }
        return fd
    }

    @Test("with no descriptor left it pauses accepting instead of spinning, says why, and answers again once connections close")
    func outOfDescriptors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-listen-fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The listener with an open-files limit of 64 (its own files take about 25).
        let process = try BinaryProcess(
            ["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", MasscastBinary.path,
             "listen", "--port", "0", "--state", dir.appendingPathComponent("state.sqlite").path,
             "--account-original-id", RunTestEnv.originalID, "--app-id", RunTestEnv.appID, "--log-format", "json"],
            executable: "/bin/sh",
            environment: MasscastBinary.environment(["MASSCAST_CALLBACK_TOKEN": "listen-fds-test-token"]), directory: dir)
        let started = await process.waitUntil(timeout: .seconds(90)) { process.stderrSoFar.contains("\"listen.started\"") }
        guard started, let pid = process.pid else {
            process.signal(SIGTERM)
            Issue.record("the listener did not start: \(await process.wait(timeout: .seconds(30)))")
            return
        }
        let port = try #require(
            MultiProcessTests.events(process.stderrSoFar).first { $0["event"] as? String == "listen.started" }?["listen.port"]
                .flatMap { Int("\($0)") })

        // 100 connections: more than the listener has descriptors for.
        var sockets: [Int32] = []
        defer { for fd in sockets { Glibc.close(fd) } }
        for _ in 0..<100 {
            let fd = Self.connectLoopback(port)
            if fd >= 0 { sockets.append(fd) }
        }
        #expect(sockets.count == 100, "the kernel's backlog completes every connection")
        let paused = await process.waitUntil(timeout: .seconds(20)) {
            process.stderrSoFar.contains("\"listen.accept_paused\"")
        }
        #expect(paused, "the listener says why it cannot accept: \(process.stderrSoFar.suffix(2000))")
        let line = MultiProcessTests.events(process.stderrSoFar).first { $0["event"] as? String == "listen.accept_paused" }
        let message = line?["msg"] as? String ?? ""
        #expect(message.contains("EMFILE") && message.contains("ulimit -n"), "\(message)")
        #expect(line?["level"] as? String == "warning")

        // While the descriptors stay taken it waits; before, it retried accept at once, and
        // used a whole core (2 s of CPU in these 2 s).
        let cpu = try await Self.cpuOverTwoSeconds(pid)
        #expect(cpu < .milliseconds(500), "CPU used in 2 s with every descriptor taken: \(cpu)")

        // The connections close: it accepts and answers again.
        for fd in sockets { Glibc.close(fd) }
        sockets = []
        #expect(try await Self.answers("http://127.0.0.1:\(port)/healthz"), "the listener answers /healthz once connections close")
        process.signal(SIGTERM)
        let result = await process.wait(timeout: .seconds(30))
        #expect(result.exited(0), "\(result)")
        #expect(!result.err.contains("listen-fds-test-token"))
    }

    @Test("the sandbox keeps at most half its open-files limit in connections: past it, it waits instead of spinning, says so, and serves again")
    func sandboxConnectionLimit() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-sandbox-fds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = try BinaryProcess(
            ["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", MasscastBinary.path, "sandbox", "--port", "0"],
            executable: "/bin/sh", environment: MasscastBinary.environment(), directory: dir)
        let started = await process.waitUntil(timeout: .seconds(90)) { process.stderrSoFar.contains("listening on http://") }
        guard started, let pid = process.pid else {
            process.signal(SIGINT)
            Issue.record("the sandbox did not start: \(await process.wait(timeout: .seconds(30)))")
            return
        }
        let err = process.stderrSoFar
        let after = try #require(err.range(of: "listening on http://127.0.0.1:")).upperBound
        let port = try #require(Int(err[after...].prefix { $0.isNumber }))

        var sockets: [Int32] = []
        defer { for fd in sockets { Glibc.close(fd) } }
        for _ in 0..<100 {
            let fd = Self.connectLoopback(port)
            if fd >= 0 { sockets.append(fd) }
        }
        let full = await process.waitUntil(timeout: .seconds(20)) {
            process.stderrSoFar.contains("sandbox.connections_full")
        }
        #expect(full, "the sandbox says it is full: \(process.stderrSoFar.suffix(2000))")
        #expect(process.stderrSoFar.contains("32 connections open, the most this sandbox keeps"))

        let cpu = try await Self.cpuOverTwoSeconds(pid)
        #expect(cpu < .milliseconds(500), "CPU used in 2 s with every connection slot taken: \(cpu)")

        for fd in sockets { Glibc.close(fd) }
        sockets = []
        #expect(try await Self.answers("http://127.0.0.1:\(port)/sandbox/sends"), "the sandbox answers once connections close")
        process.signal(SIGINT)
        let result = await process.wait(timeout: .seconds(30))
        #expect(result.exited(0), "\(result)")
    }
}
