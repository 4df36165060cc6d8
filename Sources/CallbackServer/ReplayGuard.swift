import Foundation

/// Remembers the (account, timestamp, nonce) of every authenticated push for as long as its
/// timestamp is inside the window, and refuses a repeat.
///
/// A plain-mode `signature` covers the token, timestamp and nonce but not the body, so
/// anyone who saw one push URL could send it again with other XML while the timestamp is
/// still accepted. Entries expire when their timestamp leaves the window (after which the
/// timestamp check refuses the pair anyway), so memory is bounded by the number of pushes
/// in one window, and never grows past ``capacity``: when full after expired entries are
/// dropped, new pairs are refused (``Admission/full``) rather than old ones forgotten.
public actor ReplayGuard {
    /// What ``admit(account:timestamp:nonce:now:)`` decided.
    public enum Admission: Sendable, Hashable {
        /// First seen: remembered now.
        case fresh
        /// Seen before inside the window.
        case replay
        /// The guard is full of unexpired pairs; nothing was remembered.
        case full
    }

    struct Key: Hashable {
        var account: String
        var timestamp: Int64
        var nonce: String
    }

    /// How long a timestamp stays acceptable, either way.
    public let window: Duration
    /// The most pairs held at once.
    public let capacity: Int

    private var seen: [Key: Int64] = [:]
    private var insertionsSinceSweep = 0

    /// Creates a guard.
    /// - Parameters:
    ///   - window: the timestamp window (pairs are kept until `timestamp + window`).
    ///   - capacity: the most pairs held at once.
    public init(window: Duration, capacity: Int = 100_000) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    /// How many pairs are held.
    public var count: Int { seen.count }

    /// Remembers the pair unless it was seen inside the window.
    /// - Parameters:
    ///   - account: the account the push was authenticated for.
    ///   - timestamp: the push's `timestamp`, Unix seconds.
    ///   - nonce: the push's `nonce`.
    ///   - now: the current time.
    public func admit(account: String, timestamp: Int64, nonce: String, now: Date) -> Admission {
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let key = Key(account: account, timestamp: timestamp, nonce: nonce)
        if let expiry = seen[key] {
            if expiry >= nowSeconds { return .replay }
            seen[key] = nil
        }
        insertionsSinceSweep += 1
        if seen.count >= capacity || insertionsSinceSweep >= 4096 {
            sweep(now: nowSeconds)
        }
        if seen.count >= capacity { return .full }
        seen[key] = timestamp + windowSeconds
        return .fresh
    }

    /// Forgets a pair (the push it came with could not be stored, so its retry must be
    /// accepted).
    public func forget(account: String, timestamp: Int64, nonce: String) {
        seen[Key(account: account, timestamp: timestamp, nonce: nonce)] = nil
    }

    private var windowSeconds: Int64 {
        let (seconds, attoseconds) = window.components
        return seconds + (attoseconds > 0 ? 1 : 0)
    }

    private func sweep(now: Int64) {
        insertionsSinceSweep = 0
        seen = seen.filter { $0.value >= now }
    }
}
