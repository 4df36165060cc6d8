/// The project config `masscast.yaml`: the accounts pipelines name, where run state is
/// kept, and the callback settings. Read by `ProjectConfigDecoder` from a located tree.
///
/// Secrets are never held here: every secret field is the text of an expression over
/// `env.` or `secrets.` (`${{ env.BRAND_MAIN_APP_SECRET }}`), evaluated when a run needs it.
public struct ProjectConfig: Sendable {
    /// The config file, as diagnostics name it.
    public var file: String
    /// `version`: 1.
    public var version: Int
    /// `project:`: the id that keeps this repository's clientmsgids and broadcasts apart from
    /// any other's (`masscast init` writes a random one); `nil` when absent or invalid.
    public var project: String?
    /// The accounts by name. Every entry with a valid name is here, even when its fields
    /// had errors (they were reported at the config): the name is still defined.
    public var accounts: [String: ConfigAccount]
    /// The account names in the order the file lists them.
    public var accountOrder: [String]
    /// Where `accounts:` was written (its key), or the document start when it is absent.
    public var accountsLocation: SourceLocation
    /// `state:`, when present.
    public var state: StateSettings?
    /// `callback:`, when present.
    public var callback: CallbackSettings?
    /// `approvals:`, when present.
    public var approvals: ApprovalSettings?
    /// `paths.allow`: folders outside the repository that pipelines may read files from.
    public var allowedDirectories: [AllowedDirectory] = []

    /// Creates a config; `accountOrder` defaults to the names sorted.
    public init(
        file: String, version: Int = 1, accounts: [String: ConfigAccount] = [:], accountOrder: [String]? = nil,
        accountsLocation: SourceLocation? = nil, state: StateSettings? = nil, callback: CallbackSettings? = nil
    ) {
        self.file = file
        self.version = version
        self.accounts = accounts
        self.accountOrder = accountOrder ?? accounts.keys.sorted()
        self.accountsLocation = accountsLocation ?? SourceLocation(file: file, line: 1, column: 1)
        self.state = state
        self.callback = callback
    }

    /// The accounts in file order.
    public var orderedAccounts: [ConfigAccount] { accountOrder.compactMap { accounts[$0] } }

    /// The callback settings that apply to `account`: its own `callback:`, else the
    /// project-wide one (when that names no `app_id`, or names the account's), else `nil`.
    public func callbackSettings(for account: ConfigAccount) -> CallbackSettings? {
        if let own = account.callback { return own }
        guard let shared = callback, shared.token != nil else { return nil }
        if let appID = shared.appID, appID != account.appID { return nil }
        return shared
    }

    /// The environment variables the config's secret fields name (`app_secret`, callback
    /// `token`, `aes_key`, `previous_aes_key`, `state.url`, `state.password_env`): a step's `with` may
    /// not read them.
    public var secretEnvironmentNames: Set<String> {
        var texts: [String?] = [state?.url]
        for settings in [callback] + orderedAccounts.map(\.callback) {
            texts += [settings?.token, settings?.aesKey, settings?.previousAESKey]
        }
        texts += orderedAccounts.map(\.appSecret)
        var names = Set(texts.compactMap(SecretReference.environmentName))
        if let passwordEnv = state?.passwordEnv { names.insert(passwordEnv) }
        return names
    }

    /// The account called `name`, if the config defines it.
    public func account(_ name: String) -> ConfigAccount? { accounts[name] }

    /// `state.path` resolved against the config file's folder (an absolute path stays as it is);
    /// `nil` when the config names no state file.
    public var resolvedStatePath: String? {
        guard let path = state?.path else { return nil }
        if path.hasPrefix("/") { return path }
        guard let slash = file.lastIndex(of: "/") else { return path }
        return String(file[...slash]) + path
    }

    /// `path` resolved against the config file's folder (an absolute path stays as it is).
    public func resolved(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let slash = file.lastIndex(of: "/") else { return path }
        return String(file[...slash]) + path
    }

