import Foundation
import PipelineCore

/// The waits between attempts: exponential, capped, with jitter.
public struct Backoff: Sendable {
    public var policy: RetryPolicy

    public init(_ policy: RetryPolicy) { self.policy = policy }

    /// The wait after failed attempt `attempt` (1-based), before the next one.
    /// `random` returns a value in 0...1 (injectable for tests).
    public func delay(after attempt: Int, random: () -> Double = { Double.random(in: 0...1) }) -> Duration {
        let initial = policy.initialDelay.seconds
        let cap = policy.maxDelay.seconds
        let exponent = Double(max(0, attempt - 1))
        let base = min(cap, initial * pow(max(1, policy.factor), exponent))
        let seconds: Double
        switch policy.jitter {
        case .none: seconds = base
        case .full: seconds = base * random()
        case .equal: seconds = base / 2 + (base / 2) * random()
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    var milliseconds: Int { Int((seconds * 1000).rounded()) }
}

