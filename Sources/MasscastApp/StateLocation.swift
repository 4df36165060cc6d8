import Foundation
import PipelineCore
import RunState
import StatePostgres
import StateSQLite

/// Where run state is kept, located the same way by every command that opens a store (`run`,
/// `resume`, `runs`, `listen`, `plan`, `apply`, `leases`, `force-unlock`).
public enum StateLocation {
    /// A located store, not yet opened.
    public enum Resolved: Sendable, Hashable, CustomStringConvertible {
        /// A SQLite file (its path as given, relative to the working directory).
        case file(String)
        /// A PostgreSQL database.
        case postgres(PostgresLocation)

        /// The path, or the URL without its password.
        public var description: String {
            switch self {
            case .file(let path): path
            case .postgres(let location): location.description
            }
        }
    }

    /// `--state` (a file, or a `postgres://` URL without a password), else
    /// `MASSCAST_STATE_URL`, else `state:` of masscast.yaml (`path` relative to it, or `url`
    /// with `password_env`), else `.masscast/state.sqlite` in the working directory.
    public static func resolve(explicit: String?, config: ProjectConfig?, environment: AppEnvironment) throws(SetupError)
        -> Resolved
    {
        let variables = environment.variables
        let passwordEnv = config?.state?.passwordEnv
        func parse(_ url: String, _ source: PostgresLocation.Source) throws(SetupError) -> Resolved {
            do {
                return .postgres(
                    try PostgresLocation.parse(url, source: source, passwordVariable: passwordEnv, environment: variables))
            } catch {
                throw SetupError(.stateStore, "\(error)")
            }
        }
        if let explicit {
            if PostgresLocation.isPostgresURL(explicit) { return try parse(explicit, .commandLine) }
            return .file(explicit)
        }
        if let url = variables["MASSCAST_STATE_URL"], !url.isEmpty {
            return try parse(url, .environment("MASSCAST_STATE_URL"))
        }
        if let config, let state = config.state, let url = state.url {
            let at = state.location.map { "\(config.file):\($0.line):\($0.column)" } ?? config.file
            guard SecretReference.isReference(url) else { return try parse(url, .configFile(at)) }
            guard let name = SecretReference.environmentName(url) else {
                throw SetupError(
                    .stateStore,
                    "\(at): state.url reads a secrets file; masscast reads the state URL from the environment only. Write ${{ env.NAME }} and export NAME")
            }
            guard let value = variables[name], !value.isEmpty else {
                throw SetupError(
                    .stateStore, "\(at): state.url reads ${{ env.\(name) }}, which is not set. Export \(name) with the postgres:// URL")
            }
            return try parse(value, .environment(name))
        }
        return .file(config?.resolvedStatePath ?? SQLiteStateStore.defaultPath)
    }

    /// The SQLite file a command would use (see ``resolve(explicit:config:environment:)``);
    /// `nil` when the state is in PostgreSQL.
    public static func path(explicit: String?, config: ProjectConfig?, environment: AppEnvironment) throws(SetupError)
        -> String?
    {
        if case .file(let path) = try resolve(explicit: explicit, config: config, environment: environment) { return path }
        return nil
    }

    /// Opens the state store (see ``resolve(explicit:config:environment:)``); `temporary` (a
    /// rehearsal without `--state`) uses a fresh private file. With `mustExist`, a missing
    /// file is an error rather than a new empty store (`resume`, `runs`); a PostgreSQL
    /// database must exist in any case.
    public static func open(
        explicit: String?, config: ProjectConfig?, temporary: Bool = false, mustExist: Bool = false,
        environment: AppEnvironment
    ) throws(SetupError) -> any StateStore {
        if temporary && explicit == nil {
            do { return try SQLiteStateStore.temporary() } catch { throw SetupError(.stateStore, "\(error)") }
        }
        return try open(
            try resolve(explicit: explicit, config: config, environment: environment), explicit: explicit != nil,
            mustExist: mustExist, environment: environment)
    }

    /// Opens a located store. A PostgreSQL store connects in the background: an unreachable
    /// server or a refused login is the error of its first call.
    public static func open(
        _ resolved: Resolved, explicit: Bool = false, mustExist: Bool = false, environment: AppEnvironment
    ) throws(SetupError) -> any StateStore {
        switch resolved {
        case .file(let path):
            if mustExist && !FileManager.default.fileExists(atPath: path) {
                throw SetupError(
                    .stateStore,
                    "no state file at \(path)\(explicit ? " (--state)" : ""): nothing has run with it. Pass --state PATH (or --config FILE) for the store the run used"
                )
            }
            do {
                return try SQLiteStateStore(path: path)
            } catch {
                throw SetupError(.stateStore, "\(error)")
            }
        case .postgres(let location):
            do {
                return try PostgresStateStore(location)
            } catch {
                throw SetupError(.stateStore, "\(error)")
            }
        }
    }
}

extension StateLocation {
    /// Closes a store a command opened, from synchronous code (a `defer`): a SQLite file at
    /// once, a PostgreSQL store's connections in the background.
    static func close(_ store: any StateStore) {
        if let file = store as? SQLiteStateStore {
            try? file.close()
        } else {
            Task { try? await store.close() }
        }
    }
}
