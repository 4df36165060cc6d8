import Foundation
import PipelineCore
import RunState
import WeChatMP

/// The account a run talks to: the ``Account`` (from masscast.yaml, the pipeline's inline
/// mapping or a sandbox fixture) with its secret resolved and the identities the state store
/// keys it by. The account's fields read through it (`settings.appID`, `settings.pacing`).
///
/// `description`, `debugDescription` and the reflection mirror never show the secret.
@dynamicMemberLookup
public struct AccountSettings: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The account; its `name` is the one the pipeline uses (`brand-main`), or `inline`.
    public var account: Account
    /// The app secret; printed nowhere.
    public var secret: Secret
    /// The API identity the state store keys this account's journal, quota counts and
    /// broadcasts by (`APIIdentity`): `apiBase` for a real account, `sandbox:<fixture digest>`
    /// for a rehearsal.
    public var api: String
    /// The identity of the server instance calls go to, which keys pushes and tokens: `api`
    /// for a real account, `sandbox:<fixture digest>/<instance>` for a rehearsal (every
    /// sandbox numbers msg_ids from 1000000001, so two instances must never share pushes).
    public var endpoint: String

    /// The account with its secret; `api` and `endpoint` are its `apiBase`.
    public init(_ account: Account, secret: String) {
        self.account = account
        self.secret = Secret(secret)
        self.api = account.apiBase
        self.endpoint = account.apiBase
    }

    /// An account built field by field (see ``Account``).
    public init(
        name: String, appID: String, secret: String, apiBase: String = Account.defaultAPIBase,
        kind: AccountKind = .service, originalID: String? = nil, tokenMode: TokenMode = .stable,
        pacing: Pacing = Pacing()
    ) {
        self.init(
            Account(
                name: name, appID: appID, kind: kind, apiBase: apiBase, originalID: originalID, tokenMode: tokenMode,
                pacing: pacing),
            secret: secret)
    }

    /// A field of the account (`name`, `appID`, `kind`, `apiBase`, `originalID`, `tokenMode`, `pacing`).
    public subscript<T>(dynamicMember field: WritableKeyPath<Account, T>) -> T {
        get { account[keyPath: field] }
        set { account[keyPath: field] = newValue }
    }

    /// Marks the account as a rehearsal's: its API identity is the fixture's digest and its
    /// endpoint the running sandbox instance.
    public mutating func rehearse(fixtureDigest: String, instance: String) {
        api = APIIdentity.sandbox(fixtureDigest: fixtureDigest)
        endpoint = APIIdentity.sandboxInstance(fixtureDigest: fixtureDigest, instance: instance)
    }

    /// `account brand-main (wx… at https://…, secret [redacted])`.
    public var description: String { "account \(account.name) (\(account.appID) at \(account.apiBase), secret [redacted])" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror without the secret, so `dump` shows none.
    public var customMirror: Mirror {
        Mirror(self, children: ["account": account, "api": api, "endpoint": endpoint, "secret": "[redacted]"],
               displayStyle: .struct)
    }
}
