import CallbackServer
import Foundation
import PipelineCore
import RunState
import Runner
import StateSQLite
import WeChatMP
import WeChatSandbox

/// A rehearsal's sandbox: started in this process with the fixture (default or a file), and
/// an in-process listener that stores the sandbox's pushes (signed, AES-encrypted in safe
/// mode) in the run's state store, as in production, under this sandbox instance's identity
/// (another instance's pushes are never read).
public struct Rehearsal: Sendable {
    /// The running sandbox.
    public let sandbox: RunningSandbox
    /// The in-process listener, when the account has a callback in the fixture.
    public let listener: RunningListener?
    /// The fixture.
    public let fixture: SandboxFixture
    /// SHA-256 of the fixture's YAML: its API identity is `sandbox:` + this.
    public let fixtureDigest: String
    /// The callback token and key of the account, for a log scrubber.
    public let scrub: [String]

    /// The fixture at `path` (the built-in one when `nil`) and its YAML text.
    public static func loadFixture(_ path: String?) throws(SetupError) -> (fixture: SandboxFixture, text: String) {
        guard let path else { return (SandboxFixture.default, SandboxFixture.defaultYAML) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SetupError(.sandbox, "cannot read the fixture \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return (try SandboxFixture.load(yaml: text, file: path), text)
        } catch {
            throw SetupError(.sandbox, "\(error)")
        }
    }

    /// Starts the sandbox, resolves the pipeline's account in it (see ``AccountResolver``),
    /// and starts the listener its pushes go to.
    public static func start(
        fixturePath: String?, pipeline: Pipeline, store: any StateStore, secrets: Secrets,
        inputs: [String: Value], environment: AppEnvironment
    ) async throws(SetupError) -> (Rehearsal, AccountSettings) {
        let (fixture, fixtureText) = try loadFixture(fixturePath)
        let fixtureDigest = Idempotency.digest(fixtureText)
        let engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
        let running: RunningSandbox
        do {
            running = try await RunningSandbox.start(engine: engine)
        } catch {
            throw SetupError(.sandbox, "the sandbox did not start: \(error)")
        }
        let account: AccountSettings
        do {
            account = try AccountResolver.resolve(
                pipeline,
                in: .sandbox(
                    fixture, baseURL: running.baseURL, fixtureDigest: fixtureDigest,
                    instance: UUID().uuidString.lowercased()),
                secrets: secrets, inputs: inputs, environment: environment)
        } catch {
            await running.stop()
            throw error
        }
        var scrub: [String] = []
        var listener: RunningListener?
        if let fixtureAccount = fixture.accounts.first(where: { $0.appID == account.appID }),
            let callback = fixtureAccount.callback
        {
            scrub += [callback.token] + (callback.encodingAESKey.map { [$0] } ?? [])
            let listenerAccount = ListenerAccount(
                fixtureAccount.account, token: callback.token,
                aesKey: callback.mode == .plain ? nil : callback.encodingAESKey, api: account.endpoint)
            do {
                let started = try await RunningListener.start(
                    configuration: ListenerConfiguration(accounts: [listenerAccount]), store: store)
                listener = started
                _ = await engine.setCallback(account: fixtureAccount.name, url: started.callbackURL(account: fixtureAccount.name))
            } catch {
                await running.stop()
                throw SetupError(.listener, "the in-process listener did not start: \(error)")
            }
        }
        let rehearsal = Rehearsal(
            sandbox: running, listener: listener, fixture: fixture, fixtureDigest: fixtureDigest, scrub: scrub)
        return (rehearsal, account)
    }

    /// Stops the sandbox and the listener.
    public func stop() async {
        await sandbox.stop()
        await listener?.stop()
    }
}
