import Foundation
import MasscastTesting
import Testing
@testable import Runner

@Suite("The progress line during a per-minute rate limit")
struct RateLimitProgressTests {
    @Test("45011: the progress line counts down to the next minute and names the errcode; the send goes out once")
    func waitsForTheNextMinute() async throws {
        // Virtual time that starts 58.5 s past a minute, so the next minute is 1.5 s away (plus
        // WeChat's own jitter of up to 0.5 s) rather than up to 60 s, however slow the machine.
        let real = Date().timeIntervalSince1970
        let start = Date(timeIntervalSince1970: (real / 60).rounded(.down) * 60 + 58.5)
        try await Rig.with(time: .virtual, virtualStart: start) { rig in
            let texts = TextBox()
            try await rig.addFaults("- { on: message/mass/sendall, errcode: 45011, next: 1 }")
            let path = try rig.write("minute.yaml", """
                version: 1
                name: minute-quota
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    retry: { max_attempts: 3 }
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "minute" }
                """)
            let result = try await rig.run(path) { options in
                options.progress = { texts.append($0) }
            }
            #expect(result.exitCode == 0, "\(result)")
            let shown = texts.all
            #expect(shown.contains("[send] waiting 2 s for the next minute (45011)"), "\(shown)")
            #expect(shown.contains("[send] waiting 1 s for the next minute (45011)"), "\(shown)")
            #expect(!shown.contains { $0.contains("retrying in") }, "a 45011 wait is not a backoff: \(shown)")
            #expect(await rig.sends().count == 1)
        }
    }
}
