import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where log lines go: a file descriptor (standard error by default) or memory (for tests).
///
/// A sink writes whole lines: each ``write(line:)`` is one `write(2)` sequence made under a
/// lock, so lines from concurrent tasks never interleave. A sink on a terminal also keeps the
/// live status line of a ``ProgressLine``: a log line first erases it, then redraws it below.
///
/// A server that logs a line per request can have its lines written in batches
/// (``startBatching(maxDelay:maxBytes:)``): lines are kept in order and written together at
/// most `maxDelay` after the first of them, at once when `maxBytes` are waiting, on
/// ``flush()``, on ``stopBatching()``, and when the process exits through `exit(3)`.
public final class LogSink: @unchecked Sendable {
    private enum Target {
        case fileDescriptor(Int32)
        case memory
    }

    private let target: Target
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var storedLines: [String] = []
    private var storedOutput = ""
    private var status: String?
    private var statusVisible = false
    private let fixedWidth: Int?
    /// Batching (guarded by `lock`): the settings, the bytes waiting, whether a flush is scheduled.
    private var batching: (maxDelay: Duration, maxBytes: Int)?
    private var pending: [UInt8] = []
    private var flushScheduled = false

    /// `true` when the sink is a terminal (`isatty`, and `TERM` is not `dumb`), or a memory
    /// sink made to act as one. Progress is drawn and colours are used only on a terminal.
    public let isTerminal: Bool

    /// A sink writing to `fileDescriptor` (not closed by the sink).
    /// - Parameters:
    ///   - fileDescriptor: the descriptor, `STDERR_FILENO` (2) by default.
    ///   - isTerminal: overrides terminal detection (`isatty`) when given.
    public init(fileDescriptor: Int32 = 2, isTerminal: Bool? = nil) {
        self.target = .fileDescriptor(fileDescriptor)
        self.isTerminal = isTerminal ?? LogSink.detectTerminal(fileDescriptor)
        self.fixedWidth = nil
    }

    private init(memoryTerminal: Bool, width: Int) {
        self.target = .memory
        self.isTerminal = memoryTerminal
        self.fixedWidth = width
    }

    /// The process's standard error.
    public static let standardError = LogSink(fileDescriptor: 2)

    /// The process's standard output.
    public static let standardOutput = LogSink(fileDescriptor: 1)

    /// A sink that keeps lines in memory (``lines``, ``output``), for tests.
    /// - Parameters:
    ///   - isTerminal: act as a terminal (progress drawn, redraw sequences recorded in ``output``).
    ///   - terminalWidth: the columns a status line may take.
    public static func memory(isTerminal: Bool = false, terminalWidth: Int = 80) -> LogSink {
        LogSink(memoryTerminal: isTerminal, width: terminalWidth)
    }

