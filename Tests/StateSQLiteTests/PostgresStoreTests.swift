import Foundation
import MasscastTesting
import RunState
@testable import StatePostgres
import Testing

/// How a PostgreSQL location is read: where a password may come from, TLS off loopback, and
/// messages that never show a password. Pure: no server needed.
@Suite("PostgresLocation")
struct PostgresLocationTests {
    let environment = ["PGPASSWORD": "pg-secret-1"]

    @Test("a URL without a password: host, port, user, database; the password comes from PGPASSWORD")
    func plainURL() throws {
        let location = try PostgresLocation.parse(
            "postgres://runner@db.internal:6543/masscast", source: .commandLine, environment: environment)
        #expect(location.host == "db.internal" && location.port == 6543)
        #expect(location.user == "runner" && location.database == "masscast")
        #expect(location.password == "pg-secret-1")
        #expect(location.tls == .require)
        #expect(location.description == "postgres://runner@db.internal:6543/masscast?sslmode=require")
        #expect(!location.description.contains("pg-secret-1"))
    }

    @Test(
        "a URL carrying a password is refused on the command line and in masscast.yaml, with a hint",
        arguments: [PostgresLocation.Source.commandLine, .configFile("masscast.yaml")])
    func passwordInURLRefused(source: PostgresLocation.Source) throws {
        let error = try #require(throws: StateStoreError.self) {
            try PostgresLocation.parse("postgres://runner:hunter22@db.internal/masscast", source: source, environment: [:])
        }
        #expect(error.description.contains("carries a password"))
        #expect(error.description.contains("PGPASSWORD"))
        #expect(!error.description.contains("hunter22"))
        #expect(!error.path.contains("hunter22"))
    }

    @Test("a URL from an environment variable may carry the password; it is never shown")
    func passwordFromEnvironmentURL() throws {
        let location = try PostgresLocation.parse(
            "postgresql://runner:hunter22@db.internal/masscast", source: .environment("MASSCAST_STATE_URL"), environment: [:])
        #expect(location.password == "hunter22")
        #expect(!location.description.contains("hunter22"))
    }

    @Test("password_env names the variable that holds the password; unset, it is an error naming it")
    func passwordVariable() throws {
        let location = try PostgresLocation.parse(
            "postgres://runner@db.internal/masscast", source: .configFile("masscast.yaml"), passwordVariable: "DB_PASSWORD",
            environment: ["DB_PASSWORD": "from-var", "PGPASSWORD": "other"])
        #expect(location.password == "from-var")
        let error = try #require(throws: StateStoreError.self) {
            try PostgresLocation.parse(
                "postgres://runner@db.internal/masscast", source: .configFile("masscast.yaml"), passwordVariable: "DB_PASSWORD",
                environment: [:])
        }
        #expect(error.description.contains("DB_PASSWORD"))
    }

    @Test("TLS: required off loopback unless sslmode=disable is written; preferred on loopback")
    func tlsRules() throws {
        func tls(_ url: String) throws -> PostgresLocation.TLSMode {
            try PostgresLocation.parse(url, source: .commandLine, environment: [:]).tls
        }
        #expect(try tls("postgres://u@10.0.0.5/db") == .require)
        #expect(try tls("postgres://u@10.0.0.5/db?sslmode=prefer") == .require)
        #expect(try tls("postgres://u@10.0.0.5/db?sslmode=disable") == .disable)
        #expect(try tls("postgres://u@127.0.0.1/db") == .prefer)
        #expect(try tls("postgres://u@localhost/db") == .prefer)
        #expect(try tls("postgres://u@[::1]/db") == .prefer)
        #expect(try tls("postgres://u@localhost/db?sslmode=require") == .require)
        #expect(PostgresLocation.isLoopback("127.0.0.1") && !PostgresLocation.isLoopback("127.example.com"))
    }

    @Test("what cannot be read is refused, saying what and where", arguments: [
        ("mysql://u@h/db", "not a PostgreSQL URL"),
        ("postgres:///db", "no host"),
        ("postgres://u@h/db?sslmode=sometimes", "sslmode=sometimes"),
        ("postgres://u@h/db?pool=9", "pool is not supported"),
    ])
    func refusals(url: String, says: String) throws {
        let error = try #require(throws: StateStoreError.self) {
            try PostgresLocation.parse(url, source: .commandLine, environment: [:])
        }
        #expect(error.description.contains("--state"))
        #expect(error.description.contains(says))
    }

    @Test("the user defaults to PGUSER, then postgres; the database to the user")
    func defaults() throws {
        let location = try PostgresLocation.parse("postgres://h", source: .commandLine, environment: ["PGUSER": "ops"])
        #expect(location.user == "ops" && location.database == "ops" && location.port == 5432)
    }
}

