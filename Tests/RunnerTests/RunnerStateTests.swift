import Foundation
import Logging
import MasscastTesting
import PipelineCore
import RunState
import Runner
import StateSQLite
import Testing
import WeChatMP
import WeChatSandbox

/// Counts the token fetches that go through it.
final class CountingTransport: WeChatTransport, @unchecked Sendable {
    let inner: any WeChatTransport
    private let lock = NSLock()
    private var tokenCalls = 0

    var tokenFetches: Int { lock.withLock { tokenCalls } }

    init(_ inner: any WeChatTransport) { self.inner = inner }

    func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        if request.url.contains("/cgi-bin/token") || request.url.contains("/cgi-bin/stable_token") {
            lock.withLock { tokenCalls += 1 }
        }
        return try await inner.send(request)
    }
}

@Suite("runner state", .serialized)
struct RunnerStateTests {
    @Test("a preview whose answer was lost is not repeated; resume --confirm-resend repeats it once")
    func previewNotRepeated() async throws {
        try await Rig.with({ $0.replacingOccurrences(of: "faults: []", with: """
            faults:
              - { on: message/mass/preview, reset: after, next: 1 }
            """) }) { rig in
            let path = try rig.write("preview.yaml", """
                version: 1
                name: preview-once
                account: brand-main
                steps:
                  - id: preview
                    uses: mass/preview
                    with:
                      towxname: editor_01
                      msgtype: text
                      text: { content: "proof" }
                """)
            let result = try await rig.run(path)
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected stopped, got \(result)")
                return
            }
            #expect(message.contains("--confirm-resend"))
            #expect(await rig.sandbox.engine.previewRecords().count == 1)
            let again = try await rig.executor(path).resume(runID: runID)
            #expect(again.exitCode == 3, "without confirmation it stays stopped: \(again)")
            #expect(await rig.sandbox.engine.previewRecords().count == 1)
            let confirmed = try await rig.executor(path) { $0.confirmResend = true }.resume(runID: runID)
            #expect(confirmed == .succeeded(runID: runID), "\(confirmed)")
            #expect(await rig.sandbox.engine.previewRecords().count == 2)
        }
    }

    @Test("processes sharing a state file share one access token")
    func sharedTokenCache() async throws {
        try await Rig.with { rig in
            let path = try rig.write("token.yaml", """
                version: 1
                name: token-share
                account: brand-main
                steps:
                  - id: speed
                    uses: mass/speed
                """)
            func runOnce(_ store: SQLiteStateStore, _ transport: CountingTransport, rerun: Bool) async throws -> RunResult {
                try await rig.executor(path, store: store, transport: transport, logger: Logger(label: "test")) {
                    $0.rerun = rerun
                }.start()
            }
            // Two store instances on one file stand for two masscast processes.
            let first = CountingTransport(rig.transport)
            let second = CountingTransport(rig.transport)
            let otherStore = try SQLiteStateStore(path: rig.store.path)
            #expect(try await runOnce(rig.store, first, rerun: false).exitCode == 0)
            #expect(try await runOnce(otherStore, second, rerun: true).exitCode == 0)
            #expect(first.tokenFetches == 1)
            #expect(second.tokenFetches == 0, "the second process used the token the first stored")
        }
    }
}
