/// A value together with where it was written.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// A validated pipeline: one broadcast, its audience, its steps.
public struct Pipeline: Sendable {
    /// The file it was read from, as the user named it.
    public var file: String
    public var version: Int
    public var name: Located<String>
    public var description: String?
    public var account: AccountReference
    public var inputs: [InputDeclaration]
    public var schedule: Schedule?
    public var defaults: StepDefaults
    public var steps: [Step]
    /// `apply:`: whether `masscast apply` reconciles it (`auto`) or leaves it to `masscast run`.
    public var apply: ApplyMode = .auto

    /// The step with `id`.
    public func step(_ id: String) -> Step? { steps.first { $0.id.value == id } }

    /// Whether it is a broadcast: it has a send step (`mass/sendall`, `mass/send`). `masscast
    /// apply` reconciles broadcasts only; other pipelines (status checks, deletes) run with
    /// `masscast run`.
    public var isBroadcast: Bool { steps.contains { $0.uses.value == "mass/sendall" || $0.uses.value == "mass/send" } }
}

/// The pipeline's `apply:` key.
public enum ApplyMode: String, Sendable, Hashable, CaseIterable {
    /// `masscast apply` reconciles it (the default).
    case auto
    /// Only `masscast run` runs it; apply reports it and leaves it alone.
    case manual
}

/// Where the account's credentials come from.
public enum AccountReference: Sendable {
    /// A name defined in `masscast.yaml`.
    case named(Located<String>)
    /// An inline account; `appSecret` is an expression over `secrets.` or `env.`.
    case inline(InlineAccount)
}

/// A pipeline's inline account: the ``Account`` (named `inline`, its `appID` as written,
/// which may be an expression over `env.`, `secrets.` and `inputs.`) and the expression its
/// secret comes from. The account's fields read through it (`inline.appID`).
@dynamicMemberLookup
public struct InlineAccount: Sendable {
    /// The account; `name` is `inline`.
    public var account: Account
    /// The expression the secret comes from (`${{ secrets.NAME }}` or `${{ env.NAME }}`).
    public var appSecret: String
    /// Where `account:` was written.
    public var location: SourceLocation

    /// Creates an inline account.
    public init(_ account: Account, appSecret: String, location: SourceLocation) {
        self.account = account
        self.appSecret = appSecret
        self.location = location
    }

    /// A field of the account (`appID`, `kind`, `apiBase`, `originalID`, …).
    public subscript<T>(dynamicMember field: WritableKeyPath<Account, T>) -> T {
        get { account[keyPath: field] }
        set { account[keyPath: field] = newValue }
    }
}

/// An input declared under `inputs:`.
public struct InputDeclaration: Sendable {
    public enum InputType: String, Sendable, Codable {
        case string, integer, boolean, list

        public var exprType: ExprType {
            switch self {
            case .string: .string
            case .integer: .integer
            case .boolean: .boolean
            case .list: .list(.any)
            }
        }
    }

    public var name: String
    public var type: InputType
    public var defaultValue: Value?
    public var description: String?
    public var required: Bool
    public var location: SourceLocation
}

/// The optional sending window, in seconds since the epoch.
public struct Schedule: Sendable {
    public var notBefore: Located<String>?
    public var notAfter: Located<String>?
    public var notBeforeEpoch: Double? { notBefore.flatMap { RFC3339.parse($0.value) } }
    public var notAfterEpoch: Double? { notAfter.flatMap { RFC3339.parse($0.value) } }
}

/// The retry policy of a step (defaults merged with the step's own fields).
public struct RetryPolicy: Sendable, Hashable {
    public enum Jitter: String, Sendable, Hashable, Codable { case full, equal, none }

    public var maxAttempts: Int = 3
    public var initialDelay: Duration = .seconds(1)
    public var factor: Double = 2
    public var maxDelay: Duration = .seconds(60)
    public var jitter: Jitter = .full
    public var deadline: Duration?
    public var classes: [String] = ["transient", "rate_limit"]
    public var errcodes: [Int] = []

    public init() {}
}

/// `defaults:`.
public struct StepDefaults: Sendable {
    public var timeout: Duration = .seconds(30)
    public var retry = RetryPolicy()

    public init() {}
}

/// A step's `if`.
public struct Condition: Sendable {
    /// The text as written (without `${{ }}` when it had them).
    public var source: String
    public var expression: Expression?
    /// A literal `true`/`false`.
    public var constant: Bool?
    /// Whether it calls `success()`, `failure()` or `always()`; if not, it means `success() && (…)`.
    public var usesStatusFunction: Bool
    /// Ids of the steps the condition reads, in order of first mention.
    public var stepReferences: [String] = []
    public var location: SourceLocation
}

/// One step of a pipeline.
public struct Step: Sendable {
    public var id: Located<String>
    public var uses: Located<String>
    /// `nil` when `uses` names no kind (already reported).
    public var kindName: String?
    /// `with` as written, positions kept; the runner evaluates its templates.
    public var with: SourceNode?
    /// `needs` as written; `nil` when absent (then the step waits for every step before it).
    public var needs: [Located<String>]?
    public var condition: Condition?
    public var timeout: Duration
    public var retry: RetryPolicy
    public var continueOnError: Bool
    /// Steps referenced by expressions in `with` and `if`, with where.
    public var references: [Located<String>]
    public var location: SourceLocation

    public var kind: StepKind? { kindName.flatMap(Catalog.kind) }
}
