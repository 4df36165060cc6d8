import CallbackServer
import Foundation
import MasscastTesting
import PipelineCore
import RunState
import Runner
import StateSQLite
import Testing
import WeChatSandbox

/// End-to-end checks over real sockets: the sandbox served over HTTP on a loopback port, the
/// runner calling it through `AsyncHTTPTransport`, pushes delivered over HTTP to a live
/// listener. Every other runner test reaches the sandbox in process (`Rig`'s default).
@Suite("live sockets: the runner and the sandbox over HTTP", .serialized)
struct LiveSocketTests {
    @Test("every example pipeline runs green over HTTP, one accepted send per send step")
    func examplesOverHTTP() async throws {
        try await Rig.with(reach: .socket, time: .virtual) { rig in try await RunnerExampleTests().examples(rig) }
    }

    @Test("the sandbox pushes to a live listener and a waiting run completes from the push alone (polling off)",
          arguments: ["brand-main", "brand-news"])
    func waitEndsOnPush(account name: String) async throws {
        try await Rig.with(reach: .socket) { rig in
            let fixtureAccount = try #require(rig.fixture.accounts.first { $0.name == name })
            let callback = try #require(fixtureAccount.callback)
            let listener = try await RunningListener.start(
                configuration: ListenerConfiguration(accounts: [
                    ListenerAccount(
                        name: name, appID: fixtureAccount.appID, originalID: fixtureAccount.originalID,
                        token: callback.token, aesKey: callback.mode == .plain ? nil : callback.encodingAESKey,
                        api: rig.sandbox.baseURL)
                ], storeTimeout: .seconds(3600)),
                // Its own connection to the state file, as a `masscast listen` process would have.
                store: try SQLiteStateStore(path: rig.store.path))
            _ = await rig.sandbox.engine.setCallback(account: name, url: listener.callbackURL(account: name))
            let path = try rig.write("push-\(name).yaml", """
                version: 1
                name: push-\(name)
                account: \(name)
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "pushed" }
                  - id: finish
                    uses: mass/wait
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                      source: callback
                      timeout: 1m
                """)
            let result = try await rig.run(path, account: name)
            await listener.stop()
            #expect(result.exitCode == 0, "\(result)")
            let out = rig.outputs(try await rig.steps(result)["finish"])
            #expect(out["status"] == .string("send success"))
            if case .integer(let sent)? = out["sent_count"] { #expect(sent > 0) } else { Issue.record("no counts: \(out)") }
            let gets = try await rig.store.attempts(runID: try #require(result.runID)).filter { $0.endpoint == "message/mass/get" }
            #expect(gets.isEmpty, "the wait did not poll")
            let pushes = await rig.sandbox.engine.pushRecords()
            #expect(!pushes.isEmpty)
        }
    }
}
