import Foundation
import MasscastTesting
import StatePostgres
import Testing

/// The transaction-mode pooler check against a real PgBouncer (Debian's `pgbouncer`, run
/// here as an unprivileged process on a free loopback port in front of the test server of
/// `MASSCAST_TEST_POSTGRES_URL`, `pool_mode = transaction`, its configuration in a temporary
/// folder). Skipped with the reason when either is missing, failed under
/// `MASSCAST_REQUIRE_TOOLS=1`. Every wait is bounded and PgBouncer is stopped by the test.
@Suite("the pooler check against a real PgBouncer", .serialized)
struct PoolerCheckTests {
    /// PgBouncer's executable, on PATH or where Debian puts it.
    static let pgbouncer: String? = {
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/pgbouncer" }
        candidates.append("/usr/sbin/pgbouncer")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @Test("masscast listen through PgBouncer in transaction mode warns (state.pooler); connected to the server directly, it does not")
    func transactionPoolerWarned() async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        guard let pgbouncer = Self.pgbouncer else {
            let reason = "pgbouncer is not installed (apt-get install -y pgbouncer): the pooler test is skipped"
            if TestPostgres.required { Issue.record("\(reason) (MASSCAST_REQUIRE_TOOLS=1)") } else { print("◇ \(reason)") }
            return
        }
        try await TestPostgres.withDatabase { direct in
            // Directly: the schema is created, and no warning.
            let plain = try await Self.listen(state: direct.description)
            #expect(plain.started, "\(plain.result)")
            #expect(!plain.result.err.contains("state.pooler"), "\(plain.result)")

            let bouncer = try await Bouncer.start(executable: pgbouncer, server: direct)
            var throughPooler = direct
            throughPooler.port = bouncer.port
            let pooled: (started: Bool, result: BinaryResult)
            do {
                pooled = try await Self.listen(state: throughPooler.description)
            } catch {
                await bouncer.stop()
                throw error
            }
            let bouncerLog = bouncer.log
            await bouncer.stop()
            #expect(pooled.started, "\(pooled.result)\n--- pgbouncer log ---\n\(bouncerLog)")
            let warning = try #require(
                pooled.result.events.first { $0["event"] as? String == "state.pooler" }, "\(pooled.result)\n\(bouncerLog)")
            let message = warning["msg"] as? String ?? ""
            #expect(message.contains("transaction-mode pooler"), "\(message)")
            #expect(message.contains("connect masscast to the server directly, or through a pooler in session mode"), "\(message)")
            #expect(warning["level"] as? String == "warning")
        }
    }

    /// Starts `masscast listen` on `state`, waits (bounded) until it listens, stops it.
    static func listen(state: String) async throws -> (started: Bool, result: BinaryResult) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-pooler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = try BinaryProcess(
            ["listen", "--port", "0", "--state", state, "--account-original-id", RunTestEnv.originalID,
             "--app-id", RunTestEnv.appID, "--log-format", "json"],
            environment: MasscastBinary.environment(["MASSCAST_CALLBACK_TOKEN": "pooler-test-token"]), directory: dir)
        let started = await process.waitUntil(timeout: .seconds(90)) { process.stderrSoFar.contains("\"listen.started\"") }
        process.signal(SIGTERM)
        return (started, await process.wait(timeout: .seconds(30)))
    }
}

/// A PgBouncer in transaction mode on a free loopback port, in front of `server`; its
/// configuration, log and socket in a temporary folder. As root it drops to the `postgres`
/// user (else `nobody`) with `-u`, as PgBouncer refuses to run as root.
final class Bouncer: Sendable {
    let port: Int
    let dir: URL
    private let process: BinaryProcess

    private init(port: Int, dir: URL, process: BinaryProcess) {
        self.port = port
        self.dir = dir
        self.process = process
    }

    var log: String {
        ((try? String(contentsOf: dir.appendingPathComponent("pgbouncer.log"), encoding: .utf8)) ?? "") + process.stderrSoFar
    }

    static func start(executable: String, server: PostgresLocation) async throws -> Bouncer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-pgbouncer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let port = try freePort()
        let config = """
            [databases]
            * = host=\(server.host) port=\(server.port)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(dir.path)/userlist.txt
            pool_mode = transaction
            default_pool_size = 4
            max_client_conn = 200
            ignore_startup_parameters = extra_float_digits,options
            server_connect_timeout = 5
            query_wait_timeout = 20
            logfile = \(dir.path)/pgbouncer.log

            """
        let files = [("pgbouncer.ini", config), ("userlist.txt", "\"\(server.user)\" \"\"\n"), ("pgbouncer.log", "")]
        for (name, text) in files {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: path)
        }
        var arguments: [String] = []
        if getuid() == 0 {
            arguments += ["-u", (getpwnam("postgres") != nil) ? "postgres" : "nobody"]
        }
        arguments.append(dir.appendingPathComponent("pgbouncer.ini").path)
        let process = try BinaryProcess(
            arguments, executable: executable, environment: ProcessInfo.processInfo.environment,
            directory: URL(fileURLWithPath: "/"))
        let bouncer = Bouncer(port: port, dir: dir, process: process)
        // Listening: a TCP connect to the port succeeds (bounded).
        let listening = await process.waitUntil(timeout: .seconds(20)) { canConnect(port: port) }
        if !listening {
            let log = bouncer.log
            await bouncer.stop()
            throw BouncerError(description: "pgbouncer did not listen on 127.0.0.1:\(port) within 20 s:\n\(log)")
        }
        return bouncer
    }

    /// Stops PgBouncer (SIGINT: at once; SIGKILL after 5 s) and removes its folder.
    func stop() async {
        process.signal(SIGINT)
        _ = await process.wait(timeout: .seconds(5))
        try? FileManager.default.removeItem(at: dir)
    }

    struct BouncerError: Error, CustomStringConvertible { var description: String }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BouncerError(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BouncerError(description: "cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
