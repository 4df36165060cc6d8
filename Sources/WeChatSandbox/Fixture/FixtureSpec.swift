import PipelineCore
import WeChatLimits

/// The shape of a sandbox fixture, in the terms pipelines and `masscast.yaml` are described
/// in (`ObjectSpec`), checked by `SpecChecker`: unknown keys (with "did you mean"), required
/// keys, value types and ranges. What a spec cannot say (duplicate AppIDs or tag ids, an
/// EncodingAESKey's form, a fault whose action does not fit its target, the lenient scalars
/// below) is checked by the fixture's decoder, also as `Diagnostic`s.
///
/// Fields typed `.deferred` take more than one spelling and are checked by the decoder:
/// switches (`true`/`false`, `on`/`off`, `yes`/`no`) and quotas (a count or `off`).
enum FixtureSpec {
    /// A duration: `500ms`, `30s`, `5m`, `2h`, `3d`, sums (`1h30m`), or a bare integer of seconds.
    static let duration: FieldType = .either([.integer(min: 0), .duration])
    /// A string; an unquoted number is read as its digits.
    static let text: FieldType = .either([.string(), .integer()])
    /// A switch: true or false, or on/off, yes/no.
    static let flag: FieldType = .deferred
    /// A quota: a non-negative integer, or `off` (also `none`, `unlimited`, `false`, null).
    static let quota: FieldType = .deferred
    /// A non-negative seed.
    static let seed: FieldType = .integer(min: 0)

    static let windows = ObjectSpec(
        ["token_ttl", "token_overlap", "clientmsgid_window", "clientmsgid_retry_window", "media_ttl", "rate_window"]
            .map { Field($0, duration) })

    static let quotas = ObjectSpec(
        ["mass_calls_per_minute", "sends_per_day", "subscription_sendall_per_day", "to_all_per_month",
         "follower_messages_per_month", "uploadnews_per_day", "deletes_per_day", "previews_per_day",
         "token_calls_per_day", "force_refresh_per_day"].map { Field($0, quota) }
            + [Field("force_refresh_spacing", .deferred, doc: "A duration, or `off`")])

    static let jobs = ObjectSpec([
        Field("review", duration),
        Field("push_delay", duration),
        Field("push_timeout", duration),
        Field("push_tries", .integer(min: 1, max: 10)),
        Field("push_retry_interval", duration),
        Field("error_rate", .number(min: 0), doc: "At most 1"),
    ])

    static let payload = ObjectSpec(
        ["text_max_bytes", "title_max_chars", "digest_max_chars", "content_max_chars"]
            .map { Field($0, .integer(min: 1, max: 10_000_000)) })

    static let callback = ObjectSpec([
        Field("url", .string(.url), required: true),
        Field("token", text, required: true),
        Field("aes_key", text),
        Field("mode", .enumeration(["plain", "compatible", "safe"])),
    ])

    static let openIDs: FieldType = .list(text)

    static let followers: FieldType = .either([
        openIDs,
        .object(ObjectSpec([
            Field("count", .integer(min: 0, max: 2_000_000)),
            Field("seed", seed),
            Field("list", openIDs),
        ])),
    ])

    static let tag = ObjectSpec([
        Field("id", .integer(min: 0, max: Int(Int32.max)), required: true),
        Field("name", text),
        Field("fraction", .number(min: 0), doc: "At most 1"),
        Field("members", openIDs),
    ])

    static let medium = ObjectSpec([
        Field("media_id", text, required: true),
        Field("type", .enumeration(SandboxMediaKind.allCases.map(\.rawValue)), required: true),
        Field("articles", .integer(min: WeChatLimits.MassSend.articlesPerNews.lowerBound,
                                   max: WeChatLimits.MassSend.articlesPerNews.upperBound)),
        Field("age", duration),
    ])

    static let account = ObjectSpec([
        Field("appid", text, required: true),
        Field("secret", text, required: true),
        Field("kind", .enumeration(AccountKind.allCases.map(\.rawValue))),
        Field("verified", flag),
        Field("original_id", text),
        Field("openid_prefix", text),
        Field("speed", .integer(min: 0, max: 4)),
        Field("callback", .object(callback)),
        Field("followers", followers),
        Field("tags", .list(.object(tag))),
        Field("media", .list(.object(medium))),
    ])

    /// One fault rule (an entry of `faults`, or the body of `POST /sandbox/faults`).
    static let faultRule = ObjectSpec([
        Field("on", text, required: true),
        Field("errcode", .integer(min: -1, max: 99_999_999)),
        Field("http", .integer(min: 400, max: 599)),
        Field("reset", .deferred, doc: "before, after or true"),
        Field("body", .deferred, doc: "A response body, as written"),
        Field("revoke_token", flag),
        Field("latency", duration),
        Field("when", .enumeration(["before", "after"])),
        Field("drop", flag),
        Field("delay", duration),
        Field("duplicate", flag),
        Field("fail", flag),
        Field("err", .integer(min: 1, max: 99_999)),
        Field("reprint", .integer(min: WeChatLimits.MassSend.articlesPerNews.lowerBound,
                                  max: WeChatLimits.MassSend.articlesPerNews.upperBound)),
        Field("rate", .number(min: 0), doc: "At most 1"),
        Field("next", .integer(min: 1, max: 1_000_000)),
        Field("skip", .integer(min: 0, max: 1_000_000)),
        Field("limit", .integer(min: 1, max: 1_000_000)),
    ])

    /// `faults`: a list of rules, or `{seed, rules}`.
    static let faults: FieldType = .either([
        .list(.object(faultRule)),
        .object(ObjectSpec([Field("seed", seed), Field("rules", .list(.object(faultRule)))])),
    ])

    /// The whole fixture.
    static let fixture = ObjectSpec([
        Field("seed", seed),
        Field("time_scale", .number(min: 0.001), doc: "At most 1,000,000"),
        Field("limits", flag),
        Field("dedupe_keyless", flag),
        Field("windows", .object(windows)),
        Field("quotas", .object(quotas)),
        Field("jobs", .object(jobs)),
        Field("payload", .object(payload)),
        Field("accounts", .map(key: .nonEmpty, value: .object(account)), required: true),
        Field("faults", faults),
    ])

    /// Checks `root` as a value of `type`: ``fixture``'s object, or a fault body.
    /// - Returns: the errors found.
    static func check(_ root: SourceNode, as type: FieldType, rootName: String) -> [Diagnostic] {
        var checker = SpecChecker()
        checker.rootName = rootName
        checker.check(root, as: type, path: "", expressions: false)
        return checker.diagnostics.diagnostics.filter { $0.severity == .error }
    }
}
