import Foundation
import PipelineCore
import PipelineYAML
import WeChatLimits
import WeChatPush

extension SandboxFixture {
    /// Reads a fixture from YAML text.
    ///
    /// Every problem is reported, each at its `file:line:column`: YAML syntax, unknown keys,
    /// values of the wrong type or out of range, duplicate AppIDs or tag ids, an
    /// EncodingAESKey that is not 43 characters of base64, faults whose action does not fit
    /// their target.
    /// - Parameters:
    ///   - yaml: the fixture text.
    ///   - file: the name errors show for it.
    /// - Throws: ``SandboxFixtureError``.
    public static func load(yaml: String, file: String) throws(SandboxFixtureError) -> SandboxFixture {
        let result = YAMLReader().read(text: yaml, file: file)
        let errors = result.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw SandboxFixtureError(.syntax, diagnostics: errors) }
        guard let root = result.root else {
            throw SandboxFixtureError(.invalid, diagnostics: [.error(
                .missingKey, "the fixture is empty; it needs at least `accounts`",
                at: SourceLocation(file: file, line: 1, column: 1))])
        }
        let structure = FixtureSpec.check(root, as: .object(FixtureSpec.fixture), rootName: "the fixture")
        if !structure.isEmpty { throw SandboxFixtureError(.invalid, diagnostics: structure) }
        var reader = FixtureReader()
        let fixture = reader.fixture(root)
        if let fixture, !reader.diagnostics.hasErrors { return fixture }
        throw SandboxFixtureError(.invalid, diagnostics: reader.diagnostics.hasErrors
            ? reader.diagnostics.diagnostics
            : [.error(.badValue, "the fixture could not be read", at: root.location)])
    }

    /// Reads a fixture from a file.
    /// - Throws: ``SandboxFixtureError`` (an unreadable file is one issue without a line).
    public static func load(path: String) throws(SandboxFixtureError) -> SandboxFixture {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SandboxFixtureError(
                .unreadable,
                diagnostics: [.error(.fileUnreadable, "cannot read '\(path)': \(error.localizedDescription)", at: nil)],
                cause: error)
        }
        return try load(yaml: text, file: path)
    }

    /// Reads fault rules: one rule (a mapping), a list of rules, or `{seed, rules}` — the
    /// shapes of the fixture's `faults` and of `POST /sandbox/faults` (JSON is YAML).
    /// - Returns: the rules and the seed, when one is given.
    /// - Throws: ``SandboxFixtureError``.
    public static func loadFaults(text: String, file: String) throws(SandboxFixtureError) -> (rules: [SandboxFault], seed: UInt64?) {
        let result = YAMLReader().read(text: text, file: file)
        let errors = result.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { throw SandboxFixtureError(.syntax, diagnostics: errors) }
        guard let root = result.root else {
            throw SandboxFixtureError(.invalid, diagnostics: [.error(.missingKey, "no fault rule given", at: nil)])
        }
        let oneRule = root.entries != nil && root["on"] != nil
        let structure = oneRule
            ? FixtureSpec.check(root, as: .object(FixtureSpec.faultRule), rootName: "the fault rule")
            : FixtureSpec.check(root, as: FixtureSpec.faults, rootName: "the faults")
        if !structure.isEmpty { throw SandboxFixtureError(.invalid, diagnostics: structure) }
        var reader = FixtureReader()
        let parsed: (rules: [SandboxFault], seed: UInt64?)
        if oneRule {
            parsed = (reader.faultRule(root).map { [$0] } ?? [], nil)
        } else {
            parsed = reader.faults(root)
        }
        if reader.diagnostics.hasErrors { throw SandboxFixtureError(.invalid, diagnostics: reader.diagnostics.diagnostics) }
        return parsed
    }
}

extension SourceNode {
    /// Whether the node is a scalar read as a string.
    fileprivate var isStringScalar: Bool {
        if case .string? = typed { return true }
        return false
    }
}

/// Walks the located tree, collecting every problem.
struct FixtureReader {
    var diagnostics = DiagnosticBag()

    /// Reports a problem at `node`; `code` says which kind (a malformed value unless told).
    mutating func fail(_ node: SourceNode, _ message: String, _ code: DiagnosticCode = .badValue) {
        diagnostics.error(code, message, at: node.location)
    }

