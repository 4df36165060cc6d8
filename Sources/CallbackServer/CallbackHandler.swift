import Foundation
import Logging
import RunLog
import RunState
import WeChatPush

/// Checks, decrypts and stores WeChat pushes: the whole listener without HTTP.
///
/// - `GET` is URL verification: `signature` over (token, `timestamp`, `nonce`) must match
///   the token of the account the path names (on the bare path, any configured account's);
///   the answer is `echostr`, as `text/plain`.
/// - `POST` without `encrypt_type` (plain mode): the account is the one the path names
///   (`<path>/<name>`) or, on the bare path, the one whose original id is the body's
///   `ToUserName` (read before anything is trusted, only to pick the token). `signature` is
///   checked with that account's token, `timestamp` must be inside the window, and
///   (`timestamp`, `nonce`) must not have been accepted before: the signature does not
///   cover the body, so a replay with other XML is refused. An account that has an
///   EncodingAESKey accepts no plain push.
/// - `POST` with `encrypt_type=aes` (safe and compatible modes): `msg_signature` over the
///   `Encrypt` text is required, the text is decrypted (falling back to the previous
///   EncodingAESKey) and must end with the account's AppID. Only the decrypted message is
///   read; in compatible mode the plain elements beside `Encrypt` are ignored.
/// - The message must be addressed (`ToUserName`) to the account. A MASSSENDJOBFINISH is
///   stored in the inbox (deduplicated by original id and MsgID) *before* the answer
///   `success`; a repeat is answered `success` too. Other events are acknowledged and logged.
///
/// Statuses are in ``RejectionReason``. Nothing secret (token, key, signature, body) is
/// logged or returned.
public struct CallbackHandler: Sendable {
    /// The configuration served.
    public let configuration: ListenerConfiguration
    /// Where pushes are stored.
    public let store: any PushInbox
    /// The counters and the store-latency histogram.
    public let metrics: ListenerMetrics
    /// The (account, timestamp, nonce) memory.
    public let replayGuard: ReplayGuard

    let logger: Logger
    /// The stored-push line written straight by the JSON handler (no metadata dictionary),
    /// when the logger's handler is a ``JSONLogHandler`` that can write it so.
    private let pushLine: (handler: JSONLogHandler, shape: JSONLineShape)?
    private let byName: [String: Served]
    private let byOriginalID: [String: Served]
    private let basePath: String
    private let limits: StrictXMLReader.Limits

    struct Served: Sendable {
        let account: ListenerAccount
        let crypto: CallbackCrypto
    }

    /// Prepares a handler.
    /// - Parameters:
    ///   - configuration: the accounts and limits; checked with ``ListenerConfiguration/validate()``.
    ///   - store: the state store whose inbox receives the pushes.
    ///   - metrics: the metrics to count into.
    ///   - logger: where each request's outcome is logged (one line per request).
    /// - Throws: ``ListenerConfigurationError`` for a configuration that cannot be served.
    public init(
        configuration: ListenerConfiguration, store: any PushInbox, metrics: ListenerMetrics = ListenerMetrics(),
        logger: Logger = Logger(label: "masscast.listen")
    ) throws(ListenerConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.logger = logger
        if let json = logger.handler as? JSONLogHandler, let shape = json.lineShape(keys: Self.pushLineKeys) {
            self.pushLine = (json, shape)
        } else {
            self.pushLine = nil
        }
        self.replayGuard = ReplayGuard(window: configuration.timestampWindow, capacity: configuration.replayCapacity)
        self.basePath = configuration.normalizedPath
        self.limits = StrictXMLReader.Limits(maxBytes: configuration.maxBodyBytes)
        var byName: [String: Served] = [:]
        var byOriginalID: [String: Served] = [:]
        for account in configuration.accounts {
            let crypto: CallbackCrypto
            do {
                crypto = try CallbackCrypto(credentials: account.credentials)
            } catch {
                throw ListenerConfigurationError(
                    .invalidAccount, "account \(account.name): \(error.message)", account: account.name, cause: error)
            }
            let served = Served(account: account, crypto: crypto)
            byName[account.name] = served
            byOriginalID[account.originalID] = served
        }
        self.byName = byName
        self.byOriginalID = byOriginalID
    }

    // MARK: Entry points

