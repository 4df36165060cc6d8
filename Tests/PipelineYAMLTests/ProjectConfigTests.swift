import Foundation
import PipelineCore
import PipelineYAML
import Testing

/// Loads config text as `masscast.yaml`.
private func loadConfig(_ text: String) -> (config: ProjectConfig?, diagnostics: [Diagnostic]) {
    ProjectConfigLoader().load(text: text, file: "masscast.yaml")
}

/// "code line:column" of each diagnostic, in file order.
private func found(_ text: String) -> [String] {
    loadConfig(text).diagnostics.map { d in
        "\(d.code.rawValue) \(d.location.map { "\($0.line):\($0.column)" } ?? "-")"
    }
}

/// A valid config whose `brand-main` account has `extra` lines appended (indented 4).
private func account(_ extra: String = "", secret: String = "${{ env.BRAND_MAIN_APP_SECRET }}") -> String {
    """
    version: 1
    accounts:
      brand-main:
        app_id: wx8a3f2c71d905be46
        app_secret: \(secret)
        kind: service
    \(extra)
    """
}

@Suite("Project config: masscast.yaml")
struct ProjectConfigTests {
    static let full = """
        version: 1
        accounts:
          brand-main:
            app_id: wx8a3f2c71d905be46
            app_secret: ${{ env.BRAND_MAIN_APP_SECRET }}
            kind: service
            original_id: gh_5d1c0e8f7a93
            api_base: https://api.weixin.qq.com
            token_mode: classic
            pacing: { mass_calls_per_minute: 30, sends_per_day: 50, clientmsgid_retry_window: 90s }
          brand-news:
            app_id: wx3e6b9d2f4a8c1705
            app_secret: ${{ secrets.BRAND_NEWS }}
            kind: subscription
        state: { path: .masscast/state.sqlite }
        callback: { token: "${{ env.WECHAT_CALLBACK_TOKEN }}", aes_key: "${{ env.WECHAT_AES_KEY }}", previous_aes_key: "${{ env.WECHAT_AES_KEY_PREVIOUS }}" }
        """

    @Test("a valid config decodes: accounts in order, overrides and defaults of pacing, state and callback")
    func decodesFull() throws {
        let (config, diagnostics) = ProjectConfigLoader().load(text: Self.full, file: "conf/masscast.yaml")
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let c = try #require(config)
        #expect(c.version == 1)
        #expect(c.accountOrder == ["brand-main", "brand-news"])
        #expect(c.orderedAccounts.map(\.name) == ["brand-main", "brand-news"])
        #expect(c.accountsLocation == SourceLocation(file: "conf/masscast.yaml", line: 2, column: 1))

        let main = try #require(c.account("brand-main"))
        #expect(main.appID == "wx8a3f2c71d905be46")
        #expect(main.appSecret == "${{ env.BRAND_MAIN_APP_SECRET }}")
        #expect(main.kind == .service)
        #expect(main.originalID == "gh_5d1c0e8f7a93")
        #expect(main.apiBase == "https://api.weixin.qq.com")
        #expect(main.tokenMode == .classic)
        #expect(main.pacing == Pacing(massCallsPerMinute: 30, sendsPerDay: 50, clientMsgIDRetryWindow: .seconds(90)))
        #expect(main.location == SourceLocation(file: "conf/masscast.yaml", line: 3, column: 3))
        #expect(main.appSecretLocation == SourceLocation(file: "conf/masscast.yaml", line: 5, column: 17))

        let news = try #require(c.account("brand-news"))
        #expect(news.kind == .subscription)
        #expect(news.appSecret == "${{ secrets.BRAND_NEWS }}")
        #expect(news.originalID == nil && news.apiBase == Account.defaultAPIBase && news.tokenMode == .stable)
        #expect(news.pacing == Pacing())
        #expect(news.pacing.massCallsPerMinute == 60 && news.pacing.sendsPerDay == 100)
        #expect(news.pacing.clientMsgIDRetryWindow == .seconds(60))

        #expect(c.state?.path == ".masscast/state.sqlite" && c.state?.url == nil)
        #expect(c.resolvedStatePath == "conf/.masscast/state.sqlite")
        #expect(c.callback?.token == "${{ env.WECHAT_CALLBACK_TOKEN }}")
        #expect(c.callback?.aesKey == "${{ env.WECHAT_AES_KEY }}")
        #expect(c.callback?.previousAESKey == "${{ env.WECHAT_AES_KEY_PREVIOUS }}")
        #expect(c.callback?.appID == nil)
        #expect(c.account("brand-mian") == nil)
    }

