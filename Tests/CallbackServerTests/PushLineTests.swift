import CallbackServer
import Foundation
import Logging
import RunLog
import Testing
import WeChatPush

/// The line of each stored push is written by the JSON handler directly, without a metadata
/// dictionary: it must be the line the handler writes through `Logger`, secrets scrubbed.
@Suite("the stored push's log line")
struct PushLineTests {
    static let date = Date(timeIntervalSince1970: 1_795_935_601.123)

    /// A handler over a fresh store logging JSON lines to `sink`; with `provider`, the
    /// handler cannot write the line directly and logs through `Logger` (the provider adds nothing).
    static func rig(_ sink: LogSink, scrubber: Scrubber, throughLogger: Bool) throws -> (TempStore, CallbackHandler) {
        let temp = try TempStore()
        let logger = Logger(label: "masscast") { label in
            JSONLogHandler(
                label: label, sink: sink, scrubber: scrubber, level: .info,
                metadataProvider: throughLogger ? Logger.MetadataProvider { [:] } : nil, now: { date })
        }
        return (temp, try CallbackHandler(configuration: Accounts.configuration(), store: temp.store, logger: logger))
    }

    @Test("stored, duplicate and refused pushes: the same lines directly as through Logger, with no secret")
    func sameLines() async throws {
        // The scrubber knows the secrets, and the account's name, so the line's values are redacted too.
        let scrubber = Scrubber(secrets: Accounts.secrets + ["brand-main"])
        var outputs: [[String]] = []
        var temps: [TempStore] = []
        defer { withExtendedLifetime(temps) {} }
        let pushes = [Push.finish(Accounts.main, msgID: 1_000_000_101), Push.finish(Accounts.news, msgID: 1_000_000_102)]
        for throughLogger in [false, true] {
            let sink = LogSink.memory()
            let (temp, handler) = try Self.rig(sink, scrubber: scrubber, throughLogger: throughLogger)
            temps.append(temp)
            for push in pushes {
                let request = push.account.aesKey == nil ? push.plain() : try push.encrypted()
                let path = "/wechat/callback/\(push.account.name)"
                let first = await handler.handle(method: "POST", path: path, query: request.query, body: request.body)
                #expect(first.status == 200 && first.body == "success")
                let retry = push.retried()
                let again = retry.account.aesKey == nil ? retry.plain() : try retry.encrypted()
                let second = await handler.handle(method: "post", path: path, query: again.query, body: again.body)
                #expect(second.status == 200)
                let replay = await handler.handle(method: "POST", path: path, query: again.query, body: again.body)
                #expect(replay.status != 200)
            }
            outputs.append(sink.lines)
        }
        let direct = outputs[0]
        let logged = outputs[1]
        #expect(direct.count == 6)
        // The timestamps are fixed; the refused lines carry no per-run values.
        #expect(direct == logged)
        for line in direct {
            for secret in Accounts.secrets + ["brand-main"] { #expect(!line.contains(secret), "\(secret) in \(line)") }
        }
        let stored = try #require(direct.first)
        #expect(stored.hasPrefix(#"{"ts":"2026-11-29T07:00:01.123Z","level":"info","msg":"MASSSENDJOBFINISH 1000000101 send success: stored","event":"push.stored","http.method":"POST","http.status":200,"listener.account":"[redacted]","push.msg_id":1000000101,"#))
        #expect(direct[1].contains(#""event":"push.duplicate""#) && direct[1].contains(#""http.method":"POST""#))
        #expect(direct[4].contains(#""listener.account":"brand-news""#))
    }
}
