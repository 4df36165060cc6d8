import Foundation
import MasscastTesting
import RunState
import Runner
import Testing
import WeChatSandbox

/// "Unknown means unknown" at the runner: the sandbox accepts the send, then answers with a
/// body that is not a clear refusal (fault action `body`, `when: after`). The journal must end
/// `unknown` (not `refused`), the run stop (exit 3), and `resume` reconcile with the same
/// clientmsgid: one send in all.
@Suite("runner: answers that are not a clear refusal", .serialized)
struct UnknownAnswerTests {
    static let bodies = [
        #"{"errcode":0,"errmsg":"send job submission success"}"#,  // no msg_id
        #"{"errcode":0,"errmsg":"send job submission success","msg_id":"abc"}"#,  // not a number
        #"{"errcode":0,"msg_id":"99999999999999999999"}"#,  // out of Int64 range
        "<html>not json</html>",  // unreadable (regression)
    ]

    @Test("sendall accepted but answered without a usable msg_id: journal unknown, exit 3, resume adopts it", arguments: bodies)
    func sendAllUnclearAnswer(body: String) async throws {
        let quoted = "'" + body.replacingOccurrences(of: "'", with: "''") + "'"
        let fault = "faults:\n  - { on: message/mass/sendall, body: \(quoted), when: after, next: 100 }"
        try await Rig.with({ $0.replacingOccurrences(of: "faults: []", with: fault) }, time: .virtual) { rig in
            let path = try rig.write("unclear.yaml", text("unclear answer", name: "unclear"))
            let result = try await rig.run(path) { $0.resumeArguments = ["--state", "/srv/mass cast/state.sqlite"] }
            guard case .stopped(let runID, let message) = result else {
                Issue.record("expected the run to stop, got \(result)")
                return
            }
            #expect(result.exitCode == 3)
            #expect(message.contains("outcome unknown"), "\(message)")
            // The hint is a command to copy: it names the state file the run used, quoted.
            #expect(message.contains("`masscast resume \(runID) --state '/srv/mass cast/state.sqlite'`"), "\(message)")
            // WeChat (the sandbox) did accept it, once: every retry reused the clientmsgid.
            let accepted = await rig.sends()
            #expect(accepted.count == 1, "\(accepted)")

            let journal = try await rig.store.journalEntries(runID: runID)
            #expect(journal.count == 1)
            #expect(journal.first?.state == .unknown, "\(journal)")
            #expect(journal.first?.state != .refused)
            let steps = try await rig.steps(result)
            #expect(steps["check"]?.outcome == nil, "check must not run before the send is known: \(steps)")

            // As after a lost answer: resume repeats the key, WeChat answers 45065 with the
            // earlier msg_id, and that is adopted. Still one send.
            await rig.sandbox.engine.clearFaults()
            let resumed = try await rig.executor(path).resume(runID: runID)
            #expect(resumed == .succeeded(runID: runID), "\(resumed)")
            #expect(await rig.sends().count == 1)
            let after = try await rig.store.journalEntries(runID: runID)
            #expect(after.first?.state == .sent)
            #expect(after.first?.msgID == accepted.first?.msgID)
        }
    }
}

@Suite("runner: hints that print a command")
struct ResumeHintTests {
    @Test("resumeCommand carries the run's options, quoted for a shell only where needed")
    func resumeCommand() {
        var options = RunOptions()
        #expect(options.resumeCommand("r1") == "masscast resume r1")
        options.resumeArguments = ["--state", "/tmp/s.sqlite", "--config", "deploy/masscast.yaml"]
        #expect(options.resumeCommand("r1") == "masscast resume r1 --state /tmp/s.sqlite --config deploy/masscast.yaml")
        #expect(options.resumeCommand("r1", "--confirm-resend")
            == "masscast resume r1 --state /tmp/s.sqlite --config deploy/masscast.yaml --confirm-resend")
        options.resumeArguments = ["--state", "/tmp/it's here/s.sqlite"]
        #expect(options.resumeCommand("r1") == #"masscast resume r1 --state '/tmp/it'\''s here/s.sqlite'"#)
    }

    @Test("the stop reason names the signal")
    func stopMessages() {
        let interrupted = StopSignal()
        interrupted.stop(reason: .interrupt)
        #expect(interrupted.message == "stopped by Ctrl-C (SIGINT)")
        let terminated = StopSignal()
        terminated.stop(reason: .terminate)
        terminated.stop(reason: .interrupt)  // the first reason is kept
        #expect(terminated.message == "stopped by SIGTERM")
        #expect(terminated.reason == .terminate)
    }
}