    @Test("a partial pacing keeps the other defaults; a state url, an absolute state path, a lease ttl alone")
    func partialPacing() throws {
        let c = try #require(loadConfig(account("    pacing: { sends_per_day: 8 }")).config)
        #expect(c.account("brand-main")?.pacing == Pacing(sendsPerDay: 8))
        let url = try #require(loadConfig("version: 1\nstate: { url: \"postgres://masscast@db.internal/masscast\" }").config)
        #expect(url.state?.url == "postgres://masscast@db.internal/masscast" && url.resolvedStatePath == nil)
        let env = try #require(loadConfig("version: 1\nstate:\n  url: ${{ env.DATABASE_URL }}").config)
        #expect(env.state?.url == "${{ env.DATABASE_URL }}")
        let absolute = try #require(loadConfig("version: 1\nstate: { path: /var/lib/masscast.sqlite }").config)
        #expect(absolute.resolvedStatePath == "/var/lib/masscast.sqlite")
        #expect(found("version: 1").isEmpty)
        // A lease ttl alone keeps the default store.
        let ttl = try #require(loadConfig("version: 1\nstate: { lease_ttl: 30s }").config)
        #expect(ttl.state?.leaseTTL == .seconds(30) && ttl.resolvedStatePath == nil && ttl.state?.url == nil)
        #expect(found("version: 1\nstate: { lease_ttl: 2s }").isEmpty && found("version: 1\nstate: { lease_ttl: 1h }").isEmpty)
    }

