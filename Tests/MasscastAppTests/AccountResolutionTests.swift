import Foundation
import Logging
import MasscastApp
import PipelineCore
import PipelineYAML
import RunState
import Runner
import StateSQLite
import Testing
import WeChatSandbox

/// A folder with a masscast.yaml and pipelines, removed at the end.
struct Workspace {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mc-app-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("pipelines/deep"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent(".git"), withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ path: String, _ text: String) throws -> String {
        let url = root.appendingPathComponent(path)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    var environment: AppEnvironment { AppEnvironment(variables: [:], workingDirectory: root.path) }

    func remove() { try? FileManager.default.removeItem(at: root) }

    static let config = """
        version: 1
        project: mc-testproject0000000000
        state:
          path: .masscast/state.sqlite
        accounts:
          brand-main:
            app_id: wx8a3f2c71d905be46
            app_secret: ${{ secrets.BRAND_MAIN }}
            kind: service
            original_id: gh_5d1c0e8f7a93
            token_mode: classic
            pacing: { mass_calls_per_minute: 30, sends_per_day: 50, clientmsgid_retry_window: 90s }
          brand-news:
            app_id: wx1234567890abcdef
            app_secret: ${{ env.BRAND_NEWS_SECRET }}
            kind: subscription

        """

    static func pipeline(account: String) -> String {
        """
        version: 1
        name: notice
        account: \(account)
        inputs:
          app: { type: string, default: wx00000000000000aa }
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 101 }
              msgtype: text
              text: { content: hello }

        """
    }
}

@Suite("Account resolution")
struct AccountResolutionTests {
    func load(_ ws: Workspace, account: String) throws -> LoadedPipeline {
        let path = try ws.write("pipelines/deep/notice.yaml", Workspace.pipeline(account: account))
        return try ProjectFiles.loadPipeline(path, environment: ws.environment)
    }

    @Test func aNamedAccountComesFromTheConfigFoundUpward() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        try ws.write("masscast.yaml", Workspace.config)
        let loaded = try load(ws, account: "brand-main")
        let config = try #require(try ProjectFiles.loadConfig(explicit: nil, near: loaded.file))
        #expect(config.file.hasSuffix("/masscast.yaml"))
        let account = try AccountResolver.resolve(
            loaded.pipeline, in: .config(config), secrets: Secrets(["BRAND_MAIN": "the-app-secret"]),
            environment: ws.environment)
        #expect(account.name == "brand-main")
        #expect(account.appID == "wx8a3f2c71d905be46")
        #expect(account.secret.value == "the-app-secret")
        #expect(account.apiBase == Account.defaultAPIBase && account.api == Account.defaultAPIBase)
        #expect(account.endpoint == Account.defaultAPIBase)
        #expect(account.kind == .service && account.tokenMode == .classic && account.originalID == "gh_5d1c0e8f7a93")
        #expect(account.pacing == Pacing(massCallsPerMinute: 30, sendsPerDay: 50, clientMsgIDRetryWindow: .seconds(90)))
        #expect(account.account == config.account("brand-main")?.account)
    }

