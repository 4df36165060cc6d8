import Foundation
import Testing
@testable import WeChatSandbox

@Suite("Engine: access tokens")
struct EngineTokenTests {
    let speedGet = "/cgi-bin/message/mass/speed/get"

    @Test func classicTokenIsNewEachCallAndThePreviousOneLastsTheOverlap() async throws {
        let h = try EngineHarness()
        let first = await h.classicToken()
        #expect(first.count > 100)
        #expect(await h.post(speedGet, token: first, "{}").errcode == 0)
        h.clock.advance(by: .seconds(60))
        let second = await h.classicToken()
        #expect(second != first)
        // Both work inside the 5-minute overlap.
        h.clock.advance(by: .seconds(299))
        #expect(await h.post(speedGet, token: first, "{}").errcode == 0)
        #expect(await h.post(speedGet, token: second, "{}").errcode == 0)
        // Then the old one is "not latest".
        h.clock.advance(by: .seconds(1))
        #expect(await h.post(speedGet, token: first, "{}").errcode == 40001)
        #expect(await h.post(speedGet, token: second, "{}").errcode == 0)
    }

    @Test func tokenAnswerHasExpiresIn() async throws {
        let h = try EngineHarness()
        let account = h.account("svc")
        let reply = await h.get("/cgi-bin/token", ["grant_type": "client_credential", "appid": account.appID,
                                                   "secret": account.secret])
        #expect(reply.int("expires_in") == 7200)
        #expect(reply.json["errcode"] == nil)
    }

