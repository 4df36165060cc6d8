import Foundation
import MasscastTesting
import PipelineCore
import RunLog
import RunState
import Runner
import Testing
import WeChatMP

/// What a person sees of a run: batches counted from 1, the run's summary, and a progress
/// line that says what is happening now (drawn on a terminal sink, redraws recorded).
@Suite("Runner: what a person sees")
struct RunnerTerminalTests {
    static func jsonLines(_ rig: Rig) throws -> [[String: Any]] {
        try rig.logs.lines.compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test("batches are 1-based in log fields (the journal keeps them from 0); run.summary says what was sent and the quota left")
    func batchNumbersAndSummary() async throws {
        try await Rig.with { rig in
            let ids = (0..<20_001).map { String(format: "o4WmZ0summ%018d", $0) }
            try ids.joined(separator: "\n").write(
                toFile: rig.dir.appendingPathComponent("audience.txt").path, atomically: true, encoding: .utf8)
            let path = try rig.write("summary.yaml", """
                version: 1
                name: summary
                account: brand-main
                steps:
                  - id: tag
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "to a tag" }
                  - id: list
                    uses: mass/send
                    with:
                      touser_file: audience.txt
                      msgtype: text
                      text: { content: "to a list" }
                """)
            let result = try await rig.run(path)
            #expect(result.exitCode == 0, "\(result)")
            let lines = try Self.jsonLines(rig)
            func batches(_ event: String, step: String) -> [Int] {
                lines.filter { $0["event"] as? String == event && $0["step.id"] as? String == step }
                    .compactMap { $0["batch"] as? Int }
            }
            #expect(batches("batch.sent", step: "list") == [1, 2, 3])
            #expect(batches("send.accepted", step: "list") == [1, 2, 3])
            #expect(batches("send.accepted", step: "tag") == [1])
            #expect(lines.filter { $0["event"] as? String == "batch.sent" }.compactMap { $0["msg"] as? String }
                .map { $0.prefix(9) } == ["batch 1/3", "batch 2/3", "batch 3/3"])
            // Stored records keep 0-based batches (part of the clientmsgid); reports show them from 1.
            let journal = try await rig.store.journalEntries(runID: try #require(result.runID))
            #expect(journal.filter { $0.stepID == "list" }.map(\.batch).sorted() == [0, 1, 2])
            let report = RunReport(
                run: try #require(try await rig.store.run(result.runID!)), steps: [], attempts: [], journal: journal)
            #expect(report.sends.filter { $0.step == "list" }.map(\.batch).sorted() == [1, 2, 3])

            let summary = try #require(lines.first { $0["event"] as? String == "run.summary" })
            #expect(
                summary["msg"] as? String
                    == "sent 2 messages: tag 101, 20,001 OpenIDs in 3 batches; brand-main has 96 of 100 mass sends left today (UTC+8)")
            #expect(summary["messages"] as? Int == 2)
            #expect(summary["sends"] as? Int == 4)
            #expect(summary["recipients"] as? Int == 20_001)
            #expect(summary["sends_left"] as? Int == 96)
            #expect(summary["sends_per_day"] as? Int == 100)
            // It comes before the run's last line.
            let events = lines.compactMap { $0["event"] as? String }
            #expect(events.suffix(2) == ["run.summary", "run.finished"])
        }
    }

    /// The status line shown right after each log line that contains `marker` (what a
    /// terminal displays below it), from a terminal sink's recorded output.
    static func statusAfter(_ marker: String, in output: String) -> [String] {
        let chunks = output.components(separatedBy: "\n")
        var shown: [String] = []
        for (i, chunk) in chunks.enumerated() where chunk.contains(marker) && i + 1 < chunks.count {
            let next = chunks[i + 1]
            // A redrawn status is what precedes the next erase (or the chunk's end).
            shown.append(next.components(separatedBy: "\r\u{1B}[2K").first ?? "")
        }
        return shown
    }

    @Test("the progress line leaves with its step: a finished wait's state does not linger during later steps")
    func progressLeavesWithItsStep() async throws {
        try await Rig.with(time: .virtual) { rig in
            let terminal = LogSink.memory(isTerminal: true, terminalWidth: 100)
            let progress = ProgressLine(sink: terminal, minimumInterval: .zero)
            let path = try rig.write("progress.yaml", """
                version: 1
                name: progress
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "progress" }
                  - id: finish
                    uses: mass/wait
                    with: { msg_id: "${{ steps.send.outputs.msg_id }}", source: poll, poll_interval: 1s }
                  - id: check
                    uses: mass/get
                    with: { msg_id: "${{ steps.send.outputs.msg_id }}" }
                """)
            let logger = LogFormat.makeLogger(
                label: "test", format: .text, sink: terminal, scrubber: Scrubber(), level: .info, showMetadata: false)
            let result = try await rig.executor(path, logger: logger) { options in
                options.waitGrace = RunOptions().waitGrace
                options.firstPollDelay = .milliseconds(1500)
                options.progress = { progress.update($0) }
                options.progressEnded = { progress.end(step: $0) }
            }.start()
            #expect(result.exitCode == 0, "\(result)")
            let output = terminal.output
            // The wait showed its state while it waited …
            #expect(output.contains("[finish] waiting 1s"), "\(output)")
            // … and once it finished, the lines after it are not followed by its state.
            let afterFinish = Self.statusAfter("finish       success", in: output)
                + Self.statusAfter("check        started", in: output)
                + Self.statusAfter("check        success", in: output)
            #expect(afterFinish.count == 3, "\(output)")
            for status in afterFinish { #expect(!status.contains("[finish]"), "lingering: \(status)\n\(output)") }
            // Metadata is left out of text lines without --verbose.
            #expect(!output.contains("event="))
        }
    }

    @Test("during a retry's wait the progress line counts it down and names the errcode")
    func progressDuringRetryWait() async throws {
        try await Rig.with(time: .virtual) { rig in
            let texts = TextBox()
            try await rig.addFaults("- { on: message/mass/sendall, errcode: -1, next: 1 }")
            let path = try rig.write("retry.yaml", """
                version: 1
                name: retry-progress
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    retry: { max_attempts: 3, initial_delay: 2s, max_delay: 2s, jitter: none }
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "retry" }
                """)
            let result = try await rig.run(path) { $0.progress = { texts.append($0) } }
            #expect(result.exitCode == 0, "\(result)")
            let shown = texts.all
            #expect(shown.contains("[send] retrying in 2 s (attempt 2, after errcode -1)"), "\(shown)")
            #expect(shown.contains("[send] retrying in 1 s (attempt 2, after errcode -1)"), "\(shown)")
            #expect(await rig.sends().count == 1)
        }
    }
}

/// Progress texts as they were shown.
final class TextBox: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []
    func append(_ text: String) { lock.withLock { texts.append(text) } }
    var all: [String] { lock.withLock { texts } }
}
