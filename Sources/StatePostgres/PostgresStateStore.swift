import Foundation
import Logging
import PostgresNIO
import RunState

/// The `StateStore` in a PostgreSQL database (postgres-nio's `PostgresClient`): one truth for
/// runners and listeners on many machines.
///
/// Every method is one transaction: once it returns, the change is committed (and survives
/// `kill -9` of any process). Every call waits at most ``operationTimeout`` for the server.
/// Nothing of postgres-nio shows outside this module; errors are `StateStoreError`s that name
/// the store by its URL without the password.
public final class PostgresStateStore: StateStore, Sendable {
    /// The newest schema version this code knows (`masscast_schema` of a current database).
    public static let schemaVersion = PostgresSchema.version

    /// The longest a call waits for the server (a connection, a lock, an answer).
    public static let operationTimeout: Duration = .seconds(30)

    /// Where the store is (its description has no password).
    public let location: PostgresLocation
    /// Whose clock times the leases (``LeaseClock``).
    public let leaseClock: LeaseClock

    /// The URL without its password (`StateStore.displayLocation`).
    public var displayLocation: String { location.description }

    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    /// Connects, checks the login and brings the schema up to date; every call waits for it.
    private let ready: Task<Void, any Error>
    /// The `LISTEN` connection that wakes `mass/wait` (opened on first use).
    let inboxListener: InboxListener

