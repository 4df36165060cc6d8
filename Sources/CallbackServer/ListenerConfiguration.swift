import PipelineCore
import WeChatPush

/// One Official Account the listener receives pushes for: the ``PipelineCore/Account`` (name,
/// AppID, original id) and its callback secrets. The account's fields read through it
/// (`listenerAccount.appID`).
///
/// `description`, `debugDescription` and the reflection mirror (used by `dump` and string
/// interpolation) show the name, the AppID, the original id and the mode, never the token
/// or a key.
@dynamicMemberLookup
public struct ListenerAccount: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The account. Its name is the last segment of its callback path
    /// (`/wechat/callback/brand-main`) and the name in logs (letters, digits, `-` and `_`); its
    /// AppID is what an encrypted push must end with.
    public var account: Account
    /// The callback token (服务器配置 → Token).
    public var token: String
    /// The current EncodingAESKey (43 characters) in safe and compatible modes; `nil` in plain mode.
    public var aesKey: String?
    /// The EncodingAESKey before the last rotation, tried when the current one does not fit.
    public var previousAESKey: String?
    /// The API identity the account's pushes are stored under (`RunState.APIIdentity`): its
    /// api_base (default WeChat's), or the sandbox instance that pushes to an in-process
    /// listener. A `mass/wait` reads only the pushes of the API its sends went to.
    public var api: String

    /// Creates an account.
    /// - Parameters:
    ///   - name: the account's name (its callback path segment).
    ///   - appID: the AppID.
    ///   - originalID: the original id `gh_…`.
    ///   - token: the callback token.
    ///   - aesKey: the current EncodingAESKey, or `nil` in plain mode.
    ///   - previousAESKey: the EncodingAESKey before the last rotation, if any.
    ///   - api: the API identity its pushes are stored under.
    public init(
        name: String, appID: String, originalID: String, token: String, aesKey: String? = nil,
        previousAESKey: String? = nil, api: String = Account.defaultAPIBase
    ) {
        self.init(
            Account(name: name, appID: appID, originalID: originalID), token: token, aesKey: aesKey,
            previousAESKey: previousAESKey, api: api)
    }

    /// The listener's view of `account` (which must have an original id) with its callback secrets.
    public init(
        _ account: Account, token: String, aesKey: String? = nil, previousAESKey: String? = nil,
        api: String = Account.defaultAPIBase
    ) {
        self.account = account
        self.api = api.hasSuffix("/") ? String(api.dropLast()) : api
        self.token = token
        self.aesKey = aesKey
        self.previousAESKey = previousAESKey
    }

    /// The original id (`gh_…`): the `ToUserName` of every push to the account, and the key
    /// the state store's inbox routes pushes by.
    public var originalID: String {
        get { account.originalID ?? "" }
        set { account.originalID = newValue }
    }

    /// A field of the account (`name`, `appID`, …).
    public subscript<T>(dynamicMember field: WritableKeyPath<Account, T>) -> T {
        get { account[keyPath: field] }
        set { account[keyPath: field] = newValue }
    }

    /// Whether the account expects encrypted pushes (an EncodingAESKey is configured): then
    /// a push without `encrypt_type=aes` and `msg_signature` is refused.
    public var isEncrypted: Bool { aesKey != nil }

    /// `plain`, `aes` or `aes+previous`: which secrets are configured, without them.
    public var mode: String {
        guard aesKey != nil else { return "plain" }
        return previousAESKey == nil ? "aes" : "aes+previous"
    }

    /// The credentials `CallbackCrypto` checks against.
    var credentials: CallbackCredentials {
        CallbackCredentials(token: token, encodingAESKey: aesKey, previousEncodingAESKey: previousAESKey, appID: account.appID)
    }

    /// The secrets of the account, for a log scrubber.
    public var secrets: [String] { [token, aesKey, previousAESKey].compactMap { $0 } }

    /// A summary without secrets.
    public var description: String {
        "ListenerAccount(name: \(account.name), appID: \(account.appID), originalID: \(originalID), mode: \(mode), token: [redacted])"
    }

    /// The same summary as ``description``.
    public var debugDescription: String { description }

    /// A mirror without secrets, so `dump` shows no token or key.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: ["name": account.name, "appID": account.appID, "originalID": originalID, "mode": mode],
            displayStyle: .struct)
    }
}

