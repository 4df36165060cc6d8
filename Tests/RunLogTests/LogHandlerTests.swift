import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import RunLog

/// 2026-11-29T07:00:01.123Z
let fixedDate = Date(timeIntervalSince1970: 1_795_935_601.123)
let utc = TimeZone(identifier: "UTC")!

func jsonLogger(
    _ sink: LogSink, scrubber: Scrubber = Scrubber(), metadata: Logger.Metadata = [:],
    provider: Logger.MetadataProvider? = nil, level: Logger.Level = .trace
) -> Logger {
    Logger(label: "test") { label in
        JSONLogHandler(
            label: label, sink: sink, scrubber: scrubber, level: level, metadata: metadata, metadataProvider: provider,
            now: { fixedDate })
    }
}

func textLogger(
    _ sink: LogSink, scrubber: Scrubber = Scrubber(), metadata: Logger.Metadata = [:], colors: Bool = false
) -> Logger {
    Logger(label: "test") { label in
        TextLogHandler(
            label: label, sink: sink, scrubber: scrubber, level: .trace, metadata: metadata, colors: colors,
            timeZone: utc, now: { fixedDate })
    }
}

func parseObject(_ line: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
    return try #require(object as? [String: Any])
}

@Suite struct JSONLogHandlerTests {
    @Test func lineShapeAndTypes() throws {
        let sink = LogSink.memory()
        let logger = jsonLogger(sink, metadata: ["run.id": "r-1", "pipeline": "spring-sale"])
        logger.info(
            "sent batch",
            metadata: [
                "step.id": "send",
                "attempt": .stringConvertible(2),
                "http.status": .stringConvertible(200),
                "errcode": .stringConvertible(-1),
                "msg_id": .stringConvertible(Int64(1_000_000_001)),
                "duration_ms": .stringConvertible(12.5),
                "sandbox": .stringConvertible(true),
                "batch": "37",
                "uses": "mass/sendall",
                "event": "attempt.end",
                "tags": ["a", .stringConvertible(3)],
                "extra": ["k": "v", "n": .stringConvertible(1)],
            ])
        #expect(sink.lines.count == 1)
        let line = try #require(sink.lines.first)
        #expect(line.hasPrefix(#"{"ts":"2026-11-29T07:00:01.123Z","level":"info","msg":"sent batch","attempt":2,"#))
        let object = try parseObject(line)
        #expect(object["ts"] as? String == "2026-11-29T07:00:01.123Z")
        #expect(object["level"] as? String == "info")
        #expect(object["msg"] as? String == "sent batch")
        #expect(object["run.id"] as? String == "r-1")
        #expect(object["pipeline"] as? String == "spring-sale")
        #expect(object["step.id"] as? String == "send")
        #expect(object["uses"] as? String == "mass/sendall")
        #expect(object["event"] as? String == "attempt.end")
        // Numbers and booleans from .stringConvertible; strings from .string.
        #expect(line.contains(#""attempt":2,"#))
        #expect(line.contains(#""http.status":200,"#))
        #expect(line.contains(#""errcode":-1,"#))
        #expect(line.contains(#""msg_id":1000000001,"#))
        #expect(line.contains(#""duration_ms":12.5,"#))
        #expect(line.contains(#""sandbox":true,"#))
        #expect(line.contains(#""batch":"37","#))
        #expect((object["attempt"] as? NSNumber)?.intValue == 2)
        #expect((object["msg_id"] as? NSNumber)?.int64Value == 1_000_000_001)
        #expect(object["batch"] as? String == "37")
        let tags = try #require(object["tags"] as? [Any])
        #expect(tags.count == 2)
        #expect(tags[0] as? String == "a")
        #expect((tags[1] as? NSNumber)?.intValue == 3)
        let extra = try #require(object["extra"] as? [String: Any])
        #expect(extra["k"] as? String == "v")
        #expect(line.contains(#""extra":{"k":"v","n":1}"#))
        // Metadata keys sorted after ts, level, msg.
        let keys = ["attempt", "batch", "duration_ms", "errcode", "event", "extra", "http.status", "msg_id",
            "pipeline", "run.id", "sandbox", "step.id", "tags", "uses"]
        var last = line.startIndex
        for key in keys {
            let range = try #require(line.range(of: "\"\(key)\":"))
            #expect(range.lowerBound > last, "\(key) out of order")
            last = range.lowerBound
        }
    }

