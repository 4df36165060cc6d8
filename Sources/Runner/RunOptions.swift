import Foundation
import PipelineCore

/// How a run behaves; the command line fills it.
public struct RunOptions: Sendable {
    /// Every declared input, defaults applied (checked by the caller).
    public var inputs: [String: Value] = [:]
    /// The `env.` context.
    public var env: [String: String] = [:]
    /// `--rerun`: start the next generation of a completed broadcast (new clientmsgids).
    public var rerun = false
    /// `--confirm-resend`: repeat a send whose outcome has been unknown for over 23 hours,
    /// or a preview whose outcome is unknown.
    public var confirmResend = false
    /// `--confirm-to-all NAME`: the pipeline's `name`, confirming its sends to all followers
    /// (`filter.is_to_all: true`). Without it (or with another name) such a run is refused
    /// before it starts; a `sandbox` rehearsal without it runs with a warning.
    public var confirmToAll: String?
    /// Steps run at once on parallel branches.
    public var concurrency = 4
    /// The run talks to a sandbox (recorded in the run).
    public var sandbox = false
    /// Refuse to run outside the pipeline's schedule window (exit 4).
    public var enforceSchedule = true
    /// After a terminal status from polling, how long `mass/wait` still waits for the push.
    public var waitGrace: Duration = .seconds(5)
    /// `mass/wait` polls after this long first, then doubles up to `poll_interval`.
    public var firstPollDelay: Duration = .seconds(1)
    /// How often `mass/wait` looks in the callback inbox.
    public var inboxCheckInterval: Duration = .milliseconds(250)
    /// A send whose outcome has been unknown for longer is not repeated without confirmation.
    public var unknownOutcomeLimit: TimeInterval = 23 * 3600
    /// `host:pid` of this process.
    public var owner: String = RunOptions.defaultOwner
    public var heartbeatInterval: Duration = .seconds(5)
    /// Test hook (`MASSCAST_CRASH_AT`): kill this process with SIGKILL at a point of the
    /// send path: `send.before_call`, `send.after_response`, `send.after_journal`.
    public var crashPoint: String?
    /// Live progress text for a terminal (`nil`: none).
    public var progress: (@Sendable (String) -> Void)?
    /// The clock.
    public var now: @Sendable () -> Date = { Date() }

    public init() {}

    /// `hostname:pid`.
    public static var defaultOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    /// Whether the owner `host:pid` is a live process (on another host: assumed alive).
    public static func isOwnerAlive(_ owner: String) -> Bool {
        guard let colon = owner.lastIndex(of: ":"), let pid = Int32(owner[owner.index(after: colon)...]) else {
            return false
        }
        let host = String(owner[..<colon])
        guard host == ProcessInfo.processInfo.hostName else { return true }
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

/// How a run ended, and the exit code it maps to (pipeline-format.md, "Exit codes").
public enum RunResult: Sendable, Equatable {
    case succeeded(runID: String)
    case failed(runID: String, message: String)
    /// Stopped and resumable (Ctrl-C, an outcome that is unknown, a confirmation needed).
    case stopped(runID: String, message: String)
    /// The store shows this broadcast's generation as completed; nothing was done.
    case alreadyCompleted(runID: String, completedAt: Date?)
    /// Another live process is running this broadcast.
    case busy(runID: String, owner: String)
    /// Bad input (inputs, account, run id): exit 2.
    case invalid(message: String)
    /// Outside the schedule window: exit 4.
    case notRun(message: String)

    public var exitCode: Int32 {
        switch self {
        case .succeeded, .alreadyCompleted: 0
        case .failed: 1
        case .invalid: 2
        case .stopped, .busy: 3
        case .notRun: 4
        }
    }

    public var runID: String? {
        switch self {
        case .succeeded(let id), .failed(let id, _), .stopped(let id, _), .alreadyCompleted(let id, _),
            .busy(let id, _):
            id
        case .invalid, .notRun: nil
        }
    }
}

/// A flag that interrupts waits (Ctrl-C): calls in flight finish, nothing new starts.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    public init() {}

    public func stop() { lock.withLock { stopped = true } }

    public var isStopped: Bool { lock.withLock { stopped } }

    /// Sleeps `duration` in short slices; `false` if stopped meanwhile.
    public func sleep(_ duration: Duration) async -> Bool {
        var left = duration
        while left > .zero {
            if isStopped { return false }
            let slice = min(left, .milliseconds(100))
            do { try await Task.sleep(for: slice) } catch { return false }
            left -= slice
        }
        return !isStopped
    }
}
