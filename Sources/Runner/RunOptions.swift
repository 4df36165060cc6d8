import Foundation
import PipelineCore
import RunState
import WeChatMP

/// How a run behaves; the command line fills it.
public struct RunOptions: Sendable {
    /// Every declared input, defaults applied (checked by the caller).
    public var inputs: [String: Value] = [:]
    /// The `env.` context.
    public var env: [String: String] = [:]
    /// `--rerun`: abandon the broadcast's current generation and start the next one (new
    /// clientmsgids: every send is made again). Refused while a send's outcome is unknown.
    public var rerun = false
    /// masscast.yaml's `project:` id (empty without one): part of the broadcast's identity
    /// and of `mc2-` clientmsgids.
    public var project = ""
    /// masscast.yaml's `paths.allow` as real paths: folders outside the repository that the
    /// files a step reads may resolve into (``FileAccess``).
    public var allowedDirectories: [String] = []
    /// Temporary media (media/upload, uploadnews, uploadvideo) older than this is uploaded
    /// again when a run is continued: WeChat keeps it 3 days; the margin leaves time to send.
    public var mediaLifetime: TimeInterval = 3 * 86_400 - 3_600
    /// `--confirm-resend`: repeat a send whose outcome has been unknown for over 23 hours,
    /// or a preview whose outcome is unknown.
    public var confirmResend = false
    /// `--confirm-to-all NAME`: the pipeline's `name`, confirming its sends to all followers
    /// (`filter.is_to_all: true`). Without it (or with another name) such a run is refused
    /// before it starts; a `sandbox` rehearsal without it runs with a warning.
    public var confirmToAll: String?
    /// Each input's value and where it came from (`tag_id=101 (pipelines/x.inputs.yaml)`),
    /// logged at debug level (`--verbose`) when the run starts.
    public var inputSources: String?
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
    /// With a store that wakes its readers when a push is stored (PostgreSQL's `LISTEN`), how
    /// often `mass/wait` re-reads the inbox anyway (a missed wake-up delays by at most this).
    public var inboxFallbackInterval: Duration = .seconds(5)
    /// A send whose outcome has been unknown for longer is not repeated without confirmation.
    public var unknownOutcomeLimit: TimeInterval = 23 * 3600
    /// `host:pid` of this process.
    public var owner: String = RunOptions.defaultOwner
    public var heartbeatInterval: Duration = .seconds(5)
    /// Test hook (`MASSCAST_CRASH_AT`): kill this process with SIGKILL at a point of the
    /// send path: `send.before_call`, `send.after_response`, `send.after_journal`.
    public var crashPoint: String?
    /// The options a `masscast resume` of this run needs besides the run id (`--state`,
    /// `--config`, `--secrets` as given to this command), for the hints that print a command.
    public var resumeArguments: [String] = []
    /// Live progress text for a terminal (`nil`: none). Texts start with `[step id]`.
    public var progress: (@Sendable (String) -> Void)?
    /// Called with a step's id when it finishes (or stops): its progress text, if still
    /// shown, is taken away.
    public var progressEnded: (@Sendable (String) -> Void)?
    /// Wall time: what the runner records, compares with the journal and the schedule, and
    /// counts quota days by. It must agree with ``clock``: tests give both from one virtual
    /// time, so that a clock advanced by two hours is two hours later on `now` as well.
    public var now: @Sendable () -> Date = { Date() }
    /// The clock every wait of the run sleeps on: retry waits (backoff, 45011, 45066), the
    /// pacer, `mass/wait`'s polling, inbox checks and grace, the heartbeat. Production uses
    /// `ContinuousClock`; tests a virtual clock, so that hours of waiting take milliseconds.
    public var clock: any Clock<Duration> = ContinuousClock()
    /// The secrets no request of the run may carry (the app secret, `secrets.*`, the
    /// variables credentials come from), by the name a refusal shows.
    public var fence = SecretFence()
    /// Where an audience file's unique OpenIDs are kept between reading and sending (`nil`:
    /// `TMPDIR`). The state store's folder has one (`spool/`), so that spools stay with the
    /// run's other data; those a killed run left are removed by the next scan.
    public var spoolDirectory: String?

    public init() {}

