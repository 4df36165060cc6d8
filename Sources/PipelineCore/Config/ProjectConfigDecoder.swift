/// Turns a located tree into a `ProjectConfig`, reporting every problem with its position:
/// unknown keys (with did-you-mean), wrong types, account names, AppIDs, original ids, literal
/// secrets, pacing limits, and the choice between `state.path` and `state.url`.
///
/// Each value is checked by `SpecChecker` against `ConfigSpec`, as pipelines are against
/// `FormatSpec`; the top level and the account names are checked here so that messages name
/// the config file and account names get the account-name code (MC2022).
public enum ProjectConfigDecoder {
    /// Expressions in a config may name only `env.` and `secrets.`.
    static let scope = ExpressionScope(allowSecrets: true)

    /// Decodes and checks; the config is `nil` only when the tree is not a mapping at all.
    public static func decode(_ root: SourceNode, file: String) -> (config: ProjectConfig?, diagnostics: [Diagnostic]) {
        var bag = DiagnosticBag()
        var config = ProjectConfig(file: file, accountsLocation: root.location)
        let name = config.fileName
        guard case .mapping(let entries) = root.content else {
            bag.error(.wrongType, "\(name) is a mapping of keys (version, accounts, state, callback), not \(root.kindDescription)",
                      at: root.location, hint: "start the file with `version: 1`")
            return (nil, bag.diagnostics)
        }
        let known = ConfigSpec.config.fields.map(\.name)
        var seen: Set<String> = []
        for e in entries {
            guard let field = ConfigSpec.config.field(e.key) else {
                let suggestion = Suggestion.closest(to: e.key, among: known)
                bag.error(.unknownKey, "unknown key '\(e.key)' in \(name)", at: e.keyLocation,
                          hint: suggestion.map { "did you mean '\($0)'?" } ?? "allowed keys: " + known.joined(separator: ", "))
                continue
            }
            // A repeated key was reported by the reader (MC1002); it is checked, but the first one counts.
            let first = seen.insert(e.key).inserted
            switch e.key {
            case "accounts":
                let (accounts, order) = decodeAccounts(e.value, bag: &bag)
                if first {
                    config.accounts = accounts
                    config.accountOrder = order
                    config.accountsLocation = e.keyLocation
                }
            case "state":
                let state = decodeState(e.value, bag: &bag)
                if first { config.state = state }
            case "callback":
                let callback = decodeCallback(e.value, bag: &bag)
                if first { config.callback = callback }
            case "paths":
                var checker = SpecChecker()
                checker.check(e.value, as: field.type, path: e.key, expressions: false)
                bag.append(contentsOf: checker.diagnostics.diagnostics)
                if first {
                    for item in e.value["allow"]?.items ?? [] where !item.hasExpression {
                        guard case .string(let written)? = item.typed, !written.isEmpty else { continue }
                        config.allowedDirectories.append(
                            AllowedDirectory(written: written, path: config.resolved(written), location: item.location))
                    }
                }
            case "approvals":
                var checker = SpecChecker()
                checker.check(e.value, as: field.type, path: e.key, expressions: false)
                bag.append(contentsOf: checker.diagnostics.diagnostics)
                var approvals = ApprovalSettings()
                if case .integer(let n)? = e.value["to_all"]?.typed, n >= 0 { approvals.toAll = n }
                if case .integer(let n)? = e.value["over_recipients"]?.typed, n >= 1 { approvals.overRecipients = n }
                if first { config.approvals = approvals }
            case "project":
                var checker = SpecChecker()
                checker.check(e.value, as: field.type, path: e.key, expressions: false)
                bag.append(contentsOf: checker.diagnostics.diagnostics)
                if !e.value.hasExpression, case .string(let id)? = e.value.typed {
                    if ConfigSpec.isProjectID(id) {
                        if first { config.project = id }
                    } else if !id.isEmpty {
                        bag.error(.badValue, "'\(id.prefix(70))' is not a valid project id: 8 to 64 letters, digits, - and _",
                                  at: e.value.location, hint: "`masscast init --print-project-id` prints a fresh one")
                    }
                }
            default:
                var checker = SpecChecker()
                checker.check(e.value, as: field.type, path: e.key, expressions: false)
                bag.append(contentsOf: checker.diagnostics.diagnostics)
                if first, e.key == "version", case .integer(let v)? = e.value.typed { config.version = v }
            }
        }
        for field in ConfigSpec.config.fields where field.required && !seen.contains(field.name) {
            bag.error(.missingKey, "\(name) is missing the required key '\(field.name)'", at: root.location,
                      hint: field.name == "version" ? "start the file with `version: 1`" : nil)
        }

        return (config, bag.diagnostics)
    }

