import Foundation
import PipelineCore
import Runner
import WeChatSandbox

/// Where a run's account is looked up and what it calls.
public enum AccountSource: Sendable {
    /// The real API: a named account from the project config, or the pipeline's inline
    /// mapping, at its `api_base`.
    case config(ProjectConfig?)
    /// A rehearsal: the fixture's account (by name, or by the inline `app_id`), called at
    /// `baseURL`, and keyed by the fixture's API identity (`sandbox:<digest>`) and this
    /// sandbox instance.
    case sandbox(SandboxFixture, baseURL: String, fixtureDigest: String, instance: String)
    /// A sandbox standing in for the real API at `baseURL` (the runner's tests): the
    /// fixture's account (by name, or by the inline `app_id`), keyed by `baseURL` as a real
    /// account is, so that a run sees what it would see against WeChat, without the rules
    /// that keep a rehearsal apart.
    case standIn(SandboxFixture, baseURL: String)
}

/// Turns a pipeline's `account:` into the ``AccountSettings`` a run uses: the one way
/// `run`, `resume` and the tests resolve an account, for the real API and for a rehearsal.
public enum AccountResolver {
    /// The account of `pipeline` in `source`, with its secret resolved.
    /// - Parameters:
    ///   - secrets: the values of `secrets.NAME`.
    ///   - inputs: the run's inputs (an inline `app_id` may name them).
    public static func resolve(
        _ pipeline: Pipeline, in source: AccountSource, secrets: Secrets, inputs: [String: Value] = [:],
        environment: AppEnvironment
    ) throws(SetupError) -> AccountSettings {
        switch source {
        case .config(let config):
            switch pipeline.account {
            case .named(let located):
                let name = located.value
                guard let config else {
                    throw SetupError(
                        .account,
                        "account \(name): no masscast.yaml defines it (looked from \((pipeline.file as NSString).deletingLastPathComponent) upward); pass --config FILE, or --sandbox to rehearse"
                    )
                }
                guard let a = config.account(name) else {
                    let names = config.orderedAccounts.map(\.name).joined(separator: ", ")
                    throw SetupError(.account, "account \(name) is not defined in \(config.file) (defined: \(names))")
                }
                let secret = try secrets.resolve(a.appSecret, what: "account \(name) app_secret", environment: environment)
                return AccountSettings(a.account, secret: secret)
            case .inline(let inline):
                var account = inline.account
                account.appID = try secrets.resolveAppID(inline.appID, inputs: inputs, environment: environment)
                let secret = try secrets.resolve(inline.appSecret, what: "account app_secret", environment: environment)
                return AccountSettings(account, secret: secret)
            }
        case .sandbox(let fixture, let baseURL, let fixtureDigest, let instance):
            let fixtureAccount = try account(of: pipeline, in: fixture, secrets: secrets, inputs: inputs, environment: environment)
            return rehearsal(
                fixtureAccount, of: fixture, baseURL: baseURL, fixtureDigest: fixtureDigest, instance: instance)
        case .standIn(let fixture, let baseURL):
            let fixtureAccount = try account(of: pipeline, in: fixture, secrets: secrets, inputs: inputs, environment: environment)
            return standIn(fixtureAccount, of: fixture, baseURL: baseURL)
        }
    }

    /// The fixture's account the pipeline names, or whose AppID its inline mapping gives.
    static func account(
        of pipeline: Pipeline, in fixture: SandboxFixture, secrets: Secrets, inputs: [String: Value],
        environment: AppEnvironment
    ) throws(SetupError) -> SandboxFixture.Account {
        let match: SandboxFixture.Account?
        switch pipeline.account {
        case .named(let located):
            match = fixture.accounts.first { $0.name == located.value }
        case .inline(let inline):
            let appID = try secrets.resolveAppID(inline.appID, inputs: inputs, environment: environment)
            match = fixture.accounts.first { $0.appID == appID }
        }
        guard let match else {
            let names = fixture.accounts.map(\.name).joined(separator: ", ")
            throw SetupError(
                .account,
                "the sandbox has no such account (its accounts: \(names)); name one of them, or pass --fixture with yours"
            )
        }
        return match
    }

    /// A sandbox fixture's account at `baseURL` as if it were the real API's (``AccountSource/standIn(_:baseURL:)``):
    /// at the fixture's pacing, keyed by `baseURL`.
    public static func standIn(_ fixtureAccount: SandboxFixture.Account, of fixture: SandboxFixture, baseURL: String)
        -> AccountSettings
    {
        var account = fixtureAccount.account
        account.apiBase = baseURL
        account.pacing = fixture.pacing
        return AccountSettings(account, secret: fixtureAccount.secret)
    }

    /// A sandbox fixture's account as a rehearsal calls it: at `baseURL`, at the fixture's
    /// pacing, keyed by the fixture's API identity (`sandbox:<digest>`) and this instance.
    public static func rehearsal(
        _ fixtureAccount: SandboxFixture.Account, of fixture: SandboxFixture, baseURL: String, fixtureDigest: String,
        instance: String
    ) -> AccountSettings {
        var settings = standIn(fixtureAccount, of: fixture, baseURL: baseURL)
        settings.rehearse(fixtureDigest: fixtureDigest, instance: instance)
        return settings
    }
}
