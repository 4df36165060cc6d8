import Foundation
import Subprocess

/// The built `masscast` binary run as a child process, as the end-to-end tests run it: with
/// the arguments, environment and folder given, standard input closed, standard output and
/// standard error collected, and a time limit past which it is killed (SIGKILL).
///
/// ```swift
/// let result = try await MasscastBinary.run(["validate", "pipelines"])
/// #expect(result.exited(0), "\(result)")
/// ```
public enum MasscastBinary {
    /// The package's root folder (the one holding Package.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `masscast` binary next to the test bundle (any `--scratch-path`), else in
    /// `.build/debug`.
    public static let path: String = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("masscast").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/masscast").path
    }()

    /// The default time limit of one run.
    public static let defaultTimeout: Duration = .seconds(60)

    /// The most bytes of standard output, and of standard error, collected from one run.
    public static let outputLimit = 16 << 20

    /// This process's environment with `changes` applied (`nil` removes a variable).
    public static func environment(_ changes: [String: String?] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in changes { environment[key] = value }
        return environment
    }

    /// Runs `masscast arguments` to its end (or to `timeout`, then kills it).
    /// - Parameters:
    ///   - environment: the whole environment of the child (default: this process's).
    ///   - directory: its working directory (default: the package root).
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
        timeout: Duration = defaultTimeout
    ) async throws -> BinaryResult {
        let process = try BinaryProcess(
            arguments, environment: environment ?? ProcessInfo.processInfo.environment,
            directory: directory ?? packageRoot)
        return await process.wait(timeout: timeout)
    }

    /// Runs another program the tests need (a terminal, `tmux`, `dot`, python3) the same
    /// way: standard input closed, output collected, killed past `timeout`. `executable` is a
    /// path; `/usr/bin/env` with the program's name first looks it up on PATH (exit 127 when
    /// it is not there).
    ///
    /// Tests start children through swift-subprocess, never Foundation's `Process`: on Linux
    /// `Process.run()` adds a close action for every descriptor up to the highest one open,
    /// and with the test process holding about 1,500 descriptors (hundreds of tests' servers
    /// and stores at once) it crashed the whole test run (SIGSEGV in its `memcpy`). Waiting
    /// here also holds none of Swift concurrency's few threads.
    public static func runTool(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
        timeout: Duration = defaultTimeout
    ) async throws -> BinaryResult {
        let process = try BinaryProcess(
            arguments, executable: executable, environment: environment ?? ProcessInfo.processInfo.environment,
            directory: directory ?? packageRoot)
        return await process.wait(timeout: timeout)
    }

    /// ``run(_:environment:directory:timeout:)`` with `changes` to this process's environment.
    public static func run(
        _ arguments: [String], changes: [String: String?], directory: URL? = nil, timeout: Duration = defaultTimeout
    ) async throws -> BinaryResult {
        try await run(arguments, environment: environment(changes), directory: directory, timeout: timeout)
    }
}

/// How a child process ended, with everything it printed.
public struct BinaryResult: Sendable, CustomStringConvertible {
    /// Its arguments.
    public var arguments: [String]
    /// The exit status, or the signal number when `signalled`.
    public var status: Int32
    /// Ended by a signal.
    public var signalled: Bool
    /// Killed at its time limit.
    public var timedOut: Bool
    /// Standard output.
    public var out: String
    /// Standard error.
    public var err: String

    /// `true` when it exited (not signalled, not timed out) with `code`.
    public func exited(_ code: Int32) -> Bool { !signalled && !timedOut && status == code }

    /// The JSON log lines of standard error (`--log-format json`), in order, as JSON objects.
    public var events: [[String: any Sendable]] {
        err.split(separator: "\n").compactMap { line -> [String: any Sendable]? in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: any Sendable]
        }
    }

    public var description: String {
        let how = timedOut ? "timed out" : signalled ? "killed by signal \(status)" : "exit \(status)"
        return "masscast \(arguments.joined(separator: " ")): \(how)\n--- stdout ---\n\(out.suffix(4000))\n--- stderr ---\n\(err.suffix(6000))"
    }
}