    mutating func fail(at location: SourceLocation, _ message: String, _ code: DiagnosticCode = .badValue) {
        diagnostics.error(code, message, at: location)
    }

    // MARK: Values (their types and ranges were checked against `FixtureSpec`)

    func mapping(_ node: SourceNode) -> [SourceNode.Entry]? { node.entries }

    func string(_ node: SourceNode) -> String? {
        if case .string(let text)? = node.typed { return text }
        if case .integer(let value)? = node.typed { return String(value) }
        return nil
    }

    func int(_ node: SourceNode) -> Int? {
        if case .integer(let value)? = node.typed { return value }
        return nil
    }

    func seed(_ node: SourceNode) -> UInt64? { int(node).flatMap { $0 >= 0 ? UInt64($0) : nil } }

    func list(_ node: SourceNode) -> [SourceNode]? { node.items }

    /// An integer, or `off`/`null`/`false` for "no limit".
    mutating func quota(_ node: SourceNode, _ what: String) -> Int?? {
        switch node.typed {
        case .integer(let value)? where value >= 0: return .some(value)
        case .null?, .bool(false)?: return .some(nil)
        case .string(let text)? where ["off", "none", "unlimited"].contains(text.lowercased()): return .some(nil)
        default:
            fail(node, "\(what) must be a non-negative integer or `off`, not \(node.kindDescription)", .wrongType)
            return nil
        }
    }

    mutating func double(_ node: SourceNode, _ what: String, in range: ClosedRange<Double>) -> Double? {
        let value: Double
        switch node.typed {
        case .integer(let v)?: value = Double(v)
        case .float(let v)? where v.isFinite: value = v
        default:
            fail(node, "\(what) must be a number, not \(node.kindDescription)", .wrongType)
            return nil
        }
        guard range.contains(value) else {
            fail(node, "\(what) must be in \(range.lowerBound)...\(range.upperBound), not \(value)", .outOfRange)
            return nil
        }
        return value
    }

    mutating func bool(_ node: SourceNode, _ what: String) -> Bool? {
        switch node.typed {
        case .bool(let value)?: return value
        case .string(let text)?:
            switch text.lowercased() {
            case "on", "yes": return true
            case "off", "no": return false
            default: break
            }
        default: break
        }
        fail(node, "\(what) must be true or false (on/off), not \(node.kindDescription)", .wrongType)
        return nil
    }

    /// `500ms`, `30s`, `5m`, `2h`, `3d` or sums (`1h30m`); a bare integer is seconds.
    mutating func duration(_ node: SourceNode, _ what: String) -> Duration? {
        switch node.typed {
        case .integer(let seconds)? where seconds >= 0: return .seconds(seconds)
        case .string(let text)?:
            if let value = DurationText.parse(text) { return value }
        default: break
        }
        fail(node, "\(what) must be a duration such as 500ms, 30s, 5m, 2h or 3d, not \(node.kindDescription)",
             node.isStringScalar ? .invalidDuration : .wrongType)
        return nil
    }

    // MARK: The fixture


    mutating func fixture(_ root: SourceNode) -> SandboxFixture? {
        guard let entries = mapping(root) else { return nil }
        var fixture = SandboxFixture(accounts: [])
        var accountsNode: SourceNode?
        for entry in entries {
            let value = entry.value
            switch entry.key {
            case "seed": if let v = seed(value) { fixture.seed = v }
            case "time_scale":
                if let v = double(value, "time_scale", in: 0.001...1_000_000) { fixture.timeScale = v }
            case "limits": if let v = bool(value, "limits") { fixture.limitsEnabled = v }
            case "dedupe_keyless": if let v = bool(value, "dedupe_keyless") { fixture.dedupeKeyless = v }
            case "windows": windows(value, into: &fixture.windows)
            case "quotas": quotas(value, into: &fixture.quotas)
            case "jobs": jobs(value, into: &fixture.jobs)
            case "payload": payload(value, into: &fixture.payload)
            case "accounts": accountsNode = value
            case "faults":
                let parsed = faults(value)
                fixture.faults = parsed.rules
                if let seed = parsed.seed { fixture.faultSeed = seed }
            default: break
            }
        }
        guard let accountsNode else { return nil }
        fixture.accounts = accounts(accountsNode, seed: fixture.seed)
        return fixture
    }

