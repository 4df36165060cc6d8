import Foundation

/// Keeps `message/mass/*` calls of one account under its per-minute limit: at most `limit`
/// calls in any 60 seconds (so also in any calendar minute, which is what WeChat counts).
public actor Pacer {
    public let limit: Int
    public let window: TimeInterval
    private var times: [Date] = []
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
            let t = now()
            times.removeAll { t.timeIntervalSince($0) >= window }
            if times.count < limit {
                times.append(t)
                return true
            }
            let wait = window - t.timeIntervalSince(times[0]) + 0.01
            do { try await clock.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return false }
        }
    }
}
