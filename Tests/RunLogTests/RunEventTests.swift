import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import Testing

/// Each run event renders as the log line the runner has always written (message, level,
/// metadata) and as its part of the progress line: no logger, no sink, no store.
@Suite("run events")
struct RunEventTests {
    @Test("run lifecycle: started, continuing, resumed, stopped, finished")
    func runLifecycle() {
        #expect(
            RunEvent.started(
                runID: "r1", pipeline: "spring", generation: 2, account: "brand-main", appID: "wx1", sandbox: true
            ).logLine
                == RunLogLine(
                    .info, "run r1 started: spring, generation 2, brand-main (wx1), sandbox",
                    ["event": "run.started", "generation": .stringConvertible(2)]))
        #expect(
            RunEvent.started(runID: "r1", pipeline: "spring", generation: 0, account: "a", appID: "wx1", sandbox: false)
                .logLine.message == "run r1 started: spring, generation 0, a (wx1)")
        #expect(
            RunEvent.continuing(runID: "r1", place: "stopped at finish").logLine
                == RunLogLine(
                    .notice,
                    "continuing r1 (stopped at finish) instead of starting over: steps that succeeded keep their results",
                    ["event": "run.continuing", "run.id": "r1"]))
        #expect(
            RunEvent.resumed(runID: "r1", kept: 2, steps: 5).logLine
                == RunLogLine(
                    .info, "run r1 resumed: 2 of 5 steps keep their results; the others run", ["event": "run.resumed"]))
        #expect(
            RunEvent.pipelineChanged(runID: "r1").logLine
                == RunLogLine(
                    .warning,
                    "the pipeline file changed since run r1 started; sends already made are checked against the journal",
                    ["event": "run.pipeline_changed"]))
        #expect(
            RunEvent.stopped(runID: "r1", reason: "interrupted (Ctrl-C)", resumeCommand: "masscast resume r1").logLine
                == RunLogLine(
                    .warning, "run r1 stopped: interrupted (Ctrl-C). Resume with: masscast resume r1",
                    ["event": "run.stopped"]))
        #expect(
            RunEvent.finished(runID: "r1", failedSteps: []).logLine
                == RunLogLine(.info, "run r1 succeeded", ["event": "run.finished", "status": "succeeded"]))
        #expect(
            RunEvent.finished(runID: "r1", failedSteps: ["a", "b"]).logLine
                == RunLogLine(.error, "run r1 failed: steps a, b failed", ["event": "run.finished", "status": "failed"]))
        #expect(RunEvent.failureMessage(["send"]) == "step send failed")
        #expect(RunEvent.finished(runID: "r1", failedSteps: []).progress == nil)
    }

    @Test("runs that do not start: not run, already completed, busy, --rerun refused")
    func refusals() {
        #expect(
            RunEvent.notRun(reason: "not run: the schedule window opens at 09:00 (schedule.not_before)").logLine
                == RunLogLine(
                    .warning, "not run: the schedule window opens at 09:00 (schedule.not_before)",
                    ["event": "run.not_run"]))
        #expect(
            RunEvent.alreadyCompleted(pipeline: "spring", runID: "r0", sent: "").logLine
                == RunLogLine(
                    .notice,
                    "broadcast spring already completed in run r0; nothing to do (--rerun would send it AGAIN as a new generation)",
                    ["event": "run.already_completed", "run.id": "r0"]))
        #expect(
            RunEvent.alreadyCompleted(pipeline: "spring", runID: "r0", sent: "3 OpenIDs in 1 batch").logLine.message
                == "broadcast spring already completed in run r0; nothing to do (--rerun would send it AGAIN as a new generation: 3 OpenIDs in 1 batch)")
        #expect(
            RunEvent.busy(pipeline: "spring", runID: "r0", owner: "host:42").logLine
                == RunLogLine(
                    .error, "broadcast spring is being run by host:42 (run r0); not starting a second runner",
                    ["event": "run.busy", "run.id": "r0"]))
        let t = Date(timeIntervalSince1970: 0)
        func entry(_ batch: Int) -> JournalEntry {
            JournalEntry(
                api: "sandbox", appID: "wx1", key: "mc2-k\(batch)", runID: "r0", stepID: "send", batch: batch,
                endpoint: "message/mass/send", contentDigest: "d", recipients: 10, state: .unknown, firstAttemptAt: t,
                lastAttemptAt: t, updatedAt: t)
        }
        let one = RunEvent.rerunRefused(generation: 1, unknownSends: [entry(0)]).logLine
        #expect(one.level == .error && one.metadata == ["event": "run.rerun_refused"])
        #expect(
            one.message
                == "--rerun refused: 1 send of generation 1 has an unknown outcome (send batch 1 (mc2-k0, run r0)); a new generation could send it twice. Run the broadcast again without --rerun (or `masscast resume RUN_ID`) to settle it with the same clientmsgid first.")
        let many = RunEvent.rerunRefused(generation: 3, unknownSends: (0..<6).map(entry)).logLine.message
        #expect(many.hasPrefix("--rerun refused: 6 sends of generation 3 have an unknown outcome (send batch 1 (mc2-k0, run r0), "))
        #expect(many.contains("send batch 5 (mc2-k4, run r0), …); a new generation could send them twice."))
        #expect(!many.contains("mc2-k5"))
    }

    @Test("steps: started shows progress, finished and stopped take it away, with today's metadata")
    func steps() {
        let started = RunEvent.stepStarted(stepID: "upload", uses: "media/upload")
        #expect(
            started.logLine
                == RunLogLine(
                    .info, "started (media/upload)",
                    ["event": "step.started", "step.id": "upload", "uses": "media/upload"]))
        #expect(started.progress == .text("[upload] media/upload started"))

        let success = RunEvent.stepFinished(
            .init(
                stepID: "upload", uses: "media/upload", outcome: .success, conclusion: .success,
                duration: .milliseconds(1234),
                outputs: ["media_id": .string("m1"), "gone": .null, "ids": .list((1...6).map { .integer($0) })]))
        #expect(
            success.logLine
                == RunLogLine(
                    .info, "success (ids=[6 items] media_id=m1)",
                    [
                        "event": "step.finished", "step.id": "upload", "uses": "media/upload", "outcome": "success",
                        "conclusion": "success", "duration_ms": .stringConvertible(1234),
                    ]))
        #expect(success.progress == .ended(stepID: "upload"))

        let failed = RunEvent.stepFinished(
            .init(
                stepID: "send", uses: "mass/send", outcome: .failure, conclusion: .success, errcode: 45028,
                message: "no quota left", continueOnError: true))
        #expect(
            failed.logLine
                == RunLogLine(
                    .error, "failed: no quota left (continue_on_error: the run goes on)",
                    [
                        "event": "step.finished", "step.id": "send", "uses": "mass/send", "outcome": "failure",
                        "conclusion": "success", "errcode": .stringConvertible(45028),
                    ]))
        let skipped = RunEvent.stepFinished(
            .init(stepID: "x", uses: "mass/speed", outcome: .skipped, conclusion: .skipped, message: "`if` is false: false"))
        #expect(skipped.logLine.level == .info && skipped.logLine.message == "skipped: `if` is false: false")
        #expect(skipped.logLine.metadata["duration_ms"] == nil && skipped.logLine.metadata["errcode"] == nil)
        let cancelled = RunEvent.stepFinished(
            .init(stepID: "x", uses: "mass/speed", outcome: .cancelled, conclusion: .cancelled, message: "a step it waits for failed"))
        #expect(cancelled.logLine.message == "cancelled: a step it waits for failed")

        let stopped = RunEvent.stepStopped(stepID: "wait", uses: "mass/wait", message: "interrupted while waiting")
        #expect(
            stopped.logLine
                == RunLogLine(
                    .warning, "stopped: interrupted while waiting",
                    ["event": "step.stopped", "step.id": "wait", "uses": "mass/wait"]))
        #expect(stopped.progress == .ended(stepID: "wait"))

        let expired = RunEvent.mediaExpired(stepID: "upload", uploadedAt: Date(timeIntervalSince1970: 0)).logLine
        #expect(
            expired
                == RunLogLine(
                    .notice,
                    "step upload runs again: its media, uploaded 1970-01-01T08:00:00+08:00, has passed WeChat's 3-day lifetime",
                    ["event": "step.media_expired", "step.id": "upload"]))
    }

    @Test("summary: what was sent, in the pipeline's order, and the quota left")
    func summary() {
        let summary = RunEvent.RunSummary(
            messages: 2,
            parts: [
                .group(.init(.tag("101"), followers: 1494)), .openIDs(count: 20_001, batches: 3),
                .group(.init(.allFollowers, followers: 1)), .group(.init(.step("notify"))),
            ],
            recipients: 21_496, sends: 6,
            quota: .init(account: "brand-main", left: 97, perDay: 100, utcOffsetHours: 8, sandbox: true))
        #expect(
            RunEvent.summary(summary).logLine
                == RunLogLine(
                    .info,
                    "sent 2 messages: tag 101 (1,494 followers), 20,001 OpenIDs in 3 batches, all followers (1 follower), step notify; brand-main has 97 of 100 mass sends left today (UTC+8, sandbox)",
                    [
                        "event": "run.summary", "messages": .stringConvertible(2), "recipients": .stringConvertible(21_496),
                        "sends": .stringConvertible(6), "sends_left": .stringConvertible(97),
                        "sends_per_day": .stringConvertible(100),
                    ]))
        let nothing = RunEvent.RunSummary(messages: 0, parts: [], recipients: 0, sends: 0, quota: nil)
        #expect(
            RunEvent.summary(nothing).logLine
                == RunLogLine(
                    .info, "sent nothing",
                    [
                        "event": "run.summary", "messages": .stringConvertible(0), "recipients": .stringConvertible(0),
                        "sends": .stringConvertible(0),
                    ]))
        var one = RunEvent.RunSummary(
            messages: 1, parts: [.openIDs(count: 3, batches: 1)], recipients: 3, sends: 1,
            quota: .init(account: "a", left: 0, perDay: 100, utcOffsetHours: 0, sandbox: false))
        #expect(RunEvent.summary(one).logLine.message == "sent 1 message: 3 OpenIDs in 1 batch; a has 0 of 100 mass sends left today (UTC)")
        one.quota?.utcOffsetHours = -5
        #expect(RunEvent.summary(one).logLine.message.hasSuffix("(UTC-5)"))
        #expect(RunEvent.grouped(-1_234_567) == "-1,234,567")
    }
}
