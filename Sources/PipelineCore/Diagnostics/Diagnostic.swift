/// How serious a diagnostic is. Errors make `validate` exit 2; warnings do not.
public enum Severity: String, Sendable, Codable, Hashable, Comparable {
    case error
    case warning
    case note

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .note: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A stable diagnostic code. The raw value (`MC1002`) is what users search for and what
/// tests assert; codes are never renumbered, only added. `docs/diagnostics.md` lists them.
public enum DiagnosticCode: String, Sendable, Codable, Hashable, CaseIterable {
    // MC1xxx: the file and its YAML
    /// The file could not be read.
    case fileUnreadable = "MC1000"
    /// YAML syntax error.
    case yamlSyntax = "MC1001"
    /// A mapping key occurs twice.
    case duplicateKey = "MC1002"
    /// An anchor (`&a`) or alias (`*a`); refused.
    case anchorOrAlias = "MC1003"
    /// The file is larger than the size limit.
    case fileTooLarge = "MC1004"
    /// The file is not valid UTF-8.
    case invalidUTF8 = "MC1005"
    /// The file holds no document, or more than one.
    case documentCount = "MC1006"
    /// A mapping key that is not a plain string (a list, a mapping, a number, null).
    case complexKey = "MC1007"
    /// An explicit tag (`!!str`, `!foo`); refused.
    case explicitTag = "MC1008"
    /// Warning: a plain scalar followed by ` #` on the same line: YAML cut the text there.
    case truncatedByComment = "MC1009"

    // MC2xxx: structure, types and values
    /// A key the format does not define.
    case unknownKey = "MC2001"
    /// A value of the wrong type.
    case wrongType = "MC2002"
    /// A required key is missing.
    case missingKey = "MC2003"
    /// `name` does not match `[a-z0-9][a-z0-9-]{0,62}`.
    case badName = "MC2004"
    /// A step `id` does not match `[A-Za-z_][A-Za-z0-9_-]*`.
    case badStepID = "MC2005"
    /// Two steps share an `id`.
    case duplicateStepID = "MC2006"
    /// `version` is not a supported version.
    case unsupportedVersion = "MC2007"
    /// A number outside its allowed range.
    case outOfRange = "MC2008"
    /// A string that is not one of the allowed values.
    case invalidEnumValue = "MC2009"
    /// A duration that does not parse (`500ms`, `30s`, `2m`, `1h`, `1d`).
    case invalidDuration = "MC2010"
    /// `uses` names no step kind of the catalog.
    case unknownStepKind = "MC2011"
    /// An input declaration that is wrong (bad name, default of another type).
    case badInput = "MC2012"
    /// Keys that exclude each other, or a choice of keys where exactly one is needed.
    case conflictingKeys = "MC2013"
    /// `msgtype` names a payload that is missing.
    case missingPayload = "MC2014"
    /// A payload key that belongs to another `msgtype`.
    case payloadMismatch = "MC2015"
    /// `image` used where WeChat expects `images` (image sends).
    case legacyImagePayload = "MC2016"
    /// A list with too few or too many items (1–8 articles, 2–10,000 OpenIDs).
    case listLength = "MC2017"
    /// A user-set `clientmsgid`: masscast derives it.
    case userClientMsgID = "MC2018"
    /// A literal secret where only an expression over `secrets.` or `env.` is allowed.
    case literalSecret = "MC2019"
    /// A schedule time that is not RFC 3339 with an explicit UTC offset.
    case badTimestamp = "MC2020"
    /// `schedule.not_after` is not after `not_before`.
    case invertedWindow = "MC2021"
    /// A malformed string value (an OpenID, an account name, a media id…).
    case badValue = "MC2022"
    /// `steps` is empty.
    case noSteps = "MC2023"
    /// `filter.group_id`, the legacy audience key: use `tag_id`.
    case legacyGroupID = "MC2024"
    /// Two pipelines validated together share a `name` (a broadcast's identity).
    case duplicatePipelineName = "MC2025"
    /// `account:` names an account the project config (`masscast.yaml`) does not define.
    case undefinedAccount = "MC2026"
    /// `mass/wait`'s `min_sent` with `source: poll`, which never has the counts to check it against.
    case minSentWithoutCounts = "MC2027"
    /// Warning: a `mass/sendall` to all followers (`filter.is_to_all: true`); it cannot be undone
    /// and spends the account's scarce to-all quota, so `run` needs `--confirm-to-all NAME`.
    case sendToAllFollowers = "MC2028"
    /// No project id: masscast.yaml without `project:`, or an inline account with no
    /// masscast.yaml. Clientmsgids then cannot tell this repository's broadcasts from
    /// another's that share the account (warning).
    case noProjectID = "MC2029"
    /// A file the pipeline names (`file`, `content_file`, `touser_file`) does not exist, is
    /// not a regular file (a folder, a FIFO, a device: refused without being opened) or
    /// cannot be read.
    case fileNotReadable = "MC2030"
    /// A file the pipeline names resolves, after symbolic links, outside the repository root.
    case pathOutsideRepository = "MC2031"
    /// A file's content is not what its field takes: media whose first bytes are not of
    /// their type's formats or with an extension WeChat refuses, a `content_file` that is
    /// not UTF-8.
    case mediaFormat = "MC2032"
    /// A file larger than its field takes (media by type, `content_file` 1 MiB).
    case fileTooBig = "MC2033"
    /// A CSV audience without the `touser_column` column (the header matched as the runner
    /// matches it).
    case audienceColumn = "MC2034"
    /// An audience file the runner would refuse: malformed OpenIDs, invalid UTF-8, overlong
    /// lines, bad CSV rows, or (read whole) fewer than 2 OpenIDs.
    case audienceContent = "MC2035"
    /// Note (with `validate --deep`): an audience file's recipient count after removing duplicates.
    case audienceCount = "MC2036"

