import Foundation
import Synchronization

/// Keeps `message/mass/*` calls of one account under its per-minute limit: at most `limit`
/// calls in any 60 seconds (so also in any calendar minute, which is what WeChat counts).
///
/// The count is kept behind a lock, not in an actor: a call with room under the limit (every
/// call of a run below it) is counted on the caller's thread, with no hop to another
/// executor; only a call that must wait sleeps, outside the lock, and then tries again.
public final class Pacer: Sendable {
    public let limit: Int
    public let window: TimeInterval
    private let times = Mutex<[Date]>([])
    private let now: @Sendable () -> Date
    private let clock: any Clock<Duration>

    /// - Parameters:
    ///   - now: wall time; `clock`: what waits sleep on (the two must agree, see `RunOptions`).
    public init(
        limit: Int, window: TimeInterval = 60, now: @escaping @Sendable () -> Date = { Date() },
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.limit = max(1, limit)
        self.window = window
        self.now = now
        self.clock = clock
    }

    /// Waits until a call may be made, then counts it. `false` if cancelled while waiting.
    public func acquire() async -> Bool {
        while true {
            guard let wait = take() else { return true }
            do { try await clock.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return false }
        }
    }

    /// Counts a call if the window has room (`nil`); otherwise the seconds until it may.
    private func take() -> TimeInterval? {
        let t = now()
        return times.withLock { times -> TimeInterval? in
            times.removeAll { t.timeIntervalSince($0) >= window }
            if times.count < limit {
                times.append(t)
                return nil
            }
            return window - t.timeIntervalSince(times[0]) + 0.01
        }
    }
}
