import CallbackServer
import Foundation
import Logging
import RunState
import StateSQLite
import Testing
import WeChatPush

/// The accounts of the sandbox's default fixture, as the listener sees them.
enum Accounts {
    static let mainKey = "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4"
    /// Another valid EncodingAESKey (43 base64 characters), for rotation tests.
    static let otherKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

    /// brand-main, safe mode.
    static let main = ListenerAccount(
        name: "brand-main", appID: "wx8a3f2c71d905be46", originalID: "gh_5d1c0e8f7a93",
        token: "sandbox-callback-token", aesKey: mainKey)
    /// brand-news, plain mode.
    static let news = ListenerAccount(
        name: "brand-news", appID: "wx3e6b9d2f4a8c1705", originalID: "gh_2b7e4f9a0c61",
        token: "sandbox-callback-token-news")

    /// Every secret a log line or a response must not contain.
    static let secrets = [main.token, mainKey, news.token, otherKey]

    /// The store bound is an hour unless given: it counts from when the push was submitted,
    /// and in a full parallel test run on a loaded machine the handler's tasks can wait for
    /// the concurrency pool longer than the 3 s default (once, over 60 s). A test about the
    /// bound passes a short one and a store made slow on purpose (`StoreBoundTests`).
    static func configuration(
        _ accounts: [ListenerAccount] = [main, news], window: Duration = .seconds(300), maxBodyBytes: Int = 64 * 1024,
        storeTimeout: Duration = .seconds(3600)
    ) -> ListenerConfiguration {
        ListenerConfiguration(
            accounts: accounts, timestampWindow: window, maxBodyBytes: maxBodyBytes, storeTimeout: storeTimeout)
    }
}

/// Builds pushes as WeChat sends them.
struct Push {
    var account: ListenerAccount
    var xml: String
    var timestamp: Int64 = Int64(Date().timeIntervalSince1970)
    var nonce: String = String(UInt32.random(in: 1_000_000_000...UInt32.max))

    /// A MASSSENDJOBFINISH to `account`.
    static func finish(
        _ account: ListenerAccount, msgID: Int64, status: String = "send success", total: Int = 100, sent: Int = 98,
        error: Int = 2, articles: Bool = true, to: String? = nil
    ) -> Push {
        var xml = "<xml><ToUserName><![CDATA[\(to ?? account.originalID)]]></ToUserName>"
        xml += "<FromUserName><![CDATA[oSystem0000000000000000000000]]></FromUserName>"
        xml += "<CreateTime>1714036504</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        xml += "<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>\(msgID)</MsgID>"
        xml += "<Status><![CDATA[\(status)]]></Status><TotalCount>\(total)</TotalCount>"
        xml += "<FilterCount>\(sent + error)</FilterCount><SentCount>\(sent)</SentCount><ErrorCount>\(error)</ErrorCount>"
        if articles {
            xml += "<CopyrightCheckResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
            xml += "<UserDeclareState>0</UserDeclareState><AuditState>2</AuditState></item></ResultList>"
            xml += "<CheckState>1</CheckState></CopyrightCheckResult>"
            xml += "<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
            xml += "<ArticleUrl><![CDATA[https://mp.weixin.qq.com/s?__biz=x&mid=\(msgID)&idx=1]]></ArticleUrl></item>"
            xml += "</ResultList></ArticleUrlResult>"
        }
        xml += "</xml>"
        return Push(account: account, xml: xml)
    }

    /// Another event type (a follow).
    static func subscribe(_ account: ListenerAccount) -> Push {
        Push(account: account, xml: "<xml><ToUserName><![CDATA[\(account.originalID)]]></ToUserName>"
            + "<FromUserName><![CDATA[o4WmZ0C2lUFynUYDK9SGewL2AGe4]]></FromUserName><CreateTime>1714036504</CreateTime>"
            + "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>")
    }

    var timestampText: String { String(timestamp) }

    /// Plain mode: the XML as the body, `signature` in the query.
    func plain(token: String? = nil) -> (query: [String: String], body: [UInt8]) {
        let signature = CallbackCrypto.sign(token: token ?? account.token, timestamp: timestampText, nonce: nonce)
        return (["signature": signature, "timestamp": timestampText, "nonce": nonce, "openid": "oSystem"], Array(xml.utf8))
    }

