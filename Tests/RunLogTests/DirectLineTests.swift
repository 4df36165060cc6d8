import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import RunLog

/// The direct writer of a frequent line (`JSONLogHandler.write(level:message:shape:values:)`)
/// writes what the handler writes through `Logger` for the same message and metadata.
@Suite struct DirectLineTests {
    static let keys = ["http.method", "http.status", "listener.account", "event", "push.original_id", "push.msg_id", "push.status"]

    /// The line through `Logger` and the direct line, for the same fields.
    static func bothLines(scrubber: Scrubber, message: String, values: [JSONLineValue]) throws -> (logged: String, direct: String) {
        let viaLogger = LogSink.memory()
        var metadata: Logger.Metadata = [:]
        for (key, value) in zip(keys, values) {
            switch value {
            case .string(let text): metadata[key] = .string(text)
            case .integer(let number): metadata[key] = .stringConvertible(number)
            }
        }
        jsonLogger(viaLogger, scrubber: scrubber).info("\(message)", metadata: metadata)

        let direct = LogSink.memory()
        let handler = JSONLogHandler(label: "test", sink: direct, scrubber: scrubber, level: .trace, now: { fixedDate })
        let shape = try #require(handler.lineShape(keys: keys))
        handler.write(level: .info, message: message, shape: shape, values: values)
        return (try #require(viaLogger.lines.first), try #require(direct.lines.first))
    }

    @Test("a stored push's line: the same bytes as through Logger, keys sorted, numbers as numbers")
    func sameBytes() throws {
        let values: [JSONLineValue] = [
            .string("POST"), .integer(200), .string("brand-main"), .string("push.stored"), .string("gh_5d1c0e8f7a93"),
            .integer(1_000_000_001), .string("send success"),
        ]
        let message = "MASSSENDJOBFINISH 1000000001 send success: stored"
        for scrubber in [Scrubber(), Scrubber(secrets: ["sandbox-callback-token", "unrelated-secret"])] {
            let (logged, direct) = try Self.bothLines(scrubber: scrubber, message: message, values: values)
            #expect(direct == logged)
            #expect(direct == """
                {"ts":"2026-11-29T07:00:01.123Z","level":"info","msg":"MASSSENDJOBFINISH 1000000001 send success: stored",\
                "event":"push.stored","http.method":"POST","http.status":200,"listener.account":"brand-main",\
                "push.msg_id":1000000001,"push.original_id":"gh_5d1c0e8f7a93","push.status":"send success"}
                """)
        }
    }

    @Test("secrets in the message, in a text value and in a number's digits are redacted as through Logger")
    func secretsScrubbed() throws {
        let secrets = ["s3cr3t-token-value", "424242424242", "quote\"d-secret"]
        let scrubber = Scrubber(secrets: secrets)
        let values: [JSONLineValue] = [
            .string("POST"), .integer(200), .string("acct-s3cr3t-token-value"), .string("push.stored"),
            .string("gh_quote\"d-secret\n"), .integer(9_424_242_424_242), .string("send success"),
        ]
        let message = "MASSSENDJOBFINISH 9424242424242 s3cr3t-token-value: \"stored\"\t"
        let (logged, direct) = try Self.bothLines(scrubber: scrubber, message: message, values: values)
        #expect(direct == logged)
        for secret in secrets { #expect(!direct.contains(secret), "\(secret) in \(direct)") }
        let object = try parseObject(direct)
        #expect(object["push.msg_id"] as? String == "9[redacted]")
        #expect(object["listener.account"] as? String == "acct-[redacted]")
        #expect(object["push.original_id"] as? String == "gh_[redacted]\n")
        #expect(object["msg"] as? String == "MASSSENDJOBFINISH 9[redacted] [redacted]: \"stored\"\t")
        #expect(object["http.status"] as? Int == 200)
    }

    @Test("no direct line when the handler would merge other metadata, a key is reserved or repeated, or the scrubber changes a key")
    func shapeRefused() {
        let sink = LogSink.memory()
        let plain = JSONLogHandler(label: "t", sink: sink)
        #expect(plain.lineShape(keys: Self.keys) != nil)
        #expect(JSONLogHandler(label: "t", sink: sink, metadata: ["run.id": "r"]).lineShape(keys: Self.keys) == nil)
        #expect(JSONLogHandler(label: "t", sink: sink, metadataProvider: .init { [:] }).lineShape(keys: Self.keys) == nil)
        #expect(plain.lineShape(keys: ["event", "msg"]) == nil)
        #expect(plain.lineShape(keys: ["event", "event"]) == nil)
        #expect(JSONLogHandler(label: "t", sink: sink, scrubber: Scrubber(secrets: ["listener"])).lineShape(keys: Self.keys) == nil)
    }

    @Test("a level below the handler's is not written")
    func levelRespected() throws {
        let sink = LogSink.memory()
        let handler = JSONLogHandler(label: "t", sink: sink, level: .warning)
        let shape = try #require(handler.lineShape(keys: ["event"]))
        handler.write(level: .info, message: "m", shape: shape, values: [.string("x")])
        #expect(sink.lines.isEmpty)
        handler.write(level: .warning, message: "m", shape: shape, values: [.string("x")])
        #expect(sink.lines.count == 1)
    }
}

/// A pipe whose read end is non-blocking: what a sink wrote so far.
final class ReadablePipe: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
    }

    /// Everything readable now.
    func drain() -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}

@Suite struct LogSinkBatchTests {
    @Test("batched lines wait until flush, then come in order, whole")
    func flushWrites() throws {
        let pipe = try ReadablePipe()
        let sink = LogSink(fileDescriptor: pipe.writeFD, isTerminal: false)
        sink.startBatching(maxDelay: .seconds(600))
        #expect(sink.isBatching)
        for i in 0..<100 { sink.write(line: "line \(i)") }
        #expect(pipe.drain() == "", "a batched line was written before its batch")
        sink.flush()
        #expect(pipe.drain() == (0..<100).map { "line \($0)\n" }.joined())
        sink.write(line: "after")
        sink.stopBatching()
        #expect(pipe.drain() == "after\n")
        #expect(!sink.isBatching)
        sink.write(line: "direct")
        #expect(pipe.drain() == "direct\n")
    }

    @Test("a batched line is written within its delay without a flush")
    func delayBounded() async throws {
        let pipe = try ReadablePipe()
        let sink = LogSink(fileDescriptor: pipe.writeFD, isTerminal: false)
        sink.startBatching(maxDelay: .milliseconds(20))
        defer { sink.stopBatching() }
        sink.write(line: "one")
        sink.write(line: "two")
        var seen = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while seen != "one\ntwo\n", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            seen += pipe.drain()
        }
        #expect(seen == "one\ntwo\n")
    }

    @Test("a full batch is written at once; a final line is written at once")
    func sizeAndFinal() throws {
        let pipe = try ReadablePipe()
        let sink = LogSink(fileDescriptor: pipe.writeFD, isTerminal: false)
        sink.startBatching(maxDelay: .seconds(600), maxBytes: 64)
        sink.write(line: String(repeating: "a", count: 40))
        #expect(pipe.drain() == "")
        sink.write(line: String(repeating: "b", count: 40))
        #expect(pipe.drain() == String(repeating: "a", count: 40) + "\n" + String(repeating: "b", count: 40) + "\n")
        sink.write(line: "waits")
        sink.writeFinal(line: "the end")
        #expect(pipe.drain() == "waits\nthe end\n")
        sink.stopBatching()
    }

    @Test("a terminal sink and a memory sink do not batch")
    func notOnTerminals() throws {
        let pipe = try ReadablePipe()
        let terminal = LogSink(fileDescriptor: pipe.writeFD, isTerminal: true)
        terminal.startBatching(maxDelay: .seconds(600))
        #expect(!terminal.isBatching)
        terminal.write(line: "now")
        #expect(pipe.drain() == "now\n")
        let memory = LogSink.memory()
        memory.startBatching()
        memory.write(line: "kept")
        #expect(memory.lines == ["kept"])
    }
}
