import Foundation
import MasscastTesting
import RunState
import Runner
import StateSQLite
import Testing
import WeChatMP

/// A run fenced by its broadcast's lease (`masscast apply`): when another holder takes the
/// lease over, the next journal intent is refused and no call reaches WeChat.
@Suite("runner: lease fencing")
struct LeaseFenceTests {
    static let pipeline = """
        version: 1
        name: fenced-send
        account: brand-main
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 101 }
              msgtype: text
              text: { content: "fenced" }
        """

    @Test("a runner whose lease was taken over gets lease lost at its send intent and stops; the sandbox gets no send")
    func leaseLostStopsBeforeTheCall() async throws {
        try await Rig.with { rig in
            let path = try rig.write("fenced.yaml", Self.pipeline)
            let executor = try rig.executor(path)
            let identity = await executor.broadcastIdentity
            let mine = try #require(try await rig.store.acquireLease(identity, owner: "runner-a:1", ttl: 60, now: Date()).acquired)
            await executor.fence(LeaseFence(mine))
            // Runner A pauses past its lease; runner B takes the broadcast over.
            let theirs = try #require(
                try await rig.store.acquireLease(identity, owner: "runner-b:2", ttl: 60, now: Date().addingTimeInterval(120))
                    .acquired)
            #expect(theirs.epoch == mine.epoch + 1)
            let sendsBefore = await rig.sandbox.engine.sends().count
            let result = await executor.start()
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("lease lost"), "\(message)")
            #expect(message.contains("runner-b:2"), "\(message)")
            #expect(await rig.sandbox.engine.sends().count == sendsBefore, "no request may reach WeChat")
            #expect(try await rig.store.journalEntries(runID: runID).isEmpty, "nothing was journaled")
        }
    }

    @Test("a runner past its lease's renewal margin (not renewed in time) starts no send, though nobody took the lease yet")
    func pastTheMarginStopsBeforeTheCall() async throws {
        try await Rig.with { rig in
            let path = try rig.write("fenced.yaml", Self.pipeline)
            let executor = try rig.executor(path)
            let identity = await executor.broadcastIdentity
            let mine = try #require(try await rig.store.acquireLease(identity, owner: "runner-a:1", ttl: 60, now: Date()).acquired)
            await executor.fence(LeaseFence(mine))
            await executor.leaseMargin(until: ContinuousClock.now.advanced(by: .milliseconds(-1)))
            let sendsBefore = await rig.sandbox.engine.sends().count
            let result = await executor.start()
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("lease lost"), "\(message)")
            #expect(await rig.sandbox.engine.sends().count == sendsBefore, "no request may reach WeChat")
            #expect(try await rig.store.journalEntries(runID: runID).isEmpty, "nothing was journaled")
        }
    }

    @Test("a runner that still holds its lease sends, once, with its intent fenced")
    func heldLeaseSends() async throws {
        try await Rig.with { rig in
            let path = try rig.write("fenced.yaml", Self.pipeline)
            let executor = try rig.executor(path)
            let identity = await executor.broadcastIdentity
            let mine = try #require(try await rig.store.acquireLease(identity, owner: "runner-a:1", ttl: 60, now: Date()).acquired)
            await executor.fence(LeaseFence(mine))
            await executor.leaseMargin(until: ContinuousClock.now.advanced(by: .seconds(40)))
            let sendsBefore = await rig.sandbox.engine.sends().count
            let result = await executor.start()
            #expect(result.exitCode == 0, "\(result)")
            #expect(await rig.sandbox.engine.sends().count == sendsBefore + 1)
        }
    }

    @Test("a send whose answer was lost while its lease's renewal margin passed is not attempted again: the run stops (lease lost), the intent stays")
    func marginPassedDuringTheCallNoRetry() async throws {
        try await Rig.with { rig in
            // The process is paused while its request is in flight, past the margin: the
            // request arrived, its answer is lost (a timeout), and no renewal happened.
            let sendsBefore = await rig.sandbox.engine.sends().count
            let (result, calls) = try await Self.runLosingTheAnswer(rig) { executor, _ in
                await executor.leaseMargin(until: ContinuousClock.now.advanced(by: .milliseconds(-1)))
            }
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("lease lost"), "\(message)")
            #expect(calls == 1, "the send was attempted again after the margin passed: \(calls) calls")
            #expect(await rig.sandbox.engine.sends().count == sendsBefore + 1)
            let entries = try await rig.store.journalEntries(runID: runID)
            #expect(entries.map(\.state) == [.intent], "the intent stays for the next holder to settle: \(entries.map(\.state))")
        }
    }

    @Test("a send whose answer was lost while another runner took the lease over is not attempted again, and its outcome is not written over the new holder's journal")
    func takenOverDuringTheCallNoRetry() async throws {
        try await Rig.with { rig in
            let store = rig.store
            let (result, calls) = try await Self.runLosingTheAnswer(rig) { _, identity in
                _ = try? await store.acquireLease(identity, owner: "runner-b:2", ttl: 60, now: Date().addingTimeInterval(120))
            }
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("lease lost") && message.contains("runner-b:2"), "\(message)")
            #expect(calls == 1, "the send was attempted again after the lease moved: \(calls) calls")
            let entries = try await rig.store.journalEntries(runID: runID)
            #expect(entries.map(\.state) == [.intent], "\(entries.map(\.state))")
        }
    }

    /// Runs the pipeline as `runner-a:1` holding the lease with 40 s of margin, through a
    /// transport that delivers the first `sendall` and loses its answer after `whileInFlight`
    /// ran; returns the result and how many `sendall` calls the sandbox got.
    static func runLosingTheAnswer(
        _ rig: Rig, whileInFlight: @escaping @Sendable (RunExecutor, BroadcastIdentity) async -> Void
    ) async throws -> (RunResult, Int) {
        let path = try rig.write("fenced.yaml", pipeline)
        let transport = LosesFirstSendAnswer(rig.transport)
        let executor = try rig.executor(path, transport: transport)
        let identity = await executor.broadcastIdentity
        let mine = try #require(try await rig.store.acquireLease(identity, owner: "runner-a:1", ttl: 60, now: Date()).acquired)
        await executor.fence(LeaseFence(mine))
        await executor.leaseMargin(until: ContinuousClock.now.advanced(by: .seconds(40)))
        transport.whileInFlight = { await whileInFlight(executor, identity) }
        let result = await executor.start()
        let calls = await rig.sandbox.engine.calls().filter { $0.endpoint == "message/mass/sendall" }.count
        return (result, calls)
    }
}

/// The real transport, except that the first `message/mass/sendall` request is delivered and
/// its answer lost: `whileInFlight` runs after the sandbox got it, then the call fails as a
/// timeout whose request may have been received (a process paused mid-call, then continued).
final class LosesFirstSendAnswer: WeChatTransport, @unchecked Sendable {
    let inner: any WeChatTransport
    private let lock = NSLock()
    private var lost = false
    private var hook: (@Sendable () async -> Void)?

    init(_ inner: any WeChatTransport) { self.inner = inner }

    var whileInFlight: (@Sendable () async -> Void)? {
        get { lock.withLock { hook } }
        set { lock.withLock { hook = newValue } }
    }

    func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        let response = try await inner.send(request)
        let loseThis = request.url.contains("message/mass/sendall") && lock.withLock { () -> Bool in
            defer { lost = true }
            return !lost
        }
        guard loseThis else { return response }
        await whileInFlight?()
        throw TransportFailure(.timeout, delivery: .maybeReceived, message: "no answer within 30 seconds")
    }
}