    /// Safe mode (or compatible with `plainBeside`): `<Encrypt>` in the body, `msg_signature` in the query.
    func encrypted(
        key: String? = nil, appID: String? = nil, token: String? = nil, plainBeside: String? = nil,
        encryptedXML: String? = nil
    ) throws -> (query: [String: String], body: [UInt8]) {
        let crypto = try CallbackCrypto(credentials: CallbackCredentials(
            token: token ?? account.token, encodingAESKey: key ?? account.aesKey, appID: appID ?? account.appID))
        let encrypt = try crypto.encrypt(encryptedXML ?? xml)
        let tokenUsed = token ?? account.token
        let body: String
        if let plainBeside {
            // Compatible mode: the plain message, with Encrypt added inside.
            body = plainBeside.replacingOccurrences(of: "</xml>", with: "<Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>")
        } else {
            body = "<xml><ToUserName><![CDATA[\(account.originalID)]]></ToUserName><Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>"
        }
        let query = [
            "signature": CallbackCrypto.sign(token: tokenUsed, timestamp: timestampText, nonce: nonce),
            "msg_signature": CallbackCrypto.sign(token: tokenUsed, timestamp: timestampText, nonce: nonce, encrypt: encrypt),
            "timestamp": timestampText, "nonce": nonce, "openid": "oSystem", "encrypt_type": "aes",
        ]
        return (query, Array(body.utf8))
    }

    /// The same push retried as WeChat retries: a fresh timestamp and nonce.
    func retried(after seconds: Int64 = 5) -> Push {
        var copy = self
        copy.timestamp += seconds
        copy.nonce = String(UInt32.random(in: 1_000_000_000...UInt32.max))
        return copy
    }
}

/// Log lines kept in memory, with their metadata rendered, for the secret searches.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }

    func append(_ line: String) { lock.withLock { stored.append(line) } }

    var logger: Logger {
        var logger = Logger(label: "test.listen") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    /// The lines that contain any of `secrets`.
    func leaks(_ secrets: [String] = Accounts.secrets) -> [String] {
        lines.filter { line in secrets.contains { line.contains($0) } }
    }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        for (k, v) in event.metadata ?? [:] { all[k] = v }
        let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append("\(event.level) \(event.message) \(rendered)")
    }
}

/// A fresh SQLite store in a temporary folder.
final class TempStore: @unchecked Sendable {
    let directory: URL
    let store: SQLiteStateStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-listen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStateStore(path: directory.appendingPathComponent("state.sqlite").path)
    }

    /// The stored pushes of `account` among `msgIDs`.
    func events(_ account: ListenerAccount, _ msgIDs: [Int64]) async throws -> [InboxEvent] {
        try await store.inboxEvents(api: account.api, originalID: account.originalID, msgIDs: msgIDs)
    }

    /// Nothing stored for these ids under either account.
    func isEmpty(_ msgIDs: [Int64]) async throws -> Bool {
        let main = try await events(Accounts.main, msgIDs)
        let news = try await events(Accounts.news, msgIDs)
        return main.isEmpty && news.isEmpty
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// A handler over a fresh store, with its logs captured.
struct Rig {
    let temp: TempStore
    let logs = LogCapture()
    let handler: CallbackHandler

    init(_ configuration: ListenerConfiguration = Accounts.configuration()) throws {
        temp = try TempStore()
        handler = try CallbackHandler(configuration: configuration, store: temp.store, logger: logs.logger)
    }

    var store: SQLiteStateStore { temp.store }

    func post(
        _ request: (query: [String: String], body: [UInt8]), account: String? = nil, now: Date = Date()
    ) async -> CallbackResponse {
        let path = "/wechat/callback" + (account.map { "/" + $0 } ?? "")
        return await handler.handle(method: "POST", path: path, query: request.query, body: request.body, now: now)
    }
}

/// `text` of a metric line `name{labels} value` in Prometheus output, as a number.
func metricValue(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}

extension CallbackOutcome {
    /// `stored`, `duplicate`, `verified`, `acknowledged`, `store_failed` or the rejection reason.
    var name: String {
        switch self {
        case .verified: "verified"
        case .stored: "stored"
        case .duplicate: "duplicate"
        case .acknowledged: "acknowledged"
        case .rejected(let reason): reason.rawValue
        case .storeFailed: "store_failed"
        }
    }
}
