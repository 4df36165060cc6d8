import ArgumentParser
import CallbackServer
import Foundation
import Logging
import PipelineCore
import PipelineYAML
import RunLog
import RunState
import Runner
import StateSQLite
import WeChatMP
import WeChatSandbox

/// Options shared by `run` and `resume`.
struct RunCommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The state file (SQLite).", discussion: "Default: state.path of masscast.yaml, else .masscast/state.sqlite; with --sandbox a temporary file.", valueName: "path"))
    var state: String?

    @Option(help: ArgumentHelp("The project config.", discussion: "Default: masscast.yaml found from the pipeline's folder upward.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("A dotenv file of secrets (NAME=value lines) for ${{ secrets.NAME }}.", valueName: "file"))
    var secrets: String?

    @Option(help: "Log format: text (readable, with live progress on a terminal) or json (JSON lines). Default: text on a terminal, json otherwise.")
    var logFormat: LogFormat?

    @Flag(help: "Log every call attempt, not only failures; text lines also show their metadata (event=, ids).")
    var verbose = false

    @Option(help: ArgumentHelp("Write a JSON run report to this file.", valueName: "file"))
    var report: String?

    @Option(help: "Steps run at once on parallel branches.")
    var concurrency: Int = 4
}

extension LogFormat: ExpressibleByArgument {}

/// Errors the run commands report before anything runs (exit 2).
struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum RunSetup {
    /// Loads a pipeline or prints its diagnostics and fails.
    static func loadPipeline(_ path: String) throws -> Pipeline {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SetupError("no such pipeline file: \(path)")
        }
        let loaded = PipelineLoader().load(path: path)
        let cache = SourceCache()
        let renderer = DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1) }
        if loaded.hasErrors || loaded.pipeline == nil {
            Console.current.diagnostics(loaded.diagnostics, renderer: renderer, event: "pipeline.invalid")
            throw Exit.invalid
        }
        let warnings = loaded.diagnostics.filter { $0.severity != .error }
        if !warnings.isEmpty { Console.current.diagnostics(warnings, renderer: renderer, event: "pipeline.warning") }
        return loaded.pipeline!
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path) as NSString)
            .standardizingPath
    }

    static func digest(ofFile path: String) -> String {
        Idempotency.digest(FileManager.default.contents(atPath: path) ?? Data())
    }

    /// The project config given or found, or `nil`; its errors fail the command.
    static func loadConfig(explicit: String?, near pipelineFile: String) throws -> ProjectConfig? {
        let path: String
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else { throw SetupError("no config file \(explicit)") }
            path = explicit
        } else if let found = ProjectConfigLoader.discover(startingAt: (pipelineFile as NSString).deletingLastPathComponent) {
            path = found
        } else {
            return nil
        }
        let loaded = ProjectConfigLoader().load(path: path)
        if loaded.diagnostics.contains(where: { $0.severity == .error }) || loaded.config == nil {
            let cache = SourceCache()
            let renderer = DiagnosticRenderer(color: useColor(2)) { cache.line($0, $1).map(ConfigSpec.maskingURLPasswords) }
            Console.current.diagnostics(loaded.diagnostics, renderer: renderer, event: "config.invalid")
            throw Exit.invalid
        }
        return loaded.config
    }

    /// `secrets.NAME`: `MASSCAST_SECRET_NAME` from the environment, then the dotenv file.
    static func loadSecrets(file: String?) throws -> [String: String] {
        var secrets: [String: String] = [:]
        for (k, v) in ProcessInfo.processInfo.environment where k.hasPrefix("MASSCAST_SECRET_") {
            secrets[String(k.dropFirst("MASSCAST_SECRET_".count))] = v
        }
        guard let file else { return secrets }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw SetupError("cannot read the secrets file \(file)")
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "=") else {
                throw SetupError("\(file):\(n + 1): expected NAME=value")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            secrets[name] = value
        }
        return secrets
    }

    /// Evaluates `${{ env.X }}` / `${{ secrets.X }}`; says which variable is missing.
    static func resolveSecret(_ expressionText: String, what: String, secrets: [String: String]) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let parsed = Template.parse(expressionText)
        guard let template = parsed.template else { throw SetupError("\(what): cannot parse \(expressionText)") }
        let value = try? template.evaluate(in: EvaluationContext(env: env, secrets: secrets))
        guard case .string(let s)? = value, !s.isEmpty else {
            var source = expressionText
            if let r = expressionText.range(of: "env.") {
                let name = expressionText[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                source = "the environment variable \(name)"
            } else if let r = expressionText.range(of: "secrets.") {
                let name = expressionText[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                source = "the secret \(name) (environment variable MASSCAST_SECRET_\(name) or --secrets FILE)"
            }
            throw SetupError("\(what): \(source) is not set")
        }
        return s
    }

    /// An inline account's `app_id`: a literal, or an expression over `env.`, `secrets.` and
    /// `inputs.` evaluated as `app_secret` is; a variable that is not set is an error naming it.
    static func resolveAppID(_ text: String, inputs: [String: Value], secrets: [String: String]) throws -> String {
        guard text.contains("${{") else { return text }
        let env = ProcessInfo.processInfo.environment
        let parsed = Template.parse(text)
        guard let template = parsed.template else { throw SetupError("account app_id: cannot parse \(text)") }
        // Every variable it names must be set: a missing one would otherwise evaluate to null
        // or an empty string, and WeChat would answer 40013 for an AppID that is not one.
        for (prefix, isSet) in [("env.", { env[$0] != nil }), ("secrets.", { secrets[$0] != nil }),
                                ("inputs.", { inputs[$0] != nil })] as [(String, (String) -> Bool)] {
            var rest = text[...]
            while let r = rest.range(of: prefix) {
                let before = rest[..<r.lowerBound].last
                let name = String(rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                rest = rest[r.upperBound...]
                guard before.map({ !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) ?? true, !name.isEmpty,
                    !isSet(name)
                else { continue }
                switch prefix {
                case "env.": throw SetupError("account app_id: the environment variable \(name) is not set")
                case "secrets.":
                    throw SetupError("account app_id: the secret \(name) (environment variable MASSCAST_SECRET_\(name) or --secrets FILE) is not set")
                default: throw SetupError("account app_id: the input \(name) has no value")
                }
            }
        }
        let value = try? template.evaluate(in: EvaluationContext(inputs: inputs, env: env, secrets: secrets))
        guard case .string(let s)? = value, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SetupError("account app_id: \(text) does not give an AppID (a non-empty string)")
        }
        return s
    }

    /// Typed inputs from `--input name=value`, defaults applied.
    static func inputs(_ given: [String], pipeline: Pipeline) throws -> [String: Value] {
        do {
            return try Inputs.resolve(given, pipeline: pipeline)
        } catch {
            throw SetupError(error.description)
        }
    }

    /// The account from masscast.yaml or the pipeline's inline mapping.
    static func account(
        for pipeline: Pipeline, config: ProjectConfig?, secrets: [String: String], inputs: [String: Value] = [:]
    ) throws -> AccountSettings {
        switch pipeline.account {
        case .named(let located):
            let name = located.value
            guard let config else {
                throw SetupError(
                    "account \(name): no masscast.yaml defines it (looked from \((pipeline.file as NSString).deletingLastPathComponent) upward); pass --config FILE, or --sandbox to rehearse")
            }
            guard let a = config.account(name) else {
                let names = config.orderedAccounts.map(\.name).joined(separator: ", ")
                throw SetupError("account \(name) is not defined in \(config.file) (defined: \(names))")
            }
            let secret = try resolveSecret(a.appSecret, what: "account \(name) app_secret", secrets: secrets)
            var pacing = Pacing()
            pacing.massCallsPerMinute = a.pacing.massCallsPerMinute
            pacing.sendsPerDay = a.pacing.sendsPerDay
            pacing.clientMsgIDRetryWindow = a.pacing.clientMsgIDRetryWindow
            return AccountSettings(
                name: name, appID: a.appID, secret: secret, apiBase: a.apiBase ?? "https://api.weixin.qq.com",
                kind: a.kind, originalID: a.originalID, tokenMode: a.effectiveTokenMode == "classic" ? .classic : .stable,
                pacing: pacing)
        case .inline(let inline):
            let appID = try resolveAppID(inline.appID, inputs: inputs, secrets: secrets)
            let secret = try resolveSecret(inline.appSecret, what: "account app_secret", secrets: secrets)
            return AccountSettings(
                name: "inline", appID: appID, secret: secret, apiBase: inline.apiBase ?? "https://api.weixin.qq.com",
                kind: inline.kind, originalID: inline.originalID)
        }
    }

    /// The account as the sandbox's fixture defines it (by name, or by the inline app_id).
    static func sandboxAccount(
        for pipeline: Pipeline, fixture: SandboxFixture, baseURL: String, secrets: [String: String] = [:],
        inputs: [String: Value] = [:]
    ) throws -> AccountSettings {
        let match: SandboxFixture.Account?
        switch pipeline.account {
        case .named(let located):
            match = fixture.accounts.first { $0.name == located.value }
        case .inline(let inline):
            let appID = try resolveAppID(inline.appID, inputs: inputs, secrets: secrets)
            match = fixture.accounts.first { $0.appID == appID }
        }
        guard let a = match else {
            let names = fixture.accounts.map(\.name).joined(separator: ", ")
            throw SetupError("the sandbox has no such account (its accounts: \(names)); name one of them, or pass --fixture with yours")
        }
        var pacing = Pacing()
        if let m = fixture.quotas.massCallsPerMinute, fixture.limitsEnabled { pacing.massCallsPerMinute = m } else if !fixture.limitsEnabled { pacing.massCallsPerMinute = 1_000_000 }
        if let s = fixture.quotas.sendsPerDay, fixture.limitsEnabled { pacing.sendsPerDay = s } else if !fixture.limitsEnabled { pacing.sendsPerDay = 1_000_000 }
        pacing.clientMsgIDRetryWindow = fixture.windows.clientMsgIDRetryWindow
        return AccountSettings(
            name: a.name, appID: a.appID, secret: a.secret, apiBase: baseURL,
            kind: a.kind.rawValue == "subscription" ? .subscription : .service, originalID: a.originalID, pacing: pacing)
    }

    /// The fixture and its YAML text (whose digest is a rehearsal's API identity).
    static func loadFixtureWithText(_ path: String?) throws -> (SandboxFixture, String) {
        guard let path else { return (SandboxFixture.default, SandboxFixture.defaultYAML) }
        guard let data = FileManager.default.contents(atPath: path) else { throw SetupError("cannot read the fixture \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        do {
            return (try SandboxFixture.load(yaml: text, file: path), text)
        } catch {
            throw SetupError("\(error)")
        }
    }

    /// The state file, located the same way by `run`, `resume`, `runs` and `listen`: `--state`,
    /// else `state.path` of masscast.yaml (relative to it), else `.masscast/state.sqlite` in
    /// the working directory. A PostgreSQL location (`state.url`, `MASSCAST_STATE_URL`, or a
    /// `postgres://` `--state`) is refused, never silently replaced by a SQLite file.
    static func statePath(explicit: String?, config: ProjectConfig?) throws -> String {
        let postgresHint =
            "The PostgreSQL state store is not available in this version; masscast will not write a SQLite file in its place, because two runners writing two journals could send twice. Use `state: { path: .masscast/state.sqlite }` in masscast.yaml (or --state FILE) on one machine for now."
        if let explicit {
            if explicit.hasPrefix("postgres://") || explicit.hasPrefix("postgresql://") {
                throw SetupError("--state names a PostgreSQL URL. \(postgresHint)")
            }
            return explicit
        }
        if let url = ProcessInfo.processInfo.environment["MASSCAST_STATE_URL"], !url.isEmpty {
            throw SetupError("MASSCAST_STATE_URL is set. \(postgresHint)")
        }
        if let config, let state = config.state, state.url != nil {
            let at = state.location.map { ":\($0.line):\($0.column)" } ?? ""
            throw SetupError("\(config.file)\(at): state.url names a PostgreSQL store. \(postgresHint)")
        }
        return config?.resolvedStatePath ?? SQLiteStateStore.defaultPath
    }

    /// Opens the state store (see `statePath`); `temporary` (a rehearsal without `--state`)
    /// uses a fresh private file. With `mustExist`, a missing file is an error rather than a
    /// new empty store (`resume`, `runs`).
    static func openStore(
        explicit: String?, config: ProjectConfig?, temporary: Bool, mustExist: Bool = false
    ) throws -> SQLiteStateStore {
        if temporary && explicit == nil {
            do { return try SQLiteStateStore.temporary() } catch { throw SetupError("\(error)") }
        }
        let path = try statePath(explicit: explicit, config: config)
        if mustExist && !FileManager.default.fileExists(atPath: path) {
            throw SetupError(
                "no state file at \(path)\(explicit == nil ? "" : " (--state)"): nothing has run with it. Pass --state PATH (or --config FILE) for the store the run used")
        }
        do {
            return try SQLiteStateStore(path: path)
        } catch {
            throw SetupError("\(error)")
        }
    }

    /// The project config for commands that have no pipeline yet (`resume`, `runs`, `listen`):
    /// `--config`, else masscast.yaml found from the working directory upward.
    static func loadConfigFromWorkingDirectory(explicit: String?) throws -> ProjectConfig? {
        let near = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent("masscast.yaml")
        return try loadConfig(explicit: explicit, near: near)
    }

    /// A rehearsal's sandbox: started in this process with the fixture (default or `path`),
    /// the account taken from it and marked with the fixture's API identity and this instance,
    /// and an in-process listener storing the sandbox's pushes in `store`.
    struct Rehearsal {
        var sandbox: RunningSandbox
        var listener: RunningListener?
        var account: AccountSettings
        var scrub: [String]
        /// SHA-256 of the fixture's YAML: its API identity is `sandbox:` + this.
        var fixtureDigest: String
    }

    static func startRehearsal(
        fixturePath: String?, pipeline: Pipeline, store: SQLiteStateStore, secrets: [String: String],
        inputs: [String: Value]
    ) async throws -> Rehearsal {
        let (fixture, fixtureText) = try loadFixtureWithText(fixturePath)
        let fixtureDigest = Idempotency.digest(fixtureText)
        let engine = SandboxEngine(fixture: fixture, pushSender: HTTPPushSender())
        let running: RunningSandbox
        do {
            running = try await RunningSandbox.start(engine: engine)
        } catch {
            throw SetupError("the sandbox did not start: \(error)")
        }
        var account = try sandboxAccount(
            for: pipeline, fixture: fixture, baseURL: running.baseURL, secrets: secrets, inputs: inputs)
        account.rehearse(fixtureDigest: fixtureDigest, instance: UUID().uuidString.lowercased())
        var scrub: [String] = []
        var listener: RunningListener?
        // The sandbox pushes MASSSENDJOBFINISH (signed, AES-encrypted in safe mode) to an
        // in-process listener that stores it in this run's inbox, as in production, under
        // this sandbox instance's identity (another instance's pushes are never read).
        if let fixtureAccount = fixture.accounts.first(where: { $0.appID == account.appID }),
            let callback = fixtureAccount.callback
        {
            scrub += [callback.token] + (callback.encodingAESKey.map { [$0] } ?? [])
            let listenerAccount = ListenerAccount(
                name: fixtureAccount.name, appID: fixtureAccount.appID, originalID: fixtureAccount.originalID,
                token: callback.token, aesKey: callback.mode == .plain ? nil : callback.encodingAESKey,
                api: account.endpoint)
            do {
                listener = try await RunningListener.start(
                    configuration: ListenerConfiguration(accounts: [listenerAccount]), store: store)
            } catch {
                await running.stop()
                throw SetupError("the in-process listener did not start: \(error)")
            }
            _ = await engine.setCallback(account: fixtureAccount.name, url: listener!.callbackURL(account: fixtureAccount.name))
        }
        return Rehearsal(sandbox: running, listener: listener, account: account, scrub: scrub, fixtureDigest: fixtureDigest)
    }

    static func logger(format: LogFormat?, verbose: Bool, scrub: [String]) -> (Logger, LogSink, ProgressLine?) {
        let sink = LogSink.standardError
        let chosen = format ?? LogFormat.default(isTerminal: sink.isTerminal)
        let scrubber = Scrubber(secrets: scrub)
        let logger = LogFormat.makeLogger(
            label: "masscast", format: chosen, sink: sink, scrubber: scrubber, level: verbose ? .debug : .info,
            showMetadata: verbose)
        let progress = chosen == .text && sink.isTerminal ? ProgressLine(sink: sink, scrubber: scrubber) : nil
        Console.current.attach(scrubber: scrubber, progress: progress)
        return (logger, sink, progress)
    }

    /// Ctrl-C (SIGINT) or SIGTERM stops the run gracefully, with that reason; a second Ctrl-C
    /// exits at once.
    static func installInterruptHandler(_ stop: @escaping @Sendable (StopReason) -> Void) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let count = Counter()
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if count.increment() > 1 {
                Console.current.final(
                    "interrupted again (SIGINT): exiting now; the journal says what may have been sent (masscast runs list)",
                    level: .warning, event: "run.interrupted")
                exit(130)
            }
            Console.current.say(
                "Ctrl-C (SIGINT): stopping; calls in flight finish, nothing new starts (Ctrl-C again to exit at once)",
                level: .warning, event: "run.stopping", metadata: ["signal": "SIGINT"])
            stop(.interrupt)
        }
        source.resume()
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        term.setEventHandler {
            Console.current.say(
                "SIGTERM: stopping; calls in flight finish, nothing new starts", level: .warning, event: "run.stopping",
                metadata: ["signal": "SIGTERM"])
            stop(.terminate)
        }
        term.resume()
        termSource = term
        return source
    }

    nonisolated(unsafe) static var termSource: (any DispatchSourceSignal)?

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func increment() -> Int { lock.withLock { n += 1; return n } }
    }

    /// The options `run` and `resume` share.
    static func options(inputs: [String: Value], common: RunCommonOptions, progress: ProgressLine?) -> RunOptions {
        var options = RunOptions()
        options.inputs = inputs
        options.env = ProcessInfo.processInfo.environment
        options.concurrency = common.concurrency
        options.crashPoint = ProcessInfo.processInfo.environment["MASSCAST_CRASH_AT"]
        if let progress {
            options.progress = { progress.update($0) }
            options.progressEnded = { progress.end(step: $0) }
        }
        options.resumeArguments = RunSetup.resumeArguments(common)
        return options
    }

    /// Writes the JSON report of a run.
    static func writeReport(_ path: String, runID: String, store: any StateStore) async {
        do {
            guard let run = try await store.run(runID) else { return }
            let report = RunReport(
                run: run, steps: try await store.steps(runID: runID), attempts: try await store.attempts(runID: runID),
                journal: try await store.journalEntries(runID: runID))
            try report.jsonData().write(to: URL(fileURLWithPath: path))
        } catch {
            Console.current.error("cannot write the report \(path): \(error)", event: "report.failed")
        }
    }

    static func finish(_ result: RunResult, progress: ProgressLine?) throws {
        RunSetup.sayLastWords(result)
        progress?.finish()
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
