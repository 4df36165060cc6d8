import Foundation
import PipelineCore
import RunState
import Testing

@testable import RunLog

/// A run with five steps: an upload (ok), a send that failed once then succeeded, a wait
/// without attempts, a get that failed (step id with `-`), a delete that was skipped.
enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_795_935_601.0)  // 2026-11-29T07:00:01Z
    static func at(_ ms: Int) -> Date { Date(timeIntervalSince1970: 1_795_935_601.0 + Double(ms) / 1000) }

    static let run = RunRecord(
        id: "r-20261129-0700", identity: BroadcastIdentity(
            appID: "wx0123456789abcdef", api: "http://127.0.0.1:8080", name: "spring-sale",
            inputsJSON: #"{"audience":"all","title":"Spring: 50% off #1"}"#),
        generation: 2, pipelineFile: "/srv/broadcasts/spring-sale.yaml", pipelineDigest: "abc123",
        inputsJSON: #"{"audience":"all","title":"Spring: 50% off #1"}"#, accountName: "brand-main", sandbox: true,
        status: .failed, message: "step get-status failed: errcode 40001", createdAt: t0, updatedAt: at(9000),
        endedAt: at(9000))

    static let steps: [StepRecord] = [
        StepRecord(
            runID: run.id, stepID: "upload", uses: "media/upload", state: .finished, outcome: "success",
            conclusion: "success", outputsJSON: #"{"media_id":"MEDIA_1","created_at":1795935601}"#, startedAt: at(0),
            endedAt: at(310)),
        StepRecord(
            runID: run.id, stepID: "send", uses: "mass/sendall", state: .finished, outcome: "success",
            conclusion: "success", outputsJSON: #"{"msg_data_id":2247483647,"msg_id":1000000001}"#, startedAt: at(400),
            endedAt: at(2500)),
        StepRecord(
            runID: run.id, stepID: "wait", uses: "mass/wait", state: .finished, outcome: "success",
            conclusion: "success", outputsJSON: #"{"status":"send success","sent_count":1000}"#, startedAt: at(2500),
            endedAt: at(7000)),
        StepRecord(
            runID: run.id, stepID: "get-status", uses: "mass/get", state: .finished, outcome: "failure",
            conclusion: "failure", errcode: 40001, message: "invalid credential", startedAt: at(7000), endedAt: at(9000)),
        StepRecord(
            runID: run.id, stepID: "delete", uses: "mass/delete", state: .finished, outcome: "skipped",
            conclusion: "skipped", message: "condition false", startedAt: nil, endedAt: at(9000)),
    ]

    static let attempts: [AttemptRecord] = [
        AttemptRecord(
            runID: run.id, stepID: "send", number: 2, endpoint: "message/mass/sendall", startedAt: at(2120),
            endedAt: at(2320), result: "ok", httpStatus: 200, errcode: 0),
        AttemptRecord(
            runID: run.id, stepID: "send", number: 1, endpoint: "message/mass/sendall", startedAt: at(810),
            endedAt: at(1120), result: "error", httpStatus: 200, errcode: -1, errorClass: "transient",
            message: "system busy", retryDelayMS: 1000),
        AttemptRecord(
            runID: run.id, stepID: "upload", number: 1, endpoint: "media/uploadimg", startedAt: at(0), endedAt: at(0),
            result: "ok", httpStatus: 200),
        AttemptRecord(
            runID: run.id, stepID: "get-status", number: 1, endpoint: "message/mass/get", startedAt: at(7000),
            endedAt: at(7300), result: "error", httpStatus: 200, errcode: 40001, errorClass: "permanent"),
        // Another run's attempt: ignored.
        AttemptRecord(
            runID: "other", stepID: "send", number: 1, endpoint: "message/mass/sendall", startedAt: at(0),
            result: "ok"),
    ]

    static let journal: [JournalEntry] = [
        JournalEntry(
            api: run.identity.api, appID: run.identity.appID, key: "mc1-2a9f0c-g2-send-0", runID: run.id, stepID: "send", batch: 0,
            endpoint: "message/mass/sendall", contentDigest: "d1", recipients: 0, state: .sent, msgID: 1_000_000_001,
            msgDataID: 2_247_483_647, firstAttemptAt: at(810), lastAttemptAt: at(2120), updatedAt: at(2320))
    ]
}