/// The PostgreSQL store's own behaviour against a real server (skipped without one).
@Suite("PostgresStateStore")
struct PostgresStateStoreTests {
    /// Runs `body` with a new empty database, or skips (fails under MASSCAST_REQUIRE_TOOLS=1).
    func withDatabase(_ body: (PostgresLocation) async throws -> Void) async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        try await TestPostgres.withDatabase(body)
    }

    @Test("a database written by a newer masscast is refused with a clear error")
    func newerSchemaRefused() async throws {
        try await withDatabase { location in
            let store = try await PostgresStateStore.open(location)
            try await store.executeForTesting("INSERT INTO masscast_schema (version) VALUES (\(PostgresStateStore.schemaVersion + 1))")
            await store.close()
            let error = try await #require(throws: StateStoreError.self) { try await PostgresStateStore.open(location) }
            #expect(error.code == .newerSchema)
            #expect(error.description.contains("newer masscast"))
            #expect(error.description.contains(location.description))
        }
    }

    @Test("a lease's expiry follows the database's clock, not the callers' (an hour fast or slow)")
    func leaseExpiryFollowsDatabaseClock() async throws {
        try await withDatabase { location in
            let store = try await PostgresStateStore.open(location)
            let spring = BroadcastIdentity(appID: "wx0000000000000001", api: "https://api.weixin.qq.com", name: "spring-sale", inputsJSON: "{}")
            let fast = { Date().addingTimeInterval(3_600) }
            let slow = { Date().addingTimeInterval(-3_600) }
            // 30 s: long enough to outlast the next call on a loaded machine.
            let first = try #require(try await store.acquireLease(spring, owner: "ci:1", ttl: 30, now: fast()).acquired)
            // The test server runs on this machine: its clock is this one, within a few seconds.
            #expect(abs(first.expiresAt.timeIntervalSinceNow - 30) < 5, "\(first.expiresAt)")
            // A caller whose clock says the lease long expired still finds it held.
            let blocked = try await store.acquireLease(spring, owner: "ci:2", ttl: 2, now: fast().addingTimeInterval(3_600))
            #expect(blocked.acquired == nil, "\(blocked)")
            // A renewal from a slow clock still extends it from the database's now.
            #expect(try await store.renewLease(spring, owner: "ci:1", ttl: 1, now: slow()))
            let renewed = try #require(try await store.lease(spring))
            #expect(abs(renewed.expiresAt.timeIntervalSinceNow - 1) < 5, "\(renewed.expiresAt)")
            // Once the database's clock passes the expiry, a caller whose clock says it has not expired takes it.
            try await Task.sleep(for: .milliseconds(1_300))
            let second = try #require(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: slow()).acquired)
            #expect(second.epoch == first.epoch + 1 && second.owner == "ci:2")
            #expect(abs(second.expiresAt.timeIntervalSinceNow - 60) < 5, "\(second.expiresAt)")
            await store.close()
        }
    }

    @Test("a claim skips a lease row another connection is claiming (FOR UPDATE SKIP LOCKED) instead of queueing on it")
    func claimSkipsLockedLease() async throws {
        try await withDatabase { location in
            let store = try await PostgresStateStore.open(location, leaseClock: .caller)
            let other = try await PostgresStateStore.open(location, leaseClock: .caller)
            let spring = BroadcastIdentity(appID: "wx0000000000000001", api: "https://api.weixin.qq.com", name: "spring-sale", inputsJSON: "{}")
            // An expired lease: free to take for anyone.
            _ = try await store.acquireLease(spring, owner: "ci:1", ttl: 1, now: Date(timeIntervalSinceNow: -3_600))
            let locked = AsyncStream<Void>.makeStream()
            let done = AsyncStream<Void>.makeStream()
            // Another process's claim in flight: it holds the row locked until told to finish.
            let claim = Task {
                try await other.transaction("hold the lease row") { db, logger in
                    _ = try await db.row(
                        """
                        SELECT * FROM leases WHERE name = 'spring-sale' FOR UPDATE
                        """, logger)
                    locked.continuation.yield()
                    for await _ in done.stream { break }
                }
            }
            for await _ in locked.stream { break }
            // Queued on the lock, this would wait for that claim and then take the expired lease.
            let skipped = try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: Date())
            #expect(skipped.acquired == nil, "\(skipped)")
            #expect(skipped == .held(owner: "ci:1", until: try #require(try await store.lease(spring)).expiresAt))
            done.continuation.yield()
            try await claim.value
            // Once the other claim is over, the expired lease is taken, replacing ci:1.
            let taken = try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: Date())
            #expect(taken.acquired?.owner == "ci:2" && taken.takenFrom?.owner == "ci:1", "\(taken)")
            await other.close()
            await store.close()
        }
    }

    @Test("eight processes opening a new database at once: one schema, one store id for all")
    func concurrentOpen() async throws {
        try await withDatabase { location in
            // The opens queue on one migration lock; on a loaded machine (a full parallel run
            // beside builds) the last of eight waited past the default 10 s + 30 s once. This
            // test is about what they agree on, not how long they take.
            let patient = { var patient = location; patient.connectTimeout = 300; return patient }()
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let store = try await PostgresStateStore.open(patient)
                        let id = try await store.storeIdentity()
                        await store.close()
                        return id
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(ids.first?.count == 36)
        }
    }

    @Test("another database is another store, with another id")
    func storeIdentityDiffers() async throws {
        try await withDatabase { one in
            try await TestPostgres.withDatabase { two in
                let first = try await PostgresStateStore.open(one)
                let second = try await PostgresStateStore.open(two)
                #expect(try await first.storeIdentity() != second.storeIdentity())
                await first.close()
                await second.close()
            }
        }
    }

    @Test("nothing listening: an unreachable error naming the server, within the connect timeout, without the password")
    func unreachable() async throws {
        let port = try freeLoopbackPort()
        let location = try PostgresLocation.parse(
            "postgres://masscast@127.0.0.1:\(port)/postgres?sslmode=disable&connect_timeout=2",
            source: .environment("MASSCAST_STATE_URL"), environment: ["PGPASSWORD": "never-shown-7"])
        let started = ContinuousClock.now
        let error = try await #require(throws: StateStoreError.self) { try await PostgresStateStore.open(location) }
        #expect(ContinuousClock.now - started < .seconds(120), "a bounded wait, not a hang")
        #expect(error.code == .unreachable)
        #expect(error.description.contains("127.0.0.1:\(port)"))
        #expect(!error.description.contains("never-shown-7"))
    }

    @Test("a database that does not exist is named, with how to create it")
    func missingDatabase() async throws {
        guard case .success(let server) = TestPostgres.server else {
            if TestPostgres.required, let reason = TestPostgres.skipReason { Issue.record("\(reason)") }
            return
        }
        let error = try await #require(throws: StateStoreError.self) {
            try await PostgresStateStore.open(server.with(database: "masscast_missing_db"))
        }
        #expect(error.code == .invalidPath)
        #expect(error.description.contains("masscast_missing_db does not exist"))
    }
}

/// A loopback port nothing listens on (bound, then closed).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