    /// `hostname:pid`.
    public static var defaultOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    /// Whether the owner of a run still holds it: its heartbeat is recent (three intervals,
    /// whatever host wrote it) and, on this host, its process exists.
    public func ownerLiveness() -> OwnerLiveness {
        let now = self.now
        let interval = heartbeatInterval.seconds
        return { owner, heartbeatAt in
            RunLiveness.isAlive(
                owner: owner, heartbeatAt: heartbeatAt, now: now(), heartbeatInterval: interval,
                processAlive: RunOptions.isProcessAlive)
        }
    }

    /// Whether the owner `host:pid` is a live process (on another host: assumed alive; the
    /// heartbeat decides there).
    public static func isProcessAlive(_ owner: String) -> Bool {
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
    /// Another live process is running this broadcast (`runID` empty when the lease's holder
    /// is known but not its run).
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
        case .succeeded(let id), .failed(let id, _), .stopped(let id, _), .alreadyCompleted(let id, _):
            id
        case .busy(let id, _):
            id.isEmpty ? nil : id
        case .invalid, .notRun: nil
        }
    }
}

/// Why a run was stopped from outside.
public enum StopReason: Sendable, Hashable {
    /// Ctrl-C: SIGINT.
    case interrupt
    /// SIGTERM (a service manager, `kill`, a CI job cancelled).
    case terminate
    /// This process lost the run (its heartbeat failed: another process took it over).
    case lostOwnership
    /// The broadcast's lease moved to another holder (a fenced journal write was refused).
    case leaseLost

    /// "stopped by Ctrl-C (SIGINT)", "stopped by SIGTERM", …
    public var message: String {
        switch self {
        case .interrupt: "stopped by Ctrl-C (SIGINT)"
        case .terminate: "stopped by SIGTERM"
        case .lostOwnership: "stopped because this process lost the run (its heartbeat failed; another process may have taken it over)"
        case .leaseLost: "stopped because the broadcast's lease was taken over (lease lost); nothing more is sent"
        }
    }
}

/// A flag that interrupts waits (Ctrl-C, SIGTERM): calls in flight finish, nothing new starts.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var stopReason: StopReason?
    /// Sleeps in progress, woken by `stop`.
    private var waiters: [Int: @Sendable () -> Void] = [:]
    private var nextWaiter = 0

    public init() {}

    /// Stops; the first reason given is kept.
    public func stop(reason: StopReason = .interrupt) {
        let wake = lock.withLock { () -> [@Sendable () -> Void] in
            stopped = true
            if stopReason == nil { stopReason = reason }
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for w in wake { w() }
    }

    public var isStopped: Bool { lock.withLock { stopped } }

    /// Why it stopped (`nil` while not stopped).
    public var reason: StopReason? { lock.withLock { stopReason } }

    /// The message for steps and the run: "stopped by SIGTERM", "stopped by Ctrl-C (SIGINT)".
    public var message: String { (reason ?? .interrupt).message }

    /// Sleeps `duration` on `clock`; returns `false` at once when stopped meanwhile (the
    /// sleep is cancelled by ``stop(reason:)``, not polled), or when the task is cancelled.
    public func sleep(_ duration: Duration, clock: any Clock<Duration> = ContinuousClock()) async -> Bool {
        if isStopped { return false }
        let sleeper = Task { try await clock.sleep(for: duration) }
        let id = lock.withLock { () -> Int? in
            if stopped { return nil }
            nextWaiter += 1
            waiters[nextWaiter] = { sleeper.cancel() }
            return nextWaiter
        }
        guard let id else {
            sleeper.cancel()
            return false
        }
        defer { _ = lock.withLock { waiters.removeValue(forKey: id) } }
        let slept = await withTaskCancellationHandler {
            (try? await sleeper.value) != nil
        } onCancel: {
            sleeper.cancel()
        }
        return slept && !isStopped
    }
}

extension RunOptions {
    /// `masscast resume RUN_ID` with the options this run was given (``resumeArguments``) and
    /// `extra` (e.g. `--confirm-resend`), quoted for a POSIX shell where needed: a hint to
    /// copy and paste.
    public func resumeCommand(_ runID: String, _ extra: String...) -> String {
        (["masscast", "resume", runID] + resumeArguments + extra).map(Self.shellQuoted).joined(separator: " ")
    }

    /// `word` as a POSIX shell reads it back: unchanged when it has only safe characters,
    /// else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