    @Test func mergeOrderAndReservedKeys() throws {
        let sink = LogSink.memory()
        let provider = Logger.MetadataProvider { ["from.provider": "p", "shared": "provider"] }
        var logger = jsonLogger(sink, metadata: ["shared": "handler", "run.id": "r-1"], provider: provider)
        logger[metadataKey: "step.id"] = "upload"
        logger.warning("x", metadata: ["shared": "call", "msg": "clash", "level": "clash"])
        let object = try parseObject(try #require(sink.lines.first))
        #expect(object["shared"] as? String == "call")
        #expect(object["from.provider"] as? String == "p")
        #expect(object["step.id"] as? String == "upload")
        #expect(object["run.id"] as? String == "r-1")
        #expect(object["msg"] as? String == "x")
        #expect(object["level"] as? String == "warning")
        #expect(object["meta.msg"] as? String == "clash")
        #expect(object["meta.level"] as? String == "clash")
    }

    @Test func logLevelFilters() {
        let sink = LogSink.memory()
        let logger = jsonLogger(sink, level: .notice)
        logger.info("hidden")
        logger.debug("hidden")
        logger.notice("shown")
        logger.error("shown")
        #expect(sink.lines.count == 2)
    }

    @Test func escaping() throws {
        let sink = LogSink.memory()
        let message = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} 群发消息 emoji 🚀 slash /"
        jsonLogger(sink).info("\(message)", metadata: ["k\"ey": "v\\al\nue", "中文": "值"])
        let line = try #require(sink.lines.first)
        #expect(!line.contains("\n"))
        #expect(line.contains("群发消息"))
        #expect(line.contains("🚀"))
        #expect(line.contains("\\u0007"))
        #expect(line.contains("\\u0000"))
        #expect(line.contains("slash /"))
        let object = try parseObject(line)
        #expect(object["msg"] as? String == message)
        #expect(object["k\"ey"] as? String == "v\\al\nue")
        #expect(object["中文"] as? String == "值")
    }

    @Test func errorBecomesMetadata() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let sink = LogSink.memory()
        jsonLogger(sink).error("failed", error: Boom())
        let object = try parseObject(try #require(sink.lines.first))
        #expect(object["error"] as? String == "boom")
    }

    @Test func nonFiniteAndOtherConvertiblesAreStrings() throws {
        struct Thing: CustomStringConvertible, Sendable { var description: String { "thing" } }
        let sink = LogSink.memory()
        jsonLogger(sink).info("x", metadata: ["inf": .stringConvertible(Double.infinity), "t": .stringConvertible(Thing())])
        let object = try parseObject(try #require(sink.lines.first))
        #expect(object["inf"] as? String == "inf")
        #expect(object["t"] as? String == "thing")
    }

    @Test func concurrentLinesStayIntact() async throws {
        let sink = LogSink.memory()
        let logger = jsonLogger(sink)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        logger.info(
                            "line \(i) of task \(task) \(String(repeating: "x", count: 200))",
                            metadata: ["task": .stringConvertible(task), "i": .stringConvertible(i)])
                    }
                }
            }
        }
        let lines = sink.lines
        #expect(lines.count == 1600)
        var seen = Set<String>()
        for line in lines {
            let object = try parseObject(line)
            let task = try #require((object["task"] as? NSNumber)?.intValue)
            let i = try #require((object["i"] as? NSNumber)?.intValue)
            seen.insert("\(task)/\(i)")
        }
        #expect(seen.count == 1600)
        // The raw output holds exactly those lines.
        #expect(sink.output.split(separator: "\n").count == 1600)
    }

    @Test func concurrentLinesOnAFileDescriptor() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("runlog-\(UUID().uuidString).log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        #expect(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        let sink = LogSink(fileDescriptor: fd)
        #expect(!sink.isTerminal)
        let logger = jsonLogger(sink)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        logger.info(
                            "\(String(repeating: "y", count: 500))",
                            metadata: ["task": .stringConvertible(task), "i": .stringConvertible(i)])
                    }
                }
            }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1600)
        var seen = Set<String>()
        for line in lines {
            let object = try parseObject(String(line))
            seen.insert("\(object["task"]!)/\(object["i"]!)")
        }
        #expect(seen.count == 1600)
    }
}

