import CallbackServer
import Foundation
import Logging
import PipelineCore
import RunState
import StateSQLite

/// What `masscast listen` is asked to serve.
public struct ListenRequest: Sendable {
    /// `--config`.
    public var config: String?
    /// `--state`.
    public var state: String?
    /// `--secrets`: a dotenv file.
    public var secrets: String?
    /// `--timestamp-window`.
    public var timestampWindow: Duration
    /// `--max-body-bytes`.
    public var maxBodyBytes: Int
    /// `--path`.
    public var path: String
    /// `--account-original-id`: one account without a config.
    public var accountOriginalID: String?
    /// `--app-id` (with `accountOriginalID`).
    public var appID: String?
    /// `--account-name` (with `accountOriginalID`).
    public var accountName: String

    /// A request.
    public init(
        config: String? = nil, state: String? = nil, secrets: String? = nil, timestampWindow: Duration = .seconds(300),
        maxBodyBytes: Int = 64 * 1024, path: String = "/wechat/callback", accountOriginalID: String? = nil,
        appID: String? = nil, accountName: String = "default"
    ) {
        self.config = config
        self.state = state
        self.secrets = secrets
        self.timestampWindow = timestampWindow
        self.maxBodyBytes = maxBodyBytes
        self.path = path
        self.accountOriginalID = accountOriginalID
        self.appID = appID
        self.accountName = accountName
    }
}

extension ListenRequest {
    /// The request `masscast listen`'s flags make, with `timestampWindow` written as a
    /// duration (`5m`, `300s`, `1m30s`).
    /// - Throws: the usage error of a flag out of range or a flag without the one it needs
    ///   (the command prints it with its usage and exits 2).
    public init(
        flags port: Int, timestampWindow: String, maxBodyBytes: Int, path: String, config: String?, state: String?,
        secrets: String?, accountOriginalID: String?, appID: String?, accountName: String
    ) throws(ListenRequest.UsageError) {
        guard let window = DurationText.parse(timestampWindow), window > .zero else {
            throw UsageError(message: "--timestamp-window must be a duration such as 5m, 300s or 1m30s")
        }
        if maxBodyBytes < 1024 { throw UsageError(message: "--max-body-bytes must be at least 1024") }
        if port < 0 || port > 65535 { throw UsageError(message: "--port must be 0…65535") }
        if appID != nil && accountOriginalID == nil {
            throw UsageError(message: "--app-id goes with --account-original-id")
        }
        self.init(
            config: config, state: state, secrets: secrets, timestampWindow: window, maxBodyBytes: maxBodyBytes,
            path: path, accountOriginalID: accountOriginalID, appID: appID, accountName: accountName)
    }

    /// Flags that do not make a request: a usage error.
    public struct UsageError: Error, Sendable, CustomStringConvertible {
        /// What is wrong, naming the flag.
        public var message: String
        public var description: String { message }
    }
}

/// A listener ready to serve: its accounts with their secrets resolved, its store, the
/// secrets to scrub, and notes about accounts that cannot be served.
public struct ListenerSetup: Sendable {
    /// The configuration.
    public var configuration: ListenerConfiguration
    /// The state store pushes go to.
    public var store: any StateStore
    /// Every secret, for a scrubber.
    public var scrubbed: [String]
    /// Why some accounts of the config are not served.
    public var notes: [String]

