import Foundation
import RunLog
import RunState

/// `masscast leases` and `masscast force-unlock`: the broadcasts' leases as the store has
/// them, and taking one deliberately.
public enum LeaseCommands {
    /// How `leases` prints.
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    /// Every lease held (expired or not): holder, epoch, age, expiry.
    public static func list(_ store: any StateStore, format: Format, now: Date) async throws -> String {
        let leases = try await store.leases()
        switch format {
        case .json:
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let objects: [[String: Any]] = leases.map { lease in
                [
                    "broadcast": lease.identity.name, "project": lease.identity.project, "app_id": lease.identity.appID,
                    "api": lease.identity.api, "inputs": lease.identity.inputsJSON, "holder": lease.owner,
                    "epoch": lease.epoch, "acquired_at": formatter.string(from: lease.acquiredAt),
                    "expires_at": formatter.string(from: lease.expiresAt),
                    "age_seconds": Int(now.timeIntervalSince(lease.acquiredAt).rounded(.down)),
                    "expired": lease.expiresAt <= now,
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self) + "\n"
        case .text:
            guard !leases.isEmpty else { return "no leases held in \(store.displayLocation)\n" }
            var rows = [["BROADCAST", "APP_ID", "HOLDER", "EPOCH", "AGE", "EXPIRES"]]
            for lease in leases {
                let left = lease.expiresAt.timeIntervalSince(now)
                rows.append([
                    lease.identity.name + (lease.identity.inputsJSON == "{}" ? "" : " \(lease.identity.inputsJSON)"),
                    lease.identity.appID, lease.owner, String(lease.epoch),
                    duration(now.timeIntervalSince(lease.acquiredAt)),
                    left > 0 ? "in \(duration(left))" : "expired \(duration(-left)) ago",
                ])
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            }.joined(separator: "\n") + "\n"
        }
    }

    /// Takes the lease of the broadcast called `name` (of `appID`, when several accounts have
    /// one by that name) if its epoch is still `epoch`, then releases it: the holder's next
    /// fenced write is refused, and the next applier takes the broadcast at the next epoch.
    ///
    /// The takeover is told to `log` as the `run.taken_over` event (`lease.forced`), naming the
    /// previous holder, its epoch and the new one.
    ///
    /// - Throws: `SetupError` (`.stateStore`) when no lease, or more than one, has that name,
    ///   or the epoch moved.
    public static func forceUnlock(
        _ name: String, epoch: Int64, appID: String?, store: any StateStore, owner: String, now: Date,
        log: (RunLogLine) -> Void = { _ in }
    ) async throws -> String {
        let matching = try await store.leases().filter { $0.identity.name == name && (appID == nil || $0.identity.appID == appID) }
        guard let lease = matching.first else {
            throw SetupError(
                .stateStore, "no lease of broadcast \(name) is held in \(store.displayLocation) (masscast leases lists them)")
        }
        guard matching.count == 1 else {
            let which = matching.map { "\($0.identity.appID) \($0.identity.inputsJSON) (epoch \($0.epoch))" }
                .joined(separator: ", ")
            throw SetupError(
                .stateStore, "\(matching.count) leases of broadcast \(name) are held: \(which). Name the account with --app-id")
        }
        switch try await store.forceTakeLease(lease.identity, epoch: epoch, owner: owner, ttl: 60, now: now) {
        case .notHeld:
            throw SetupError(.stateStore, "the lease of broadcast \(name) was released meanwhile; nothing to unlock")
        case .epochMoved(let current):
            throw SetupError(
                .stateStore,
                "the lease of broadcast \(name) is at epoch \(current.epoch) (held by \(current.owner)), not \(epoch): it moved since you looked. Check with masscast leases and give the current epoch")
        case .taken(let taken):
            try await store.releaseLease(taken.identity, owner: owner)
            let event = RunEvent.forcedTakeover(
                pipeline: name, previousOwner: lease.owner, previousEpoch: epoch, epoch: taken.epoch)
            if let line = event.logLine { log(line) }
            return "took the lease of broadcast \(name) from \(lease.owner) at epoch \(epoch) and released it (now epoch \(taken.epoch)); \(lease.owner)'s next journal write is refused\n"
        }
    }

    /// `42s`, `4m18s`, `2h05m`.
    static func duration(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds.rounded(.down)))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}