    /// One error case: config text, then the expected "code line:column" list.
    struct ErrorCase: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var expected: [String]
        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(name: "unknown top-level key", text: "version: 1\nacounts: {}", expected: ["MC2001 2:1"]),
        ErrorCase(name: "unknown account key", text: account("    colour: red"), expected: ["MC2001 7:5"]),
        ErrorCase(name: "unknown pacing key", text: account("    pacing: { burst: 3 }"), expected: ["MC2001 7:15"]),
        ErrorCase(name: "unknown state key", text: "version: 1\nstate: { path: a, mode: wal }", expected: ["MC2001 2:19"]),
        ErrorCase(name: "bad app_id", text: account().replacingOccurrences(of: "wx8a3f2c71d905be46", with: "wx8a3f2c71d905be4"),
                  expected: ["MC2022 4:13"]),
        ErrorCase(name: "app_id in upper case", text: account().replacingOccurrences(of: "wx8a3f2c71d905be46", with: "WX8A3F2C71D905BE46"),
                  expected: ["MC2022 4:13"]),
        ErrorCase(name: "app_id not a string", text: account().replacingOccurrences(of: "wx8a3f2c71d905be46", with: "12345"),
                  expected: ["MC2002 4:13"]),
        ErrorCase(name: "app_id as an expression", text: account().replacingOccurrences(of: "wx8a3f2c71d905be46", with: "${{ env.APP_ID }}"),
                  expected: ["MC2022 4:13"]),
        ErrorCase(name: "literal secret", text: account(secret: "9f8e7d6c5b4a39281706f5e4d3c2b1a0"), expected: ["MC2019 5:17"]),
        ErrorCase(name: "literal secret, an integer", text: account(secret: "12345678901234567890"), expected: ["MC2019 5:17"]),
        ErrorCase(name: "secret with text around the expression", text: account(secret: "${{ secrets.A }}-x"), expected: ["MC2019 5:17"]),
        ErrorCase(name: "secret through a function", text: account(secret: "${{ format('{0}', secrets.A) }}"), expected: ["MC2019 5:17"]),
        ErrorCase(name: "secret from an unknown context", text: account(secret: "${{ secret.A }}"), expected: ["MC3003 5:21"]),
        ErrorCase(name: "literal callback token", text: "version: 1\ncallback:\n  token: abc123", expected: ["MC2019 3:10"]),
        ErrorCase(name: "previous aes key without a current one", text: "version: 1\ncallback:\n  previous_aes_key: ${{ env.OLD }}",
                  expected: ["MC2003 3:3"]),
        ErrorCase(name: "bad callback app_id", text: "version: 1\ncallback: { app_id: wx1 }", expected: ["MC2022 2:21"]),
        ErrorCase(name: "literal account callback token", text: account("    callback:\n      token: abc123"),
                  expected: ["MC2019 8:14"]),
        ErrorCase(name: "literal account callback aes_key, flow style",
                  text: account("    callback: { token: \"${{ env.T }}\", aes_key: lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4 }"),
                  expected: ["MC2019 7:49"]),
        ErrorCase(name: "account callback secret with text around it", text: account("    callback:\n      token: ${{ env.T }}x"),
                  expected: ["MC2019 8:14"]),
        ErrorCase(name: "account callback without a token", text: account("    callback:\n      aes_key: ${{ env.K }}"),
                  expected: ["MC2003 8:7"]),
        ErrorCase(name: "account callback previous key without a current one",
                  text: account("    callback:\n      token: ${{ env.T }}\n      previous_aes_key: ${{ env.OLD }}"),
                  expected: ["MC2003 9:7"]),
        ErrorCase(name: "account callback with an app_id (the account's applies)",
                  text: account("    callback:\n      token: ${{ env.T }}\n      app_id: wx8a3f2c71d905be46"),
                  expected: ["MC2001 9:7"]),
        ErrorCase(name: "account callback not a mapping", text: account("    callback: abc"), expected: ["MC2002 7:15"]),
        ErrorCase(name: "account callback as an expression", text: account("    callback: ${{ env.T }}"),
                  expected: ["MC2022 7:15"]),
        ErrorCase(name: "pacing zero", text: account("    pacing: { mass_calls_per_minute: 0 }"), expected: ["MC2008 7:38"]),
        ErrorCase(name: "pacing negative", text: account("    pacing:\n      sends_per_day: -1"), expected: ["MC2008 8:22"]),
        ErrorCase(name: "pacing not an integer", text: account("    pacing: { sends_per_day: lots }"), expected: ["MC2002 7:30"]),
        ErrorCase(name: "pacing window not a duration", text: account("    pacing: { clientmsgid_retry_window: 60 }"),
                  expected: ["MC2002 7:41"]),
        ErrorCase(name: "pacing window without a known unit", text: account("    pacing: { clientmsgid_retry_window: 1w }"),
                  expected: ["MC2010 7:41"]),
        ErrorCase(name: "pacing window zero", text: account("    pacing: { clientmsgid_retry_window: 0s }"),
                  expected: ["MC2008 7:41"]),
        ErrorCase(name: "bad account name", text: account("  Brand Main:\n    app_id: wx3e6b9d2f4a8c1705\n    app_secret: ${{ env.X }}\n    kind: service"),
                  expected: ["MC2022 7:3"]),
        ErrorCase(name: "account name with a leading dash", text: account().replacingOccurrences(of: "brand-main:", with: "-brand:"),
                  expected: ["MC2022 3:3"]),
        ErrorCase(name: "bad kind", text: account().replacingOccurrences(of: "kind: service", with: "kind: servic"),
                  expected: ["MC2009 6:11"]),
        ErrorCase(name: "missing kind", text: account().replacingOccurrences(of: "\n    kind: service", with: ""),
                  expected: ["MC2003 4:5"]),
        ErrorCase(name: "bad token mode", text: account("    token_mode: fast"), expected: ["MC2009 7:17"]),
        ErrorCase(name: "bad original id", text: account("    original_id: gh_12"), expected: ["MC2022 7:18"]),
        ErrorCase(name: "original id without gh_", text: account("    original_id: 5d1c0e8f7a93"), expected: ["MC2022 7:18"]),
        ErrorCase(name: "bad api_base", text: account("    api_base: api.weixin.qq.com"), expected: ["MC2022 7:15"]),
        ErrorCase(name: "state with both path and url", text: "version: 1\nstate:\n  path: a.sqlite\n  url: postgres://h/db",
                  expected: ["MC2013 4:3"]),
        ErrorCase(name: "state with neither", text: "version: 1\nstate: {}", expected: ["MC2013 2:8"]),
        ErrorCase(name: "state lease_ttl under 2s", text: "version: 1\nstate: { lease_ttl: 1500ms }", expected: ["MC2008 2:21"]),
        ErrorCase(name: "state lease_ttl over 1h", text: "version: 1\nstate: { path: a.sqlite, lease_ttl: 61m }",
                  expected: ["MC2008 2:37"]),
        ErrorCase(name: "state lease_ttl not a duration", text: "version: 1\nstate: { lease_ttl: 30 }", expected: ["MC2002 2:21"]),
        ErrorCase(name: "state url with a password", text: "version: 1\nstate: { url: \"postgres://u:pw@h/db\" }",
                  expected: ["MC2019 2:15"]),
        ErrorCase(name: "state url of another scheme", text: "version: 1\nstate: { url: \"mysql://h/db\" }",
                  expected: ["MC2022 2:15"]),
        ErrorCase(name: "version 2", text: "version: 2", expected: ["MC2007 1:10"]),
        ErrorCase(name: "version missing", text: "accounts: {}", expected: ["MC2003 1:1"]),
        ErrorCase(name: "accounts as a list", text: "version: 1\naccounts: [brand-main]", expected: ["MC2002 2:11"]),
        ErrorCase(name: "duplicate account", text: account() + "\n  brand-main:\n    app_id: wx3e6b9d2f4a8c1705\n    app_secret: ${{ env.X }}\n    kind: service",
                  expected: ["MC1002 8:3"]),
        ErrorCase(name: "not a mapping", text: "- brand-main", expected: ["MC2002 1:1"]),
        ErrorCase(name: "anchors refused", text: "version: 1\naccounts:\n  a: &x { app_id: wx8a3f2c71d905be46, app_secret: \"${{ env.A }}\", kind: service }\n  b: *x",
                  expected: ["MC1003 3:6", "MC1003 4:6"]),
    ]

    @Test("an account's own callback: decoded as expressions, and it takes the place of the project-wide one")
    func accountCallback() throws {
        let text = """
            version: 1
            accounts:
              brand-main:
                app_id: wx8a3f2c71d905be46
                app_secret: ${{ env.A }}
                kind: service
                original_id: gh_5d1c0e8f7a93
                callback:
                  token: ${{ env.MAIN_TOKEN }}
                  aes_key: ${{ secrets.MAIN_AES }}
                  previous_aes_key: ${{ env.MAIN_AES_OLD }}
              brand-news:
                app_id: wx3e6b9d2f4a8c1705
                app_secret: ${{ env.B }}
                kind: subscription
                original_id: gh_2b7e4f9a0c61
              brand-extra:
                app_id: wx0123456789abcdef
                app_secret: ${{ env.C }}
                kind: service
            callback: { token: "${{ env.SHARED_TOKEN }}", app_id: wx3e6b9d2f4a8c1705 }
            """
        let (config, diagnostics) = loadConfig(text)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let c = try #require(config)
        let main = try #require(c.account("brand-main"))
        #expect(main.callback?.token == "${{ env.MAIN_TOKEN }}")
        #expect(main.callback?.aesKey == "${{ secrets.MAIN_AES }}")
        #expect(main.callback?.previousAESKey == "${{ env.MAIN_AES_OLD }}")
        #expect(main.callback?.appID == nil)
        #expect(c.callbackSettings(for: main)?.token == "${{ env.MAIN_TOKEN }}")
        // The project-wide callback names brand-news's AppID: it serves brand-news only.
        let news = try #require(c.account("brand-news"))
        #expect(news.callback == nil)
        #expect(c.callbackSettings(for: news)?.token == "${{ env.SHARED_TOKEN }}")
        #expect(c.callbackSettings(for: try #require(c.account("brand-extra"))) == nil)
        // Without an app_id, the project-wide callback serves every account without its own.
        let shared = try #require(loadConfig(account() + "\ncallback: { token: \"${{ env.T }}\" }").config)
        #expect(shared.callbackSettings(for: try #require(shared.account("brand-main")))?.token == "${{ env.T }}")
        let none = try #require(loadConfig(account()).config)
        #expect(none.callbackSettings(for: try #require(none.account("brand-main"))) == nil)
    }

    @Test("a literal account callback secret is never quoted")
    func accountCallbackSecretNotQuoted() throws {
        let literal = "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4"
        let (config, diagnostics) = loadConfig(account("    callback:\n      token: ${{ env.T }}\n      aes_key: \(literal)"))
        let d = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(d.code == .literalSecret && d.redactsSource)
        #expect(d.message.contains("accounts.brand-main.callback.aes_key"))
        #expect(!d.message.contains(literal) && !(d.hint ?? "").contains(literal))
        let main = try #require(config?.account("brand-main"))
        #expect(main.callback?.token == "${{ env.T }}" && main.callback?.aesKey == nil)
    }

    @Test("each error has its code at its line and column, and nothing else is reported", arguments: errorCases)
    func errors(_ c: ErrorCase) {
        #expect(found(c.text) == c.expected)
    }

    @Test("messages name the place, and did-you-mean for near misses")
    func messages() throws {
        let unknown = try #require(loadConfig("version: 1\nacounts: {}").diagnostics.first)
        #expect(unknown.message == "unknown key 'acounts' in masscast.yaml")
        #expect(unknown.hint == "did you mean 'accounts'?")
        let nested = try #require(loadConfig(account("    pacing: { sends_per_dai: 3 }")).diagnostics.first)
        #expect(nested.message == "unknown key 'sends_per_dai' in accounts.brand-main.pacing")
        #expect(nested.hint == "did you mean 'sends_per_day'?")
        let name = try #require(loadConfig(account().replacingOccurrences(of: "brand-main:", with: "Brand_Main:")).diagnostics.first)
        #expect(name.hint == "try 'brand_main'")
    }

    @Test("a literal secret is never quoted: the message names the field, the snippet is cut")
    func secretNotQuoted() throws {
        let d = try #require(loadConfig(account(secret: "9f8e7d6c5b4a39281706f5e4d3c2b1a0")).diagnostics.first)
        #expect(d.code == .literalSecret && d.redactsSource)
        #expect(!d.message.contains("9f8e7d") && !(d.hint ?? "").contains("9f8e7d"))
        #expect(d.message.contains("accounts.brand-main.app_secret"))
        let config = try #require(loadConfig(account(secret: "9f8e7d6c5b4a39281706f5e4d3c2b1a0")).config)
        #expect(config.account("brand-main")?.appSecret == "")
    }

    @Test("a URL's password is masked in snippets")
    func urlPasswordMasked() {
        #expect(ConfigSpec.maskingURLPasswords("state: { url: \"postgres://u:pw@h/db\" }")
            == "state: { url: \"postgres://u:<redacted>@h/db\" }")
        #expect(ConfigSpec.maskingURLPasswords("  url: postgres://h/db?sslmode=require&password=x1&a=b")
            == "  url: postgres://h/db?sslmode=require&password=<redacted>&a=b")
        #expect(ConfigSpec.maskingURLPasswords("  url: postgres://masscast@h/db") == "  url: postgres://masscast@h/db")
        #expect(ConfigSpec.maskingURLPasswords("api_base: https://api.weixin.qq.com") == "api_base: https://api.weixin.qq.com")
    }

    @Test("an account with errors still defines its name; a malformed name defines nothing")
    func partialAccounts() throws {
        let text = account().replacingOccurrences(of: "kind: service", with: "kind: servic")
            + "\n  Bad Name:\n    app_id: wx3e6b9d2f4a8c1705\n    app_secret: ${{ env.X }}\n    kind: service"
        let (config, diagnostics) = loadConfig(text)
        #expect(diagnostics.count == 2)
        #expect(try #require(config).accountOrder == ["brand-main"])
    }

    @Test("the same YAML rules as pipelines: duplicate keys are reported with a note at the first")
    func duplicateKeys() throws {
        let d = try #require(loadConfig("version: 1\nversion: 1").diagnostics.first)
        #expect(d.code == .duplicateKey)
        #expect(d.location?.line == 2 && d.note?.location?.line == 1)
    }
}

