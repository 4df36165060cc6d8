import Foundation
import PipelineCore
import Testing
import WeChatSandbox

@Suite("Fixture: YAML format and the default fixture")
struct FixtureTests {
    @Test func defaultFixtureIsRealistic() throws {
        let fixture = SandboxFixture.default
        #expect(fixture.timeScale == 10)
        #expect(fixture.limitsEnabled)
        let main = try #require(fixture.accounts.first { $0.name == "brand-main" })
        #expect(main.appID == "wx8a3f2c71d905be46")
        #expect(main.kind == .service && main.verified)
        #expect(main.followers.count == 5000)
        #expect(Set(main.followers).count == 5000)
        #expect(main.followers.allSatisfy { $0.count == 28 && $0.hasPrefix("o4WmZ0") })
        #expect(main.callback?.mode == .safe)
        let tags = Dictionary(uniqueKeysWithValues: main.tags.map { ($0.id, $0) })
        #expect(tags[100]?.name == "vip" && tags[101]?.name == "beijing" && tags[102]?.name == "shanghai")
        let beijing = try #require(tags[101]).members.count
        #expect((1300...1700).contains(beijing))
        // The example audience file's OpenIDs follow the account and are VIPs.
        let here = URL(fileURLWithPath: #filePath)
        let audience = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("audiences/vip-openids.txt")
        let vips = try String(contentsOf: audience, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(vips.count == 20)
        let vipMembers = Set(try #require(tags[100]).members)
        #expect(vips.allSatisfy { vipMembers.contains($0) && main.followers.contains($0) })
        let news = try #require(fixture.accounts.first { $0.name == "brand-news" })
        #expect(news.kind == .subscription && news.verified)
        let trial = try #require(fixture.accounts.first { $0.name == "brand-trial" })
        #expect(trial.kind == .subscription && !trial.verified)
    }

    @Test func embeddedDefaultIsTheResourceFile() throws {
        let here = URL(fileURLWithPath: #filePath)
        let resource = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/WeChatSandbox/Resources/default-fixture.yaml")
        let text = try String(contentsOf: resource, encoding: .utf8)
        // The file is embedded by SwiftPM (`.embedInCode`); the text keeps 0.1's bytes (its
        // digest is a rehearsal's identity): the file without its final line break.
        #expect(Array(text.utf8) == Array((SandboxFixture.defaultYAML + "\n").utf8))
    }

    @Test func followersAreDeterministic() throws {
        let yaml = """
        accounts:
          a:
            appid: wx1
            secret: s
            followers: { count: 300, seed: 42 }
            tags: [{ id: 7, name: seven, fraction: 0.5 }]
        """
        let one = try SandboxFixture.load(yaml: yaml, file: "a.yaml")
        let two = try SandboxFixture.load(yaml: yaml, file: "a.yaml")
        #expect(one.accounts[0].followers == two.accounts[0].followers)
        #expect(one.accounts[0].tags[0].members == two.accounts[0].tags[0].members)
        let other = try SandboxFixture.load(yaml: yaml.replacingOccurrences(of: "seed: 42", with: "seed: 43"), file: "a.yaml")
        #expect(other.accounts[0].followers != one.accounts[0].followers)
        // Defaults: service, verified, generated prefix and original id.
        let account = one.accounts[0]
        #expect(account.kind == .service && account.verified)
        #expect(account.originalID.hasPrefix("gh_") && account.originalID.count == 15)
        #expect(account.followers.allSatisfy { $0.hasPrefix(account.openIDPrefix) && $0.count == 28 })
    }

    @Test func fullFormatIsRead() throws {
        let yaml = """
        seed: 9
        time_scale: 60
        limits: off
        dedupe_keyless: true
        windows: { token_ttl: 10m, token_overlap: 30s, clientmsgid_window: 1h, clientmsgid_retry_window: 2s, media_ttl: 1d, rate_window: 10s }
        quotas: { mass_calls_per_minute: off, sends_per_day: 5, force_refresh_spacing: off }
        jobs: { review: 1s, push_delay: 500ms, push_timeout: 2s, push_tries: 2, push_retry_interval: 1s, error_rate: 0.5 }
        payload: { text_max_bytes: 10 }
        accounts:
          a:
            appid: wx1
            secret: s
            kind: subscription
            verified: false
            original_id: gh_123
            openid_prefix: oAAAAA
            speed: 2
            callback: { url: "https://example.test/cb", token: t, aes_key: lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4 }
            followers: [oAAAAA0000000000000000000001, oAAAAA0000000000000000000002]
        faults:
          seed: 4
          rules:
            - { on: /cgi-bin/message/mass/sendall, reset: after, next: 1 }
            - { on: "message/mass/*", latency: 1s, rate: 0.5, limit: 3 }
            - { on: push, delay: 5m }
            - { on: job, err: 20001, skip: 2 }
        """
        let f = try SandboxFixture.load(yaml: yaml, file: "full.yaml")
        #expect(f.seed == 9 && f.timeScale == 60 && !f.limitsEnabled && f.dedupeKeyless)
        #expect(f.windows.tokenTTL == .seconds(600) && f.windows.clientMsgIDRetryWindow == .seconds(2))
        #expect(f.windows.rateWindow == .seconds(10))
        #expect(f.quotas.massCallsPerMinute == nil && f.quotas.sendsPerDay == 5 && f.quotas.forceRefreshSpacing == nil)
        #expect(f.quotas.toAllPerMonth == 4)
        #expect(f.jobs.pushDelay == .milliseconds(500) && f.jobs.pushTries == 2 && f.jobs.errorRate == 0.5)
        #expect(f.payload.textMaxBytes == 10)
        let a = f.accounts[0]
        #expect(a.kind == .subscription && !a.verified && a.speed == 2 && a.originalID == "gh_123")
        #expect(a.callback?.mode == .safe)  // an aes_key without a mode means safe
        #expect(a.followers.count == 2)
        #expect(f.faultSeed == 4)
        #expect(f.faults.count == 4)
        #expect(f.faults[0] == SandboxFault(target: .endpoint("message/mass/sendall"), action: .reset, phase: .after,
                                            trigger: .schedule(skip: 0, count: 1)))
        #expect(f.faults[1].latency == .seconds(1) && f.faults[1].action == nil && f.faults[1].limit == 3)
        #expect(f.faults[1].trigger == .rate(0.5))
        #expect(f.faults[2].action == .delayPush(.seconds(300)))
        #expect(f.faults[3].action == .jobError(20001))
    }

    func issues(_ yaml: String) -> [SandboxFixtureError.Issue] {
        do {
            _ = try SandboxFixture.load(yaml: yaml, file: "bad.yaml")
            return []
        } catch {
            return error.issues
        }
    }

    @Test func errorsCarryFileLineAndColumn() {
        let found = issues("""
        time_scale: fast
        accounts:
          a:
            appid: wx1
            secret: s
            kindd: service
            followers: { count: -5 }
            callback: { url: "ftp://x", token: t }
        """)
        let text = found.map(\.description)
        #expect(text.contains { $0.hasPrefix("bad.yaml:1:13: error: time_scale must be a number") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:6:5: error: unknown key 'kindd'") && $0.contains("did you mean 'kind'") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:7:25: error: accounts.a.followers.count is -5; it must be an integer from 0 to") })
        #expect(text.contains { $0.hasPrefix("bad.yaml:8:22: error: 'ftp://x' is not valid for accounts.a.callback.url: an http or https URL") })
    }

    @Test func errorsAreDiagnosticsWithCodes() throws {
        let error = try #require(throws: SandboxFixtureError.self) {
            try SandboxFixture.load(yaml: """
            time_scale: fast
            accounts:
              a:
                appid: wx1
                secret: s
                kindd: service
                kind: club
                followers: { count: -5 }
            windows: { token_ttl: soon }
            """, file: "bad.yaml")
        }
        let codes = error.diagnostics.map { "\($0.location?.line ?? 0):\($0.code.rawValue)" }.sorted()
        #expect(codes == ["1:MC2002", "6:MC2001", "7:MC2009", "8:MC2008", "9:MC2010"])
        #expect(error.diagnostics.allSatisfy { $0.severity == .error })
        #expect(error.issues.map(\.message) == error.diagnostics.map { d in d.hint.map { "\(d.message); \($0)" } ?? d.message })
        #expect(error.issues.contains { $0.message == "unknown key 'kindd' in accounts.a; did you mean 'kind'?" })
        let syntax = try #require(throws: SandboxFixtureError.self) {
            try SandboxFixture.load(yaml: "accounts: [\n", file: "bad.yaml")
        }
        #expect(syntax.diagnostics.first?.code == .yamlSyntax)
    }