    /// Answers one request to the callback path.
    /// - Parameters:
    ///   - method: the HTTP method (`GET`, `POST`; anything else is refused with 405).
    ///   - path: the request path (`/wechat/callback` or `/wechat/callback/<account>`).
    ///   - query: the decoded query parameters.
    ///   - body: the request body (at most ``ListenerConfiguration/maxBodyBytes``; a longer one is refused with 413).
    ///   - now: the current time, against which `timestamp` is checked.
    /// - Returns: the status, body and outcome. A MASSSENDJOBFINISH has been stored when it returns.
    public func handle(
        method: String, path: String, query: [String: String], body: [UInt8], now: Date = Date()
    ) async -> CallbackResponse {
        let method = method.uppercased()
        if method == "POST" { metrics.received.increment() }
        let response: CallbackResponse
        do throws(Refusal) {
            let route = try self.route(path)
            switch method {
            case "GET": response = try await verify(route: route, query: query, now: now)
            case "POST": response = try await receive(route: route, query: query, body: body, now: now)
            default:
                throw Refusal(.methodNotAllowed, "\(method.prefix(16)) is not allowed; WeChat uses GET and POST")
            }
        } catch let refusal {
            response = reject(refusal)
        }
        record(response, method: method)
        return response
    }

    /// The answer to a request the server refused before the handler could read it (a body
    /// over the limit: 413; a body that did not arrive in time: 400), counted and logged like
    /// any refusal.
    /// - Parameters:
    ///   - reason: why.
    ///   - method: the HTTP method.
    ///   - path: the request path.
    ///   - detail: a sentence for the log.
    public func refuse(_ reason: RejectionReason, method: String, path: String, detail: String) -> CallbackResponse {
        let method = method.uppercased()
        if method == "POST" { metrics.received.increment() }
        var response = reject(Refusal(reason, detail))
        response.account = (try? route(path))?.name
        record(response, method: method)
        return response
    }

    /// ``refuse(_:method:path:detail:)`` for a body over ``ListenerConfiguration/maxBodyBytes``: 413.
    public func refuseOversizedBody(method: String, path: String) -> CallbackResponse {
        refuse(.tooLarge, method: method, path: path, detail: "the body is larger than \(configuration.maxBodyBytes) bytes")
    }

    // MARK: Routing

    enum Route {
        case bare
        case account(String)

        var name: String? {
            if case .account(let name) = self { return name }
            return nil
        }
    }

