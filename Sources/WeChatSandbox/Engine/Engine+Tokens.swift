import Foundation
import WeChatMP

extension EngineCore {
    /// `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`: a new token on every
    /// call; the previous one stays valid for `token_overlap`, then 40001.
    func tokenEndpoint(_ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        // Some clients send the credentials as a form body; it is read as a query is
        // (`SandboxQuery`), and a form field, even an empty one, replaces the query parameter
        // of the same name.
        var form: SandboxQuery = [:]
        if request.query["appid"] == nil, let text = String(data: request.body, encoding: .utf8), text.contains("appid=") {
            form = SandboxQuery(encoded: text)
        }
        func field(_ name: String) -> String? { form[name] ?? request.query[name] }
        let account = try credentials(grantType: field("grant_type"), appID: field("appid"), secret: field("secret"))
        let day = QuotaPeriod.day(now)
        guard hasRoom(account, "token_calls", bucket: day, limit: fixture.quotas.tokenCallsPerDay) else {
            throw APIError(45009)
        }
        if fixture.limitsEnabled { account.increment("token_calls", bucket: day) }
        if let previous = account.classicToken, var record = tokens[previous] {
            let end = now.addingTimeInterval(fixture.windows.tokenOverlap.seconds)
            record.invalidAfter = min(record.invalidAfter ?? end, end)
            tokens[previous] = record
        }
        let record = issueToken(account, now: now)
        account.classicToken = record.value
        return tokenResponse(record, now: now)
    }

    /// `POST /cgi-bin/stable_token`: the same token while it has more than `token_overlap`
    /// left (then a new one; the old stays valid until it expires); `force_refresh`
    /// invalidates the current one at once, at most 20 a day and 30 s apart (45009).
    func stableTokenEndpoint(_ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        guard request.method.uppercased() == "POST" else { throw APIError(43002) }
        let body = try jsonBody(request)
        let account = try credentials(grantType: body["grant_type"]?.lenientString ?? "client_credential",
                                      appID: body["appid"]?.lenientString, secret: body["secret"]?.lenientString)
        let force: Bool
        if let value = body["force_refresh"], !value.isNull {
            guard let flag = value.lenientBool else { throw APIError(47001) }
            force = flag
        } else {
            force = false
        }
        if force {
            let day = QuotaPeriod.day(now)
            guard hasRoom(account, "force_refresh", bucket: day, limit: fixture.quotas.forceRefreshPerDay) else {
                throw APIError(45009, "reach max api daily quota limit: force_refresh is limited to \(fixture.quotas.forceRefreshPerDay ?? 0) a day")
            }
            if fixture.limitsEnabled, let spacing = fixture.quotas.forceRefreshSpacing, let last = account.lastForcedRefresh,
               now.timeIntervalSince(last) < spacing.seconds {
                throw APIError(45009, "reach max api daily quota limit: force_refresh at most once every \(Int(spacing.seconds)) s")
            }
            if fixture.limitsEnabled { account.increment("force_refresh", bucket: day) }
            account.lastForcedRefresh = now
            if let previous = account.stableToken, var record = tokens[previous] {
                record.invalidAfter = now
                tokens[previous] = record
            }
            let record = issueToken(account, now: now)
            account.stableToken = record.value
            return tokenResponse(record, now: now)
        }
        return tokenResponse(currentStableToken(account, now: now), now: now)
    }

    /// The account's stable token, rotated when it is within `token_overlap` of its end
    /// (or was revoked).
    func currentStableToken(_ account: AccountState, now: Date) -> TokenRecord {
        if let current = account.stableToken, let record = tokens[current], record.invalidAfter.map({ now < $0 }) ?? true,
           record.expiresAt.timeIntervalSince(now) > fixture.windows.tokenOverlap.seconds {
            return record
        }
        let record = issueToken(account, now: now)
        account.stableToken = record.value
        return record
    }

    func credentials(grantType: String?, appID: String?, secret: String?) throws(APIError) -> AccountState {
        guard let grantType, grantType == "client_credential" else { throw APIError(40002) }
        guard let appID, !appID.isEmpty else { throw APIError(41002) }
        guard let account = accounts[appID] else { throw APIError(40013) }
        guard let secret, !secret.isEmpty else { throw APIError(41004) }
        guard secret == account.config.secret else { throw APIError(40125) }
        return account
    }

    func issueToken(_ account: AccountState, now: Date) -> TokenRecord {
        var value: String
        repeat {
            value = "\(80 + rng.next() % 10)_" + rng.token(133)
        } while tokens[value] != nil
        let record = TokenRecord(value: value, appID: account.appID,
                                 expiresAt: now.addingTimeInterval(fixture.windows.tokenTTL.seconds), invalidAfter: nil)
        tokens[value] = record
        pruneTokens(now: now)
        return record
    }

    /// Forgets tokens that expired long ago, so a long run does not grow without bound.
    private func pruneTokens(now: Date) {
        guard tokens.count > 4096 else { return }
        let horizon = now.addingTimeInterval(-86_400)
        tokens = tokens.filter { $0.value.expiresAt > horizon }
    }

    func tokenResponse(_ record: TokenRecord, now: Date) -> SandboxResponse {
        var writer = JSONWriter()
        writer.add("access_token", record.value)
        writer.add("expires_in", max(0, Int(record.expiresAt.timeIntervalSince(now).rounded(.down))))
        return .json(writer.text)
    }

    /// Checks `?access_token=`: 41001 missing, 40001 unknown (a garbage token gets WeChat's
    /// common answer, not 40014), superseded or revoked, 42001 expired.
    func authenticate(_ token: String?, now: Date) throws(APIError) -> AccountState {
        guard let token, !token.isEmpty else { throw APIError(41001) }
        guard let record = tokens[token], let account = accounts[record.appID] else { throw APIError(40001) }
        if let end = record.invalidAfter, now >= end { throw APIError(40001) }
        if now >= record.expiresAt { throw APIError(42001) }
        return account
    }
}
