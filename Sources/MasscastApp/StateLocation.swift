import Foundation
import PipelineCore
import StateSQLite

/// Where run state is kept, located the same way by `run`, `resume`, `runs` and `listen`.
public enum StateLocation {
    static let postgresHint =
        "The PostgreSQL state store is not available in this version; masscast will not write a SQLite file in its place, because two runners writing two journals could send twice. Use `state: { path: .masscast/state.sqlite }` in masscast.yaml (or --state FILE) on one machine for now."

    /// `--state`, else `state.path` of masscast.yaml (relative to it), else
    /// `.masscast/state.sqlite` in the working directory. A PostgreSQL location (`state.url`,
    /// `MASSCAST_STATE_URL`, or a `postgres://` `--state`) is refused, never silently replaced
    /// by a SQLite file.
    public static func path(explicit: String?, config: ProjectConfig?, environment: AppEnvironment) throws(SetupError)
        -> String
    {
        if let explicit {
            if explicit.hasPrefix("postgres://") || explicit.hasPrefix("postgresql://") {
                throw SetupError(.stateStore, "--state names a PostgreSQL URL. \(postgresHint)")
            }
            return explicit
        }
        if let url = environment.variables["MASSCAST_STATE_URL"], !url.isEmpty {
            throw SetupError(.stateStore, "MASSCAST_STATE_URL is set. \(postgresHint)")
        }
        if let config, let state = config.state, state.url != nil {
            let at = state.location.map { ":\($0.line):\($0.column)" } ?? ""
            throw SetupError(.stateStore, "\(config.file)\(at): state.url names a PostgreSQL store. \(postgresHint)")
        }
        return config?.resolvedStatePath ?? SQLiteStateStore.defaultPath
    }

    /// Opens the state store (see ``path(explicit:config:environment:)``); `temporary` (a
    /// rehearsal without `--state`) uses a fresh private file. With `mustExist`, a missing
    /// file is an error rather than a new empty store (`resume`, `runs`).
    public static func open(
        explicit: String?, config: ProjectConfig?, temporary: Bool = false, mustExist: Bool = false,
        environment: AppEnvironment
    ) throws(SetupError) -> SQLiteStateStore {
        if temporary && explicit == nil {
            do { return try SQLiteStateStore.temporary() } catch { throw SetupError(.stateStore, "\(error)") }
        }
        let path = try path(explicit: explicit, config: config, environment: environment)
        if mustExist && !FileManager.default.fileExists(atPath: path) {
            throw SetupError(
                .stateStore,
                "no state file at \(path)\(explicit == nil ? "" : " (--state)"): nothing has run with it. Pass --state PATH (or --config FILE) for the store the run used"
            )
        }
        do {
            return try SQLiteStateStore(path: path)
        } catch {
            throw SetupError(.stateStore, "\(error)")
        }
    }
}
