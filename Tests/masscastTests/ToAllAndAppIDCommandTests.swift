import Foundation
import Testing
import WeChatSandbox

/// Issue 10 end to end, through the built binary: `--confirm-to-all NAME` for sends to all
/// followers, and an inline account whose `app_id` is an expression.
@Suite("masscast run: --confirm-to-all and inline app_id expressions")
struct ToAllAndAppIDCommandTests {
    static let toAll = """
        version: 1
        name: to-all-cli
        account: brand-main
        steps:
          - id: launch
            uses: mass/sendall
            with:
              filter: { is_to_all: true }
              msgtype: text
              text: { content: "周末营业时间调整" }
        """

    @Test("validate warns (MC2028, exit 0); run refuses without --confirm-to-all or with another name (exit 2); the right name sends once")
    func confirmToAll() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/to-all.yaml", Self.toAll)

            let validated = try await ws.masscast(["validate", pipeline, "--config", ws.configPath])
            #expect(validated.exited(0), "\(validated)")
            #expect(validated.out.contains("MC2028") && validated.out.contains("ALL followers"), "\(validated)")

            let bare = try await ws.run(pipeline)
            #expect(bare.exited(2), "\(bare)")
            #expect(bare.err.contains("--confirm-to-all to-all-cli") && bare.err.contains("ALL followers"), "\(bare)")
            let wrong = try await ws.run(pipeline, ["--confirm-to-all", "weekly-digest"])
            #expect(wrong.exited(2), "\(wrong)")
            #expect(wrong.err.contains("'weekly-digest'") && wrong.err.contains("'to-all-cli'"), "\(wrong)")
            #expect(try await ws.sends().isEmpty)
            if FileManager.default.fileExists(atPath: ws.statePath) {
                #expect(try await ws.runsList().isEmpty, "a refused run is not recorded")
            }

            let confirmed = try await ws.run(pipeline, ["--confirm-to-all", "to-all-cli"])
            #expect(confirmed.exited(0), "\(confirmed)")
            let sends = try await ws.sends()
            #expect(sends.count == 1 && sends.first?.isToAll == true, "\(sends)")
            let accepted = confirmed.events("send.accepted", step: "launch")
            #expect((accepted.first?["msg"] as? String)?.hasPrefix("sent to ALL followers, msg_id") == true, "\(confirmed)")
            await ws.expectNoSecrets()
        }
    }

    @Test("resume of a run killed before its send to all needs --confirm-to-all NAME too; with it, exactly one send")
    func resumeNeedsConfirmation() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/to-all.yaml", Self.toAll)
            let crashed = try await ws.run(
                pipeline, ["--confirm-to-all", "to-all-cli"], env: ["MASSCAST_CRASH_AT": "send.before_call"])
            #expect(crashed.signalled && crashed.status == SIGKILL, "\(crashed)")
            let runID = try #require(crashed.runID, "\(crashed)")
            #expect(try await ws.sends().isEmpty)

            let bare = try await ws.resume(runID)
            #expect(bare.exited(2), "\(bare)")
            #expect(bare.err.contains("--confirm-to-all to-all-cli") && bare.err.contains("not resumed"), "\(bare)")
            let wrong = try await ws.resume(runID, ["--confirm-to-all", "other-broadcast"])
            #expect(wrong.exited(2), "\(wrong)")
            #expect(wrong.err.contains("'other-broadcast'") && wrong.err.contains("'to-all-cli'"), "\(wrong)")
            #expect(try await ws.sends().isEmpty)

            let resumed = try await ws.resume(runID, ["--confirm-to-all", "to-all-cli"])
            #expect(resumed.exited(0), "\(resumed)")
            #expect(try await ws.sends().count == 1)
            await ws.expectNoSecrets()
        }
    }

    @Test("a --sandbox rehearsal of a send to all runs without the flag and warns")
    func rehearsal() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/to-all.yaml", Self.toAll)
            let r = try await ws.masscast(["run", pipeline, "--sandbox", "--log-format", "json"])
            #expect(r.exited(0), "\(r)")
            #expect(!r.events("run.to_all_rehearsal").isEmpty, "\(r)")
            #expect(try await ws.sends().isEmpty, "the rehearsal used its own sandbox")
        }
    }

    static func inlinePipeline(_ sandbox: RunningSandbox) -> String {
        sendAndWaitPipeline(name: "inline-app-id").replacingOccurrences(of: "account: brand-main", with: """
            account:
              app_id: ${{ env.MC_TEST_APP_ID }}
              app_secret: ${{ env.\(RunTestEnv.secretVariable) }}
              api_base: \(sandbox.baseURL)
            """)
    }

    @Test("an inline app_id expression is evaluated: set, the run sends as that AppID; unset, exit 2 naming the variable")
    func inlineAppIDExpression() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let pipeline = try ws.write("pipelines/inline.yaml", Self.inlinePipeline(sandbox))

            let unset = try await ws.run(pipeline, env: ["MC_TEST_APP_ID": nil])
            #expect(unset.exited(2), "\(unset)")
            #expect(unset.err.contains("MC_TEST_APP_ID") && unset.err.contains("app_id"), "\(unset)")
            #expect(try await ws.sends().isEmpty)

            let set = try await ws.run(pipeline, env: ["MC_TEST_APP_ID": RunTestEnv.appID])
            #expect(set.exited(0), "\(set)")
            let sends = try await ws.sends()
            #expect(sends.count == 1 && sends.first?.appID == RunTestEnv.appID, "\(sends)")
            #expect(!set.err.contains("${{"), "\(set)")

            // --sandbox finds the fixture account by the evaluated AppID.
            let rehearsal = try await ws.masscast(
                ["run", pipeline, "--sandbox", "--log-format", "json"], env: ["MC_TEST_APP_ID": RunTestEnv.appID])
            #expect(rehearsal.exited(0), "\(rehearsal)")
            let rehearsalUnset = try await ws.masscast(
                ["run", pipeline, "--sandbox", "--log-format", "json"], env: ["MC_TEST_APP_ID": nil])
            #expect(rehearsalUnset.exited(2), "\(rehearsalUnset)")
            #expect(rehearsalUnset.err.contains("MC_TEST_APP_ID"), "\(rehearsalUnset)")
            await ws.expectNoSecrets()
        }
    }
}