    mutating func windows(_ node: SourceNode, into windows: inout SandboxFixture.Windows) {
        guard let entries = mapping(node) else { return }
        for entry in entries {
            guard let value = duration(entry.value, entry.key) else { continue }
            if value <= .zero {
                fail(entry.value, "\(entry.key) must be longer than 0", .outOfRange)
                continue
            }
            switch entry.key {
            case "token_ttl": windows.tokenTTL = value
            case "token_overlap": windows.tokenOverlap = value
            case "clientmsgid_window": windows.clientMsgIDWindow = value
            case "clientmsgid_retry_window": windows.clientMsgIDRetryWindow = value
            case "media_ttl": windows.mediaTTL = value
            case "rate_window": windows.rateWindow = value
            default: break
            }
        }
    }

    mutating func quotas(_ node: SourceNode, into quotas: inout SandboxFixture.Quotas) {
        guard let entries = mapping(node) else { return }
        for entry in entries {
            if entry.key == "force_refresh_spacing" {
                if case .string(let text)? = entry.value.typed, text.lowercased() == "off" {
                    quotas.forceRefreshSpacing = nil
                } else if let value = duration(entry.value, entry.key) {
                    quotas.forceRefreshSpacing = value
                }
                continue
            }
            guard let value = quota(entry.value, entry.key) else { continue }
            switch entry.key {
            case "mass_calls_per_minute": quotas.massCallsPerMinute = value
            case "sends_per_day": quotas.sendsPerDay = value
            case "subscription_sendall_per_day": quotas.subscriptionSendAllPerDay = value
            case "to_all_per_month": quotas.toAllPerMonth = value
            case "follower_messages_per_month": quotas.followerMessagesPerMonth = value
            case "uploadnews_per_day": quotas.uploadNewsPerDay = value
            case "deletes_per_day": quotas.deletesPerDay = value
            case "previews_per_day": quotas.previewsPerDay = value
            case "token_calls_per_day": quotas.tokenCallsPerDay = value
            case "force_refresh_per_day": quotas.forceRefreshPerDay = value
            default: break
            }
        }
    }

    mutating func jobs(_ node: SourceNode, into jobs: inout SandboxFixture.JobSettings) {
        guard let entries = mapping(node) else { return }
        for entry in entries {
            switch entry.key {
            case "review": if let v = duration(entry.value, "review") { jobs.review = v }
            case "push_delay": if let v = duration(entry.value, "push_delay") { jobs.pushDelay = v }
            case "push_timeout":
                if let v = duration(entry.value, "push_timeout") {
                    if v <= .zero { fail(entry.value, "push_timeout must be longer than 0", .outOfRange) } else { jobs.pushTimeout = v }
                }
            case "push_tries": if let v = int(entry.value) { jobs.pushTries = v }
            case "push_retry_interval":
                if let v = duration(entry.value, "push_retry_interval") { jobs.pushRetryInterval = v }
            case "error_rate": if let v = double(entry.value, "error_rate", in: 0...1) { jobs.errorRate = v }
            default: break
            }
        }
    }

    mutating func payload(_ node: SourceNode, into limits: inout SandboxFixture.PayloadLimits) {
        guard let entries = mapping(node) else { return }
        for entry in entries {
            guard let v = int(entry.value) else { continue }
            switch entry.key {
            case "text_max_bytes": limits.textMaxBytes = v
            case "title_max_chars": limits.titleMaxChars = v
            case "digest_max_chars": limits.digestMaxChars = v
            case "content_max_chars": limits.contentMaxChars = v
            default: break
            }
        }
    }

    // MARK: Accounts


    mutating func accounts(_ node: SourceNode, seed: UInt64) -> [SandboxFixture.Account] {
        guard let entries = node.entries else { return [] }
        if entries.isEmpty { fail(node, "accounts is empty; give at least one account", .missingKey) }
        var out: [SandboxFixture.Account] = []
        var appIDs: [String: SourceLocation] = [:]
        for entry in entries {
            guard let account = account(name: entry.key, entry.value, seed: seed) else { continue }
            if let first = appIDs[account.appID] {
                fail(entry.value["appid"] ?? entry.value,
                     "appid '\(account.appID)' is used by another account too (first at \(first))")
                continue
            }
            appIDs[account.appID] = (entry.value["appid"] ?? entry.value).location
            out.append(account)
        }
        return out
    }