@Suite struct RunReportTests {
    func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func jsonShape() throws {
        let report = RunReport(
            run: Fixture.run, steps: Fixture.steps, attempts: Fixture.attempts, journal: Fixture.journal)
        let data = try report.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\n  \""))  // pretty-printed
        let root = try object(data)
        #expect(Set(root.keys) == ["run", "steps", "sends", "summary"])

        let run = try #require(root["run"] as? [String: Any])
        for key in [
            "id", "pipeline", "pipeline_file", "account", "app_id", "generation", "status", "message", "sandbox",
            "created_at", "ended_at", "duration_ms", "inputs",
        ] {
            #expect(run[key] != nil, "run.\(key) missing")
        }
        #expect(run["id"] as? String == "r-20261129-0700")
        #expect(run["pipeline"] as? String == "spring-sale")
        #expect(run["account"] as? String == "brand-main")
        #expect(run["status"] as? String == "failed")
        #expect(run["created_at"] as? String == "2026-11-29T07:00:01.000Z")
        #expect(run["ended_at"] as? String == "2026-11-29T07:00:10.000Z")
        #expect((run["duration_ms"] as? NSNumber)?.intValue == 9000)
        let inputs = try #require(run["inputs"] as? [String: Any])
        #expect(inputs["title"] as? String == "Spring: 50% off #1")

        let steps = try #require(root["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["upload", "send", "wait", "get-status", "delete"])
        for step in steps {
            for key in [
                "id", "uses", "outcome", "conclusion", "errcode", "message", "started_at", "ended_at", "duration_ms",
                "outputs", "attempts",
            ] {
                #expect(step[key] != nil, "step.\(key) missing")
            }
        }
        // Embedded outputs are objects, not strings; numbers stay numbers.
        let sendOutputs = try #require(steps[1]["outputs"] as? [String: Any])
        #expect((sendOutputs["msg_id"] as? NSNumber)?.int64Value == 1_000_000_001)
        #expect(steps[1]["errcode"] is NSNull)
        #expect(steps[4]["outputs"] is NSNull)
        #expect(steps[4]["started_at"] is NSNull)
        #expect((steps[1]["duration_ms"] as? NSNumber)?.intValue == 2100)

        let attempts = try #require(steps[1]["attempts"] as? [[String: Any]])
        #expect(attempts.count == 2)
        #expect(attempts.map { ($0["number"] as? NSNumber)?.intValue } == [1, 2])
        for key in [
            "batch", "number", "endpoint", "result", "http_status", "errcode", "error_class", "message", "started_at",
            "duration_ms", "retry_delay_ms",
        ] {
            #expect(attempts[0][key] != nil, "attempt.\(key) missing")
        }
        #expect(attempts[0]["error_class"] as? String == "transient")
        #expect((attempts[0]["retry_delay_ms"] as? NSNumber)?.intValue == 1000)
        #expect(attempts[0]["started_at"] as? String == "2026-11-29T07:00:01.810Z")
        #expect(attempts[1]["retry_delay_ms"] is NSNull)

        let sends = try #require(root["sends"] as? [[String: Any]])
        #expect(sends.count == 1)
        for key in [
            "step", "batch", "clientmsgid", "endpoint", "state", "msg_id", "msg_data_id", "recipients", "errcode",
            "first_attempt_at",
        ] {
            #expect(sends[0][key] != nil, "send.\(key) missing")
        }
        #expect(sends[0]["clientmsgid"] as? String == "mc1-2a9f0c-g2-send-0")
        #expect(sends[0]["state"] as? String == "sent")

        let summary = try #require(root["summary"] as? [String: Any])
        func n(_ key: String) -> Int? { (summary[key] as? NSNumber)?.intValue }
        #expect(n("steps") == 5)
        #expect(n("succeeded") == 3)
        #expect(n("failed") == 1)
        #expect(n("skipped") == 1)
        #expect(n("cancelled") == 0)
        #expect(n("attempts") == 4)
        #expect(n("sends_accepted") == 1)
        #expect(n("recipients") == 0)
    }

    @Test func roundTrip() throws {
        let report = RunReport(
            run: Fixture.run, steps: Fixture.steps, attempts: Fixture.attempts, journal: Fixture.journal)
        let decoded = try RunReport.decode(try report.jsonData())
        #expect(decoded == report)
        #expect(decoded.steps[1].outputs?["msg_id"] == .integer(1_000_000_001))
        #expect(decoded.run.inputs?["audience"] == .string("all"))
        // Keys are sorted in the output.
        let text = String(decoding: try report.jsonData(), as: UTF8.self)
        let runKeys = ["\"account\"", "\"api_base\"", "\"app_id\"", "\"created_at\""]
        let positions = runKeys.compactMap { text.range(of: $0)?.lowerBound }
        #expect(positions == positions.sorted() && positions.count == runKeys.count)
    }

    @Test func scrubberReachesEmbeddedJSONAndMessages() throws {
        var run = Fixture.run
        run.inputsJSON = #"{"note":"leaked-secret-value"}"#
        run.message = "failed with leaked-secret-value"
        var steps = Fixture.steps
        steps[0].outputsJSON = #"{"x":["leaked-secret-value"]}"#
        let report = RunReport(
            run: run, steps: steps, attempts: Fixture.attempts, journal: Fixture.journal,
            scrubber: Scrubber(secrets: ["leaked-secret-value"]))
        let text = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(!text.contains("leaked-secret-value"))
        #expect(text.contains("[redacted]"))
    }

    @Test func unparsableEmbeddedJSONStaysAString() throws {
        var steps = Fixture.steps
        steps[0].outputsJSON = "not json"
        let report = RunReport(run: Fixture.run, steps: steps, attempts: [], journal: [])
        #expect(report.steps[0].outputs == .string("not json"))
        #expect(report.summary.attempts == 0)
    }

    @Test func runningRunHasNullDuration() throws {
        var run = Fixture.run
        run.status = .running
        run.endedAt = nil
        let root = try object(try RunReport(run: run, steps: [], attempts: [], journal: []).jsonData())
        let r = try #require(root["run"] as? [String: Any])
        #expect(r["duration_ms"] is NSNull)
        #expect(r["ended_at"] is NSNull)
    }
}

