/// The shape of the project config `masscast.yaml`, in the same terms as the pipeline format
/// (`FormatSpec`), plus the value rules the field types cannot say (an AppID's form, an
/// original id's, a state URL without a password).
public enum ConfigSpec {
    /// `token_mode` values: `stable` (the `stable_token` endpoint, the default) or `classic` (`/token`).
    public static let tokenModes = TokenMode.allCases.map(\.rawValue)

    /// `accounts.<name>.pacing`.
    public static let pacing = ObjectSpec([
        Field("mass_calls_per_minute", .integer(min: 1), doc: "Mass-message API calls per minute (default 60)"),
        Field("sends_per_day", .integer(min: 1), doc: "Mass sends per day (default 100)"),
        Field("clientmsgid_retry_window", .duration,
              doc: "How long a clientmsgid rests before it is repeated (default 1m)"),
    ])

    /// `accounts.<name>`.
    public static let account = ObjectSpec([
        Field("app_id", .string(.nonEmpty), required: true, doc: "The AppID: wx and 16 hexadecimal digits"),
        Field("app_secret", .string(.secretReference), required: true, expression: true,
              doc: "Exactly one ${{ env.NAME }} or ${{ secrets.NAME }}; never a literal"),
        Field("kind", .enumeration(AccountKind.allCases.map(\.rawValue)), required: true,
              doc: "service (服务号) or subscription (订阅号)"),
        Field("original_id", .string(.nonEmpty), doc: "The original id gh_…, which routes pushes to the account"),
        Field("api_base", .string(.url), doc: "API base URL (default https://api.weixin.qq.com)"),
        Field("token_mode", .enumeration(tokenModes), doc: "stable (default) or classic"),
        Field("pacing", .object(pacing), doc: "Rate limits masscast keeps to for the account"),
        Field("callback", .object(accountCallback),
              doc: "The account's own push token and EncodingAESKeys (instead of the project-wide callback)"),
    ])

    /// `paths`.
    public static let paths = ObjectSpec([
        Field("allow", .list(.string(.nonEmpty), min: 1),
              doc: "Folders outside the repository that `file`, `content_file` and `touser_file` may resolve into; relative to masscast.yaml"),
    ])

    /// `state`.
    public static let state = ObjectSpec([
        Field("path", .string(.nonEmpty), doc: "A SQLite file, relative to masscast.yaml"),
        Field("url", .string(.nonEmpty), expression: true,
              doc: "A postgres:// URL without a password, or ${{ env.NAME }} / ${{ secrets.NAME }}"),
        Field("password_env", .string(.nonEmpty),
              doc: "The environment variable that holds the PostgreSQL password (default: PGPASSWORD)"),
        Field("lease_ttl", .duration,
              doc: "How long a broadcast's lease lasts without renewal, 2s to 1h (default 5m); renewed every third of it"),
    ], constraints: [.atMostOne(["path", "url"]), .atLeastOne(["path", "url", "lease_ttl"])])

    /// `accounts.<name>.callback`: the account's own callback secrets (its AppID is the account's).
    public static let accountCallback = ObjectSpec([
        Field("token", .string(.secretReference), required: true, expression: true,
              doc: "The push token; ${{ env.NAME }} or ${{ secrets.NAME }}"),
        Field("aes_key", .string(.secretReference), expression: true, doc: "The EncodingAESKey; an expression"),
        Field("previous_aes_key", .string(.secretReference), expression: true,
              doc: "The EncodingAESKey before the last rotation; an expression"),
    ])

    /// `callback`.
    public static let callback = ObjectSpec([
        Field("token", .string(.secretReference), expression: true, doc: "The push token; ${{ env.NAME }} or ${{ secrets.NAME }}"),
        Field("aes_key", .string(.secretReference), expression: true, doc: "The EncodingAESKey; an expression"),
        Field("previous_aes_key", .string(.secretReference), expression: true,
              doc: "The EncodingAESKey before the last rotation; an expression"),
        Field("app_id", .string(.nonEmpty), doc: "The AppID decrypted pushes must carry"),
    ])

    /// The whole file.
    public static let config = ObjectSpec([
        Field("version", .constant(1), required: true, doc: "Format version: 1"),
        Field("project", .string(.nonEmpty),
              doc: "The project's id (8 to 64 letters, digits, - and _), written once by masscast init and committed; part of every clientmsgid"),
        Field("accounts", .map(key: .accountName, value: .object(account)), doc: "Accounts by the name pipelines use"),
        Field("state", .object(state), doc: "Where run state is kept"),
        Field("callback", .object(callback), doc: "How WeChat pushes are verified and decrypted"),
        Field("approvals", .object(approvals), doc: "Sends masscast apply refuses without committed approvals"),
        Field("paths", .object(paths), doc: "Folders outside the repository that pipelines may read files from"),
    ])