    /// The lines written so far, one element per ``write(line:)`` (memory sinks only; empty otherwise).
    public var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return storedLines
    }

    /// Everything written so far, as a terminal would receive it: lines with their newline,
    /// and the status line's `\r` + erase-line sequences (memory sinks only; empty otherwise).
    public var output: String {
        lock.lock()
        defer { lock.unlock() }
        return storedOutput
    }

    /// The columns available for a status line (the terminal's width, 80 when unknown).
    public var terminalWidth: Int {
        if let fixedWidth { return fixedWidth }
        if case .fileDescriptor(let fd) = target {
            var size = winsize()
            if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 {
            return columns
        }
        return 80
    }

    /// Writes one line (a newline is added) atomically with respect to other writers. On a
    /// terminal with a status line shown, the status line is erased first and redrawn after.
    public func write(line: String) {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        if statusVisible { out += LogSink.eraseLine }
        out += line
        out += "\n"
        if statusVisible, let status { out += status }
        if case .memory = target { storedLines.append(line) }
        emit(out)
    }

    // MARK: Batches

    /// Writes lines in batches from now on: a line waits at most `maxDelay` (and no longer
    /// than until `maxBytes` are waiting) before it is written. Ignored on a terminal (the
    /// status line must be drawn as lines come) and on memory sinks.
    /// - Parameters:
    ///   - maxDelay: the longest a line waits, 50 ms by default.
    ///   - maxBytes: the bytes that are written at once when reached, 64 KiB by default.
    public func startBatching(maxDelay: Duration = .milliseconds(50), maxBytes: Int = 64 << 10) {
        guard !isTerminal, case .fileDescriptor = target else { return }
        lock.lock()
        batching = (maxDelay, max(maxBytes, 1))
        if pending.capacity < maxBytes { pending.reserveCapacity(min(maxBytes, 1 << 20)) }
        lock.unlock()
        LogSink.registerForExit(self)
    }

    /// Writes the waiting lines and writes every later line at once again.
    public func stopBatching() {
        lock.lock()
        defer { lock.unlock() }
        writePending()
        batching = nil
    }

    /// Writes the lines waiting in a batch now (nothing when batching is off).
    public func flush() {
        lock.lock()
        defer { lock.unlock() }
        writePending()
    }

    /// `true` while lines are batched.
    public var isBatching: Bool {
        lock.lock()
        defer { lock.unlock() }
        return batching != nil
    }

    /// Called with `lock` held.
    private func writePending() {
        flushScheduled = false
        guard !pending.isEmpty, case .fileDescriptor(let fd) = target else { return }
        pending.withUnsafeMutableBytes { LogSink.writeAll(fd, $0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// The sinks that batch, flushed by an `atexit` handler registered once.
    nonisolated(unsafe) private static var exitSinks: [LogSink] = []
    private static let exitLock = NSLock()

    private static func registerForExit(_ sink: LogSink) {
        exitLock.lock()
        defer { exitLock.unlock() }
        if exitSinks.contains(where: { $0 === sink }) { return }
        if exitSinks.isEmpty { atexit { LogSink.flushAtExit() } }
        exitSinks.append(sink)
    }

    private static func flushAtExit() {
        exitLock.lock()
        let sinks = exitSinks
        exitLock.unlock()
        for sink in sinks { sink.flush() }
    }

    // MARK: Status line (used by ProgressLine)

    static let eraseLine = "\r\u{1B}[2K"

    /// Draws `text` as the status line (terminal sinks only).
    func drawStatus(_ text: String) {
        guard isTerminal else { return }
        let fitted = fit(text)
        lock.lock()
        defer { lock.unlock() }
        status = fitted
        statusVisible = true
        emit(LogSink.eraseLine + fitted)
    }

    /// Remembers `text` as the status line without drawing it now: the next log line's
    /// redraw shows it.
    func rememberStatus(_ text: String) {
        guard isTerminal else { return }
        let fitted = fit(text)
        lock.lock()
        defer { lock.unlock() }
        status = fitted
    }

    /// Writes a last line: erases the status line (if shown) and forgets it, then writes
    /// `line`, without redrawing the status after it (``write(line:)`` would). For the lines
    /// that end a command, so they never land on a half-drawn status line.
    public func writeFinal(line: String) {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        if statusVisible { out += LogSink.eraseLine }
        status = nil
        statusVisible = false
        out += line
        out += "\n"
        if case .memory = target { storedLines.append(line) }
        emit(out)
        writePending()
    }

    /// Erases the status line and forgets it.
    func clearStatus() {
        lock.lock()
        defer { lock.unlock() }
        if statusVisible { emit(LogSink.eraseLine) }
        status = nil
        statusVisible = false
    }

    /// Keeps a status line on one terminal row (a wrapped line cannot be erased with `\r`),
    /// and without control characters.
    private func fit(_ text: String) -> String {
        let clean = String(
            text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }
        )
        return TextWidth.truncated(clean, max(terminalWidth - 1, 10))
    }

    /// Called with `lock` held.
    private func emit(_ text: String) {
        switch target {
        case .memory:
            storedOutput += text
        case .fileDescriptor(let fd):
            if let batching {
                pending.append(contentsOf: text.utf8)
                if pending.count >= batching.maxBytes {
                    writePending()
                } else if !flushScheduled {
                    flushScheduled = true
                    let (seconds, attoseconds) = batching.maxDelay.components
                    let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
                        self?.flush()
                    }
                }
                return
            }
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { LogSink.writeAll(fd, $0) }
        }
    }

    private static func writeAll(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) {
        guard var base = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let n = systemWrite(fd, base, remaining)
            if n > 0 {
                remaining -= n
                base += n
            } else if n < 0, errno == EINTR || errno == EAGAIN {
                continue
            } else {
                return  // closed or broken: logging must not fail the run
            }
        }
    }

    private static func detectTerminal(_ fd: Int32) -> Bool {
        guard isatty(fd) == 1 else { return false }
        return ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }
}

private func systemWrite(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, pointer, count)
    #elseif canImport(Glibc)
    return Glibc.write(fd, pointer, count)
    #else
    return Musl.write(fd, pointer, count)
    #endif
}
