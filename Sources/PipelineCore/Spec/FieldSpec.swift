import Foundation

/// The shape of a value in a pipeline: one description that drives three things, so they
/// can never disagree: the loader's checks, the typed decoding, and the JSON Schema.
public indirect enum FieldType: Sendable {
    /// A string, optionally restricted by a named rule (pattern).
    case string(StringRule? = nil)
    /// An integer within an optional closed range.
    case integer(min: Int? = nil, max: Int? = nil)
    /// A number (integer or float) with an optional lower bound.
    case number(min: Double? = nil)
    case boolean
    /// `500ms`, `30s`, `2m`, `1h`, `1d`, or sums like `1h30m`.
    case duration
    /// One of fixed strings.
    case enumeration([String])
    /// A list whose items have one type; optional length bounds.
    case list(FieldType, min: Int? = nil, max: Int? = nil)
    /// A mapping with known keys.
    case object(ObjectSpec)
    /// A mapping from names (matching a rule) to values of one type.
    case map(key: StringRule, value: FieldType)
    /// The first alternative that matches the node's kind (scalar / list / mapping).
    case either([FieldType])
    /// Any YAML value.
    case any
    /// Exactly this integer (the format `version`).
    case constant(Int)
    /// Checked by a later stage that knows more (a step's `with` by its kind, `if`, `account`).
    case deferred

    /// A word for messages: "a string", "an integer from 0 to 4".
    public var expectation: String {
        switch self {
        case .string(let rule): rule.map { "a string (\($0.summary))" } ?? "a string"
        case .integer(let lo, let hi):
            switch (lo, hi) {
            case let (lo?, hi?): "an integer from \(lo) to \(hi)"
            case let (lo?, nil): "an integer ≥ \(lo)"
            case let (nil, hi?): "an integer ≤ \(hi)"
            default: "an integer"
            }
        case .number(let lo): lo.map { "a number ≥ \(Self.format($0))" } ?? "a number"
        case .boolean: "true or false"
        case .duration: "a duration such as 500ms, 30s, 2m or 1h"
        case .enumeration(let values): "one of " + values.map { "'\($0)'" }.joined(separator: ", ")
        case .list: "a list"
        case .object, .map: "a mapping"
        case .either(let types): types.map(\.expectation).joined(separator: " or ")
        case .any: "a value"
        case .constant(let v): "\(v)"
        case .deferred: "a value"
        }
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() ? String(Int(d)) : String(d)
    }

    /// Whether an expression of static type `t` may fill a field of this type.
    public func accepts(_ t: ExprType) -> Bool {
        if case .any = t { return true }
        switch self {
        case .any, .deferred: return true
        case .string, .duration, .enumeration:
            if case .string = t { return true }
            return false
        case .integer, .constant:
            if case .integer = t { return true }
            return false
        case .number:
            switch t {
            case .integer, .number: return true
            default: return false
            }
        case .boolean:
            if case .boolean = t { return true }
            return false
        case .list:
            if case .list = t { return true }
            return false
        case .object, .map:
            if case .object = t { return true }
            return false
        case .either(let types): return types.contains { $0.accepts(t) }
        }
    }
}

/// A named restriction on a string, with the regular expression the JSON Schema uses.
public enum StringRule: String, Sendable, CaseIterable {
    /// A broadcast name: `[a-z0-9][a-z0-9-]{0,62}`.
    case pipelineName
    /// A step id: `[A-Za-z_][A-Za-z0-9_-]*`.
    case stepID
    /// An input name: `[A-Za-z_][A-Za-z0-9_]*`.
    case inputName
    /// An account name from masscast.yaml: `[a-z0-9][a-z0-9_-]{0,62}`.
    case accountName
    /// RFC 3339 date-time with an explicit UTC offset.
    case timestamp
    /// An expression over `secrets.` or `env.` and nothing else.
    case secretReference
    /// Not empty.
    case nonEmpty
    /// An OpenID: 6–64 characters of `[A-Za-z0-9_-]`.
    case openID
    /// An http(s) URL.
    case url
    /// A percentage above 0 and at most 100: `90%`, `99.5%` (`mass/wait`'s `min_sent`).
    case percentage

    /// The pattern for JSON Schema (ECMA 262) and for the loader.
    public var pattern: String {
        switch self {
        case .pipelineName: "^[a-z0-9][a-z0-9-]{0,62}$"
        case .stepID: "^[A-Za-z_][A-Za-z0-9_-]*$"
        case .inputName: "^[A-Za-z_][A-Za-z0-9_]*$"
        case .accountName: "^[a-z0-9][a-z0-9_-]{0,62}$"
        case .timestamp: "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
        case .secretReference: "^\\s*\\$\\{\\{\\s*(secrets|env)\\.[A-Za-z_][A-Za-z0-9_]*\\s*\\}\\}\\s*$"
        case .nonEmpty: "\\S"
        case .openID: "^[A-Za-z0-9_-]{6,64}$"
        case .url: "^https?://[^\\s/$.?#][^\\s]*$"
        case .percentage: "^(100(\\.0+)?|[1-9][0-9]?(\\.[0-9]+)?|0\\.[0-9]*[1-9][0-9]*)%$"
        }
    }