    /// `approvals:`: how many approvals (files under approvals/, written by `masscast approve`)
    /// a broadcast needs before `masscast apply` sends it.
    public static let approvals = ObjectSpec([
        Field("to_all", .integer(min: 0), doc: "Approvals a send to ALL followers needs"),
        Field("over_recipients", .integer(min: 1),
              doc: "An OpenID audience larger than this needs approvals (as many as to_all, at least 1)"),
    ])

    /// A project id: 8 to 64 ASCII letters, digits, `-` and `_`.
    public static func isProjectID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 8, u.count <= 64 else { return false }
        return u.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
        }
    }

    /// An AppID: `wx` and 16 lowercase hexadecimal digits (`wx8a3f2c71d905be46`).
    public static func isAppID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 18, u[0] == UInt8(ascii: "w"), u[1] == UInt8(ascii: "x") else { return false }
        return u[2...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// An original id: `gh_` and 6 to 32 letters or digits (`gh_5d1c0e8f7a93`).
    public static func isOriginalID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 9, u.count <= 35, s.hasPrefix("gh_") else { return false }
        return u[3...].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
    }

    /// Whether a URL carries a password (`user:pass@host`, or a `password=` parameter).
    public static func urlHasPassword(_ s: String) -> Bool {
        guard let scheme = s.range(of: "://") else { return false }
        let rest = s[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") { return true }
        return s.lowercased().contains("password=")
    }

    /// `line` with the password of any URL in it masked (`postgres://u:<redacted>@h/db`, and
    /// the value of a `password=` parameter): for source snippets, which the renderer masks
    /// only after secret-named keys.
    public static func maskingURLPasswords(_ line: String) -> String {
        guard ASCIISearch.mayContain(line, anyOf: [Array("://".utf8), Array("password=".utf8)]) else { return line }
        guard line.contains("://") || line.lowercased().contains("password=") else { return line }
        let stops: Set<Character> = ["/", "?", "#", "\"", "'", " ", "\t", ",", "}", "]"]
        var out = ""
        var rest = line[...]
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authority = rest.prefix { !stops.contains($0) }
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon] + "<redacted>"
                rest = rest[at...]
            }
        }
        out += rest
        guard let r = out.range(of: "password=", options: .caseInsensitive) else { return out }
        let value = out[r.upperBound...].prefix { $0 != "&" && !stops.contains($0) }
        if value.isEmpty { return out }
        return String(out[..<r.upperBound]) + "<redacted>" + out[value.endIndex...]
    }
}

/// The rule for fields that name a secret: exactly one `${{ secrets.NAME }}` or
/// `${{ env.NAME }}`, nothing around it (MC2019 otherwise).
public enum SecretReference {
    /// Whether `text` is exactly one `${{ secrets.NAME }}` or `${{ env.NAME }}`.
    public static func isReference(_ text: String) -> Bool {
        StringRule.secretReference.matches(text)
    }

    /// The environment variable a secret field names (`APP_SECRET` of
    /// `${{ env.APP_SECRET }}`), or `nil` for a literal or a `secrets.` reference.
    public static func environmentName(_ text: String?) -> String? {
        guard let text, isReference(text), let r = text.range(of: "env.") else { return nil }
        let name = text[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : String(name)
    }

    /// Whether an environment variable holds a credential whatever the config says: the
    /// variables masscast itself reads secrets from.
    public static func isSecretEnvironmentName(_ name: String) -> Bool {
        name.hasPrefix("MASSCAST_SECRET_") || name.hasPrefix("MASSCAST_CALLBACK_") || name == "MASSCAST_STATE_URL"
            || name == "PGPASSWORD"
    }

    /// The MC2019 error for a secret field written as an expression that is not exactly one
    /// reference (`${{ secrets.A }}-x`, `${{ format('{0}', secrets.A) }}`): `nil` when the
    /// value is fine, not an expression (the field checks report literals), or when `reported`
    /// already holds a problem at the value (an expression syntax error, an unknown name).
    public static func misuse(_ node: SourceNode?, path: String, reported: [Diagnostic]) -> Diagnostic? {
        guard let node, node.hasExpression, case .scalar(let text, _) = node.content, !isReference(text) else {
            return nil
        }
        let start = node.location
        let already = reported.contains { d in
            guard let l = d.location else { return false }
            return l.source == start.source && l.line == start.line && l.column >= start.column
        }
        if already { return nil }
        var d = Diagnostic.error(
            .literalSecret, "\(path) must be exactly one ${{ secrets.NAME }} or ${{ env.NAME }}, with nothing around it",
            at: start, hint: "text or functions around a secret would end up in the secret; write ${{ secrets.APP_SECRET }}")
        d.redactsSource = true
        return d
    }
}