    /// The accounts of masscast.yaml with callback settings and an original id (or the one
    /// account of `--account-original-id`, its secrets from `MASSCAST_CALLBACK_*`).
    public static func prepare(_ request: ListenRequest, environment: AppEnvironment) throws(SetupError)
        -> ListenerSetup
    {
        let secrets = try Secrets.load(file: request.secrets, environment: environment)
        let projectConfig = try ProjectFiles.loadConfig(explicit: request.config, environment: environment)
        var accounts: [ListenerAccount] = []
        var notes: [String] = []
        if let originalID = request.accountOriginalID {
            guard let token = environment[nonEmpty: "MASSCAST_CALLBACK_TOKEN"] else {
                throw SetupError(
                    .listener,
                    "--account-original-id needs the callback token in the environment variable MASSCAST_CALLBACK_TOKEN")
            }
            let aesKey = environment[nonEmpty: "MASSCAST_CALLBACK_AES_KEY"]
            let previous = environment[nonEmpty: "MASSCAST_CALLBACK_PREVIOUS_AES_KEY"]
            if aesKey != nil && request.appID == nil {
                throw SetupError(
                    .listener, "MASSCAST_CALLBACK_AES_KEY is set: pass --app-id too (encrypted pushes end with the AppID)")
            }
            accounts.append(ListenerAccount(
                name: request.accountName, appID: request.appID ?? "", originalID: originalID, token: token,
                aesKey: aesKey, previousAESKey: previous))
        } else {
            guard let projectConfig else {
                throw SetupError(
                    .listener,
                    "no masscast.yaml found from \(environment.workingDirectory) upward: pass --config FILE, "
                        + "or --account-original-id and --app-id with MASSCAST_CALLBACK_TOKEN in the environment")
            }
            for account in projectConfig.orderedAccounts {
                guard let settings = projectConfig.callbackSettings(for: account), let tokenExpression = settings.token else {
                    notes.append("account \(account.name) has no callback settings (its own callback: or the project-wide one); not served")
                    continue
                }
                guard account.originalID != nil else {
                    notes.append("account \(account.name) has no original_id, which routes its pushes; not served")
                    continue
                }
                let what = "account \(account.name) callback"
                let token = try secrets.resolve(tokenExpression, what: "\(what).token", environment: environment)
                let aesKey = try settings.aesKey.map { (expression) throws(SetupError) in
                    try secrets.resolve(expression, what: "\(what).aes_key", environment: environment)
                }
                let previous = try settings.previousAESKey.map { (expression) throws(SetupError) in
                    try secrets.resolve(expression, what: "\(what).previous_aes_key", environment: environment)
                }
                accounts.append(ListenerAccount(
                    account.account, token: token, aesKey: aesKey, previousAESKey: previous, api: account.apiBase))
            }
            if accounts.isEmpty {
                throw SetupError(
                    .listener,
                    "no account of \(projectConfig.file) can be served: each needs an original_id and callback settings "
                        + "(\(notes.joined(separator: "; ")))")
            }
        }
        let configuration = ListenerConfiguration(
            accounts: accounts, timestampWindow: request.timestampWindow, maxBodyBytes: request.maxBodyBytes,
            path: request.path)
        do {
            try configuration.validate()
        } catch {
            throw SetupError(.listener, error.message)
        }
        let store = try StateLocation.open(explicit: request.state, config: projectConfig, environment: environment)
        return ListenerSetup(
            configuration: configuration, store: store,
            scrubbed: accounts.flatMap(\.secrets) + secrets.scrubbed, notes: notes)
    }
}

extension ListenerSetup {
    /// Logs why some accounts are not served (``notes``), then makes the listener's handler.
    public func handler(loggingNotesTo logger: Logger) throws -> CallbackHandler {
        for note in notes { logger.warning("\(note)", metadata: ["event": "listen.account_skipped"]) }
        return try handler(logger: logger)
    }

    /// The listener's handler, or why it cannot be made.
    public func handler(logger: Logger) throws -> CallbackHandler {
        try CallbackHandler(configuration: configuration, store: store, logger: logger)
    }

    /// Logs that the listener stopped; with a SQLite store, how many inbox transactions it
    /// committed and how many pushes they held (`inbox.transactions`, `inbox.pushes`).
    public func logStopped(logger: Logger) {
        var metadata: Logger.Metadata = ["event": "listen.stopped"]
        if let sqlite = store as? SQLiteStateStore {
            let counts = sqlite.inboxCommitCounts
            metadata["inbox.transactions"] = .stringConvertible(counts.transactions)
            metadata["inbox.pushes"] = .stringConvertible(counts.pushes)
        }
        logger.info("stopped", metadata: metadata)
    }

    /// Logs that the listener serves on `host:port`, for which accounts, into which store.
    public func logStarted(host: String, port: Int, logger: Logger) {
        let base = "http://\(host):\(port)\(configuration.normalizedPath)"
        let accounts = configuration.accounts.map { "\($0.name) (\($0.originalID), \($0.mode))" }.joined(separator: ", ")
        logger.info(
            "listening on \(base)[/<account>] for \(accounts); state \(store.displayLocation)",
            metadata: [
                "event": "listen.started", "listen.url": .string(base), "listen.port": .stringConvertible(port),
                "listen.accounts": .array(configuration.accounts.map { .string($0.name) }),
            ])
    }
}