    // MARK: Parts

    static func decodeAccounts(_ node: SourceNode, bag: inout DiagnosticBag) -> ([String: ConfigAccount], [String]) {
        guard case .mapping(let entries) = node.content else {
            if !node.isAlias {
                bag.error(.wrongType, "accounts must be a mapping from account names to accounts, not \(node.kindDescription)",
                          at: node.location, hint: "write each account as `brand-main:` with app_id, app_secret and kind under it")
            }
            return ([:], [])
        }
        var accounts: [String: ConfigAccount] = [:]
        var order: [String] = []
        for e in entries {
            let validName = StringRule.accountName.matches(e.key)
            if !validName {
                bag.error(.badValue, "'\(e.key)' is not a valid account name: \(StringRule.accountName.summary), at most 63",
                          at: e.keyLocation, hint: suggestedName(e.key).map { "try '\($0)'" })
            }
            let path = "accounts.\(e.key)"
            var checker = SpecChecker(scope: scope)
            checker.check(e.value, as: .object(ConfigSpec.account), path: path, expressions: false)
            let reported = checker.diagnostics.diagnostics
            bag.append(contentsOf: reported)
            let value = e.value
            guard value.entries != nil else { continue }
            func text(_ key: String) -> String? {
                guard let n = value[key], !n.hasExpression, case .string(let s)? = n.typed else { return nil }
                return s
            }

            // What the field types cannot say.
            if let appID = text("app_id"), StringRule.nonEmpty.matches(appID), !ConfigSpec.isAppID(appID) {
                bag.append(badAppID(appID, at: value["app_id"]!.location, path: "\(path).app_id"))
            }
            if let d = SecretReference.misuse(value["app_secret"], path: "\(path).app_secret", reported: reported) {
                bag.append(d)
            }
            if let originalID = text("original_id"), StringRule.nonEmpty.matches(originalID),
                !ConfigSpec.isOriginalID(originalID)
            {
                bag.error(.badValue, "'\(originalID)' is not an original id (\(path).original_id): gh_ and 6 to 32 letters or digits",
                          at: value["original_id"]!.location,
                          hint: "find it at mp.weixin.qq.com → 设置与开发 → 公众号设置 → 原始ID, e.g. gh_5d1c0e8f7a93")
            }
            var pacing = Pacing()
            if let p = value["pacing"], p.entries != nil {
                if case .integer(let v)? = p["mass_calls_per_minute"]?.typed, v >= 1 { pacing.massCallsPerMinute = v }
                if case .integer(let v)? = p["sends_per_day"]?.typed, v >= 1 { pacing.sendsPerDay = v }
                if let n = p["clientmsgid_retry_window"], case .string(let s)? = n.typed, let d = DurationText.parse(s) {
                    if d == .zero {
                        bag.error(.outOfRange, "\(path).pacing.clientmsgid_retry_window is 0s; it must be longer than that",
                                  at: n.location, hint: "WeChat refuses a repeated clientmsgid for 1 minute: write 1m")
                    } else {
                        pacing.clientMsgIDRetryWindow = d
                    }
                }
            }

            var callback: CallbackSettings?
            if let node = value["callback"], node.entries != nil {
                callback = decodeCallbackSecrets(node, path: "\(path).callback", reported: reported, bag: &bag)
            }

            guard validName, accounts[e.key] == nil else { continue }
            let secretNode = value["app_secret"]
            var secret = ""
            if let secretNode, case .scalar(let s, _) = secretNode.content, SecretReference.isReference(s) { secret = s }
            let account = Account(
                name: e.key, appID: text("app_id") ?? "",
                kind: text("kind").flatMap(AccountKind.init(rawValue:)) ?? .service,
                apiBase: text("api_base") ?? Account.defaultAPIBase, originalID: text("original_id"),
                tokenMode: text("token_mode").flatMap(TokenMode.init(rawValue:)) ?? .stable, pacing: pacing)
            accounts[e.key] = ConfigAccount(
                account, appSecret: secret, location: e.keyLocation, appSecretLocation: secretNode?.location,
                callback: callback)
            order.append(e.key)
        }
        return (accounts, order)
    }

