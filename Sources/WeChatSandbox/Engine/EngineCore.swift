import Foundation
import PipelineCore
import WeChatMP

/// The state and the logic of ``SandboxEngine``: every endpoint, the jobs, the pushes, the
/// faults and the call log. It does no I/O and has no lock of its own: the engine keeps it
/// behind its `Mutex`, so every method runs with the engine's lock held, one at a time.
final class EngineCore {
    let fixture: SandboxFixture
    let clock: any SandboxClock
    let pushSender: (any PushSender)?

    var accounts: [String: AccountState] = [:]
    var accountOrder: [String] = []
    var tokens: [String: TokenRecord] = [:]
    var jobs: [Int64: JobState] = [:]
    var jobOrder: [Int64] = []
    var runningJobs: [Int64] = []
    var sendLog: [Int64] = []
    var previews: [SandboxPreviewRecord] = []
    var pushes: [PushState] = []
    var faultStates: [FaultState] = []
    var faultSerial: UInt64 = 0
    /// Every `/cgi-bin/` call, oldest first (the last ``callLogLimit`` at least; older ones are dropped).
    var callLog: [LoggedCall] = []
    var callSerial = 0

    var rng: SplitMix64
    var ridRNG: SplitMix64
    var nextMsgID: Int64 = 1_000_000_001
    var nextMsgDataID: Int64 = 2_247_483_648
    var nextPushID = 1

    /// Scaled seconds since the engine started (job progress and push timing).
    var sandboxNow: Double = 0
    var lastWall: Date
    let startedAt: Date

    /// Creates an engine in the state the fixture describes.
    /// - Parameters:
    ///   - fixture: accounts, windows, quotas, time scale and faults.
    ///   - clock: wall time (``WallClock`` by default; tests pass a ``ManualClock``).
    ///   - pushSender: how MASSSENDJOBFINISH pushes are POSTed; `nil` records them without
    ///     sending (status `no_sender`).
    init(fixture: SandboxFixture, clock: any SandboxClock, pushSender: (any PushSender)?) {
        self.fixture = fixture
        self.clock = clock
        self.pushSender = pushSender
        let now = clock.now()
        lastWall = now
        startedAt = now
        rng = SplitMix64(seed: fixture.seed ^ 0x5341_4E44)
        ridRNG = SplitMix64(seed: fixture.seed ^ 0x5249_44)
        for account in fixture.accounts {
            let state = AccountState(config: account)
            for media in account.media {
                let created = now.addingTimeInterval(-media.age.seconds)
                state.media[media.mediaID] = MediaRecord(
                    id: media.mediaID, kind: media.type, size: 0, createdAt: created,
                    expiresAt: created.addingTimeInterval(fixture.windows.mediaTTL.seconds), articles: media.articles)
            }
            accounts[account.appID] = state
            accountOrder.append(account.appID)
        }
        for (index, rule) in fixture.faults.enumerated() {
            faultStates.append(Self.faultState(rule, serial: UInt64(index + 1), seed: fixture.faultSeed))
        }
        faultSerial = UInt64(fixture.faults.count)
    }

    // MARK: Entry points