    mutating func account(name: String, _ node: SourceNode, seed: UInt64) -> SandboxFixture.Account? {
        guard let entries = mapping(node) else { return nil }
        var appID: String?
        var secret: String?
        var kind = AccountKind.service
        var verified = true
        var originalID: String?
        var prefix: String?
        var speed = 0
        var callback: SandboxFixture.Callback?
        var followersNode: SourceNode?
        var tagsNode: SourceNode?
        var mediaNode: SourceNode?
        for entry in entries {
            let value = entry.value
            switch entry.key {
            case "appid":
                if let v = string(value) {
                    if v.isEmpty || v.contains(where: { $0.isWhitespace }) {
                        fail(value, "appid must be a non-empty AppID without spaces (e.g. wx8a3f2c71d905be46)")
                    } else { appID = v }
                }
            case "secret":
                if let v = string(value) {
                    if v.isEmpty { fail(value, "secret must not be empty") } else { secret = v }
                }
            case "kind": if let v = string(value), let k = AccountKind(rawValue: v) { kind = k }
            case "verified": if let v = bool(value, "verified") { verified = v }
            case "original_id":
                if let v = string(value) {
                    if v.hasPrefix("gh_") { originalID = v } else { fail(value, "original_id must start with gh_, not '\(v)'") }
                }
            case "openid_prefix":
                if let v = string(value) {
                    if v.utf8.count == 6, isWellFormedOpenID(v + String(repeating: "A", count: 22)) { prefix = v } else {
                        fail(value, "openid_prefix must be 6 characters of A-Z a-z 0-9 _ -, not '\(v)'")
                    }
                }
            case "speed": if let v = int(value) { speed = v }
            case "callback": callback = self.callback(value, appID: appID)
            case "followers": followersNode = value
            case "tags": tagsNode = value
            case "media": mediaNode = value
            default: break
            }
        }
        guard let appID, let secret else { return nil }
        var account = SandboxFixture.Account(
            name: name, appID: appID, secret: secret, kind: kind, verified: verified,
            originalID: originalID, openIDPrefix: prefix, speed: speed, callback: callback)
        if let callback, callback.mode != .plain, callback.encodingAESKey != nil {
            // Check the key with the module that will use it.
            do {
                _ = try CallbackCrypto(credentials: CallbackCredentials(
                    token: callback.token, encodingAESKey: callback.encodingAESKey, appID: appID))
            } catch {
                fail(node["callback"]?["aes_key"] ?? node, "callback: \(error.message)")
            }
        }
        var followers: [String] = []
        if let followersNode {
            followers = self.followers(followersNode, prefix: account.openIDPrefix, seed: seed ^ stableHash(appID))
        }
        var known = Set(followers)
        if let tagsNode {
            account.tags = tags(tagsNode, followers: followers, seed: seed ^ stableHash(appID))
            // Listed members follow the account (WeChat tags hold only followers).
            for tag in account.tags {
                for member in tag.members where known.insert(member).inserted { followers.append(member) }
            }
        }
        account.followers = followers
        if let mediaNode { account.media = media(mediaNode) }
        return account
    }

    mutating func callback(_ node: SourceNode, appID: String?) -> SandboxFixture.Callback? {
        guard let entries = mapping(node) else { return nil }
        var url: String?
        var token: String?
        var key: String?
        var mode = SandboxFixture.Callback.Mode.plain
        var modeGiven = false
        for entry in entries {
            switch entry.key {
            case "url":
                url = string(entry.value)
            case "token":
                if let v = string(entry.value) {
                    if v.isEmpty { fail(entry.value, "callback.token must not be empty") } else { token = v }
                }
            case "aes_key": key = string(entry.value)
            case "mode":
                modeGiven = true
                if let v = string(entry.value), let m = SandboxFixture.Callback.Mode(rawValue: v) { mode = m }
            default: break
            }
        }
        if !modeGiven, key != nil { mode = .safe }
        guard let url, let token else { return nil }
        if mode != .plain, key == nil {
            fail(node, "callback.mode \(mode.rawValue) needs an aes_key (the 43-character EncodingAESKey)", .missingKey)
            return nil
        }
        return SandboxFixture.Callback(url: url, token: token, encodingAESKey: key, mode: mode)
    }