@Suite("Project config: discovery")
struct ProjectConfigDiscoveryTests {
    /// A fresh folder tree under the temporary folder; removed by the caller.
    func tree(_ paths: [String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-discover-\(UUID().uuidString)")
        for path in paths {
            let url = root.appendingPathComponent(path)
            if path.hasSuffix("/") {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            } else {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try "version: 1\n".write(to: url, atomically: true, encoding: .utf8)
            }
        }
        return root
    }

    @Test("walks up from the folder to the repository root")
    func walksUp() throws {
        let root = try tree(["repo/.git/", "repo/masscast.yaml", "repo/pipelines/nested/"])
        defer { try? FileManager.default.removeItem(at: root) }
        let expected = root.appendingPathComponent("repo/masscast.yaml").path
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("repo/pipelines/nested").path) == expected)
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("repo").path) == expected)
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("repo/pipelines/nested/../.").path) == expected)
    }

    @Test("the nearest config wins")
    func nearest() throws {
        let root = try tree(["repo/.git/", "repo/masscast.yaml", "repo/team/masscast.yaml", "repo/team/pipelines/"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("repo/team/pipelines").path)
            == root.appendingPathComponent("repo/team/masscast.yaml").path)
    }

    @Test("stops after the folder holding .git (a folder or a worktree's file); a folder named masscast.yaml is not a config")
    func stopsAtRepositoryRoot() throws {
        let root = try tree(["masscast.yaml", "repo/.git/", "repo/pipelines/", "worktree/.git", "worktree/p/", "odd/.git/", "odd/masscast.yaml/"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("repo/pipelines").path) == nil)
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("worktree/p").path) == nil)
        #expect(ProjectConfigLoader.discover(startingAt: root.appendingPathComponent("odd").path) == nil)
        #expect(ProjectConfigLoader.discover(startingAt: root.path) == root.appendingPathComponent("masscast.yaml").path)
    }

    @Test("this repository's masscast.yaml is found from pipelines/, is valid, and matches the sandbox's default fixture")
    func repositoryConfig() throws {
        let path = try #require(ProjectConfigLoader.discover(startingAt: Repo.pipelines.path))
        #expect(URL(fileURLWithPath: path).standardizedFileURL == Repo.root.appendingPathComponent("masscast.yaml").standardizedFileURL)
        let (config, diagnostics) = ProjectConfigLoader().load(path: path)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
        let c = try #require(config)
        #expect(c.accountOrder == ["brand-main", "brand-news"])
        let main = try #require(c.account("brand-main")), news = try #require(c.account("brand-news"))
        #expect(main.appID == "wx8a3f2c71d905be46" && main.kind == .service && main.originalID == "gh_5d1c0e8f7a93")
        #expect(main.appSecret == "${{ env.BRAND_MAIN_APP_SECRET }}")
        #expect(news.appID == "wx3e6b9d2f4a8c1705" && news.kind == .subscription && news.originalID == "gh_2b7e4f9a0c61")
        #expect(news.appSecret == "${{ env.BRAND_NEWS_APP_SECRET }}")
    }
}