    /// The config file's name without its folders (`masscast.yaml`), for messages.
    public var fileName: String {
        file.lastIndex(of: "/").map { String(file[file.index(after: $0)...]) } ?? file
    }
}

/// One account under `accounts:`: the ``Account`` and what the config says besides (the
/// secret's expression, where things were written, its own callback settings). The
/// account's fields read through it (`configAccount.appID`).
@dynamicMemberLookup
public struct ConfigAccount: Sendable {
    /// The account. `apiBase` is ``Account/defaultAPIBase`` and `tokenMode` `stable` when not written.
    public var account: Account
    /// The expression the secret comes from, exactly as written (`${{ env.BRAND_MAIN_APP_SECRET }}`
    /// or `${{ secrets.BRAND_MAIN }}`); empty when what was written was refused (a literal is
    /// never kept).
    public var appSecret: String
    /// Where the account's name was written.
    public var location: SourceLocation
    /// Where `app_secret`'s value was written (for errors such as an unset variable).
    public var appSecretLocation: SourceLocation
    /// `callback:` of the account: its own push token and keys (expressions), which take the
    /// place of the project-wide `callback:` for this account; `nil` when not written.
    public var callback: CallbackSettings?

    /// WeChat's API base URL, used when an account names none.
    public static let defaultAPIBase = Account.defaultAPIBase

    /// Creates an account.
    public init(
        _ account: Account, appSecret: String, location: SourceLocation, appSecretLocation: SourceLocation? = nil,
        callback: CallbackSettings? = nil
    ) {
        self.account = account
        self.appSecret = appSecret
        self.location = location
        self.appSecretLocation = appSecretLocation ?? location
        self.callback = callback
    }

    /// A field of the account (`name`, `appID`, `kind`, `apiBase`, `originalID`, `tokenMode`, `pacing`).
    public subscript<T>(dynamicMember field: WritableKeyPath<Account, T>) -> T {
        get { account[keyPath: field] }
        set { account[keyPath: field] = newValue }
    }
}

/// `state:`: where run state is kept (at most one of `path` and `url`; neither: the default
/// file) and how long a broadcast's lease lasts.
public struct StateSettings: Sendable {
    /// A SQLite file, relative to the config file (see `ProjectConfig.resolvedStatePath`).
    public var path: String?
    /// A `postgres://` URL without a password, or an expression over `env.`/`secrets.` that
    /// gives one (then this is the expression's text).
    public var url: String?
    /// The environment variable that holds the PostgreSQL password (`password_env`), when
    /// not `PGPASSWORD`.
    public var passwordEnv: String?
    /// `lease_ttl`: how long a broadcast's lease lasts without renewal (within
    /// ``LeaseTTL/range``), when set.
    public var leaseTTL: Duration?
    /// Where `state:` was written.
    public var location: SourceLocation?

    /// Creates state settings.
    public init(
        path: String? = nil, url: String? = nil, passwordEnv: String? = nil, leaseTTL: Duration? = nil,
        location: SourceLocation? = nil
    ) {
        self.path = path
        self.url = url
        self.passwordEnv = passwordEnv
        self.leaseTTL = leaseTTL
        self.location = location
    }
}

/// A broadcast lease's time to live: `state.lease_ttl` of masscast.yaml or `--lease-ttl` of
/// `apply`, `run` and `resume` (the flag wins). The holder renews it every third of it and
/// starts no new send past two thirds of it since the last renewal.
public enum LeaseTTL {
    /// What a lease lasts when nothing says otherwise: 5 minutes.
    public static let standard: Duration = .seconds(300)
    /// The shortest and longest accepted.
    public static let range: ClosedRange<Duration> = .seconds(2) ... .seconds(3600)