@Suite struct TextLogHandlerTests {
    @Test func lineShape() throws {
        let sink = LogSink.memory()
        let logger = textLogger(sink, metadata: ["run.id": "r-1", "pipeline": "spring-sale"])
        logger.info(
            "attempt 2 failed: errcode -1 (system busy); retrying in 1.2s",
            metadata: ["step.id": "send", "attempt": .stringConvertible(2), "errcode": .stringConvertible(-1)])
        logger.warning("no step here", metadata: ["note": "two words", "empty": ""])
        logger.error("nested", metadata: ["list": ["a", .stringConvertible(1)], "step.id": "a-very-long-step-id"])
        let lines = sink.lines
        #expect(lines.count == 3)
        #expect(
            lines[0]
                == "07:00:01 INFO  send         attempt 2 failed: errcode -1 (system busy); retrying in 1.2s  attempt=2 errcode=-1"
        )
        #expect(lines[1] == #"07:00:01 WARN  no step here  empty="" note="two words""#)
        #expect(lines[2] == #"07:00:01 ERROR a-very-long-step-id nested  list=["a",1]"#)
        for line in lines {
            #expect(!line.contains("r-1"))
            #expect(!line.contains("spring-sale"))
            #expect(!line.contains("\u{1B}"))
        }
    }

    @Test func levelsAndColors() throws {
        let sink = LogSink.memory()
        let logger = textLogger(sink, colors: true)
        logger.error("bad")
        logger.notice("note")
        let lines = sink.lines
        #expect(lines[0].contains("\u{1B}[31mERROR\u{1B}[0m"))
        #expect(lines[1].contains("\u{1B}[36mNOTE\u{1B}[0m"))
        // Colours default to off on a non-terminal sink, on for a terminal one.
        #expect(TextLogHandler(label: "x", sink: .memory()).colors == false)
    }

    @Test func controlCharactersCannotDriveTheTerminal() throws {
        let sink = LogSink.memory()
        textLogger(sink).info("evil \u{1B}[2J\r clear\nsecond line")
        let line = try #require(sink.lines.first)
        #expect(!line.contains("\u{1B}"))
        #expect(!line.contains("\r"))
        #expect(line.contains("\\u{1b}[2J"))
        #expect(line.contains("\n    second line"))
    }
}

@Suite struct ScrubbingTests {
    static let appSecret = "s3cr3tAppSecretValue"
    static let token = "ACCESS_TOKEN_abc/def+ghi="
    static let aesKey = "aesKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    static let scrubber = Scrubber(secrets: [appSecret, token, aesKey, "", "short"])

    func logEverywhere(_ logger: Logger) {
        logger.info(
            "token \(Self.token) and secret \(Self.appSecret)",
            metadata: [
                "url": "https://api.weixin.qq.com/cgi-bin/x?access_token=\(Self.token)",
                "encoded": "access_token=ACCESS_TOKEN_abc%2Fdef%2Bghi%3D",
                "convertible": .stringConvertible("k=\(Self.aesKey)"),
                "nested": [
                    "list": [.string(Self.appSecret), ["deeper": .string("x\(Self.aesKey)y")]],
                    "plain": "fine",
                ],
                "array": [.string(Self.token), .stringConvertible(42)],
                "key.\(Self.appSecret)": "in a key",
                "short": "short words stay",
            ])
    }