@Suite("Project config: pipelines name defined accounts")
struct ProjectConfigAccountCheckTests {
    static let config = loadConfig(ProjectConfigTests.full).config!

    func pipelineNaming(_ account: String) -> Pipeline {
        PipelineLoader().load(text: """
            version: 1
            name: demo
            account: \(account)
            steps:
              - { id: s, uses: mass/speed }
            """, file: "pipelines/demo.yaml").pipeline!
    }

    @Test("an undefined name is an error at the name, listing the defined ones, with did-you-mean and a note")
    func undefined() throws {
        let diagnostics = Self.config.checkAccount(of: pipelineNaming("brand-mian"))
        let d = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(d.code == .undefinedAccount && d.code.rawValue == "MC2026" && d.severity == .error)
        #expect(d.location == SourceLocation(file: "pipelines/demo.yaml", line: 3, column: 10))
        #expect(d.message == "account 'brand-mian' is not defined in masscast.yaml (defined: brand-main, brand-news)")
        #expect(d.hint == "did you mean 'brand-main'?")
        #expect(d.note?.location == SourceLocation(file: "masscast.yaml", line: 2, column: 1))
    }

    @Test("a name far from every defined one gets a hint to define it")
    func farName() throws {
        let d = try #require(Self.config.checkAccount(of: pipelineNaming("marketing")).first)
        #expect(d.hint == "add 'marketing' under accounts: in masscast.yaml")
        let empty = try #require(loadConfig("version: 1").config)
        let none = try #require(empty.checkAccount(of: pipelineNaming("brand-main")).first)
        #expect(none.message == "account 'brand-main' is not defined in masscast.yaml (it defines no accounts)")
    }

