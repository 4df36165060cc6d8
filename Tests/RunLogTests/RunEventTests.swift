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
                .logLine?.message == "run r1 started: spring, generation 0, a (wx1)")
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
    func refusals() throws {
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
            RunEvent.alreadyCompleted(pipeline: "spring", runID: "r0", sent: "3 OpenIDs in 1 batch").logLine?.message
                == "broadcast spring already completed in run r0; nothing to do (--rerun would send it AGAIN as a new generation: 3 OpenIDs in 1 batch)")
        #expect(
            RunEvent.busy(pipeline: "spring", runID: "r0", owner: "host:42").logLine
                == RunLogLine(
                    .error, "broadcast spring is being run by host:42 (run r0); not starting a second runner",
                    ["event": "run.busy", "run.id": "r0"]))
        #expect(
            RunEvent.takenOver(pipeline: "spring", previousOwner: "ci-a:100", epoch: 3).logLine
                == RunLogLine(
                    .warning,
                    "took broadcast spring over from ci-a:100, whose lease had expired (or whose process is gone); lease epoch 3: ci-a:100 can no longer send it",
                    ["event": "run.taken_over", "lease.previous_owner": "ci-a:100", "lease.epoch": "3"]))
        let t = Date(timeIntervalSince1970: 0)
        func entry(_ batch: Int) -> JournalEntry {
            JournalEntry(
                api: "sandbox", appID: "wx1", key: "mc2-k\(batch)", runID: "r0", stepID: "send", batch: batch,
                endpoint: "message/mass/send", contentDigest: "d", recipients: 10, state: .unknown, firstAttemptAt: t,
                lastAttemptAt: t, updatedAt: t)
        }
        let one = try #require(RunEvent.rerunRefused(generation: 1, unknownSends: [entry(0)]).logLine)
        #expect(one.level == .error && one.metadata == ["event": "run.rerun_refused"])
        #expect(
            one.message
                == "--rerun refused: 1 send of generation 1 has an unknown outcome (send batch 1 (mc2-k0, run r0)); a new generation could send it twice. Run the broadcast again without --rerun (or `masscast resume RUN_ID`) to settle it with the same clientmsgid first.")
        let many = try #require(RunEvent.rerunRefused(generation: 3, unknownSends: (0..<6).map(entry)).logLine).message
        #expect(many.hasPrefix("--rerun refused: 6 sends of generation 3 have an unknown outcome (send batch 1 (mc2-k0, run r0), "))
        #expect(many.contains("send batch 5 (mc2-k4, run r0), …); a new generation could send them twice."))
        #expect(!many.contains("mc2-k5"))
    }

    @Test("steps: started shows progress, finished and stopped take it away, with today's metadata")
    func steps() throws {
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
        let skippedLine = try #require(skipped.logLine)
        #expect(skippedLine.level == .info && skippedLine.message == "skipped: `if` is false: false")
        #expect(skippedLine.metadata["duration_ms"] == nil && skippedLine.metadata["errcode"] == nil)
        let cancelled = RunEvent.stepFinished(
            .init(stepID: "x", uses: "mass/speed", outcome: .cancelled, conclusion: .cancelled, message: "a step it waits for failed"))
        #expect(cancelled.logLine?.message == "cancelled: a step it waits for failed")

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
        #expect(RunEvent.summary(one).logLine?.message == "sent 1 message: 3 OpenIDs in 1 batch; a has 0 of 100 mass sends left today (UTC)")
        one.quota?.utcOffsetHours = -5
        #expect(RunEvent.summary(one).logLine?.message.hasSuffix("(UTC-5)") == true)
        #expect(RunEvent.grouped(-1_234_567) == "-1,234,567")
    }

    @Test("sends: audience read, batches, accepted, adopted, reconciled, 45065")
    func sends() {
        let reading = RunEvent.audienceReading(stepID: "send", file: "a.csv", lines: 1200, percent: 40)
        #expect(reading.logLine == nil && reading.progress == .text("[send] reading a.csv: 1200 lines, 40%"))
        #expect(
            RunEvent.audienceRead(stepID: "send", file: "a.csv", recipients: 20001, duplicates: 3, blankLines: 1, batches: 3)
                .logLine
                == RunLogLine(
                    .info, "a.csv: 20001 OpenIDs (3 duplicates removed, 1 blank lines), 3 batches",
                    ["event": "audience.read", "step.id": "send", "recipients": .stringConvertible(20001)]))
        #expect(
            RunEvent.audienceRead(stepID: "send", file: "a.csv", recipients: 2, duplicates: 0, blankLines: 0, batches: 1)
                .logLine?.message == "a.csv: 2 OpenIDs (0 duplicates removed, 0 blank lines), 1 batch")
        let sending = RunEvent.batchSending(stepID: "send", batch: 2, batches: 3, sent: 10000, audience: 20001)
        #expect(sending.logLine == nil)
        #expect(sending.progress == .text("[send] sending batch 2/3 · 10,000/20,001 OpenIDs sent"))
        let sent = RunEvent.batchSent(
            stepID: "send", batch: 2, batches: 3, openIDs: 10000, msgID: 1001, sent: 20000, audience: 20001)
        #expect(sent.progress == .text("[send] batch 2/3 sent · 20,000/20,001 OpenIDs sent"))
        #expect(
            sent.logLine
                == RunLogLine(
                    .info, "batch 2/3 sent (10000 OpenIDs, msg_id 1001)",
                    [
                        "event": "batch.sent", "step.id": "send", "batch": .stringConvertible(2),
                        "msg_id": .stringConvertible(Int64(1001)),
                    ]))
        let only = RunEvent.batchSent(stepID: "send", batch: 1, batches: 1, openIDs: 2, msgID: 7, sent: 2, audience: 2)
        #expect(only.logLine == nil && only.progress == .text("[send] batch 1/1 sent · 2/2 OpenIDs sent"))

        let batch = RunEvent.SendCall(stepID: "send", uses: "mass/send", clientMsgID: "mc2-k", batch: 1)
        let base: Logger.Metadata = ["step.id": "send", "uses": "mass/send", "clientmsgid": "mc2-k", "batch": .stringConvertible(2)]
        func with(_ extra: Logger.Metadata) -> Logger.Metadata { base.merging(extra) { $1 } }
        #expect(
            RunEvent.sendAccepted(batch, to: nil, msgID: 42).logLine
                == RunLogLine(.info, "sent, msg_id 42", with(["event": "send.accepted", "msg_id": .stringConvertible(42)])))
        let group = RunEvent.SendCall(stepID: "all", uses: "mass/sendall", clientMsgID: "mc2-a", batch: 0)
        #expect(RunEvent.sendAccepted(group, to: "all followers", msgID: 9).logLine?.message == "sent to all followers, msg_id 9")
        #expect(RunEvent.sendAccepted(group, to: nil, msgID: 9).logLine?.metadata["batch"] == .stringConvertible(1))
        #expect(
            RunEvent.sendAdopted(batch, runID: "r0", msgID: 42).logLine
                == RunLogLine(
                    .notice, "send batch 2 was already sent (run r0, msg_id 42); not sending again",
                    with(["event": "send.adopted", "msg_id": .stringConvertible(42)])))
        let noID = RunEvent.sendAdopted(group, runID: "r0", msgID: nil).logLine
        #expect(noID?.message == "all was already sent (run r0, msg_id ?); not sending again")
        #expect(noID?.metadata["msg_id"] == nil && noID?.metadata["event"] == "send.adopted")
        let gone = RunEvent.sendAdoptedFromGoneSandbox(group, runID: "r0", msgID: 1000000001).logLine
        #expect(gone?.level == .warning && gone?.metadata["event"] == "send.adopted_from_gone_sandbox")
        #expect(gone?.metadata["msg_id"] == .stringConvertible(1000000001))
        #expect(gone?.message.hasPrefix("all was accepted by the in-process sandbox of an earlier rehearsal (run r0)") == true)
        let restarted = RunEvent.rehearsalRestarted(runID: "r0", status: .stopped).logLine
        #expect(restarted?.level == .notice && restarted?.metadata["event"] == "run.rehearsal_restarted")
        #expect(restarted?.metadata["previous_run.id"] == "r0" && restarted?.metadata["run.id"] == nil)
        #expect(restarted?.message.hasPrefix("rehearsal r0 is stopped, and its in-process sandbox ended with its process") == true)
        #expect(RunEvent.rehearsalRestarted(runID: "r1", status: .running).logLine?.message.hasPrefix("rehearsal r1 was interrupted,") == true)
        #expect(
            RunEvent.sendReconciled(batch, runID: "r0").logLine
                == RunLogLine(
                    .notice, "send batch 2 has an unknown outcome from run r0; repeating it with the same clientmsgid",
                    with(["event": "send.reconcile"])))
        #expect(
            RunEvent.sendDuplicate(batch, msgID: 42, unrecorded: false).logLine
                == RunLogLine(
                    .notice, "WeChat already has this send (45065, clientmsgid exists); adopting msg_id 42",
                    with(["event": "send.adopted", "msg_id": .stringConvertible(42), "errcode": .stringConvertible(45065)])))
        let unrecorded = RunEvent.sendDuplicate(batch, msgID: 42, unrecorded: true).logLine
        #expect(unrecorded?.level == .warning && unrecorded?.metadata["event"] == "send.adopted_unrecorded")
        #expect(unrecorded?.message.hasPrefix("WeChat already has a send with this key from another state store") == true)
    }

    @Test("calls: a failed attempt, its retry countdown, a successful attempt")
    func calls() {
        let attempt = RunEvent.CallAttempt(
            stepID: "send", uses: "mass/send", endpoint: "message/mass/send", batch: 0, attempt: 2)
        let error = RunEvent.CallError(
            text: "errcode 45009: reach max api daily quota limit", errcode: 45009, httpStatus: nil,
            errorClass: "rate_limited", delivery: "received")
        #expect(
            RunEvent.attemptFailed(attempt, error, retrying: true, delay: .milliseconds(1500)).logLine
                == RunLogLine(
                    .warning, "attempt 2 (batch 1) failed: errcode 45009: reach max api daily quota limit; retrying in 1.5s",
                    [
                        "event": "attempt.failed", "step.id": "send", "uses": "mass/send", "attempt": .stringConvertible(2),
                        "endpoint": "message/mass/send", "batch": .stringConvertible(1), "errcode": .stringConvertible(45009),
                        "error.class": "rate_limited", "delivery": "received",
                    ]))
        let upload = RunEvent.CallAttempt(stepID: "up", uses: "media/upload", endpoint: "media/upload", batch: 0, attempt: 1)
        let http = RunEvent.CallError(
            text: "HTTP 503 from WeChat", errcode: nil, httpStatus: 503, errorClass: "transient", delivery: "not_received")
        let repeated = RunEvent.attemptFailed(upload, http, retrying: false, delay: .seconds(125)).logLine
        #expect(repeated?.message == "attempt 1 failed: HTTP 503 from WeChat; repeating in 2m05s")
        #expect(repeated?.metadata["batch"] == nil && repeated?.metadata["http.status"] == .stringConvertible(503))
        #expect(repeated?.metadata["errcode"] == nil)
        #expect(RunEvent.durationText(.milliseconds(250)) == "250ms")

        #expect(
            RunEvent.retryWaiting(stepID: "send", left: .milliseconds(2100), reason: .nextMinute).progress
                == .text("[send] waiting 3 s for the next minute (45011)"))
        #expect(RunEvent.retryWaiting(stepID: "send", left: .zero, reason: .nextMinute).logLine == nil)
        #expect(
            RunEvent.retryWaiting(stepID: "send", left: .milliseconds(10), reason: .clientMsgIDWindow).progress
                == .text("[send] waiting 1 s: this clientmsgid was used less than a window ago (45066)"))
        #expect(
            RunEvent.retryWaiting(stepID: "send", left: .seconds(4), reason: .backoff(nextAttempt: 3, errcode: 45009, errorClass: "rate_limited"))
                .progress == .text("[send] retrying in 4 s (attempt 3, after errcode 45009)"))
        #expect(
            RunEvent.retryWaiting(stepID: "up", left: .seconds(1), reason: .backoff(nextAttempt: 2, errcode: nil, errorClass: "transient"))
                .progress == .text("[up] retrying in 1 s (attempt 2, after transient)"))

        #expect(
            RunEvent.attemptSucceeded(upload, duration: .milliseconds(37)).logLine
                == RunLogLine(
                    .debug, "media/upload ok",
                    [
                        "event": "attempt.ok", "step.id": "up", "uses": "media/upload", "attempt": .stringConvertible(1),
                        "endpoint": "media/upload", "duration_ms": .stringConvertible(37), "http.status": .stringConvertible(200),
                    ]))
    }

    @Test("deletes, waits and sends to all followers")
    func deletesAndWaits() {
        #expect(
            RunEvent.deleteAdopted(stepID: "del", msgID: 42).logLine
                == RunLogLine(
                    .notice, "msg_id 42 was already deleted in this run; not deleting again",
                    ["event": "delete.adopted", "step.id": "del"]))
        #expect(
            RunEvent.deleteAdopted(stepID: "del", msgID: nil).logLine?.message
                == "the article was already deleted in this run; not deleting again")
        #expect(
            RunEvent.deleteAlreadyDone(stepID: "del").logLine
                == RunLogLine(
                    .notice, "an earlier attempt may have deleted it; WeChat says 40059 (already deleted)",
                    ["event": "delete.already_done", "step.id": "del"]))
        #expect(
            RunEvent.waitPush(stepID: "wait", msgID: 42, status: "send success").logLine
                == RunLogLine(
                    .info, "MASSSENDJOBFINISH for msg_id 42: send success",
                    ["event": "wait.push", "step.id": "wait", "msg_id": .stringConvertible(42)]))
        #expect(
            RunEvent.waitPollFailed(stepID: "wait", msgID: 42, error: "HTTP 502 from WeChat").logLine
                == RunLogLine(
                    .warning, "polling msg_id 42 failed: HTTP 502 from WeChat; polling again later",
                    ["event": "wait.poll_failed", "step.id": "wait"]))
        let waiting = RunEvent.waiting(stepID: "wait", waited: .seconds(75), states: ["SENDING", "waiting"])
        #expect(waiting.logLine == nil && waiting.progress == .text("[wait] waiting 75s · SENDING, waiting"))
        let still = RunEvent.stillWaiting(stepID: "wait", uses: "mass/wait", waited: .seconds(130), states: ["SENDING"])
        #expect(still.progress == nil)
        #expect(
            still.logLine
                == RunLogLine(
                    .info, "still waiting after 2m: SENDING", ["event": "wait.progress", "step.id": "wait", "uses": "mass/wait"]))
        #expect(
            RunEvent.lowDelivery(stepID: "wait", uses: "mass/wait", sent: 3, total: 10, msgIDs: [1, 2]).logLine
                == RunLogLine(
                    .warning, "3 of 10 followers were sent the message (msg_id 1, 2)",
                    [
                        "event": "wait.low_delivery", "step.id": "wait", "uses": "mass/wait",
                        "sent_count": .stringConvertible(3), "total_count": .stringConvertible(10),
                    ]))
        #expect(
            RunEvent.toAllRehearsal(steps: ["all", "again"], account: "brand-main", appID: "wx1", pipeline: "spring").logLine
                == RunLogLine(
                    .warning,
                    "rehearsing a send to ALL followers without --confirm-to-all (step 'all', 'again' sends to ALL followers of brand-main (wx1), which cannot be undone in production); the real run needs --confirm-to-all spring",
                    ["event": "run.to_all_rehearsal"]))
        #expect(
            RunEvent.toAllRefused(reason: "not confirmed").logLine
                == RunLogLine(.error, "not confirmed", ["event": "run.to_all_refused"]))
    }
}