    func route(_ path: String) throws(Refusal) -> Route {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        if p == basePath { return .bare }
        let prefix = basePath + "/"
        guard p.hasPrefix(prefix) else {
            throw Refusal(.unknownAccount, "the path is not under \(basePath)")
        }
        let name = String(p.dropFirst(prefix.count))
        guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "/")) else {
            throw Refusal(.unknownAccount, "the path names no account")
        }
        return .account(name)
    }

    private func served(_ name: String) throws(Refusal) -> Served {
        guard let served = byName[name] else {
            throw Refusal(.unknownAccount, "no account is named '\(Self.printable(name, 64))'")
        }
        return served
    }

    // MARK: GET: URL verification

    private func verify(route: Route, query: [String: String], now: Date) async throws(Refusal) -> CallbackResponse {
        guard let signature = query["signature"], !signature.isEmpty else {
            throw Refusal(.badSignature, "the URL verification has no signature", account: route.name)
        }
        guard let timestamp = query["timestamp"], let timestampValue = Self.parseTimestamp(timestamp),
            let nonce = query["nonce"], !nonce.isEmpty, nonce.utf8.count <= 128
        else {
            throw Refusal(
                .badRequest, "the URL verification needs timestamp (Unix seconds) and nonce (at most 128 bytes)",
                account: route.name)
        }
        guard let echostr = query["echostr"], !echostr.isEmpty, echostr.utf8.count <= 1024 else {
            throw Refusal(.badRequest, "the URL verification needs an echostr of at most 1024 bytes", account: route.name)
        }
        let candidates: [Served]
        switch route {
        case .account(let name): candidates = [try served(name)]
        case .bare: candidates = configuration.accounts.compactMap { byName[$0.name] }
        }
        // Every candidate is checked (no early exit), so timing does not tell which token matched.
        var matched: Served?
        for candidate in candidates
        where candidate.crypto.verifySignature(signature: signature, timestamp: timestamp, nonce: nonce) {
            matched = matched ?? candidate
        }
        guard let matched else {
            throw Refusal(.badSignature, "the URL verification's signature matches no configured token", account: route.name)
        }
        // The same window and replay memory as pushes: a plain-mode push is signed over the
        // same (token, timestamp, nonce), so a verification's signature reused within the
        // window would otherwise carry a forged push.
        let name = matched.account.name
        try checkWindow(timestampValue, now: now, account: name)
        switch await replayGuard.admit(account: name, timestamp: timestampValue, nonce: nonce, now: now) {
        case .fresh: break
        case .replay:
            throw Refusal(.replay, "this (timestamp, nonce) was already used for account \(name)", account: name)
        case .full:
            throw Refusal(
                .replay, "the replay guard is full (\(configuration.replayCapacity) requests in the window); refused",
                account: name)
        }
        if let unavailable = try await admitShared(matched.account, timestamp: timestampValue, nonce: nonce, now: now) {
            return unavailable
        }
        return CallbackResponse(
            status: 200, body: echostr, outcome: .verified, account: matched.account.name,
            detail: "URL verification answered")
    }

    // MARK: POST: pushes

    private func receive(route: Route, query: [String: String], body: [UInt8], now: Date) async throws(Refusal)
        -> CallbackResponse
    {
        guard body.count <= configuration.maxBodyBytes else {
            throw Refusal(.tooLarge, "the body is larger than \(configuration.maxBodyBytes) bytes", account: route.name)
        }
        guard let timestampText = query["timestamp"], let timestamp = Self.parseTimestamp(timestampText) else {
            throw Refusal(.badRequest, "the push has no valid timestamp (Unix seconds)", account: route.name)
        }
        guard let nonce = query["nonce"], !nonce.isEmpty, nonce.utf8.count <= 128 else {
            throw Refusal(.badRequest, "the push has no nonce (or one longer than 128 bytes)", account: route.name)
        }
        let encrypted: Bool
        switch query["encrypt_type"]?.lowercased() {
        case nil, "", "raw": encrypted = false
        case "aes": encrypted = true
        default: throw Refusal(.badRequest, "encrypt_type must be aes or raw", account: route.name)
        }

        // The outer body: read strictly (no DTD, no entities, size and depth limits).
        let outer: StrictXMLElement
        do {
            outer = try StrictXMLReader(limits: limits).parse(bytes: body)
        } catch {
            throw Refusal(.malformedXML, "the body is not acceptable XML: \(error)", account: route.name)
        }

        // The account: named by the path, or picked by the (untrusted) ToUserName.
        let served: Served
        switch route {
        case .account(let name):
            served = try self.served(name)
        case .bare:
            guard let to = outer.child("ToUserName")?.trimmedText, !to.isEmpty else {
                throw Refusal(
                    .badRequest, "the push has no ToUserName to route it by; use \(basePath)/<account>")
            }
            guard let found = byOriginalID[to] else {
                throw Refusal(.unknownAccount, "no account has the original id '\(Self.printable(to, 40))'")
            }
            served = found
        }
        let account = served.account
        let name = account.name

        // Authenticate, then decrypt.
        let message: StrictXMLElement
        var usedPreviousKey = false
        if encrypted {
            guard let msgSignature = query["msg_signature"], !msgSignature.isEmpty else {
                throw Refusal(.badSignature, "an encrypted push needs msg_signature", account: name)
            }
            guard let encryptText = outer.childText("Encrypt"), !encryptText.isEmpty else {
                throw Refusal(.badRequest, "encrypt_type=aes but the body has no Encrypt element", account: name)
            }
            guard
                served.crypto.verifyMessageSignature(
                    msgSignature, timestamp: timestampText, nonce: nonce, encrypt: encryptText)
            else {
                throw Refusal(.badSignature, "msg_signature does not match the token, timestamp, nonce and Encrypt", account: name)
            }
            try checkWindow(timestamp, now: now, account: name)
            let xml: String
            do {
                (xml, usedPreviousKey) = try served.crypto.decrypt(encryptText)
            } catch {
                // Decrypted for this AppID but not an `<xml>` message (a DTD or a prolog
                // first): the message is malformed, as the same text in plain mode would be.
                let reason: RejectionReason =
                    error.code == .appIDMismatch ? .appIDMismatch : error.code == .notXML ? .malformedXML : .decryptFailed
                throw Refusal(reason, error.message, account: name)
            }
            do {
                message = try StrictXMLReader(limits: limits).parse(xml)
            } catch {
                throw Refusal(.malformedXML, "the decrypted message is not acceptable XML: \(error)", account: name)
            }
        } else {
            guard !account.isEncrypted else {
                throw Refusal(
                    .badSignature,
                    "account \(name) has an EncodingAESKey: only encrypted pushes (encrypt_type=aes with msg_signature) are accepted",
                    account: name)
            }
            guard let signature = query["signature"], !signature.isEmpty else {
                throw Refusal(.badSignature, "the push has no signature", account: name)
            }
            guard served.crypto.verifySignature(signature: signature, timestamp: timestampText, nonce: nonce) else {
                throw Refusal(.badSignature, "signature does not match the token, timestamp and nonce", account: name)
            }
            try checkWindow(timestamp, now: now, account: name)
            message = outer
        }

        // What the message says, and to whom.
        let event: CallbackEvent
        do {
            event = try CallbackEvent(element: message)
        } catch {
            throw Refusal(.badRequest, error.message, account: name)
        }
        guard let to = event.toUserName, !to.isEmpty else {
            throw Refusal(.badRequest, "the message has no ToUserName", account: name)
        }
        guard to == account.originalID else {
            throw Refusal(
                .unknownAccount,
                "the message is addressed to '\(Self.printable(to, 40))', not to account \(name) (\(account.originalID))",
                account: name)
        }
        var inbox: InboxEvent?
        if event.isMassSendJobFinish {
            let push: MassSendJobFinish
            do {
                push = try MassSendJobFinish(element: message)
            } catch {
                throw Refusal(.badRequest, error.message, account: name)
            }
            inbox = InboxMapping.event(from: push, element: message, receivedAt: now, api: account.api)
        }

        // Accepted once per (account, timestamp, nonce).
        switch await replayGuard.admit(account: name, timestamp: timestamp, nonce: nonce, now: now) {
        case .fresh: break
        case .replay:
            throw Refusal(.replay, "this (timestamp, nonce) was already accepted for account \(name)", account: name)
        case .full:
            throw Refusal(
                .replay, "the replay guard is full (\(configuration.replayCapacity) pushes in the window); refused",
                account: name)
        }
        if let unavailable = try await admitShared(account, timestamp: timestamp, nonce: nonce, now: now) {
            return unavailable
        }

        guard let inbox else {
            let type = Self.printable(event.event ?? event.msgType, 64)
            return CallbackResponse(
                status: 200, body: "success", outcome: .acknowledged(eventType: type), account: name,
                detail: "\(event.msgType == "event" ? "event" : "message") \(type) acknowledged, not stored"
                    + (usedPreviousKey ? "; decrypted with the previous EncodingAESKey" : ""))
        }

        // Store first; answer after.
        let store = self.store
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let isNew = try await Bounded.run("storing the push", timeout: configuration.storeTimeout) {
                try await store.storeInboxEvent(inbox)
            }
            metrics.storeLatency.record(clock.now - started)
            var detail = isNew ? "stored" : "already stored (a retry)"
            if usedPreviousKey { detail += "; decrypted with the previous EncodingAESKey (WeChat still uses it)" }
            return CallbackResponse(
                status: 200, body: "success", outcome: isNew ? .stored(inbox) : .duplicate(inbox), account: name,
                detail: detail)
        } catch {
            metrics.storeLatency.record(clock.now - started)
            await replayGuard.forget(account: name, timestamp: timestamp, nonce: nonce)
            if let shared = store as? any SharedReplayMemory {
                let key = Self.sharedReplayKey(account)
                _ = try? await Bounded.run("forgetting the push's nonce", timeout: configuration.storeTimeout) {
                    try await shared.forgetPush(account: key, timestamp: timestamp, nonce: nonce)
                }
            }
            return CallbackResponse(
                status: 503, body: "store unavailable", outcome: .storeFailed, account: name,
                detail: "the push \(inbox.msgID) could not be stored: \(Self.printable(String(describing: error), 300)); WeChat will retry")
        }
    }

    /// The store's shared replay memory (a PostgreSQL store: every listener on the database),
    /// after this listener's own: a pair another listener accepted is a replay here too.
    /// - Returns: `nil` when admitted; a 503 when the store cannot be asked (WeChat retries;
    ///   this listener forgets the pair so the retry is accepted).
    private func admitShared(_ account: ListenerAccount, timestamp: Int64, nonce: String, now: Date) async throws(Refusal)
        -> CallbackResponse?
    {
        guard let shared = store as? any SharedReplayMemory else { return nil }
        let key = Self.sharedReplayKey(account)
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(timestamp)).addingTimeInterval(
            Double(configuration.timestampWindow.components.seconds) + 1)
        let fresh: Bool
        do {
            fresh = try await Bounded.run("checking the push's nonce", timeout: configuration.storeTimeout) {
                try await shared.admitPush(account: key, timestamp: timestamp, nonce: nonce, now: now, expiresAt: expiresAt)
            }
        } catch {
            await replayGuard.forget(account: account.name, timestamp: timestamp, nonce: nonce)
            return CallbackResponse(
                status: 503, body: "store unavailable", outcome: .storeFailed, account: account.name,
                detail: "the shared replay memory could not be checked: \(Self.printable(String(describing: error), 300)); WeChat will retry")
        }
        guard fresh else {
            throw Refusal(
                .replay, "this (timestamp, nonce) was already accepted for account \(account.name) by another listener",
                account: account.name)
        }
        return nil
    }

    /// An account in the shared replay memory: its API identity and original id (listeners
    /// may name it differently).
    static func sharedReplayKey(_ account: ListenerAccount) -> String { "\(account.api)\n\(account.originalID)" }

    private func checkWindow(_ timestamp: Int64, now: Date, account: String) throws(Refusal) {
        let window = Double(configuration.timestampWindow.components.seconds)
            + Double(configuration.timestampWindow.components.attoseconds) / 1e18
        let skew = Double(timestamp) - now.timeIntervalSince1970
        guard abs(skew) <= window else {
            let direction = skew < 0 ? "old" : "in the future"
            throw Refusal(
                .staleTimestamp, "the timestamp is \(Int(abs(skew))) s \(direction), outside the \(Int(window)) s window",
                account: account)
        }
    }

    // MARK: Answers, logs, metrics

    struct Refusal: Error {
        var reason: RejectionReason
        var detail: String
        var account: String?

        init(_ reason: RejectionReason, _ detail: String, account: String? = nil) {
            self.reason = reason
            self.detail = detail
            self.account = account
        }
    }

    private func reject(_ refusal: Refusal) -> CallbackResponse {
        CallbackResponse(
            status: refusal.reason.status, body: refusal.reason.rawValue, outcome: .rejected(refusal.reason),
            account: refusal.account, detail: refusal.detail)
    }

    /// The metadata keys of the line for a stored (or duplicate) push.
    static let pushLineKeys = [
        "http.method", "http.status", "listener.account", "event", "push.original_id", "push.msg_id", "push.status",
    ]

    private func record(_ response: CallbackResponse, method: String) {
        var base: Logger.Metadata {
            var metadata: Logger.Metadata = [
                "http.method": .string(Self.printable(method, 16)), "http.status": .stringConvertible(response.status),
            ]
            if let account = response.account { metadata["listener.account"] = .string(account) }
            return metadata
        }
        switch response.outcome {
        case .verified:
            metrics.verifications.increment()
            var metadata = base
            metadata["event"] = "url.verified"
            logger.info("URL verification answered", metadata: metadata)
        case .stored(let inbox), .duplicate(let inbox):
            let isNew: Bool
            if case .stored = response.outcome {
                metrics.stored.increment()
                isNew = true
            } else {
                metrics.duplicates.increment()
                isNew = false
            }
            let event = isNew ? "push.stored" : "push.duplicate"
            let message = "MASSSENDJOBFINISH \(inbox.msgID) \(inbox.status): \(response.detail)"
            // The line of every push, written without building its metadata when the
            // handler can: the same fields and bytes as the `Logger` call below.
            if let pushLine, let account = response.account {
                pushLine.handler.write(
                    level: .info, message: message, shape: pushLine.shape,
                    values: [
                        .string(Self.printable(method, 16)), .integer(Int64(response.status)), .string(account),
                        .string(event), .string(inbox.originalID), .integer(inbox.msgID), .string(inbox.status),
                    ])
                return
            }
            var metadata = base
            metadata["event"] = .string(event)
            metadata["push.original_id"] = .string(inbox.originalID)
            metadata["push.msg_id"] = .stringConvertible(inbox.msgID)
            metadata["push.status"] = .string(inbox.status)
            logger.info("\(message)", metadata: metadata)
        case .acknowledged(let type):
            metrics.otherEvents.increment()
            var metadata = base
            metadata["event"] = "push.acknowledged"
            metadata["push.type"] = .string(type)
            logger.info("\(response.detail)", metadata: metadata)
        case .rejected(let reason):
            metrics.rejected(reason)
            var metadata = base
            metadata["event"] = "push.rejected"
            metadata["reason"] = .string(reason.rawValue)
            logger.warning("refused (\(reason.rawValue)): \(response.detail)", metadata: metadata)
        case .storeFailed:
            metrics.storeFailures.increment()
            var metadata = base
            metadata["event"] = "push.store_failed"
            logger.error("\(response.detail)", metadata: metadata)
        }
    }

    // MARK: Helpers

    /// `timestamp`: 1 to 12 decimal digits.
    static func parseTimestamp(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(text)
    }

    /// Untrusted text made safe for a log line: control characters replaced, length bounded.
    static func printable(_ text: String, _ limit: Int) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar)
        }
        if text.unicodeScalars.count > limit { out += "…" }
        return out
    }
}
