import Foundation
import Logging
import MasscastApp
import PipelineCore
import RunState
import Runner
import StateSQLite
import Testing
import WeChatSandbox

/// The preparation path the runner's tests share with `masscast run`: a sandbox standing in
/// for the real API, and a session wired to a transport and store given by the caller.
@Suite("Session wiring")
struct SessionWiringTests {
    static let noLogs = SessionLogging(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))

    @Test("a stand-in sandbox's account is the fixture's, keyed by the sandbox's URL as a real account is")
    func standInAccount() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let path = try ws.write("pipelines/deep/notice.yaml", Workspace.pipeline(account: "brand-news"))
        let loaded = try ProjectFiles.loadPipeline(path, environment: ws.environment)
        let fixture = SandboxFixture.default
        let account = try AccountResolver.resolve(
            loaded.pipeline, in: .standIn(fixture, baseURL: "http://127.0.0.1:1234"), secrets: Secrets(),
            environment: ws.environment)
        let fixtureAccount = try #require(fixture.accounts.first { $0.name == "brand-news" })
        #expect(account.name == "brand-news" && account.appID == fixtureAccount.appID)
        #expect(account.secret.value == fixtureAccount.secret && account.kind == fixtureAccount.kind)
        #expect(account.apiBase == "http://127.0.0.1:1234")
        #expect(account.api == "http://127.0.0.1:1234" && account.endpoint == "http://127.0.0.1:1234")
        #expect(!APIIdentity.isSandbox(account.api))
        #expect(account.pacing == fixture.pacing)
        // The same account as a rehearsal's differs only in its identities.
        let rehearsal = AccountResolver.rehearsal(
            fixtureAccount, of: fixture, baseURL: "http://127.0.0.1:1234", fixtureDigest: "abc", instance: "i1")
        #expect(rehearsal.account == account.account)
        #expect(rehearsal.api == APIIdentity.sandbox(fixtureDigest: "abc"))
        let missing = try ws.write("pipelines/deep/nobody.yaml", Workspace.pipeline(account: "nobody"))
        do {
            _ = try AccountResolver.resolve(
                try ProjectFiles.loadPipeline(missing, environment: ws.environment).pipeline,
                in: .standIn(fixture, baseURL: "http://x"), secrets: Secrets(), environment: ws.environment)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .account)
            #expect(error.message.hasPrefix("the sandbox has no such account (its accounts: brand-main, "))
        }
    }

    @Test("a session prepared in process runs through the given transport on the given store, options as configured")
    func inProcessSession() async throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let path = try ws.write("pipelines/deep/notice.yaml", Workspace.pipeline(account: "brand-main"))
        let engine = SandboxEngine(fixture: SandboxFixture.default)
        let store = try SQLiteStateStore(path: ws.root.appendingPathComponent("given.sqlite").path)
        let configured = Flag()
        let session = try RunSession.prepare(
            RunRequest(pipeline: path, sandbox: true), account: .standIn(.default, baseURL: InProcessTransport.baseURL),
            environment: ws.environment,
            wiring: SessionWiring(transport: InProcessTransport(engine: engine), store: store),
            configure: { options in
                #expect(options.sandbox && !options.enforceSchedule, "the request's options come first")
                options.concurrency = 1
                configured.set()
            },
            logging: { _ in Self.noLogs })
        #expect(configured.value)
        #expect(session.store === store && !session.temporaryStore && session.rehearsal == nil)
        #expect(session.account.api == InProcessTransport.baseURL)
        let result = await session.run()
        #expect(result.exitCode == 0, "\(result)")
        #expect(await engine.sends().count == 1, "sent through the in-process transport")
        let runID = try #require(result.runID)
        #expect(try await store.run(runID)?.sandbox == true, "recorded in the given store")
        await session.close()
        #expect(FileManager.default.fileExists(atPath: store.path), "a given store is not the session's to remove")
    }

    @Test("the journal store given is the one the run writes to; the session keeps the open store for reports")
    func journalStore() async throws {
        let ws = try Workspace()
        defer { ws.remove() }
        let path = try ws.write("pipelines/deep/notice.yaml", Workspace.pipeline(account: "brand-main"))
        let engine = SandboxEngine(fixture: SandboxFixture.default)
        let store = try SQLiteStateStore(path: ws.root.appendingPathComponent("given.sqlite").path)
        let journal = try SQLiteStateStore(path: ws.root.appendingPathComponent("journal.sqlite").path)
        let session = try RunSession.prepare(
            RunRequest(pipeline: path, sandbox: true), account: .standIn(.default, baseURL: InProcessTransport.baseURL),
            environment: ws.environment,
            wiring: SessionWiring(transport: InProcessTransport(engine: engine), store: store, journal: journal),
            logging: { _ in Self.noLogs })
        #expect(session.store === store)
        let runID = try #require(await session.run().runID)
        #expect(try await journal.run(runID) != nil)
        #expect(try await store.run(runID) == nil)
    }

    @Test("a resume cannot be prepared without starting what it needs: a setup error")
    func noInProcessResume() throws {
        let ws = try Workspace()
        defer { ws.remove() }
        do {
            _ = try RunSession.prepare(
                RunRequest(resuming: "r1"), account: .standIn(.default, baseURL: "http://x"), environment: ws.environment,
                logging: { _ in Self.noLogs })
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .run)
        }
    }
}

/// Set once, read after.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var set_ = false
    func set() { lock.withLock { set_ = true } }
    var value: Bool { lock.withLock { set_ } }
}