    static func decodeState(_ node: SourceNode, bag: inout DiagnosticBag) -> StateSettings? {
        var checker = SpecChecker(scope: scope)
        checker.check(node, as: .object(ConfigSpec.state), path: "state", expressions: false)
        let reported = checker.diagnostics.diagnostics
        bag.append(contentsOf: reported)
        guard node.entries != nil else { return nil }
        var state = StateSettings(location: node.location)
        if let n = node["path"], !n.hasExpression, case .string(let s)? = n.typed { state.path = s }
        if let n = node["password_env"], !n.hasExpression, case .string(let s)? = n.typed { state.passwordEnv = s }
        if let n = node["lease_ttl"], case .string(let s)? = n.typed, let d = DurationText.parse(s) {
            if let problem = LeaseTTL.problem(d, what: "state.lease_ttl") {
                bag.error(.outOfRange, problem.message, at: n.location, hint: problem.hint)
            } else {
                state.leaseTTL = d
            }
        }
        if let n = node["url"], case .scalar(let s, _) = n.content, case .string? = n.typed {
            if n.hasExpression {
                if SecretReference.isReference(s) {
                    state.url = s
                } else if !reported.contains(where: { $0.location?.line == n.location.line }) {
                    var d = Diagnostic.error(
                        .badValue, "state.url must be a postgres:// URL, or exactly one ${{ env.NAME }} or ${{ secrets.NAME }}",
                        at: n.location, hint: "keep the whole URL in one variable: ${{ env.DATABASE_URL }}")
                    d.redactsSource = true
                    bag.append(d)
                }
            } else if ConfigSpec.urlHasPassword(s) {
                var d = Diagnostic.error(
                    .literalSecret, "state.url holds a password; it must not be written in the file", at: n.location,
                    hint: "put the URL in an environment variable and write ${{ env.DATABASE_URL }}; "
                        + "rotate the password if this file was ever committed")
                d.redactsSource = true
                bag.append(d)
            } else if !(s.hasPrefix("postgres://") || s.hasPrefix("postgresql://")) {
                bag.error(.badValue, "state.url must be a postgres:// or postgresql:// URL", at: n.location,
                          hint: "a SQLite file is written as state.path")
            } else {
                state.url = s
            }
        }
        return state
    }

    static func decodeCallback(_ node: SourceNode, bag: inout DiagnosticBag) -> CallbackSettings? {
        var checker = SpecChecker(scope: scope)
        checker.check(node, as: .object(ConfigSpec.callback), path: "callback", expressions: false)
        let reported = checker.diagnostics.diagnostics
        bag.append(contentsOf: reported)
        guard node.entries != nil else { return nil }
        var callback = decodeCallbackSecrets(node, path: "callback", reported: reported, bag: &bag)
        if let n = node["app_id"], !n.hasExpression, case .string(let s)? = n.typed, StringRule.nonEmpty.matches(s) {
            if ConfigSpec.isAppID(s) {
                callback.appID = s
            } else {
                bag.append(badAppID(s, at: n.location, path: "callback.app_id"))
            }
        }
        return callback
    }

