import Foundation

/// A live status line at the bottom of a terminal:
///
/// ```text
/// [send] batch 37/100 · 370,000/1,000,000 OpenIDs · 12.3 batches/min
/// ```
///
/// On a terminal sink (``isLive``), ``update(_:force:)`` redraws the line in place (`\r` and
/// erase-line) at most once per ``minimumInterval`` (10 times a second by default); log lines
/// written through the same ``LogSink`` erase it first and redraw it after, so the two never
/// mix. ``finish()`` erases it.
///
/// On any other sink nothing is drawn: ``update(_:force:)`` and ``finish()`` do nothing, and the
/// caller logs progress as ordinary log lines at a low rate, asking ``reportDue(force:)``:
///
/// ```swift
/// progress.update(text)
/// if progress.reportDue() { logger.info("\(text)", metadata: ["event": "progress"]) }
/// ```
public final class ProgressLine: @unchecked Sendable {
    /// The sink the line is drawn on.
    public let sink: LogSink
    /// The least time between two redraws.
    public let minimumInterval: Duration
    /// The least time between two progress log lines when not live.
    public let logInterval: Duration
    /// Secrets to redact from the status text.
    public let scrubber: Scrubber

    private let lock = NSLock()
    private let clock = ContinuousClock()
    /// Guarded by `lock`.
    private var lastDraw: ContinuousClock.Instant?
    private var lastReport: ContinuousClock.Instant?
    private var current: String?

    /// - Parameters:
    ///   - sink: the sink log lines also go through (standard error by default).
    ///   - minimumInterval: the least time between redraws (100 ms).
    ///   - logInterval: the least time between progress log lines when not live (10 s).
    ///   - scrubber: secrets to redact from the status text.
    public init(
        sink: LogSink = .standardError, minimumInterval: Duration = .milliseconds(100),
        logInterval: Duration = .seconds(10), scrubber: Scrubber = Scrubber()
    ) {
        self.sink = sink
        self.minimumInterval = minimumInterval
        self.logInterval = logInterval
        self.scrubber = scrubber
    }

    /// `true` when the status line is drawn (the sink is a terminal).
    public var isLive: Bool { sink.isTerminal }

    /// Shows `text` as the status line: drawn now unless the last redraw was less than
    /// ``minimumInterval`` ago (then it is kept and shown by the next redraw), or now anyway
    /// with `force`. Does nothing when not live.
    public func update(_ text: String, force: Bool = false) {
        guard isLive else { return }
        let clean = scrubber.scrub(text)
        lock.lock()
        defer { lock.unlock() }
        let now = clock.now
        current = clean
        if force || lastDraw.map({ $0.duration(to: now) >= minimumInterval }) ?? true {
            lastDraw = now
            sink.drawStatus(clean)
        } else {
            sink.rememberStatus(clean)
        }
    }

    /// Erases the status line (when live). A later ``update(_:force:)`` shows a new one.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        lastDraw = nil
        current = nil
        if isLive { sink.clearStatus() }
    }

    /// A step finished: erases the status line if it is that step's (its text starts with
    /// `[step]`), so a finished step's state never lingers while later steps run. Another
    /// step's line is left as it is.
    public func end(step: String) {
        guard isLive else { return }
        lock.lock()
        defer { lock.unlock() }
        guard let current, current.hasPrefix("[\(scrubber.scrub(step))]") else { return }
        self.current = nil
        lastDraw = nil
        sink.clearStatus()
    }

    /// Erases the status line, then writes `line` (a command's last words) through the same
    /// sink, so it never lands on a half-drawn status line and the status is not redrawn
    /// after it. Not live: just writes the line.
    public func finish(with line: String) {
        lock.lock()
        defer { lock.unlock() }
        lastDraw = nil
        current = nil
        sink.writeFinal(line: line)
    }

    /// Whether the caller should log a progress line now: always `false` when live (the
    /// status line shows progress); otherwise `true` on the first call and then at most once
    /// per ``logInterval``, or with `force` (the last batch, say).
    public func reportDue(force: Bool = false) -> Bool {
        if isLive { return false }
        lock.lock()
        defer { lock.unlock() }
        let now = clock.now
        if force || lastReport.map({ $0.duration(to: now) >= logInterval }) ?? true {
            lastReport = now
            return true
        }
        return false
    }

    /// The status text of a send step:
    /// `[send] batch 37/100 · 370,000/1,000,000 OpenIDs · 12.3 batches/min`.
    /// - Parameters:
    ///   - step: the step id.
    ///   - batch: batches done (or the one under way).
    ///   - batches: batches in all.
    ///   - recipients: OpenIDs sent to so far, when known.
    ///   - totalRecipients: OpenIDs in all, when known.
    ///   - batchesPerMinute: the current rate, when known.
    public static func sendStatus(
        step: String, batch: Int, batches: Int, recipients: Int? = nil, totalRecipients: Int? = nil,
        batchesPerMinute: Double? = nil
    ) -> String {
        var parts = ["[\(step)] batch \(batch)/\(batches)"]
        if let recipients {
            var text = NumberText.grouped(Int64(recipients))
            if let totalRecipients { text += "/" + NumberText.grouped(Int64(totalRecipients)) }
            parts.append(text + " OpenIDs")
        }
        if let batchesPerMinute, batchesPerMinute.isFinite {
            parts.append(NumberText.fixed(batchesPerMinute, 1) + " batches/min")
        }
        return parts.joined(separator: " · ")
    }

    /// `1234567` → `1,234,567` (for status texts).
    public static func grouped(_ value: Int) -> String { NumberText.grouped(Int64(value)) }
}