/// What the listener serves and how strictly.
public struct ListenerConfiguration: Sendable, CustomStringConvertible {
    /// The accounts, each reachable at `path/<name>` and, routed by `ToUserName`, at `path`.
    public var accounts: [ListenerAccount]
    /// How far a push's `timestamp` may be from the listener's clock, either way; a
    /// (timestamp, nonce) pair is remembered this long. Default 5 minutes.
    public var timestampWindow: Duration
    /// The largest request body read; a larger one gets 413. Default 64 KiB.
    public var maxBodyBytes: Int
    /// The callback path. Default `/wechat/callback`.
    public var path: String
    /// How long the body of a request may take to arrive. Default 10 s.
    public var bodyTimeout: Duration
    /// How long storing a push may take before the listener answers 503 (WeChat then
    /// retries). Default 3 s, inside WeChat's 5-second budget.
    public var storeTimeout: Duration
    /// The most (account, timestamp, nonce) entries the replay guard holds. Default 100,000.
    public var replayCapacity: Int

    /// Creates a configuration.
    public init(
        accounts: [ListenerAccount], timestampWindow: Duration = .seconds(300), maxBodyBytes: Int = 64 * 1024,
        path: String = "/wechat/callback", bodyTimeout: Duration = .seconds(10), storeTimeout: Duration = .seconds(3),
        replayCapacity: Int = 100_000
    ) {
        self.accounts = accounts
        self.timestampWindow = timestampWindow
        self.maxBodyBytes = maxBodyBytes
        self.path = path
        self.bodyTimeout = bodyTimeout
        self.storeTimeout = storeTimeout
        self.replayCapacity = replayCapacity
    }