    @Test(arguments: [
        ("accounts: {}", "accounts is empty"),
        ("seed: 1", "the fixture is missing the required key 'accounts'"),
        ("accounts:\n  a: { secret: s }", "accounts.a is missing the required key 'appid'"),
        ("accounts:\n  a: { appid: wx1, secret: s }\n  b: { appid: wx1, secret: t }", "appid 'wx1' is used by another account too"),
        ("accounts:\n  a: { appid: wx1, secret: s, callback: { url: \"http://x/\", token: t, aes_key: short } }", "EncodingAESKey must be 43"),
        ("accounts:\n  a: { appid: wx1, secret: s, callback: { url: \"http://x/\", token: t, mode: safe } }", "needs an aes_key"),
        ("accounts:\n  a: { appid: wx1, secret: s, tags: [{ id: 1 }, { id: 1 }] }", "tag id 1 is used twice"),
        ("accounts:\n  a: { appid: wx1, secret: s, followers: [notanopenid] }", "is not an OpenID"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nfaults: [{ on: push, errcode: -1 }]", "does not apply to `on: push`"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nfaults: [{ on: job }]", "does nothing"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nfaults: [{ errcode: -1 }]", "faults[0] is missing the required key 'on'"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nfaults: [{ on: token, errcode: -1, http: 500 }]", "has one action"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nfaults: [{ on: token, errcode: -1, rate: 0.5, next: 2 }]", "either `rate` or `next`"),
        ("accounts:\n  a: { appid: wx1, secret: s }\nwindows: { token_ttl: soon }", "'soon' is not a duration (at windows.token_ttl)"),
        ("accounts:\n  a: { appid: wx1, secret: s }\naccounts: {}", "duplicate"),
        ("accounts: [\n", ""),
    ])
    func invalidFixturesAreRefused(yaml: String, message: String) {
        let found = issues(yaml)
        #expect(!found.isEmpty)
        #expect(found.contains { $0.message.localizedCaseInsensitiveContains(message) || message.isEmpty },
                "\(found.map(\.description))")
        #expect(found.allSatisfy { $0.location?.file == "bad.yaml" })
    }

    @Test func faultRulesFromJSON() throws {
        let one = try SandboxFixture.loadFaults(text: #"{"on":"message/mass/send","http":502,"when":"after"}"#, file: "body")
        #expect(one.rules == [SandboxFault(target: .endpoint("message/mass/send"), action: .httpStatus(502), phase: .after)])
        let many = try SandboxFixture.loadFaults(text: #"{"seed":5,"rules":[{"on":"push","duplicate":true},{"on":"job","fail":true,"rate":0.1}]}"#, file: "body")
        #expect(many.seed == 5 && many.rules.count == 2)
        let list = try SandboxFixture.loadFaults(text: #"[{"on":"*","errcode":-1,"rate":0.01}]"#, file: "body")
        #expect(list.rules.first?.trigger == .rate(0.01))
    }
}