    /// Why `ttl` is not accepted (for `what`, the key or flag that gave it), or `nil`.
    public static func problem(_ ttl: Duration, what: String) -> (message: String, hint: String)? {
        if ttl < range.lowerBound {
            return ("\(what) is \(DurationText.format(ttl)); a lease must last at least 2s",
                    "a lease is renewed every third of its ttl: write 2s or more (30s is a good short one)")
        }
        if ttl > range.upperBound {
            return ("\(what) is \(DurationText.format(ttl)); a lease may last at most 1h",
                    "a long ttl delays a takeover after a crash by as much: write 1h or less")
        }
        return nil
    }

    /// `--lease-ttl TEXT`: the duration, or the diagnostic (MC2003 not a duration, MC2008 out of range).
    public static func parseFlag(_ text: String) -> Parsed {
        guard let d = DurationText.parse(text) else {
            return .invalid(.error(.badValue, "--lease-ttl '\(text)' is not a duration", at: nil,
                                   hint: "write a duration such as 30s, 5m or 1h"))
        }
        if let problem = problem(d, what: "--lease-ttl") {
            return .invalid(.error(.outOfRange, problem.message, at: nil, hint: problem.hint))
        }
        return .ttl(d)
    }

    /// What `parseFlag` read.
    public enum Parsed: Sendable {
        case ttl(Duration)
        case invalid(Diagnostic)
    }

    /// The seconds of a duration.
    public static func seconds(_ ttl: Duration) -> Double {
        Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
    }
}

/// `callback:`: how pushes from WeChat are verified and decrypted. Each secret is the text of
/// an expression over `env.` or `secrets.`, never the value.
///
/// Written at the top level it serves every account without its own `callback:`; when its
/// `app_id` is set, only the account with that AppID. Written under an account it serves
/// that account (its `appID` is then `nil`: the account's AppID applies).
public struct CallbackSettings: Sendable {
    /// The token pushes are signed with.
    public var token: String?
    /// The EncodingAESKey (safe and compatible modes).
    public var aesKey: String?
    /// The previous EncodingAESKey, tried when the current one does not decrypt (key rotation).
    public var previousAESKey: String?
    /// The AppID the decrypted messages must carry.
    public var appID: String?
    /// Where `callback:` was written.
    public var location: SourceLocation?

    /// Creates callback settings.
    public init(
        token: String? = nil, aesKey: String? = nil, previousAESKey: String? = nil, appID: String? = nil,
        location: SourceLocation? = nil
    ) {
        self.token = token
        self.aesKey = aesKey
        self.previousAESKey = previousAESKey
        self.appID = appID
        self.location = location
    }
}

/// `approvals:` of masscast.yaml: which sends `masscast apply` refuses without approvals.
public struct ApprovalSettings: Sendable, Hashable {
    /// Approvals a send to ALL followers needs (0: none).
    public var toAll: Int
    /// An OpenID audience larger than this needs approvals (`nil`: no limit).
    public var overRecipients: Int?

    public init(toAll: Int = 0, overRecipients: Int? = nil) {
        self.toAll = toAll
        self.overRecipients = overRecipients
    }

    /// Approvals needed for a broadcast that sends to all followers (or not), to an OpenID
    /// audience of `recipients` (its largest send step's, when known).
    public func required(toAll sendsToAll: Bool, recipients: Int?) -> Int {
        var needed = sendsToAll ? toAll : 0
        if let limit = overRecipients, let recipients, recipients > limit { needed = max(needed, max(1, toAll)) }
        return needed
    }
}

/// One entry of `paths.allow`: a folder outside the repository that the files a pipeline
/// names (`file`, `content_file`, `touser_file`) may resolve into, after symbolic links.
public struct AllowedDirectory: Sendable, Hashable {
    /// As written in the config.
    public var written: String
    /// Resolved against the config file's folder (symbolic links not resolved here).
    public var path: String
    /// Where it was written.
    public var location: SourceLocation

    /// Creates an entry.
    public init(written: String, path: String, location: SourceLocation) {
        self.written = written
        self.path = path
        self.location = location
    }
}