    /// `path` without a trailing `/`, starting with `/`.
    public var normalizedPath: String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        if !p.hasPrefix("/") { p = "/" + p }
        return p
    }

    /// A summary without secrets.
    public var description: String {
        "ListenerConfiguration(path: \(normalizedPath), accounts: \(accounts.map(\.description)), "
            + "timestampWindow: \(timestampWindow), maxBodyBytes: \(maxBodyBytes))"
    }

    /// Checks the configuration: at least one account; names usable as a path segment and
    /// unique; original ids and AppIDs well formed; original ids unique; tokens non-empty;
    /// EncodingAESKeys of 43 base64 characters; positive limits.
    /// - Throws: ``ListenerConfigurationError`` naming the first problem (never a secret).
    public func validate() throws(ListenerConfigurationError) {
        guard !accounts.isEmpty else { throw ListenerConfigurationError(.noAccount, "no account to listen for") }
        guard timestampWindow > .zero else { throw ListenerConfigurationError(.invalidLimit, "the timestamp window must be positive") }
        guard maxBodyBytes >= 1024 else { throw ListenerConfigurationError(.invalidLimit, "the body limit must be at least 1024 bytes") }
        guard replayCapacity >= 1 else { throw ListenerConfigurationError(.invalidLimit, "the replay capacity must be at least 1") }
        guard bodyTimeout > .zero, storeTimeout > .zero else {
            throw ListenerConfigurationError(.invalidLimit, "the body and store timeouts must be positive")
        }
        let p = normalizedPath
        guard p != "/", p.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/-_.".contains($0)) }),
            !p.contains("//")
        else {
            throw ListenerConfigurationError(.invalidPath, "the callback path '\(p)' must be a path such as /wechat/callback")
        }
        // No `.` or `..` segment (a proxy or a client normalises them away, so the path could
        // not be reached as written), and not the listener's own endpoints.
        if p.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            throw ListenerConfigurationError(
                .invalidPath, "the callback path '\(p)' must not contain '.' or '..' segments; use a path such as /wechat/callback")
        }
        if p == "/healthz" || p == "/metrics" || p.hasPrefix("/healthz/") || p.hasPrefix("/metrics/") {
            throw ListenerConfigurationError(
                .invalidPath, "the callback path '\(p)' is taken by the listener's own \(p.hasPrefix("/healthz") ? "/healthz" : "/metrics"); use a path such as /wechat/callback")
        }
        var names: Set<String> = []
        var originals: [String: String] = [:]
        for account in accounts {
            let name = account.name
            guard !name.isEmpty, name.count <= 63,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else {
                throw ListenerConfigurationError(
                    .invalidAccount, "account name '\(name.prefix(64))' must be 1 to 63 letters, digits, '-' or '_' (it is a URL path segment)")
            }
            guard names.insert(name).inserted else { throw ListenerConfigurationError(.duplicateAccount, "account \(name) is listed twice", account: name) }
            guard Self.isOriginalID(account.originalID) else {
                throw ListenerConfigurationError(
                    .invalidAccount,
                    "account \(name): '\(account.originalID.prefix(40))' is not an original id (gh_ and 6 to 32 letters or digits)",
                    account: name)
            }
            if let other = originals[account.originalID] {
                throw ListenerConfigurationError(
                    .duplicateAccount,
                    "accounts \(other) and \(name) have the same original id \(account.originalID); pushes could not be routed",
                    account: name)
            }
            originals[account.originalID] = name
            guard !account.token.isEmpty else { throw ListenerConfigurationError(.invalidAccount, "account \(name): the callback token is empty", account: name) }
            if account.aesKey != nil && account.appID.isEmpty {
                throw ListenerConfigurationError(
                    .invalidAccount, "account \(name): an EncodingAESKey needs the AppID (encrypted pushes end with it)", account: name)
            }
            do {
                _ = try CallbackCrypto(credentials: account.credentials)
            } catch {
                throw ListenerConfigurationError(.invalidAccount, "account \(name): \(error.message)", account: name, cause: error)
            }
        }
    }

    /// `gh_` and 6 to 32 letters or digits.
    static func isOriginalID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 9, u.count <= 35, s.hasPrefix("gh_") else { return false }
        return u[3...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }
}

/// A listener configuration that cannot be served. The message names the account and the
/// field, never a secret.
public struct ListenerConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is. Codes are extensible: new ones may be added without
    /// breaking callers, so a `switch` over them needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case noAccount, invalidAccount, duplicateAccount, invalidPath, invalidLimit
        }

        private var wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// No account to listen for.
        public static var noAccount: Self { Self(.noAccount) }
        /// An account that cannot be served: its name, original id, token or keys.
        public static var invalidAccount: Self { Self(.invalidAccount) }
        /// Two accounts with the same name or the same original id.
        public static var duplicateAccount: Self { Self(.duplicateAccount) }
        /// The callback path is not a path such as `/wechat/callback`.
        public static var invalidPath: Self { Self(.invalidPath) }
        /// A limit or timeout out of range.
        public static var invalidLimit: Self { Self(.invalidLimit) }

        /// The code's name, e.g. `invalidAccount`.
        public var description: String {
            switch wrapped {
            case .noAccount: "noAccount"
            case .invalidAccount: "invalidAccount"
            case .duplicateAccount: "duplicateAccount"
            case .invalidPath: "invalidPath"
            case .invalidLimit: "invalidLimit"
            }
        }
    }

    /// What kind of problem it is.
    public var code: Code
    /// What is wrong, as a sentence (never a secret).
    public var message: String
    /// The account it is about, when it is about one.
    public var account: String?
    /// The error that caused it (a ``CallbackError`` for a key that cannot be used).
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, account: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.account = account
        self.cause = cause
    }

    /// The message.
    public var description: String { message }
}