    mutating func followers(_ node: SourceNode, prefix: String, seed: UInt64) -> [String] {
        var listed: [String] = []
        var count = 0
        var followerSeed = seed
        if let items = node.items {
            listed = openIDList(items, "followers")
        } else if let entries = mapping(node) {
            for entry in entries {
                switch entry.key {
                case "count": count = int(entry.value) ?? 0
                case "seed": if let v = self.seed(entry.value) { followerSeed = v }
                case "list": if let items = list(entry.value) { listed = openIDList(items, "followers.list") }
                default: break
                }
            }
        }
        var seen = Set<String>()
        listed = listed.filter { seen.insert($0).inserted }
        return listed + FollowerGenerator.openIDs(count: count, seed: followerSeed, prefix: prefix, excluding: seen)
    }

    mutating func openIDList(_ items: [SourceNode], _ what: String) -> [String] {
        var out: [String] = []
        for item in items {
            guard let id = string(item) else { continue }
            if isWellFormedOpenID(id) { out.append(id) } else {
                fail(item, "'\(id)' is not an OpenID (28 characters of A-Z a-z 0-9 _ -)")
            }
        }
        return out
    }

    mutating func tags(_ node: SourceNode, followers: [String], seed: UInt64) -> [SandboxFixture.Tag] {
        guard let items = list(node) else { return [] }
        var out: [SandboxFixture.Tag] = []
        var ids: [Int: SourceLocation] = [:]
        for item in items {
            guard let entries = mapping(item) else { continue }
            var id: Int?
            var name: String?
            var fraction: Double?
            var members: [String]?
            for entry in entries {
                switch entry.key {
                case "id": id = int(entry.value)
                case "name": name = string(entry.value)
                case "fraction": fraction = double(entry.value, "tag fraction", in: 0...1)
                case "members": if let l = list(entry.value) { members = openIDList(l, "tag members") }
                default: break
                }
            }
            guard let id else { continue }
            if let first = ids[id] {
                fail(item["id"] ?? item, "tag id \(id) is used twice (first at \(first))")
                continue
            }
            ids[id] = (item["id"] ?? item).location
            var all = members ?? []
            if let fraction {
                let drawn = FollowerGenerator.members(of: followers, fraction: fraction, seed: seed, tagID: id)
                var seen = Set(all)
                for member in drawn where seen.insert(member).inserted { all.append(member) }
            }
            out.append(SandboxFixture.Tag(id: id, name: name ?? "tag \(id)", members: all))
        }
        return out
    }

    mutating func media(_ node: SourceNode) -> [SandboxFixture.Media] {
        guard let items = list(node) else { return [] }
        var out: [SandboxFixture.Media] = []
        for item in items {
            guard let entries = mapping(item) else { continue }
            var id: String?
            var type: SandboxMediaKind?
            var articles = 1
            var age = Duration.zero
            for entry in entries {
                switch entry.key {
                case "media_id": id = string(entry.value)
                case "type":
                    if let v = string(entry.value), let k = SandboxMediaKind(rawValue: v) { type = k }
                case "articles": articles = int(entry.value) ?? 1
                case "age": age = duration(entry.value, "age") ?? .zero
                default: break
                }
            }
            guard let id, !id.isEmpty else {
                fail(item, "a medium needs a media_id", .missingKey)
                continue
            }
            guard let type else { continue }
            out.append(SandboxFixture.Media(mediaID: id, type: type, articles: articles, age: age))
        }
        return out
    }

    // MARK: Faults

    mutating func faults(_ node: SourceNode) -> (rules: [SandboxFault], seed: UInt64?) {
        if let items = node.items {
            return (items.compactMap { faultRule($0) }, nil)
        }
        guard let entries = mapping(node) else { return ([], nil) }
        var seed: UInt64?
        var rules: [SandboxFault] = []
        for entry in entries {
            switch entry.key {
            case "seed": seed = self.seed(entry.value)
            case "rules": if let items = list(entry.value) { rules = items.compactMap { faultRule($0) } }
            default: break
            }
        }
        return (rules, seed)
    }