/// A running `masscast` child process (swift-subprocess): signal it, read its standard
/// error so far, wait for it with a time limit.
public final class BinaryProcess: Sendable {
    /// Its arguments.
    public let arguments: [String]
    private let state = State()
    private let task: Task<(status: Int32, signalled: Bool), any Error>

    /// Starts `masscast arguments` (or `executable`) in `directory` with exactly `environment`.
    public init(
        _ arguments: [String], executable: String = MasscastBinary.path, environment: [String: String], directory: URL
    ) throws {
        self.arguments = arguments
        var variables: [Environment.Key: String] = [:]
        for (key, value) in environment {
            if let key = Environment.Key(rawValue: key) { variables[key] = value }
        }
        let configuration = Configuration(
            executable: .path(.init(executable)), arguments: Arguments(arguments),
            environment: .custom(variables), workingDirectory: .init(directory.path))
        let state = self.state
        task = Task {
            let result = try await Subprocess.run(configuration, input: .none, output: .sequence, error: .sequence) {
                execution in
                state.started(pid: execution.processIdentifier.value)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await buffer in execution.standardOutput {
                            buffer.withUnsafeBytes { state.append(out: Data($0)) }
                        }
                    }
                    group.addTask {
                        for try await buffer in execution.standardError {
                            buffer.withUnsafeBytes { state.append(err: Data($0)) }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            state.end()
            switch result.terminationStatus {
            case .exited(let code): return (code, false)
            case .signaled(let signal): return (signal, true)
            }
        }
    }

    /// A test that stops early leaves no process behind.
    deinit {
        if let pid = state.pid, !state.ended { kill(pid, SIGKILL) }
    }

    /// Its process id, once it started (`nil` before).
    public var pid: Int32? { state.pid }

    /// What it wrote to standard error so far.
    public var stderrSoFar: String { state.err }

    /// What it wrote to standard output so far.
    public var stdoutSoFar: String { state.out }

    /// Sends `signal` to it.
    public func signal(_ signal: Int32) {
        if let pid = state.pid { _ = kill(pid, signal) }
    }

    /// Waits for it to end; past `timeout` it is killed (SIGKILL) and the result says so.
    public func wait(timeout: Duration = MasscastBinary.defaultTimeout) async -> BinaryResult {
        let task = self.task
        defer { state.end() }
        let timedOut = await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                _ = try? await task.value
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : true
            }
            var timedOut = false
            while let next = await group.next() {
                if next == true {
                    timedOut = true
                    self.signal(SIGKILL)
                } else if next == false {
                    group.cancelAll()
                }
            }
            return timedOut
        }
        let ended = try? await task.value
        return BinaryResult(
            arguments: arguments, status: ended?.status ?? -1, signalled: ended?.signalled ?? false,
            timedOut: timedOut, out: state.out, err: state.err)
    }

    /// Polls `condition` every 50 ms until it holds (or `timeout`); `false` if it never did
    /// or the process ended first.
    public func waitUntil(timeout: Duration = .seconds(30), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            if state.ended { return await condition() }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The child's pid and output, under a lock.
    final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var _pid: Int32?
        private var _ended = false
        private var outData = Data()
        private var errData = Data()

        var pid: Int32? { lock.withLock { _pid } }
        var ended: Bool { lock.withLock { _ended } }
        var out: String { String(decoding: lock.withLock { outData }, as: UTF8.self) }
        var err: String { String(decoding: lock.withLock { errData }, as: UTF8.self) }

        func started(pid: Int32) { lock.withLock { _pid = pid } }
        func end() { lock.withLock { _ended = true } }
        func append(out data: Data) {
            lock.withLock { if outData.count < MasscastBinary.outputLimit { outData.append(data) } }
        }
        func append(err data: Data) {
            lock.withLock { if errData.count < MasscastBinary.outputLimit { errData.append(data) } }
        }
    }
}