    /// `token`, `aes_key` and `previous_aes_key` of a `callback:` mapping at `path` (the
    /// project-wide one, or an account's): each kept only when it is exactly one reference;
    /// MC2019 for one that is not, MC2003 for `previous_aes_key` without `aes_key`.
    static func decodeCallbackSecrets(
        _ node: SourceNode, path: String, reported: [Diagnostic], bag: inout DiagnosticBag
    ) -> CallbackSettings {
        func secret(_ key: String) -> String? {
            if let d = SecretReference.misuse(node[key], path: "\(path).\(key)", reported: reported) { bag.append(d) }
            guard let n = node[key], case .scalar(let s, _) = n.content, SecretReference.isReference(s) else { return nil }
            return s
        }
        var callback = CallbackSettings(location: node.location)
        callback.token = secret("token")
        callback.aesKey = secret("aes_key")
        callback.previousAESKey = secret("previous_aes_key")
        if let previous = node.entry("previous_aes_key"), node["aes_key"] == nil {
            bag.error(.missingKey, "\(path).previous_aes_key is set but \(path).aes_key is not", at: previous.keyLocation,
                      hint: "the previous key is only tried after the current one: add aes_key")
        }
        return callback
    }

    static func badAppID(_ s: String, at location: SourceLocation, path: String) -> Diagnostic {
        .error(.badValue, "'\(s)' is not an AppID (\(path)): wx and 16 hexadecimal digits", at: location,
               hint: "copy it from mp.weixin.qq.com → 设置与开发 → 基本配置 (开发者ID), e.g. wx8a3f2c71d905be46")
    }

    /// A valid account name close to `s` (lowercased, other characters turned into '-').
    static func suggestedName(_ s: String) -> String? {
        let mapped = s.lowercased().map { c -> Character in
            (c.isLetter || c.isNumber) && c.isASCII || c == "_" ? c : "-"
        }
        let out = String(String(mapped).split(separator: "-").joined(separator: "-").prefix(63))
        return StringRule.accountName.matches(out) && out != s ? out : nil
    }
}

extension ProjectConfig {
    /// The error for a pipeline whose `account:` names an account this config does not define
    /// (MC2026), at the name, with did-you-mean. Empty when the account is defined, inline, or
    /// its name was already reported as malformed.
    public func checkAccount(of pipeline: Pipeline) -> [Diagnostic] {
        guard case .named(let name) = pipeline.account, StringRule.accountName.matches(name.value),
            accounts[name.value] == nil
        else { return [] }
        let shown = accountOrder.prefix(12).joined(separator: ", ") + (accountOrder.count > 12 ? ", …" : "")
        let defined = accountOrder.isEmpty ? "it defines no accounts" : "defined: \(shown)"
        let suggestion = Suggestion.closest(to: name.value, among: accountOrder)
        return [.error(
            .undefinedAccount, "account '\(name.value)' is not defined in \(fileName) (\(defined))", at: name.location,
            note: .init(accountOrder.isEmpty ? "\(file) is here" : "the accounts are defined here", at: accountsLocation),
            hint: suggestion.map { "did you mean '\($0)'?" } ?? "add '\(name.value)' under accounts: in \(file)")]
    }
}

extension ProjectConfig {
    /// MC2029 for a config without a `project:` id (`validate` reports it with the config's
    /// other diagnostics); `nil` when it has one.
    public var noProjectWarning: Diagnostic? {
        guard project == nil else { return nil }
        return .warning(
            .noProjectID,
            "\(fileName) has no project id: clientmsgids cannot tell this repository's broadcasts from another's that use the same account",
            at: SourceLocation(file: file, line: 1, column: 1),
            hint: "run `masscast init` in this folder: it adds a random `project:` id (commit it, never change it)")
    }

    /// The warning for a pipeline validated without any masscast.yaml whose account is
    /// inline: it has no project id, so its clientmsgids use the `mc1-` form, which another
    /// repository sending the same broadcast name to the same account would share.
    public static func noProjectWarning(for pipeline: Pipeline) -> Diagnostic? {
        guard case .inline(let account) = pipeline.account else { return nil }
        return .warning(
            .noProjectID,
            "this pipeline has no project id (no masscast.yaml): its clientmsgids cannot tell it from a pipeline of another repository with the same name and account",
            at: account.location,
            hint: "run `masscast init` at the repository's root: it writes a masscast.yaml with a random project id (commit it)")
    }
}
