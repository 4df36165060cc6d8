import Foundation
import RunState
import StatePostgres

/// The PostgreSQL server the tests may use: `MASSCAST_TEST_POSTGRES_URL` (what
/// `scripts/pg-cluster.sh start DIR` prints; `.ci/run` starts one and sets it). Without it the
/// PostgreSQL cases are skipped with a printed reason, unless `MASSCAST_REQUIRE_TOOLS=1`
/// (CI), which turns the skip into a failure.
public enum TestPostgres {
    /// The variable that names the server.
    public static let variable = "MASSCAST_TEST_POSTGRES_URL"

    /// Whether CI asked for every gated tool (`MASSCAST_REQUIRE_TOOLS=1`).
    public static var required: Bool { ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1" }

    /// The server's location, or why there is none.
    public static let server: Result<PostgresLocation, Unavailable> = {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment[variable], !url.isEmpty else {
            return .failure(
                Unavailable(
                    reason: "\(variable) is not set: the PostgreSQL cases are skipped (start a server with `scripts/pg-cluster.sh start DIR` and export the URL it prints; .ci/run does)"
                ))
        }
        do {
            return .success(try PostgresLocation.parse(url, source: .environment(variable), environment: environment))
        } catch {
            return .failure(Unavailable(reason: "\(variable) cannot be used: \(error)"))
        }
    }()

    /// Why the PostgreSQL cases cannot run.
    public struct Unavailable: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var description: String { reason }
    }

    /// The reason the PostgreSQL cases are skipped, printed once per test process; `nil` when
    /// a server is configured.
    public static var skipReason: String? {
        guard case .failure(let unavailable) = server else { return nil }
        _ = printedOnce
        return unavailable.reason
    }

    private static let printedOnce: Void = {
        if case .failure(let unavailable) = server {
            FileHandle.standardError.write(Data("◇ PostgreSQL tests skipped: \(unavailable.reason)\n".utf8))
        }
    }()

    /// Runs `body` with a new empty database on the server (dropped afterwards, whatever
    /// happens), given as its location.
    public static func withDatabase<T>(_ body: (PostgresLocation) async throws -> T) async throws -> T {
        let server = try server.get()
        let name = "masscast_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresAdmin.createDatabase(name, at: server)
        do {
            let result = try await body(server.with(database: name))
            try await PostgresAdmin.dropDatabase(name, at: server)
            return result
        } catch {
            try? await PostgresAdmin.dropDatabase(name, at: server)
            throw error
        }
    }

    /// Runs `body` with a fresh PostgreSQL store in a new database, then closes and drops it.
    /// `leaseClock` `.caller` (the default here) lets a test time leases with a virtual clock.
    public static func withStore<T>(
        leaseClock: LeaseClock = .caller, _ body: (PostgresStateStore) async throws -> T
    ) async throws -> T {
        try await withDatabase { location in
            let store = try await PostgresStateStore.open(location, leaseClock: leaseClock)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