@Suite struct RunTimelineTests {
    @Test func textTimeline() {
        let text = RunTimeline.renderText(
            run: Fixture.run, steps: Fixture.steps, attempts: Fixture.attempts, journal: Fixture.journal)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "Run       r-20261129-0700")
        #expect(text.contains("Status    failed"))
        #expect(text.contains("Message   step get-status failed: errcode 40001"))
        #expect(text.contains("Started   2026-11-29 07:00:01.000 UTC"))
        #expect(text.contains("Duration  9.0s"))
        #expect(
            lines.contains(
                "✓ upload      media/upload  success  0.31s  created_at=1795935601  media_id=MEDIA_1"))
        #expect(
            lines.contains(
                "✓ send        mass/sendall  success  2.1s   msg_data_id=2247483647  msg_id=1000000001"))
        #expect(lines.contains { $0.hasPrefix("✗ get-status  mass/get      failure") && $0.contains("errcode=40001") })
        #expect(lines.contains(#"✓ wait        mass/wait     success  4.5s   sent_count=1000  status="send success""#))
        #expect(lines.contains { $0.hasPrefix("– delete      mass/delete   skipped") })
        #expect(
            lines.contains("    attempt 1  07:00:01.810  +0.31s  error  errcode -1 transient (system busy)  retry in 1.0s"))
        #expect(lines.contains("    attempt 2  07:00:03.120  +0.20s  ok"))
        #expect(lines.contains("    batch 1  clientmsgid mc1-2a9f0c-g2-send-0  sent  msg_id 1000000001  msg_data_id 2247483647"))
        #expect(lines.contains("    invalid credential"))
        #expect(text.contains("5 steps: 3 succeeded, 1 failed, 1 skipped, 0 cancelled · 4 attempts · 1 send accepted"))
        // The send's attempts and journal come right after it, in order.
        let send = lines.firstIndex { $0.hasPrefix("✓ send") }!
        #expect(lines[send + 1].hasPrefix("    attempt 1"))
        #expect(lines[send + 2].hasPrefix("    attempt 2"))
        #expect(lines[send + 3].hasPrefix("    batch 1"))
    }

    @Test func symbols() {
        #expect(RunTimeline.symbol(for: "success") == "✓")
        #expect(RunTimeline.symbol(for: "failure") == "✗")
        #expect(RunTimeline.symbol(for: "skipped") == "–")
        #expect(RunTimeline.symbol(for: "cancelled") == "⊘")
        #expect(RunTimeline.symbol(for: "running") == "…")
        #expect(RunTimeline.symbol(for: "pending") == "…")
        var steps = Fixture.steps
        steps[2].state = .running
        steps[2].outcome = nil
        steps[2].conclusion = nil
        steps[3] = StepRecord(runID: Fixture.run.id, stepID: "get-status", uses: "mass/get", state: .pending)
        steps[4].outcome = "cancelled"
        steps[4].conclusion = "cancelled"
        let text = RunTimeline.renderText(run: Fixture.run, steps: steps, attempts: [], journal: [])
        #expect(text.contains("… wait "))
        #expect(text.contains("running"))
        #expect(text.contains("… get-status"))
        #expect(text.contains("pending"))
        #expect(text.contains("⊘ delete"))
        #expect(text.contains("2 unfinished"))
    }

    @Test func batchedAttemptsShowTheirBatch() {
        let steps = [
            StepRecord(
                runID: Fixture.run.id, stepID: "send", uses: "mass/send", state: .finished, outcome: "success",
                conclusion: "success", startedAt: Fixture.at(0), endedAt: Fixture.at(1000))
        ]
        let attempts = [
            AttemptRecord(
                runID: Fixture.run.id, stepID: "send", batch: 1, number: 1, endpoint: "message/mass/send",
                startedAt: Fixture.at(500), endedAt: Fixture.at(600), result: "ok"),
            AttemptRecord(
                runID: Fixture.run.id, stepID: "send", batch: 0, number: 1, endpoint: "message/mass/send",
                startedAt: Fixture.at(0), endedAt: Fixture.at(100), result: "unknown"),
        ]
        let text = RunTimeline.renderText(run: Fixture.run, steps: steps, attempts: attempts, journal: [])
        // Batches are shown from 1, as the logs count them (the store keeps them from 0).
        #expect(text.contains("    batch 1  attempt 1  07:00:01.000  +0.10s  unknown"))
        #expect(text.contains("    batch 2  attempt 1  07:00:01.500  +0.10s  ok"))
        #expect(!text.contains("batch 0"))
        let mermaid = RunTimeline.renderMermaid(run: Fixture.run, steps: steps, attempts: attempts)
        #expect(mermaid.contains("    batch 1 attempt 1 :active, a_send_b1_1, "))
        #expect(mermaid.contains("    batch 2 attempt 1 :done, a_send_b2_1, "))
    }

    @Test func mermaidGantt() throws {
        let chart = RunTimeline.renderMermaid(run: Fixture.run, steps: Fixture.steps, attempts: Fixture.attempts)
        let lines = chart.split(separator: "\n").map(String.init)
        #expect(lines.first == "gantt")
        #expect(lines.contains("    dateFormat YYYY-MM-DDTHH:mm:ss.SSS"))
        #expect(lines.contains("    axisFormat %H:%M:%S"))
        #expect(lines.contains("    title Run r-20261129-0700 · spring-sale"))
        let sections = lines.filter { $0.hasPrefix("    section ") }
        #expect(sections == ["    section upload", "    section send", "    section wait", "    section get-status",
            "    section delete"])
        // One task per attempt, crit for errors, done for ok.
        #expect(lines.contains("    attempt 1 errcode -1 :crit, a_send_1, 2026-11-29T07:00:01.810, 2026-11-29T07:00:02.120"))
        #expect(lines.contains("    attempt 2 :done, a_send_2, 2026-11-29T07:00:03.120, 2026-11-29T07:00:03.320"))
        #expect(lines.contains { $0.contains(":crit, a_get_status_1, ") })
        // A zero-length attempt lasts 1 ms.
        #expect(lines.contains("    attempt 1 :done, a_upload_1, 2026-11-29T07:00:01.000, 2026-11-29T07:00:01.001"))
        // A step without attempts: its span; a skipped step: a milestone.
        #expect(lines.contains("    mass/wait success :done, s_wait, 2026-11-29T07:00:03.500, 2026-11-29T07:00:08.000"))
        #expect(lines.contains("    mass/delete skipped :milestone, s_delete, 2026-11-29T07:00:10.000, 2026-11-29T07:00:10.000"))
        // Task ids are identifiers; names carry no `:` or `#`.
        for line in lines where !line.hasPrefix("    section") && line.contains(" :") {
            let parts = line.components(separatedBy: " :")
            #expect(parts.count == 2, "\(line)")
            #expect(!parts[0].contains(":") && !parts[0].contains("#"))
            let fields = parts[1].components(separatedBy: ", ")
            let id = fields[fields.count - 3]
            #expect(id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "\(id)")
        }
    }

    @Test func mermaidEscapesNamesAndKeepsIdsUnique() {
        var run = Fixture.run
        run.identity.name = "sale: #1; 100%"
        let steps = [
            StepRecord(runID: run.id, stepID: "a-b", uses: "mass/wait", state: .finished, outcome: "success",
                conclusion: "success", startedAt: Fixture.at(0), endedAt: Fixture.at(0)),
            StepRecord(runID: run.id, stepID: "a_b", uses: "mass/wait", state: .running, startedAt: Fixture.at(10)),
            StepRecord(runID: run.id, stepID: "9lives", uses: "mass/get", state: .pending),
        ]
        let chart = RunTimeline.renderMermaid(run: run, steps: steps, attempts: [])
        #expect(chart.contains("    title Run r-20261129-0700 · sale 1 100"))
        #expect(chart.contains(":done, s_a_b, 2026-11-29T07:00:01.000, 2026-11-29T07:00:01.001"))
        #expect(chart.contains(":active, s_a_b_2, 2026-11-29T07:00:01.010, 2026-11-29T07:00:10.000"))
        #expect(chart.contains("mass/get not started :milestone, s_9lives, "))
        #expect(chart.split(separator: "\n").filter { $0.hasPrefix("    section ") }.count == 3)
    }

    @Test func runList() throws {
        var second = Fixture.run
        second.id = "r-20261128-0900"
        second.status = .running
        second.endedAt = nil
        second.sandbox = false
        second.identity.name = "春季促销"
        let text = RunTimeline.renderRunList([Fixture.run, second])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ID               PIPELINE     ACCOUNT               GEN  STATUS   STARTED (UTC)"))
        #expect(lines[1].contains("r-20261129-0700  spring-sale  brand-main (sandbox)  2    failed   2026-11-29 07:00:01  9.0s"))
        #expect(lines[2].contains("r-20261128-0900  春季促销     brand-main            2    running  2026-11-29 07:00:01  -"))
        #expect(RunTimeline.renderRunList([]) == "No runs.\n")

        let data = try RunTimeline.renderRunListJSON([Fixture.run, second])
        let array = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(array.map { $0["id"] as? String } == ["r-20261129-0700", "r-20261128-0900"])
        #expect(array[0]["inputs"] is [String: Any])
        #expect(array[1]["ended_at"] is NSNull)
        let show = try RunTimeline.renderJSON(
            run: Fixture.run, steps: Fixture.steps, attempts: Fixture.attempts, journal: Fixture.journal)
        #expect(try RunReport.decode(show).summary.steps == 5)
    }
}