    func assertClean(_ text: String) {
        for secret in [Self.appSecret, Self.token, Self.aesKey, "s3cr3t", "ACCESS_TOKEN_abc", "aesKeyAAAA"] {
            #expect(!text.contains(secret), "leaked \(secret)")
        }
        #expect(!text.contains("abc%2Fdef"))
        #expect(text.contains("[redacted]"))
    }

    @Test func jsonFormat() throws {
        let sink = LogSink.memory()
        logEverywhere(jsonLogger(sink, scrubber: Self.scrubber))
        let line = try #require(sink.lines.first)
        assertClean(line)
        let object = try parseObject(line)
        #expect(object["msg"] as? String == "token [redacted] and secret [redacted]")
        #expect(object["short"] as? String == "short words stay")
        #expect(line.contains(#""array":["[redacted]",42]"#))
        #expect(line.contains(#""key.[redacted]":"in a key""#))
        let nested = try #require(object["nested"] as? [String: Any])
        #expect(nested["plain"] as? String == "fine")
    }

    @Test func textFormat() throws {
        let sink = LogSink.memory()
        logEverywhere(textLogger(sink, scrubber: Self.scrubber))
        let line = try #require(sink.lines.first)
        assertClean(line)
        #expect(line.contains("token [redacted] and secret [redacted]"))
    }

    @Test func handlerMetadataAndProgressAreScrubbed() throws {
        let sink = LogSink.memory(isTerminal: true)
        let logger = textLogger(sink, scrubber: Self.scrubber, metadata: ["secret": .string(Self.appSecret)])
        logger.info("hello")
        let progress = ProgressLine(sink: sink, scrubber: Self.scrubber)
        progress.update("uploading with \(Self.token)")
        jsonLogger(sink, scrubber: Self.scrubber, metadata: ["secret": .string(Self.appSecret)]).info("x")
        assertClean(sink.output)
    }

    @Test func scrubberRules() {
        let s = Scrubber(secrets: ["abcdefgh", "efghijkl", "", "12345", "abcdefgh"])
        #expect(s.secrets == ["abcdefgh", "efghijkl"])
        // Overlapping secrets redact as one span: nothing of either is left.
        #expect(s.scrub("xx abcdefghijkl yy") == "xx [redacted] yy")
        #expect(s.scrub("abcdefgh abcdefgh") == "[redacted] [redacted]")
        #expect(s.scrub("nothing here") == "nothing here")
        #expect(s.scrub("12345") == "12345")
        #expect(Scrubber().isEmpty)
        #expect(Scrubber(secrets: ["tiny"]).isEmpty)
        // Numbers stay numbers when clean, become strings when they hold a secret.
        let digits = Scrubber(secrets: ["987654321"])
        if case .stringConvertible = digits.scrub(Logger.MetadataValue.stringConvertible(42)) {} else {
            Issue.record("42 should stay a number")
        }
        if case .string(let text) = digits.scrub(Logger.MetadataValue.stringConvertible(987_654_321)) {
            #expect(text == "[redacted]")
        } else {
            Issue.record("a secret number should become a redacted string")
        }
        // Encoded variants.
        let slash = Scrubber(secrets: ["ab/cd+ef=="])
        #expect(slash.scrub(#"{"k":"ab\/cd+ef=="}"#) == #"{"k":"[redacted]"}"#)
        #expect(slash.scrub("x=ab%2Fcd%2Bef%3D%3D") == "x=[redacted]")
        #expect(slash.scrub("x=ab%2fcd%2bef%3d%3d") == "x=[redacted]")
        // Non-ASCII around secrets survives.
        #expect(s.scrub("群发abcdefgh消息") == "群发[redacted]消息")
        #expect(s.adding(["zzzzzzzz"]).scrub("zzzzzzzz") == "[redacted]")
    }
}