    @Test func aNamedAccountWithoutAConfigOrNotDefinedIsAnError() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let loaded = try load(ws, account: "brand-main")
        #expect(try ProjectFiles.loadConfig(explicit: nil, near: loaded.file) == nil)
        do {
            _ = try AccountResolver.resolve(loaded.pipeline, in: .config(nil), secrets: Secrets(), environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .account)
            #expect(error.message.hasPrefix("account brand-main: no masscast.yaml defines it (looked from "))
            #expect(error.message.hasSuffix("upward); pass --config FILE, or --sandbox to rehearse"))
        }
        try ws.write("masscast.yaml", Workspace.config)
        let other = try load(ws, account: "brand-other")
        let config = try ProjectFiles.loadConfig(explicit: nil, near: other.file)
        do {
            _ = try AccountResolver.resolve(other.pipeline, in: .config(config), secrets: Secrets(), environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("account brand-other is not defined in "))
            #expect(error.message.hasSuffix("(defined: brand-main, brand-news)"))
        }
    }

    @Test func aSecretThatIsNotSetIsNamed() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        try ws.write("masscast.yaml", Workspace.config)
        let loaded = try load(ws, account: "brand-news")
        let config = try ProjectFiles.loadConfig(explicit: nil, near: loaded.file)
        do {
            _ = try AccountResolver.resolve(loaded.pipeline, in: .config(config), secrets: Secrets(), environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "account brand-news app_secret: the environment variable BRAND_NEWS_SECRET is not set")
        }
        var environment = ws.environment
        environment.variables["BRAND_NEWS_SECRET"] = "news-secret"
        let account = try AccountResolver.resolve(loaded.pipeline, in: .config(config), secrets: Secrets(), environment: environment)
        #expect(account.kind == .subscription && account.tokenMode == .stable && account.pacing == Pacing())
    }

    @Test func anInlineAccountResolvesItsAppIDAndSecret() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let inline = """

              app_id: ${{ inputs.app }}
              app_secret: ${{ secrets.INLINE }}
              kind: subscription
              api_base: https://wechat.example.com/
            """
        let loaded = try load(ws, account: inline)
        let account = try AccountResolver.resolve(
            loaded.pipeline, in: .config(nil), secrets: Secrets(["INLINE": "inline-secret"]),
            inputs: ["app": .string("wx00000000000000aa")], environment: ws.environment)
        #expect(account.name == "inline" && account.appID == "wx00000000000000aa")
        #expect(account.secret.value == "inline-secret" && account.kind == .subscription)
        #expect(account.apiBase == "https://wechat.example.com" && account.api == "https://wechat.example.com")
    }

    @Test func aSandboxAccountComesFromTheFixtureWithItsIdentity() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let loaded = try load(ws, account: "brand-main")
        let fixture = SandboxFixture.default
        let account = try AccountResolver.resolve(
            loaded.pipeline, in: .sandbox(fixture, baseURL: "http://127.0.0.1:1234", fixtureDigest: "abc", instance: "i1"),
            secrets: Secrets(), environment: ws.environment)
        #expect(account.appID == "wx8a3f2c71d905be46" && account.secret.value == "sandbox-secret-brand-main-0001")
        #expect(account.apiBase == "http://127.0.0.1:1234")
        #expect(account.api == APIIdentity.sandbox(fixtureDigest: "abc"))
        #expect(account.endpoint == APIIdentity.sandboxInstance(fixtureDigest: "abc", instance: "i1"))
        #expect(account.pacing == fixture.pacing)
        #expect(account.pacing.clientMsgIDRetryWindow == fixture.windows.clientMsgIDRetryWindow)
        let missing = try load(ws, account: "nobody")
        do {
            _ = try AccountResolver.resolve(
                missing.pipeline, in: .sandbox(fixture, baseURL: "http://x", fixtureDigest: "abc", instance: "i1"),
                secrets: Secrets(), environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("the sandbox has no such account (its accounts: brand-main, "))
        }
    }

    @Test func aFixtureWithLimitsOffPacesWithoutLimits() {
        var fixture = SandboxFixture.default
        fixture.limitsEnabled = false
        #expect(fixture.pacing.massCallsPerMinute == 1_000_000 && fixture.pacing.sendsPerDay == 1_000_000)
        fixture.limitsEnabled = true
        fixture.quotas.massCallsPerMinute = 7
        fixture.quotas.sendsPerDay = nil
        #expect(fixture.pacing.massCallsPerMinute == 7 && fixture.pacing.sendsPerDay == 100)
    }
}

@Suite("Project files and state location")
struct ProjectFilesTests {
    @Test func aPipelineWithErrorsCarriesItsDiagnostics() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let path = try ws.write("pipelines/bad.yaml", "version: 1\nname: bad\nsteps: 3\n")
        do {
            _ = try ProjectFiles.loadPipeline(path, environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidPipeline)
            #expect(!error.diagnostics.isEmpty)
        }
        do {
            _ = try ProjectFiles.loadPipeline("pipelines/none.yaml", environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "no such pipeline file: \(ws.root.path)/pipelines/none.yaml")
            #expect(error.diagnostics.isEmpty)
        }
    }

    @Test func anExplicitConfigMustExistAndAConfigWithErrorsCarriesThem() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        do {
            _ = try ProjectFiles.loadConfig(explicit: "/nonexistent/masscast.yaml", near: ws.root.path + "/p.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "no config file /nonexistent/masscast.yaml")
        }
        try ws.write("masscast.yaml", "version: 1\naccounts: 7\n")
        do {
            _ = try ProjectFiles.loadConfig(explicit: nil, environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidConfig && !error.diagnostics.isEmpty)
        }
    }

    @Test func theStatePathIsLocatedAndPostgresURLsAreRead() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        try ws.write("masscast.yaml", Workspace.config)
        let config = try ProjectFiles.loadConfig(explicit: nil, environment: ws.environment)
        #expect(try StateLocation.path(explicit: "x.sqlite", config: config, environment: ws.environment) == "x.sqlite")
        #expect(
            try StateLocation.path(explicit: nil, config: config, environment: ws.environment)
                == ws.root.path + "/.masscast/state.sqlite")
        #expect(try StateLocation.path(explicit: nil, config: nil, environment: ws.environment) == ".masscast/state.sqlite")
        // A PostgreSQL URL from --state or MASSCAST_STATE_URL (which wins over masscast.yaml).
        var withURL = ws.environment
        withURL.variables["MASSCAST_STATE_URL"] = "postgres://ops:from-env@db/masscast"
        let flag = try StateLocation.resolve(explicit: "postgres://ops@db/x", config: config, environment: ws.environment)
        #expect(flag.description == "postgres://ops@db:5432/x?sslmode=require")
        let fromEnvironment = try StateLocation.resolve(explicit: nil, config: config, environment: withURL)
        guard case .postgres(let location) = fromEnvironment else {
            Issue.record("expected a PostgreSQL location, got \(fromEnvironment)")
            return
        }
        #expect(location.password == "from-env" && !fromEnvironment.description.contains("from-env"))
        #expect(try StateLocation.path(explicit: nil, config: config, environment: withURL) == nil)
        // A password on the command line is refused, with the way out.
        do {
            _ = try StateLocation.resolve(explicit: "postgres://ops:pw-on-cli@db/x", config: config, environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .stateStore && error.message.contains("--state: the URL carries a password"))
            #expect(error.message.contains("PGPASSWORD") && !error.message.contains("pw-on-cli"))
        }
        do {
            _ = try StateLocation.open(
                explicit: ws.root.path + "/missing.sqlite", config: nil, mustExist: true, environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("no state file at \(ws.root.path)/missing.sqlite (--state): nothing has run with it."))
        }
    }

    @Test func resumeArgumentsRepeatWhatWasGiven() {
        #expect(SessionSettings().resumeArguments == [])
        #expect(
            SessionSettings(state: "s.sqlite", config: "c.yaml", secrets: "s.env").resumeArguments
                == ["--state", "s.sqlite", "--config", "c.yaml", "--secrets", "s.env"])
    }
}