    /// Answers one request: every `/cgi-bin/` endpoint of the reference, and the `/sandbox/`
    /// inspection and admin endpoints (`GET /sandbox/sends|calls|jobs|pushes|previews|accounts|faults|health`,
    /// `POST /sandbox/faults`, `DELETE /sandbox/faults`, `POST /sandbox/callback`).
    ///
    /// Injected faults show in the response: ``SandboxResponse/dropConnection`` (close
    /// without answering) and ``SandboxResponse/delay`` (wait before answering).
    func handle(_ request: SandboxRequest) -> SandboxResponse {
        let now = clock.now()
        advance(to: now)
        var path = request.path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        if path == "/sandbox" || path.hasPrefix("/sandbox/") {
            return admin(request, path: path, now: now)
        }
        guard path.hasPrefix("/cgi-bin/") else {
            return .json(#"{"error":"not found: the sandbox serves /cgi-bin/ and /sandbox/"}"#, status: 404)
        }
        let endpoint = String(path.dropFirst("/cgi-bin/".count))

        var latency = Duration.zero
        var chosen: SandboxFault?
        for index in faultStates.indices where faultStates[index].rule.target.matches(endpoint: endpoint) {
            guard faultStates[index].roll() else { continue }
            let rule = faultStates[index].rule
            if let extra = rule.latency { latency += extra }
            if rule.action != nil && chosen == nil { chosen = rule }
        }

        // `access_token` is read from the query once a call (for the caller and to authenticate).
        let accessToken = endpoint == "token" || endpoint == "stable_token" ? nil : request.query["access_token"]
        // Who calls is read before the call: a revocation or a forced refresh must not hide it.
        let caller = callerAppID(endpoint: endpoint, request: request, accessToken: accessToken)
        var response: SandboxResponse
        if let fault = chosen, let action = fault.action, fault.phase == .before || action == .revokeToken {
            response = faultResponse(action, request: request, drop: .beforeProcessing, now: now)
        } else {
            response = process(endpoint: endpoint, request: request, accessToken: accessToken, now: now)
            if let fault = chosen, let action = fault.action {
                response = faultResponse(action, request: request, drop: .afterProcessing, now: now)
            }
        }
        if latency > .zero { response.delay = latency }
        logCall(endpoint: endpoint, request: request, appID: caller, response: response, now: now)
        return response
    }

    /// Moves jobs forward by the wall time since the last call times the time scale, and
    /// takes the pushes that are due (marked as being delivered, so a later tick does not
    /// send them again): ``SandboxEngine/tick()`` sends them without the lock.
    func tickStart() -> PushBatch? {
        let now = clock.now()
        advance(to: now)
        return takeDuePushes(now: now)
    }

    // MARK: Conveniences (tests, `run --sandbox`)

    /// The accounts, in fixture order (no secrets).
    func accountInfos() -> [SandboxAccountInfo] {
        accountOrder.compactMap { accounts[$0] }.map(info(of:))
    }

    /// A valid access token for the account (its `stable_token`), issued as `stable_token`
    /// would issue it; `nil` for an unknown AppID.
    func accessToken(appID: String) -> String? {
        guard let account = accounts[appID] else { return nil }
        return currentStableToken(account, now: clock.now()).value
    }

    /// Every accepted mass send, oldest first.
    func sends() -> [SandboxSendRecord] {
        sendLog.compactMap { jobs[$0] }.map(sendRecord(of:))
    }

    /// Every job with its progress, oldest first.
    func jobInfos() -> [SandboxJobInfo] {
        jobOrder.compactMap { jobs[$0] }.map(jobInfo(of:))
    }

    /// Every push with its tries, oldest first.
    func pushRecords() -> [SandboxPushRecord] {
        pushes.map(pushRecord(of:))
    }

    /// Every accepted preview, oldest first.
    func previewRecords() -> [SandboxPreviewRecord] { previews }

    /// Every `/cgi-bin/` call the sandbox answered (or dropped), oldest first: what
    /// `GET /sandbox/calls` lists.
    func calls() -> [SandboxCallRecord] { resolvedCallLog() }

    /// How many media (temporary media, uploadnews articles, uploadvideo results) the account
    /// `appID` has had uploaded: what tests check to prove an upload was not repeated.
    func uploadedMediaCount(appID: String) -> Int { accounts[appID]?.media.count ?? 0 }

    /// The followers of an account, in fixture order.
    func followers(appID: String) -> [String] {
        accounts[appID].map { account in account.config.followers } ?? []
    }

    /// The members of a tag.
    func tagMembers(appID: String, tagID: Int) -> [String] {
        accounts[appID]?.tags[tagID]?.members ?? []
    }

    /// Adds fault rules (as `POST /sandbox/faults` does).
    func addFaults(_ rules: [SandboxFault]) {
        for rule in rules { faultStates.append(makeFaultState(rule)) }
    }

    /// Removes every fault rule.
    func clearFaults() {
        faultStates.removeAll()
    }

    /// Points an account's pushes at another URL (and, optionally, mode).
    /// - Returns: `false` when no account has that fixture name or AppID, or the account has
    ///   no callback settings and no token was given.
    @discardableResult
    func setCallback(account: String, url: String, mode: SandboxFixture.Callback.Mode? = nil,
                            token: String? = nil) -> Bool {
        guard let state = findAccount(account) else { return false }
        if var callback = state.callback {
            callback.url = url
            if let mode { callback.mode = mode }
            if let token { callback.token = token }
            if callback.mode != .plain && callback.encodingAESKey == nil { return false }
            state.callback = callback
            return true
        }
        guard let token, mode == nil || mode == .plain else { return false }
        state.callback = SandboxFixture.Callback(url: url, token: token, mode: .plain)
        return true
    }

    // MARK: Internals shared by the endpoint files

    func findAccount(_ nameOrAppID: String) -> AccountState? {
        if let account = accounts[nameOrAppID] { return account }
        return accounts.values.first { $0.name == nameOrAppID }
    }

    func makeFaultState(_ rule: SandboxFault) -> FaultState {
        faultSerial += 1
        return Self.faultState(rule, serial: faultSerial, seed: fixture.faultSeed)
    }

    /// A rule's dice are seeded from the fault seed and the rule's position, so each rule
    /// rolls the same sequence whatever the other rules do.
    static func faultState(_ rule: SandboxFault, serial: UInt64, seed: UInt64) -> FaultState {
        FaultState(rule: rule, rng: SplitMix64(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (serial &* 0xD1B5_4A32_D192_ED03)))
    }

    /// Rolls the push or job rules; returns the actions that fire.
    func rollFaults(target: SandboxFault.Target) -> [SandboxFault.Action] {
        var actions: [SandboxFault.Action] = []
        for index in faultStates.indices where faultStates[index].rule.target == target {
            if faultStates[index].roll(), let action = faultStates[index].rule.action { actions.append(action) }
        }
        return actions
    }

    func rid() -> String {
        "\(ridRNG.hex(8))-\(ridRNG.hex(8))-\(ridRNG.hex(8))"
    }

    func errorResponse(_ error: APIError) -> SandboxResponse {
        var writer = JSONWriter()
        writer.add("errcode", error.code)
        writer.add("errmsg", "\(error.message) rid: \(rid())")
        if let msgID = error.msgID { writer.add("msg_id", msgID) }
        return .json(writer.text)
    }

    func faultResponse(_ action: SandboxFault.Action, request: SandboxRequest, drop: DropMode, now: Date) -> SandboxResponse {
        switch action {
        case .errcode(let code):
            return errorResponse(APIError(code))
        case .httpStatus(let status):
            let reason = HTTPReason.phrase(status)
            let html = "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n<center><h1>\(status) \(reason)</h1></center>\r\n</body>\r\n</html>\r\n"
            return SandboxResponse(status: status, body: Data(html.utf8), contentType: "text/html")
        case .reset:
            return SandboxResponse(status: 502, body: Data(), contentType: "text/plain", dropConnection: drop)
        case .body(let text):
            return .json(text)
        case .revokeToken:
            if let token = request.query["access_token"], var record = tokens[token] {
                record.invalidAfter = now
                tokens[token] = record
                if let account = accounts[record.appID] {
                    if account.classicToken == token { account.classicToken = nil }
                    if account.stableToken == token { account.stableToken = nil }
                }
            }
            return errorResponse(APIError(40001))
        default:
            return errorResponse(APIError(-1))
        }
    }

    /// Routes a `/cgi-bin/` call that no fault replaced; `accessToken` is the query's
    /// `access_token` (read by ``handle(_:)``).
    func process(endpoint: String, request: SandboxRequest, accessToken: String?, now: Date) -> SandboxResponse {
        do throws(APIError) {
            switch endpoint {
            case "token": return try tokenEndpoint(request, now: now)
            case "stable_token": return try stableTokenEndpoint(request, now: now)
            default: break
            }
            guard let route = Route(rawValue: endpoint) else { throw APIError(40066) }
            let account = try authenticate(accessToken, now: now)
            if route == .tagsGet { return tagsGet(account) }  // WeChat's one GET here (POST works too)
            guard request.method.uppercased() == "POST" else { throw APIError(43002) }
            if route.isMass, fixture.limitsEnabled, let limit = fixture.quotas.massCallsPerMinute {
                let bucket = QuotaPeriod.window(now, length: fixture.windows.rateWindow.seconds)
                if account.count("mass_calls", bucket: bucket) >= limit { throw APIError(45011) }
                account.increment("mass_calls", bucket: bucket)
            }
            switch route {
            case .sendAll: return try massSend(account, request, toList: false, now: now)
            case .send: return try massSend(account, request, toList: true, now: now)
            case .preview: return try preview(account, request, now: now)
            case .delete: return try delete(account, request, now: now)
            case .get: return try get(account, request)
            case .speedGet: return speedGet(account)
            case .speedSet: return try speedSet(account, request)
            case .mediaUpload: return try mediaUpload(account, request, now: now)
            case .mediaUploadImage: return try mediaUploadImage(account, request)
            case .mediaUploadNews: return try mediaUploadNews(account, request, now: now)
            case .mediaUploadVideo: return try mediaUploadVideo(account, request, now: now)
            case .tagsGet: return tagsGet(account)
            case .userTagGet: return try userTagGet(account, request)
            }
        } catch {
            return errorResponse(error)
        }
    }

    /// The endpoints that need an access token.
    enum Route: String {
        case sendAll = "message/mass/sendall"
        case send = "message/mass/send"
        case preview = "message/mass/preview"
        case delete = "message/mass/delete"
        case get = "message/mass/get"
        case speedGet = "message/mass/speed/get"
        case speedSet = "message/mass/speed/set"
        case mediaUpload = "media/upload"
        case mediaUploadImage = "media/uploadimg"
        case mediaUploadNews = "media/uploadnews"
        case mediaUploadVideo = "media/uploadvideo"
        case tagsGet = "tags/get"
        case userTagGet = "user/tag/get"

        var isMass: Bool { rawValue.hasPrefix("message/mass/") }
    }

    /// Parses a JSON object body: 44002 when empty, 47001 when not a JSON object.
    func jsonBody(_ request: SandboxRequest) throws(APIError) -> Value {
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { throw APIError(44002) }
        guard let value = Value.parse(request.body), value.objectValue != nil else { throw APIError(47001) }
        return value
    }

    func ok(_ message: String = "ok") -> SandboxResponse {
        var writer = JSONWriter()
        writer.add("errcode", 0)
        writer.add("errmsg", message)
        return .json(writer.text)
    }

    /// Whether a quota still has room (always, with limits off or no limit).
    func hasRoom(_ account: AccountState, _ key: String, bucket: Int64, limit: Int?) -> Bool {
        guard fixture.limitsEnabled, let limit else { return true }
        return account.count(key, bucket: bucket) < limit
    }
}

/// Reason phrases for the HTML error pages of injected HTTP faults.
enum HTTPReason {
    static func phrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Temporarily Unavailable"
        case 504: "Gateway Time-out"
        default: "Error"
        }
    }
}