@Suite struct ProgressLineTests {
    @Test func nothingOnANonTerminal() {
        let sink = LogSink.memory(isTerminal: false)
        let progress = ProgressLine(sink: sink)
        #expect(!progress.isLive)
        progress.update("[send] batch 1/10")
        progress.update("[send] batch 2/10", force: true)
        textLogger(sink).info("a log line")
        progress.finish()
        #expect(sink.lines == ["07:00:01 INFO  a log line"])
        #expect(sink.output == "07:00:01 INFO  a log line\n")
        // The fallback: progress as log lines at a low rate.
        #expect(progress.reportDue())
        #expect(!progress.reportDue())
        #expect(progress.reportDue(force: true))
    }

    @Test func redrawnAroundLogLinesOnATerminal() {
        let sink = LogSink.memory(isTerminal: true)
        let progress = ProgressLine(sink: sink, minimumInterval: .seconds(3600))
        #expect(progress.isLive)
        #expect(!progress.reportDue())
        progress.update("[send] batch 1/10")
        #expect(sink.output == "\r\u{1B}[2K[send] batch 1/10")
        // Throttled: remembered, not drawn now...
        progress.update("[send] batch 2/10")
        #expect(sink.output == "\r\u{1B}[2K[send] batch 1/10")
        // ...and shown by the redraw after a log line.
        textLogger(sink).info("hello")
        #expect(sink.output == "\r\u{1B}[2K[send] batch 1/10" + "\r\u{1B}[2K07:00:01 INFO  hello\n[send] batch 2/10")
        progress.update("[send] batch 3/10", force: true)
        progress.finish()
        #expect(sink.output.hasSuffix("\r\u{1B}[2K[send] batch 3/10\r\u{1B}[2K"))
        // After finish, log lines come alone.
        let before = sink.output
        textLogger(sink).info("bye")
        #expect(sink.output == before + "07:00:01 INFO  bye\n")
        #expect(sink.lines == ["07:00:01 INFO  hello", "07:00:01 INFO  bye"])
    }

    @Test func statusIsKeptOnOneRow() {
        let sink = LogSink.memory(isTerminal: true, terminalWidth: 20)
        let progress = ProgressLine(sink: sink)
        progress.update("0123456789012345678901234567890\nsecond")
        #expect(sink.output == "\r\u{1B}[2K012345678901234567…")
    }

    @Test func sendStatusText() {
        #expect(
            ProgressLine.sendStatus(
                step: "send", batch: 37, batches: 100, recipients: 370_000, totalRecipients: 1_000_000,
                batchesPerMinute: 12.34)
                == "[send] batch 37/100 · 370,000/1,000,000 OpenIDs · 12.3 batches/min")
        #expect(ProgressLine.sendStatus(step: "s", batch: 1, batches: 2) == "[s] batch 1/2")
        #expect(ProgressLine.grouped(1_234_567) == "1,234,567")
        #expect(ProgressLine.grouped(999) == "999")
    }
}

@Suite struct LogFormatTests {
    @Test func defaultsAndFactory() throws {
        #expect(LogFormat.default(isTerminal: true) == .text)
        #expect(LogFormat.default(isTerminal: false) == .json)
        let sink = LogSink.memory()
        let json = LogFormat.makeHandler(label: "a", format: .json, sink: sink, scrubber: Scrubber(), level: .debug)
        #expect(json is JSONLogHandler)
        #expect(json.logLevel == .debug)
        let text = LogFormat.makeHandler(label: "a", format: .text, sink: sink, scrubber: Scrubber(), level: .info)
        #expect(text is TextLogHandler)
        let logger = LogFormat.makeLogger(
            label: "a", format: .json, sink: sink, scrubber: Scrubber(secrets: ["topsecret"]),
            metadata: ["run.id": "r-9"])
        logger.info("topsecret")
        let object = try parseObject(try #require(sink.lines.last))
        #expect(object["msg"] as? String == "[redacted]")
        #expect(object["run.id"] as? String == "r-9")
        #expect(LogFormat(rawValue: "json") == .json)
    }
}