@Suite("Account redaction")
struct AccountRedactionTests {
    @Test func runnerAndSandboxAccountsNeverShowSecrets() {
        let settings = AccountSettings(name: "brand-main", appID: "wx8a3f2c71d905be46", secret: "app-secret-value-1")
        let fixtureAccount = SandboxFixture.Account(
            name: "brand-main", appID: "wx8a3f2c71d905be46", secret: "sandbox-secret-value-2",
            callback: SandboxFixture.Callback(url: "http://x", token: "callback-token-value-3", mode: .plain))
        for subject in [settings as Any, fixtureAccount as Any] {
            var dumped = ""
            dump(subject, to: &dumped)
            for text in ["\(subject)", String(reflecting: subject), dumped] {
                for secret in ["app-secret-value-1", "sandbox-secret-value-2", "callback-token-value-3"] {
                    #expect(!text.contains(secret), "\(text)")
                }
                #expect(text.contains("brand-main"))
            }
        }
    }

    @Test func oneAccountTypeUnderEveryLayer() {
        let account = Account(name: "a", appID: "wx0000000000000001", kind: .subscription, apiBase: "https://x/")
        #expect(account.apiBase == "https://x")
        #expect(account.description == "account a (wx0000000000000001 at https://x)")
        let settings = AccountSettings(account, secret: "s")
        #expect(settings.account == account && settings.kind == .subscription)
        var changed = settings
        changed.pacing.sendsPerDay = 3
        #expect(changed.account.pacing.sendsPerDay == 3)
    }

    @Test func pacingDaysStartAtMidnightChinaTime() {
        let pacing = Pacing()
        // 2026-01-01 15:59:59 UTC is 23:59:59 in UTC+8; its day started 2025-12-31 16:00 UTC.
        let date = Date(timeIntervalSince1970: 1_767_283_199)
        #expect(pacing.startOfDay(containing: date) == Date(timeIntervalSince1970: 1_767_196_800))
        #expect(pacing.startOfDay(containing: date.addingTimeInterval(1)) == Date(timeIntervalSince1970: 1_767_283_200))
    }
}

@Suite("Run sessions")
struct RunSessionTests {
    @Test("a --sandbox session rehearses in process: the fixture's account, a temporary store removed by close()")
    func rehearsal() async throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let path = try ws.write("pipelines/deep/notice.yaml", Workspace.pipeline(account: "brand-main"))
        let scrubbed = ScrubList()
        let session = try await RunSession.prepare(RunRequest(pipeline: path, sandbox: true), environment: ws.environment) {
            scrub in
            scrubbed.set(scrub)
            return SessionLogging(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        }
        #expect(session.temporaryStore && session.rehearsal != nil)
        #expect(session.account.appID == "wx8a3f2c71d905be46")
        #expect(APIIdentity.isSandbox(session.account.api))
        #expect(scrubbed.values.contains("sandbox-secret-brand-main-0001"))
        let result = await session.run()
        guard case .succeeded(let runID) = result else {
            Issue.record("\(result)")
            await session.close()
            return
        }
        let report = try #require(try await session.report(runID: runID))
        #expect(report.run.sandbox && report.sends.count == 1 && report.sends.first?.state == "sent")
        let storeFolder = try #require(session.store.localFolder)
        await session.close()
        #expect(!FileManager.default.fileExists(atPath: storeFolder))
    }

    @Test("resume of a run that is not in the store is a setup error naming the store")
    func resumeUnknownRun() async throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let state = ws.root.appendingPathComponent("state.sqlite").path
        _ = try SQLiteStateStore(path: state)
        do {
            _ = try await RunSession.prepare(
                RunRequest(resuming: "r-none", settings: SessionSettings(state: state)), environment: ws.environment
            ) { _ in SessionLogging(logger: Logger(label: "test")) }
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .run)
            #expect(error.message.hasPrefix("no run r-none in \(state)"))
        }
    }
}

/// The secrets a session asked to scrub.
final class ScrubList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func set(_ values: [String]) { lock.withLock { list = values } }
    var values: [String] { lock.withLock { list } }
}
