import Foundation
import RunState

/// Where a PostgreSQL state store is: a `postgres://` URL read under masscast's rules.
///
/// - The password never comes from a file in git or from the command line (where `ps` and
///   CI logs show it): a URL given there that carries one is refused. It comes from the
///   environment: the URL itself when the URL is an environment variable
///   (`MASSCAST_STATE_URL`, `${{ env.NAME }}`), else the variable `password_env` names, else
///   `PGPASSWORD`.
/// - TLS is required for a host that is not loopback unless the URL says `sslmode=disable`.
/// - ``description`` is the URL without its password: what every message shows.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// Where the URL was read: decides whether it may carry a password.
    public enum Source: Sendable, Hashable {
        /// `--state URL` (visible in `ps` and CI logs).
        case commandLine
        /// `state.url` written in a config file (kept in git).
        case configFile(String)
        /// An environment variable (`MASSCAST_STATE_URL`, or one `state.url` names).
        case environment(String)
    }

    /// How the connection is encrypted.
    public enum TLSMode: String, Sendable, Hashable {
        /// No TLS (`sslmode=disable`, written out).
        case disable
        /// TLS when the server offers it (a loopback host's default).
        case prefer
        /// TLS with the server's certificate verified against the system's trust roots.
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: TLSMode
    /// Seconds to wait for a connection (`connect_timeout`, default 10).
    public var connectTimeout: Int
    /// Never printed (see ``description``).
    public var password: String?

    public init(
        host: String, port: Int = 5432, user: String, database: String, tls: TLSMode, connectTimeout: Int = 10,
        password: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.password = password
    }

    /// Whether `text` names a PostgreSQL store (`postgres://` or `postgresql://`).
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Whether `host` is this machine (`localhost`, `127.x.x.x`, `::1`).
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// The URL without its password: `postgres://user@host:port/database?sslmode=…`.
    public var description: String {
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let query = tls == .disable ? "?sslmode=disable" : (tls == .require ? "?sslmode=require" : "")
        return "postgres://\(user)@\(hostPart):\(port)/\(database)\(query)"
    }

    /// The same server with another database (for tests and administration).
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    /// Reads `url` given at `source`. `passwordVariable` is the variable `password_env`
    /// names, if any; `environment` supplies it, `PGPASSWORD`, and `PGUSER` (the user when
    /// the URL names none; else `postgres`).
    ///
    /// - Throws: `StateStoreError` (`.invalidPath`) saying what is wrong with the URL and how
    ///   to fix it; the message never holds the password.
    public static func parse(
        _ url: String, source: Source, passwordVariable: String? = nil, environment: [String: String]
    ) throws(StateStoreError) -> PostgresLocation {
        let origin: String
        switch source {
        case .commandLine: origin = "--state"
        case .configFile(let file): origin = "state.url in \(file)"
        case .environment(let name): origin = name
        }
        func refuse(_ message: String, _ hint: String) -> StateStoreError {
            StateStoreError(code: .invalidPath, path: redacted(url), message: "\(origin): \(message)", hint: hint)
        }
        guard isPostgresURL(url), let components = URLComponents(string: url) else {
            throw refuse(
                "not a PostgreSQL URL (\(redacted(url)))",
                "write postgres://USER@HOST:PORT/DATABASE, with the password in PGPASSWORD")
        }
        if let password = components.password, !password.isEmpty {
            if case .environment = source {} else {
                throw refuse(
                    "the URL carries a password, which \(source == .commandLine ? "ps and CI logs would show" : "would be kept in git")",
                    "remove it from the URL and set PGPASSWORD (or the variable state.password_env names) in the environment; rotate the password if it was ever committed or logged")
            }
        }
        guard let host = components.host, !host.isEmpty else {
            throw refuse("the URL names no host (\(redacted(url)))", "write postgres://USER@HOST:PORT/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw refuse("port \(port) is out of range", "use a port from 1 to 65535") }
        let user = components.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "postgres"
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        let database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)

        let loopback = isLoopback(host)
        var tls: TLSMode = loopback ? .prefer : .require
        var connectTimeout = 10
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = loopback ? .prefer : .require
                case "require", "verify-ca", "verify-full": tls = .require
                default:
                    throw refuse(
                        "sslmode=\(value) is not known", "use sslmode=require (the default off loopback) or sslmode=disable")
                }
            case "connect_timeout":
                guard let seconds = Int(value), (1...600).contains(seconds) else {
                    throw refuse("connect_timeout=\(value) is not a number of seconds from 1 to 600", "write connect_timeout=10")
                }
                connectTimeout = seconds
            default:
                throw refuse(
                    "the URL parameter \(item.name) is not supported",
                    "masscast reads sslmode and connect_timeout; remove the others")
            }
        }

        var password = components.password.flatMap { $0.isEmpty ? nil : ($0.removingPercentEncoding ?? $0) }
        if password == nil, let passwordVariable {
            guard let value = environment[passwordVariable], !value.isEmpty else {
                throw refuse(
                    "state.password_env names \(passwordVariable), which is not set",
                    "export \(passwordVariable) with the database password, or remove password_env to use PGPASSWORD")
            }
            password = value
        }
        if password == nil, let value = environment["PGPASSWORD"], !value.isEmpty { password = value }
        return PostgresLocation(
            host: host, port: port, user: user, database: database, tls: tls, connectTimeout: connectTimeout,
            password: password)
    }

    /// `url` with any password replaced by `***` (for messages about a URL that cannot be read).
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<schemeEnd.upperBound]) + userInfo[..<colon] + ":***" + rest[at...]
    }
}
