import Foundation
import MasscastTesting
import RunState
import StateSQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill -9` in the middle of a stream of writes: every write whose call returned is in the
/// file afterwards.
///
/// The writer is this test binary run again as a child with only `crashChildWriter`
/// selected (through an environment variable that the normal run does not set). It prints
/// `ACK n` after each `journal` call returns; the parent kills it with SIGKILL while it is
/// still writing, reopens the file and looks for every acknowledged entry.
@Suite("Crash durability")
struct CrashDurabilityTests {
    static let childVariable = "MASSCAST_STATE_CRASH_CHILD_PATH"

    @Test(
        "child: writes journal entries until killed",
        .enabled(if: ProcessInfo.processInfo.environment[childVariable] != nil))
    func crashChildWriter() async throws {
        let path = try #require(ProcessInfo.processInfo.environment[Self.childVariable])
        let store = try SQLiteStateStore(path: path)
        let deadline = Date().addingTimeInterval(60)
        var index = 0
        while Date() < deadline {
            try await store.journal(journalEntry("crash-\(index)", state: .sent, updatedAt: Int64(index)))
            try await store.storeToken(StoredToken(value: "t\(index)", expiresAt: at(Int64(index))), api: testAPI, appID: "wx-crash")
            let line = "ACK \(index)\n"
            _ = line.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
            index += 1
        }
    }

    #if os(Linux)
    @Test("every acknowledged write survives SIGKILL of the writing process")
    func acknowledgedWritesSurviveSIGKILL() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("state.sqlite")
        // Create the file first, so the child only writes.
        try SQLiteStateStore(path: path).close()

        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childVariable] = path
        let child = try BinaryProcess(
            ["--testing-library", "swift-testing", "--filter", "crashChildWriter"], executable: executable,
            environment: environment, directory: URL(fileURLWithPath: scratch.path))
        // The entries the child acknowledged: its whole `ACK n` lines.
        func acknowledged(_ out: String) -> Set<Int> {
            Set(out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
                line.hasPrefix("ACK ") ? Int(line.dropFirst(4)) : nil
            })
        }
        // Killed once it has acknowledged 150 writes; never waited for past 60 s.
        let reached = await child.waitUntil(timeout: .seconds(60)) { acknowledged(child.stdoutSoFar).count >= 150 }
        child.signal(SIGKILL)
        let result = await child.wait(timeout: .seconds(30))
        let acks = acknowledged(result.out)
        #expect(reached, "the child never reached 150 writes (acknowledged \(acks.count)): \(result)")
        #expect(result.signalled && result.status == SIGKILL, "\(result)")

        let store = try SQLiteStateStore(path: path)
        var missing: [Int] = []
        for index in acks.sorted() {
            if try await store.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "crash-\(index)") == nil {
                missing.append(index)
            }
        }
        #expect(missing.isEmpty, "acknowledged but lost after kill -9: \(missing)")
        let stored = try await store.acceptedSends(api: testAPI, appID: "wx0000000000000001", since: at(0))
        #expect(stored >= acks.count)
        let last = try #require(acks.max())
        let token = try #require(try await store.loadToken(api: testAPI, appID: "wx-crash"))
        #expect(token.expiresAt >= at(Int64(last)))
        try store.close()
    }
    #endif
}