    mutating func faultRule(_ node: SourceNode) -> SandboxFault? {
        guard let entries = mapping(node) else { return nil }
        guard let onNode = node["on"], let on = string(onNode) else { return nil }
        let target: SandboxFault.Target
        switch on {
        case "push": target = .push
        case "job": target = .job
        default:
            var path = on
            if path.hasPrefix("/") { path.removeFirst() }
            if path.hasPrefix("cgi-bin/") { path.removeFirst("cgi-bin/".count) }
            if path.isEmpty {
                fail(onNode, "`on` must name an endpoint, `*`, push or job")
                return nil
            }
            target = .endpoint(path)
        }
        var actions: [(SandboxFault.Action, SourceNode)] = []
        var latency: Duration?
        var phase: SandboxFault.Phase?
        var rate: Double?
        var next: Int?
        var skip = 0
        var limit: Int?
        for entry in entries {
            let value = entry.value
            switch entry.key {
            case "errcode": if let v = int(value) { actions.append((.errcode(v), value)) }
            case "http": if let v = int(value) { actions.append((.httpStatus(v), value)) }
            case "reset":
                if case .bool(true)? = value.typed {
                    actions.append((.reset, value))
                } else {
                    switch string(value) {
                    case "before": actions.append((.reset, value)); phase = phase ?? .before
                    case "after": actions.append((.reset, value)); phase = .after
                    default:
                        fail(value, "reset must be `before`, `after` or true, not \(value.kindDescription)", .invalidEnumValue)
                    }
                }
            case "body":
                if let v = string(value) { actions.append((.body(v), value)) } else {
                    fail(value, "body must be a string, not \(value.kindDescription)", .wrongType)
                }
            case "revoke_token": if bool(value, "revoke_token") == true { actions.append((.revokeToken, value)) }
            case "latency": latency = duration(value, "latency")
            case "when":
                if let v = string(value), let p = SandboxFault.Phase(rawValue: v) { phase = p }
            case "drop": if bool(value, "drop") == true { actions.append((.dropPush, value)) }
            case "delay": if let v = duration(value, "delay") { actions.append((.delayPush(v), value)) }
            case "duplicate": if bool(value, "duplicate") == true { actions.append((.duplicatePush, value)) }
            case "fail": if bool(value, "fail") == true { actions.append((.failJob, value)) }
            case "err": if let v = int(value) { actions.append((.jobError(v), value)) }
            case "reprint": if let v = int(value) { actions.append((.reprint(articleIdx: v), value)) }
            case "rate": rate = double(value, "rate", in: 0...1)
            case "next": next = int(value)
            case "skip": skip = int(value) ?? 0
            case "limit": limit = int(value)
            default: break
            }
        }
        if actions.count > 1 {
            fail(actions[1].1, "a fault rule has one action; this one has \(actions.count) (split it into several rules)", .conflictingKeys)
            return nil
        }
        let action = actions.first?.0
        if action == nil && latency == nil {
            fail(node, "the fault rule does nothing: give an action (errcode, http, reset, body, revoke_token, drop, delay, duplicate, fail, err, reprint) or a latency", .missingKey)
            return nil
        }
        if let (action, actionNode) = actions.first {
            let fits: Bool
            switch (target, action) {
            case (.endpoint, .errcode), (.endpoint, .httpStatus), (.endpoint, .reset), (.endpoint, .body),
                (.endpoint, .revokeToken):
                fits = true
            case (.push, .dropPush), (.push, .delayPush), (.push, .duplicatePush): fits = true
            case (.job, .failJob), (.job, .jobError), (.job, .reprint): fits = true
            default: fits = false
            }
            if !fits {
                fail(actionNode, "this action does not apply to `on: \(on)` (endpoints take errcode, http, reset, body, revoke_token, latency; push takes drop, delay, duplicate; job takes fail, err, reprint)")
                return nil
            }
        }
        if latency != nil, case .endpoint = target {} else if latency != nil {
            fail(node["latency"] ?? node, "latency applies to endpoints only; delay a push with `delay`")
            return nil
        }
        if rate != nil && next != nil {
            fail(node["next"] ?? node, "give either `rate` or `next`, not both", .conflictingKeys)
            return nil
        }
        let trigger: SandboxFault.Trigger
        if let rate {
            trigger = .rate(rate)
        } else if let next {
            trigger = .schedule(skip: skip, count: next)
        } else if skip > 0 {
            trigger = .schedule(skip: skip, count: Int.max - skip)
        } else {
            trigger = .always
        }
        return SandboxFault(target: target, action: action, latency: latency, phase: phase ?? .before,
                            trigger: trigger, limit: limit)
    }
}