    @Test func expiredTokenIs42001() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        h.clock.advance(by: .seconds(7199))
        #expect(await h.post(speedGet, token: token, "{}").errcode == 0)
        h.clock.advance(by: .seconds(1))
        #expect(await h.post(speedGet, token: token, "{}").errcode == 42001)
    }

    @Test func missingAndUnknownTokens() async throws {
        let h = try EngineHarness()
        #expect(await h.post(speedGet, token: nil, "{}").errcode == 41001)
        #expect(await h.post(speedGet, token: "", "{}").errcode == 41001)
        #expect(await h.post(speedGet, token: "85_notatoken", "{}").errcode == 40001)
    }

    @Test(arguments: [
        (["grant_type": "client_credential", "appid": "wx_nobody", "secret": "x"], 40013),
        (["grant_type": "client_credential", "appid": "wx00000000000000a1", "secret": "wrong"], 40125),
        (["grant_type": "client_credential", "appid": "wx00000000000000a1"], 41004),
        (["grant_type": "client_credential", "secret": "secret-svc"], 41002),
        (["grant_type": "password", "appid": "wx00000000000000a1", "secret": "secret-svc"], 40002),
    ])
    func credentialErrors(query: [String: String], errcode: Int) async throws {
        let h = try EngineHarness()
        let reply = await h.get("/cgi-bin/token", query)
        #expect(reply.errcode == errcode)
        #expect(reply.errmsg.contains(" rid: "))
    }

    @Test("credentials in a form body are read as a query is: percent escapes decoded, an invalid one kept, an empty value given")
    func formBodyCredentials() async throws {
        let h = try EngineHarness()
        func token(_ form: String, query: [String: String] = [:]) async -> EngineReply {
            EngineReply(await h.engine.handle(SandboxRequest(
                method: "POST", path: "/cgi-bin/token", query: query,
                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data(form.utf8))))
        }
        let account = h.account("svc")
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=\(account.secret)").int("expires_in") == 7200)
        // `secret-svc` with its hyphen percent-encoded, in either hex case.
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=secret%2Dsvc").int("expires_in") == 7200)
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=secret%2dsvc").int("expires_in") == 7200)
        // An invalid escape is kept as written (so the secret is wrong), `+` is not a space.
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=secret%G1svc").errcode == 40125)
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=secret+svc").errcode == 40125)
        // An empty or bare `secret` in the form is a missing secret, even when the query has one.
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret=").errcode == 41004)
        #expect(await token("grant_type=client_credential&appid=\(account.appID)&secret",
                            query: ["secret": account.secret]).errcode == 41004)
        // A form field replaces the query parameter of the same name; the others come from the query.
        #expect(await token("appid=\(account.appID)&secret=\(account.secret)",
                            query: ["grant_type": "client_credential"]).int("expires_in") == 7200)
    }

    @Test func stableTokenIsTheSameWhileValidAndRotatesEarly() async throws {
        let h = try EngineHarness()
        let first = await h.stableToken()
        let token = try #require(first.string("access_token"))
        #expect(first.int("expires_in") == 7200)
        h.clock.advance(by: .seconds(3600))
        let again = await h.stableToken()
        #expect(again.string("access_token") == token)
        #expect(again.int("expires_in") == 3600)
        // Within the last 5 minutes a new token comes; the old one still works until it expires.
        h.clock.advance(by: .seconds(3600 - 299))
        let rotated = try #require(await h.stableToken().string("access_token"))
        #expect(rotated != token)
        #expect(await h.post(speedGet, token: token, "{}").errcode == 0)
        h.clock.advance(by: .seconds(299))
        #expect(await h.post(speedGet, token: token, "{}").errcode == 42001)
        #expect(await h.post(speedGet, token: rotated, "{}").errcode == 0)
    }

    @Test func stableAndClassicTokensAreIndependent() async throws {
        let h = try EngineHarness()
        let stable = try #require(await h.stableToken().string("access_token"))
        _ = await h.classicToken()
        h.clock.advance(by: .seconds(400))
        _ = await h.classicToken()
        #expect(await h.post(speedGet, token: stable, "{}").errcode == 0)
    }

    @Test func forceRefreshInvalidatesTheOldTokenAtOnce() async throws {
        let h = try EngineHarness()
        let old = try #require(await h.stableToken().string("access_token"))
        let forced = try #require(await h.stableToken(force: true).string("access_token"))
        #expect(forced != old)
        #expect(await h.post(speedGet, token: old, "{}").errcode == 40001)
        #expect(await h.post(speedGet, token: forced, "{}").errcode == 0)
        // Without force, the new one is handed back.
        #expect(await h.stableToken().string("access_token") == forced)
    }

    @Test func forceRefreshIsLimitedTo30SecondsApartAnd20ADay() async throws {
        let h = try EngineHarness()
        #expect(await h.stableToken(force: true).errcode == 0)
        h.clock.advance(by: .seconds(29))
        let tooSoon = await h.stableToken(force: true)
        #expect(tooSoon.errcode == 45009)
        #expect(tooSoon.errmsg.contains("30 s"))
        h.clock.advance(by: .seconds(1))
        #expect(await h.stableToken(force: true).errcode == 0)
        for _ in 3...20 {
            h.clock.advance(by: .seconds(31))
            #expect(await h.stableToken(force: true).errcode == 0)
        }
        h.clock.advance(by: .seconds(31))
        #expect(await h.stableToken(force: true).errcode == 45009)
        // The quota renews the next day (China Standard Time).
        h.clock.advance(by: .seconds(86_400))
        #expect(await h.stableToken(force: true).errcode == 0)
    }

    @Test func limitsOffLiftsTheForceRefreshLimits() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "limits: off"))
        for _ in 0..<25 {
            #expect(await h.stableToken(force: true).errcode == 0)
        }
    }

    @Test func stableTokenChecksCredentialsAndBody() async throws {
        let h = try EngineHarness()
        let wrongSecret = await h.post("/cgi-bin/stable_token", token: nil,
                                       #"{"grant_type":"client_credential","appid":"wx00000000000000a1","secret":"nope"}"#)
        #expect(wrongSecret.errcode == 40125)
        let badAppID = await h.post("/cgi-bin/stable_token", token: nil,
                                    #"{"grant_type":"client_credential","appid":"wx404","secret":"nope"}"#)
        #expect(badAppID.errcode == 40013)
        #expect(await h.post("/cgi-bin/stable_token", token: nil, "not json").errcode == 47001)
        #expect(await h.post("/cgi-bin/stable_token", token: nil, "").errcode == 44002)
    }

    @Test func tokenDailyQuota() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "quotas: { token_calls_per_day: 3 }"))
        for _ in 0..<3 { #expect(await h.classicToken() != "missing") }
        let account = h.account("svc")
        let reply = await h.get("/cgi-bin/token", ["grant_type": "client_credential", "appid": account.appID,
                                                   "secret": account.secret])
        #expect(reply.errcode == 45009)
    }

    @Test func accessTokenConvenienceGivesAWorkingToken() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        #expect(await h.post(speedGet, token: token, "{}").errcode == 0)
        #expect(await h.engine.accessToken(appID: "wx404") == nil)
    }
}