    /// Short description for messages.
    public var summary: String {
        switch self {
        case .pipelineName: "lowercase letters, digits and '-', starting with a letter or digit, at most 63"
        case .stepID: "letters, digits, '_' and '-', not starting with a digit or '-'"
        case .inputName: "letters, digits and '_', not starting with a digit"
        case .accountName: "lowercase letters, digits, '_' and '-'"
        case .timestamp: "RFC 3339 with an explicit UTC offset, like 2026-12-01T09:00:00+08:00"
        case .secretReference: "an expression over secrets. or env., like ${{ secrets.APP_SECRET }}"
        case .nonEmpty: "not empty"
        case .openID: "an OpenID: 6 to 64 of A-Z a-z 0-9 _ -"
        case .url: "an http or https URL"
        case .percentage: "a percentage above 0 and at most 100, like \"90%\""
        }
    }

    /// The loader's check, written by hand (no regex engine on the hot path).
    public func matches(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func isLower(_ c: UInt8) -> Bool { c >= 97 && c <= 122 }
        func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isWord(_ c: UInt8) -> Bool { isLower(c) || isUpper(c) || isDigit(c) || c == 95 }
        switch self {
        case .pipelineName:
            guard let f = u.first, u.count <= 63, isLower(f) || isDigit(f) else { return false }
            return u.allSatisfy { isLower($0) || isDigit($0) || $0 == 45 }
        case .accountName:
            guard let f = u.first, u.count <= 63, isLower(f) || isDigit(f) else { return false }
            return u.allSatisfy { isLower($0) || isDigit($0) || $0 == 45 || $0 == 95 }
        case .stepID:
            guard let f = u.first, isLower(f) || isUpper(f) || f == 95 else { return false }
            return u.allSatisfy { isWord($0) || $0 == 45 }
        case .inputName:
            guard let f = u.first, isLower(f) || isUpper(f) || f == 95 else { return false }
            return u.allSatisfy(isWord)
        case .openID:
            return u.count >= 6 && u.count <= 64 && u.allSatisfy { isWord($0) || $0 == 45 }
        case .nonEmpty:
            return s.contains { !$0.isWhitespace }
        case .url:
            let lower = s.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return false }
            let rest = lower.drop { $0 != "/" }.dropFirst(2)
            guard let f = rest.first, !" /$.?#".contains(f) else { return false }
            return !s.contains { $0.isWhitespace }
        case .timestamp:
            return RFC3339.parse(s) != nil
        case .percentage:
            return Percentage.parse(s) != nil
        case .secretReference:
            var t = s.trimmingCharacters(in: .whitespaces)[...]
            guard t.hasPrefix("${{"), t.hasSuffix("}}") else { return false }
            t = t.dropFirst(3).dropLast(2)
            let inner = t.trimmingCharacters(in: .whitespaces)
            let name: Substring
            if inner.hasPrefix("secrets.") { name = inner.dropFirst(8) }
            else if inner.hasPrefix("env.") { name = inner.dropFirst(4) }
            else { return false }
            return StringRule.inputName.matches(String(name))
        }
    }
}

/// One key of a mapping.
public struct Field: Sendable {
    public var name: String
    public var type: FieldType
    public var required: Bool
    /// Whether the value may be (or contain) a `${{ }}` expression.
    public var allowsExpression: Bool
    /// A sentence for the schema's `description` (editors show it).
    public var doc: String

    public init(_ name: String, _ type: FieldType, required: Bool = false, expression: Bool = false, doc: String = "") {
        self.name = name
        self.type = type
        self.required = required
        self.allowsExpression = expression
        self.doc = doc
    }
}

/// A rule across several keys of one mapping.
public enum Constraint: Sendable {
    /// Exactly one of the keys must be present.
    case exactlyOne([String])
    /// At least one of the keys must be present.
    case atLeastOne([String])
    /// At most one of the keys may be present (none is fine).
    case atMostOne([String])
    /// When `field` is the literal boolean `equals`, `required` must be present.
    case requiredWhen(field: String, equals: Bool, required: String)
    /// `msgtype` selects the payload key: the selected key must be present, the others absent.
    case payload(selector: String, keys: [String: String])
    /// `key` must not be written when `field` is the literal string `equals` (`min_sent`
    /// with `source: poll`); reported at `key` with `code`.
    case excludedWhen(key: String, field: String, equals: String, code: DiagnosticCode, message: String, hint: String?)
}

/// A mapping with known keys, rules across them, and keys that get a specific message.
public struct ObjectSpec: Sendable {
    public var fields: [Field] { didSet { matchers = fields.map { KeyMatcher($0.name) } } }
    /// One matcher per field, made once: a look-up compares byte counts before text.
    private var matchers: [KeyMatcher]
    public var constraints: [Constraint]
    /// Keys that are refused with a specific diagnostic instead of "unknown key".
    public var refused: [String: Refusal]

    public struct Refusal: Sendable {
        public var code: DiagnosticCode
        public var message: String
        public var hint: String?

        public init(_ code: DiagnosticCode, _ message: String, hint: String? = nil) {
            self.code = code
            self.message = message
            self.hint = hint
        }
    }

    public init(_ fields: [Field], constraints: [Constraint] = [], refused: [String: Refusal] = [:]) {
        self.fields = fields
        matchers = fields.map { KeyMatcher($0.name) }
        self.constraints = constraints
        self.refused = refused
    }

    /// The field named `name`. The matchers are the fields' (plain names of `a-z 0-9 _ -`,
    /// which no other text equals canonically), so a key of another byte count is passed over
    /// without comparing text.
    public func field(_ name: String) -> Field? {
        for i in matchers.indices where matchers[i].matches(name) { return fields[i] }
        return nil
    }
}
