import Foundation
import Logging
import PostgresNIO
import RunState

/// Creating and dropping databases on a server (for throwaway test databases and for setting
/// up a store): each call opens one connection to `location`'s database, acts, and closes it.
public enum PostgresAdmin {
    /// Creates the database `name` (letters, digits and `_` only), owned by the location's user.
    public static func createDatabase(_ name: String, at location: PostgresLocation) async throws {
        try check(name, location: location)
        try await withConnection(location, action: "cannot create database \(name) on") { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        }
    }

    /// Drops the database `name` if it exists, ending the sessions still connected to it.
    public static func dropDatabase(_ name: String, at location: PostgresLocation) async throws {
        try check(name, location: location)
        try await withConnection(location, action: "cannot drop database \(name) on") { connection, logger in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)"), logger: logger)
        }
    }

    private static func check(_ name: String, location: PostgresLocation) throws {
        guard !name.isEmpty, name.count <= 63,
            name.unicodeScalars.allSatisfy({ ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "_" })
        else {
            throw StateStoreError(
                code: .invalidPath, path: location.description,
                message: "\(name) is not a database name masscast creates", hint: "use letters, digits and _ (at most 63)")
        }
    }

    private static func withConnection(
        _ location: PostgresLocation, action: String,
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void
    ) async throws {
        let logger = Logger(label: "masscast.state.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        try await PostgresStateStore.withDeadline(
            .seconds(location.connectTimeout) + PostgresStateStore.operationTimeout, location: location, action: action
        ) {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: try location.connectionConfiguration(), id: 1, logger: logger)
            } catch {
                throw PostgresStateStore.wrap(error, action: action, location: location)
            }
            do {
                try await body(connection, logger)
            } catch {
                try? await connection.close()
                throw PostgresStateStore.wrap(error, action: action, location: location)
            }
            try? await connection.close()
        }
    }
}
