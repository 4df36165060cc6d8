import Foundation
import MasscastTesting
import RunState
import Runner
import StateSQLite
import Testing

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
}