    @Test("defined names, inline accounts, and names already reported as malformed pass")
    func passes() {
        #expect(Self.config.checkAccount(of: pipelineNaming("brand-main")).isEmpty)
        #expect(Self.config.checkAccount(of: pipelineNaming("brand-news")).isEmpty)
        #expect(Self.config.checkAccount(of: pipelineNaming("{ app_id: wx0123456789abcdef, app_secret: \"${{ secrets.A }}\" }")).isEmpty)
        #expect(Self.config.checkAccount(of: pipelineNaming("Brand Main")).isEmpty)  // MC2022 from the pipeline itself
    }

    @Test("every example pipeline names an account of the repository's masscast.yaml")
    func examples() throws {
        let config = try #require(ProjectConfigLoader().load(path: Repo.root.appendingPathComponent("masscast.yaml").path).config)
        for url in Repo.files(in: Repo.pipelines) {
            let p = try #require(PipelineLoader().load(path: url.path).pipeline)
            #expect(config.checkAccount(of: p).isEmpty, "\(url.lastPathComponent)")
        }
    }

    @Test("an inline app_secret with text around its expression is refused like a literal (MC2019)")
    func inlineSecretAround() {
        let inline = { (secret: String) in
            "version: 1\nname: x\naccount:\n  app_id: wx0123456789abcdef\n  app_secret: \(secret)\nsteps:\n  - { id: s, uses: mass/speed }"
        }
        #expect(codes(inline("${{ secrets.A }}-x")) == ["MC2019"])
        #expect(codes(inline("${{ format('{0}', secrets.A) }}")) == ["MC2019"])
        #expect(codes(inline("${{ secrets.A }}")).isEmpty)
    }

    @Test("paths.allow: folders resolved against masscast.yaml's folder, each with its location; shape errors located")
    func allowedDirectories() throws {
        let text = "version: 1\naccounts: {}\npaths:\n  allow: [/srv/media, ../shared, assets/]\n"
        let loaded = ProjectConfigLoader().load(text: text, file: "/repo/conf/masscast.yaml")
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        let dirs = try #require(loaded.config).allowedDirectories
        #expect(dirs.map(\.path) == ["/srv/media", "/repo/conf/../shared", "/repo/conf/assets/"])
        #expect(dirs.map(\.written) == ["/srv/media", "../shared", "assets/"])
        #expect(dirs.map { "\($0.location.line):\($0.location.column)" } == ["4:11", "4:23", "4:34"])
        #expect(found("version: 1\naccounts: {}\npaths:\n  allow: []\n").count == 1)
        #expect(found("version: 1\naccounts: {}\npaths:\n  alow: [/srv]\n").first?.hasPrefix("MC2001 4:3") == true)
        #expect(found("version: 1\naccounts: {}\npaths:\n  allow: /srv\n").count == 1)
    }
}