    /// A store at `location`, ready to use once it has connected and brought the schema up to
    /// date, which starts at once: a call made meanwhile waits for it, and if it fails
    /// (unreachable, login refused, a newer schema) every call throws that error. Use
    /// ``open(_:)`` to wait for it and see the error at once.
    ///
    /// - Throws: `StateStoreError` when the TLS settings cannot be made.
    public init(_ location: PostgresLocation, leaseClock: LeaseClock = .database) throws {
        let logger = Logger(label: "masscast.state.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        let connectionConfiguration: PostgresConnection.Configuration
        let clientConfiguration: PostgresClient.Configuration
        do {
            connectionConfiguration = try location.connectionConfiguration()
            clientConfiguration = try location.clientConfiguration()
        } catch {
            throw StateStoreError(
                code: .other, path: location.description,
                message: "cannot set up TLS for the PostgreSQL state store \(location): \(error)",
                hint: "check the system's trust store, or write sslmode=disable for a trusted network")
        }
        self.location = location
        self.leaseClock = leaseClock
        self.logger = logger
        self.inboxListener = InboxListener(location: location, logger: logger)
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
        let timeout = Duration.seconds(location.connectTimeout) + Self.operationTimeout
        self.ready = Task {
            try await Self.withDeadline(timeout, location: location, action: "cannot open") {
                let connection: PostgresConnection
                do {
                    connection = try await PostgresConnection.connect(
                        configuration: connectionConfiguration, id: 1, logger: logger)
                } catch {
                    throw Self.wrap(error, action: "cannot connect to", location: location)
                }
                do {
                    try await PostgresSchema.migrate(connection, location: location, logger: logger)
                } catch {
                    try? await connection.close()
                    throw Self.wrap(error, action: "cannot prepare", location: location)
                }
                try? await connection.close()
            }
        }
    }

    deinit { runner.cancel() }

    /// Connects to the database at `location`, checks that it can be used (reachable, the
    /// login accepted) and brings its schema up to date.
    ///
    /// - Throws: `StateStoreError`: `.unreachable` (no answer, login refused; the message
    ///   says which and how to fix it), `.newerSchema` (written by a newer masscast).
    public static func open(_ location: PostgresLocation, leaseClock: LeaseClock = .database) async throws
        -> PostgresStateStore
    {
        let store = try PostgresStateStore(location, leaseClock: leaseClock)
        do {
            try await store.ready.value
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Closes the connections (later calls fail).
    public func close() async {
        await inboxListener.stop()
        runner.cancel()
        await runner.value
    }

    // MARK: - Running statements

    /// Runs `body` in a transaction on a pooled connection, within ``operationTimeout``.
    func transaction<T: Sendable>(
        _ action: String, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await ready.value
        let client = self.client
        let logger = self.logger
        let location = self.location
        return try await Self.withDeadline(Self.operationTimeout, location: location, action: action) {
            do {
                return try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let result = try await body(connection, logger)
                        try await connection.query("COMMIT", logger: logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch {
                throw Self.wrap(error, action: action, location: location)
            }
        }
    }

    /// `body` within `timeout`, else `.unreachable`.
    static func withDeadline<T: Sendable>(
        _ timeout: Duration, location: PostgresLocation, action: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw StateStoreError(
                    code: .unreachable, path: location.description,
                    message: "\(action) the PostgreSQL state store \(location): no answer within \(timeout.components.seconds) s",
                    hint: "check that the server runs and is reachable from here, and that no other session holds a lock for long")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Whatever a database access threw, as a `StateStoreError` that names no value of a row
    /// (a `CancellationError` and an existing `StateStoreError` pass through).
    static func wrap(_ error: any Error, action: String, location: PostgresLocation) -> any Error {
        if error is StateStoreError || error is CancellationError { return error }
        if let transaction = error as? PostgresTransactionError,
            let cause = transaction.closureError ?? transaction.beginError ?? transaction.commitError
        {
            return wrap(cause, action: action, location: location)
        }
        let subject = "\(action) the PostgreSQL state store \(location)"
        if error is PostgresDecodingError || error is UnknownStoredValue {
            let column = (error as? PostgresDecodingError)?.columnName ?? (error as? UnknownStoredValue)?.column ?? "?"
            return StateStoreError(
                code: .unreadableRecord, path: location.description,
                message: "\(subject): a stored record cannot be read (column \(column))",
                hint: "the database may have been edited by hand or by another program")
        }
        guard let psql = error as? PSQLError else {
            return StateStoreError(
                code: .unreachable, path: location.description, message: "\(subject): \(String(describing: type(of: error)))",
                hint: "check that the server runs and is reachable from here")
        }
        // The server's message names tables, columns and constraints, not a statement's values
        // (those are in `detail`, which is never shown).
        if let sqlState = psql.serverInfo?[.sqlState] {
            let serverMessage = psql.serverInfo?[.message] ?? "SQLSTATE \(sqlState)"
            switch sqlState {
            case "28P01", "28000":
                return StateStoreError(
                    code: .permissionDenied, path: location.description,
                    message: "\(subject): the server refused the login of \(location.user) (\(serverMessage))",
                    hint: "set the password in PGPASSWORD (or the variable state.password_env names), and check the user's access in pg_hba.conf")
            case "3D000":
                return StateStoreError(
                    code: .invalidPath, path: location.description,
                    message: "\(subject): the database \(location.database) does not exist",
                    hint: "create it (createdb \(location.database)) or name another one in the URL")
            case "42501":
                return StateStoreError(
                    code: .permissionDenied, path: location.description, message: "\(subject): permission denied (\(serverMessage))",
                    hint: "grant \(location.user) the right to create tables in the database, or use its owner")
            case "53300", "57P03":
                return StateStoreError(
                    code: .busy, path: location.description, message: "\(subject): the server cannot take the connection (\(serverMessage))",
                    hint: "retry; if it persists, raise max_connections or close idle sessions")
            case "40001", "40P01", "55P03":
                return StateStoreError(
                    code: .busy, path: location.description, message: "\(subject): \(serverMessage)", hint: "retry")
            case "53100":
                return StateStoreError(
                    code: .diskFull, path: location.description, message: "\(subject): the server's disk is full (\(serverMessage))",
                    hint: "free some space on the database server and retry")
            default:
                return StateStoreError(code: .other, path: location.description, message: "\(subject): \(serverMessage) (SQLSTATE \(sqlState))")
            }
        }
        let reason: String
        switch psql.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            reason = psql.underlying.map { String(describing: $0) } ?? "the connection failed"
        case .sslUnsupported:
            return StateStoreError(
                code: .unreachable, path: location.description, message: "\(subject): the server does not offer TLS",
                hint: "enable TLS on the server, or write sslmode=disable in the URL if the network is trusted")
        case .tooManyParameters:
            reason = "too many parameters in one statement"
        default:
            reason = "\(psql.code)"
        }
        return StateStoreError(
            code: .unreachable, path: location.description, message: "\(subject): \(reason)",
            hint: "check that the server runs at \(location.host):\(location.port) and is reachable from here")
    }

    func notFound(_ runID: String, action: String) -> StateStoreError {
        StateStoreError(
            code: .notFound, path: location.description,
            message: "\(action) run \(runID): the PostgreSQL state store \(location) has no such run",
            hint: "`masscast runs list` shows the runs it has")
    }
}

// MARK: - Connection settings

extension PostgresLocation {
    func connectionConfiguration(applicationName: String = "masscast") throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: try connectionTLS())
        configuration.options.connectTimeout = .seconds(Int64(connectTimeout))
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch self.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(connectTimeout)
        configuration.options.maximumConnections = 8
        configuration.options.additionalStartupParameters = [("application_name", "masscast")]
        return configuration
    }

    private func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch tls {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: return .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}

// MARK: - Rows

extension PostgresConnection {
    /// Every row of `query`, each readable by column name.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    func row(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresRandomAccessRow? {
        try await rows(query, logger).first
    }

    /// Runs `query`, which ends in `RETURNING 1`: the number of rows it changed.
    func changes(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await rows(query, logger).count
    }

    func exec(_ query: PostgresQuery, _ logger: Logger) async throws {
        try await self.query(query, logger: logger)
    }
}

extension PostgresRandomAccessRow: StoredRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    func optional<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        let cell = self[column]
        return cell.bytes == nil ? nil : try cell.decode(T.self)
    }

    public func string(_ column: String) throws -> String { try value(column) }
    public func optionalString(_ column: String) throws -> String? { try optional(column) }
    public func int64(_ column: String) throws -> Int64 { try value(column) }
    public func optionalInt64(_ column: String) throws -> Int64? { try optional(column) }
    public func bool(_ column: String) throws -> Bool { try value(column) }
}

extension PostgresStateStore {
    /// Runs raw SQL in a transaction: for tests that simulate other versions of masscast or
    /// damage. Not public.
    func executeForTesting(_ sql: String) async throws {
        try await transaction("cannot run test SQL in") { db, logger in
            try await db.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }
}