@Suite struct FormattingTests {
    @Test func rfc3339() {
        #expect(TimeText.rfc3339(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(TimeText.rfc3339(Date(timeIntervalSince1970: 1_795_935_601.123)) == "2026-11-29T07:00:01.123Z")
        #expect(TimeText.rfc3339(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(TimeText.rfc3339(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        #expect(TimeText.parseRFC3339("2026-11-29T07:00:01.123Z") == Date(timeIntervalSince1970: 1_795_935_601.123))
        #expect(TimeText.parseRFC3339("2026-11-29T15:00:01+08:00") == Date(timeIntervalSince1970: 1_795_935_601))
        #expect(TimeText.parseRFC3339("2026-11-29T07:00:01.5Z") == Date(timeIntervalSince1970: 1_795_935_601.5))
        #expect(TimeText.parseRFC3339("2026-11-29 07:00:01") == nil)
        #expect(TimeText.parseRFC3339("garbage") == nil)
        for ms in stride(from: Int64(1_700_000_000_000), to: 1_700_000_000_000 + 5000, by: 7) {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(TimeText.parseRFC3339(TimeText.rfc3339(date)) == date)
        }
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        #expect(TimeText.clock(Fixture.t0, timeZone: shanghai, millis: true) == "15:00:01.000")
        #expect(TimeText.dateTime(Fixture.t0, timeZone: shanghai) == "2026-11-29 15:00:01.000 +08:00")
    }

    @Test func durations() {
        #expect(NumberText.duration(ms: 310) == "0.31s")
        #expect(NumberText.duration(ms: 2100) == "2.1s")
        #expect(NumberText.duration(ms: 1000) == "1.0s")
        #expect(NumberText.duration(ms: 123_000) == "2m 03s")
        #expect(NumberText.duration(ms: 3_720_000) == "1h 02m")
        #expect(NumberText.grouped(0) == "0")
        #expect(NumberText.grouped(-1_000) == "-1,000")
    }

    @Test func jsonValue() throws {
        let value = try Value.parseJSON(#"{"a":[1,2.5,true,null,"x"],"b":{"c":9007199254740993}}"#)
        #expect(value["a"] == .list([.integer(1), .number(2.5), .bool(true), .null, .string("x")]))
        #expect(value["b"]?["c"] == .integer(9_007_199_254_740_993))
        #expect(value.jsonText == #"{"a":[1,2.5,true,null,"x"],"b":{"c":9007199254740993}}"#)
        #expect(Value.embedding(nil) == nil)
        #expect(Value.embedding("{") == .string("{"))
        #expect(Value.embedding(#"{"b":1.0}"#) == ["b": .number(1.0)])
    }
}
