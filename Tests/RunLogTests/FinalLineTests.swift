import Foundation
import Logging
import Testing

@testable import RunLog

/// A command's last words never land on a half-drawn progress line, and the status is not
/// drawn again after them.
@Suite struct FinalLineTests {
    static let erase = "\r\u{1B}[2K"

    @Test func theFinalLineComesAfterTheEraseSequenceAndNothingFollowsIt() {
        let sink = LogSink.memory(isTerminal: true)
        let progress = ProgressLine(sink: sink, minimumInterval: .zero)
        progress.update("[finish] waiting 3s · SENDING", force: true)
        // The run's last log line redraws the status below it (as every log line does)...
        textLogger(sink).info("run finished")
        #expect(sink.output.hasSuffix("run finished\n[finish] waiting 3s · SENDING"))
        let before = sink.output
        // ...so the last words must erase it first, and not draw it again.
        progress.finish(with: "masscast: sandbox rehearsal r1 done")
        let added = String(sink.output.dropFirst(before.count))
        #expect(added == Self.erase + "masscast: sandbox rehearsal r1 done\n")
        // The status is gone for good: a later line is not followed by it.
        textLogger(sink).info("after")
        #expect(sink.output.hasSuffix("masscast: sandbox rehearsal r1 done\n07:00:01 INFO  after\n"))
        #expect(sink.lines.last == "07:00:01 INFO  after")
    }

    @Test func aPlainLineWouldHaveRedrawnTheStatus() {
        // What writeFinal avoids: write(line:) puts the status back after the line.
        let sink = LogSink.memory(isTerminal: true)
        let progress = ProgressLine(sink: sink)
        progress.update("[send] batch 1/2", force: true)
        sink.write(line: "masscast: done")
        #expect(sink.output.hasSuffix("masscast: done\n[send] batch 1/2"))
        sink.writeFinal(line: "masscast: really done")
        #expect(sink.output.hasSuffix("[send] batch 1/2" + Self.erase + "masscast: really done\n"))
    }

    @Test func withoutAStatusLineTheFinalLineIsJustALine() {
        let sink = LogSink.memory(isTerminal: false)
        let progress = ProgressLine(sink: sink)
        progress.update("[send] batch 1/2", force: true)
        progress.finish(with: "masscast: done")
        #expect(sink.output == "masscast: done\n")
        #expect(sink.lines == ["masscast: done"])
    }
}

/// https://no-color.org: colour only on a terminal, and never when NO_COLOR is non-empty.
@Suite struct TerminalColorTests {
    @Test(arguments: [
        (true, [String: String](), true),
        (true, ["NO_COLOR": "1"], false),
        (true, ["NO_COLOR": "yes please"], false),
        (true, ["NO_COLOR": ""], true),  // set but empty: ignored, per no-color.org
        (false, [String: String](), false),
        (false, ["NO_COLOR": "1"], false),
    ])
    func decision(isTerminal: Bool, environment: [String: String], expected: Bool) {
        #expect(TerminalColor.enabled(isTerminal: isTerminal, environment: environment) == expected)
    }
}