    // MC3xxx: expressions
    /// An expression that does not parse.
    case expressionSyntax = "MC3001"
    /// `${{` without its closing `}}`.
    case unterminatedExpression = "MC3002"
    /// A context or name that does not exist (`inputs.x` not declared, `foo.bar`).
    case unknownName = "MC3003"
    /// An unknown function, or one called with the wrong number of arguments.
    case badFunctionCall = "MC3004"
    /// Operands or arguments of types that do not fit (`1 == 'a'`, `!'x'`).
    case typeMismatch = "MC3005"
    /// `if` is not a boolean expression.
    case conditionNotBoolean = "MC3006"
    /// An expression whose type does not fit the field it fills.
    case expressionFieldType = "MC3007"
    /// `success()`, `failure()` or `always()` outside `if`.
    case statusFunctionOutsideIf = "MC3008"
    /// `secrets.` used where its value could be sent or printed.
    case secretOutsideAccount = "MC3009"

    // MC4xxx: the graph
    /// A reference to, or `needs` of, a step that does not exist.
    case unknownStep = "MC4001"
    /// An expression reference to a step listed later.
    case laterStep = "MC4002"
    /// An output the step's kind does not produce.
    case unknownOutput = "MC4003"
    /// A dependency cycle.
    case cycle = "MC4004"
    /// A step that `needs` itself.
    case selfDependency = "MC4005"
    /// Warning: the same step twice in `needs`.
    case duplicateNeed = "MC4006"
    /// Warning: a `mass/delete` whose condition requires a failed send; it can never work.
    case deleteAfterFailure = "MC4007"
}

/// One problem found in a pipeline. Diagnostics are data: tests compare them, the
/// renderers print them, and no code path stops at the first one.
public struct Diagnostic: Sendable, Hashable, Codable {
    public var severity: Severity
    public var code: DiagnosticCode
    /// One sentence saying what is wrong.
    public var message: String
    /// Where; `nil` only for problems with no place in a file (e.g. a missing file).
    public var location: SourceLocation?
    /// Extra context, with its own location where it has one (e.g. the first of two duplicate keys).
    public var note: Note?
    /// How to fix it, when that can be said.
    public var hint: String?
    /// The source line holds a secret from `location` on: renderers show the line only up to
    /// there (a literal app_secret must not reach CI logs through the snippet).
    public var redactsSource: Bool = false

    public struct Note: Sendable, Hashable, Codable {
        public var message: String
        public var location: SourceLocation?

        public init(_ message: String, at location: SourceLocation? = nil) {
            self.message = message
            self.location = location
        }
    }

    public init(
        _ severity: Severity, _ code: DiagnosticCode, _ message: String,
        at location: SourceLocation?, note: Note? = nil, hint: String? = nil
    ) {
        self.severity = severity
        self.code = code
        self.message = message
        self.location = location
        self.note = note
        self.hint = hint
    }

    public static func error(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
        note: Note? = nil, hint: String? = nil
    ) -> Diagnostic {
        Diagnostic(.error, code, message, at: location, note: note, hint: hint)
    }

    public static func warning(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
        note: Note? = nil, hint: String? = nil
    ) -> Diagnostic {
        Diagnostic(.warning, code, message, at: location, note: note, hint: hint)
    }
}

/// Gathers diagnostics from every stage; nothing stops at the first problem.
public struct DiagnosticBag: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public mutating func append(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }
    public mutating func append(contentsOf other: [Diagnostic]) { diagnostics.append(contentsOf: other) }

    public mutating func error(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
        note: Diagnostic.Note? = nil, hint: String? = nil
    ) {
        append(.error(code, message, at: location, note: note, hint: hint))
    }

    public mutating func warning(
        _ code: DiagnosticCode, _ message: String, at location: SourceLocation?,
        note: Diagnostic.Note? = nil, hint: String? = nil
    ) {
        append(.warning(code, message, at: location, note: note, hint: hint))
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Diagnostics in file order (line, then column), errors before warnings at one place.
    public var sorted: [Diagnostic] { diagnostics.sortedByLocation() }
}

extension Array where Element == Diagnostic {
    /// Sorted by file, line, column, then severity; stable for equal keys.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated().sorted { a, b in
            let la = a.element.location, lb = b.element.location
            let ka = (la?.file ?? "", la?.line ?? 0, la?.column ?? 0)
            let kb = (lb?.file ?? "", lb?.line ?? 0, lb?.column ?? 0)
            if ka != kb { return ka < kb }
            if a.element.severity != b.element.severity { return a.element.severity < b.element.severity }
            return a.offset < b.offset
        }.map(\.element)
    }
}
