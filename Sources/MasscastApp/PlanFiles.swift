import Foundation
import RunState
import Runner
import StateSQLite

/// The files and store a saved plan is checked against (`masscast apply FILE`), read for
/// ``SavedPlan/check(now:files:store:approved:version:)``.
public enum PlanFiles {
    /// Hex SHA-256 of a file's bytes, read in blocks; `nil` when it cannot be read.
    public static func sha256(ofFile path: String) -> String? { PlanInputFile.sha256(ofFile: path) }

    /// Every input file of the plan as it is now, by the plan's path (relative to the
    /// working directory); a file that is gone is left out.
    public static func currentDigests(of plan: SavedPlan, environment: AppEnvironment) -> [String: String] {
        var out: [String: String] = [:]
        for file in plan.document.broadcasts.flatMap(\.inputFiles) where out[file.path] == nil {
            out[file.path] = sha256(ofFile: environment.absolute(file.path))
        }
        return out
    }

    /// The store's identity and the serial of every broadcast of the plan, by name.
    public static func storeState(of plan: SavedPlan, store: any StateStore) async -> SavedPlan.StoreState {
        var serials: [String: Int64] = [:]
        for broadcast in plan.document.broadcasts {
            guard let identity = broadcast.identity else { continue }
            serials[broadcast.name] = try? await store.serial(identity)
        }
        return SavedPlan.StoreState(identity: try? await store.storeIdentity(), serials: serials)
    }

    /// Writes the plan (JSON, `format_version` 1) to `path`, replacing it atomically.
    public static func write(_ document: PlanDocument, to path: String) throws {
        try Data(document.json().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
