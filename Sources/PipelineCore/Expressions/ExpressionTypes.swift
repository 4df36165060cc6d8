/// The static type of an expression, as far as the checker can know it before a run.
///
/// `any` stands for a value whose type is only known at run time (the result of
/// `fromJSON`, an output of a step kind the catalog does not describe); checks on it are
/// deferred to the evaluator.
public indirect enum ExprType: Sendable, Hashable, CustomStringConvertible {
    /// Text.
    case string
    /// A whole number.
    case integer
    /// A number that may have a fraction.
    case number
    /// `true` or `false`.
    case boolean
    /// The `null` literal.
    case null
    /// A list whose elements have the given type; `list(.any)` when that is unknown.
    case list(ExprType)
    /// A mapping from strings to values.
    case object
    /// Not known before the run.
    case any

    /// The type as a user reads it: `string`, `list of string`, `list`, `object`, `any`.
    public var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .null: "null"
        case .list(.any): "list"
        case .list(let element): "list of \(element)"
        case .object: "object"
        case .any: "any"
        }
    }

    /// The type with an article, for messages: "a string", "an integer", "null".
    var withArticle: String {
        switch self {
        case .null: "null"
        case .any: "a value of any type"
        case .integer, .object: "an \(description)"
        default: "a \(description)"
        }
    }

    var isNumeric: Bool { self == .integer || self == .number }

    /// Whether two values of these types may be compared with `==` or `!=`.
    /// `null` and `any` compare with anything; integers and numbers compare numerically.
    static func areComparable(_ a: ExprType, _ b: ExprType) -> Bool {
        switch (a, b) {
        case (.any, _), (_, .any), (.null, _), (_, .null): return true
        case (.list(let x), .list(let y)): return areComparable(x, y)
        default: return a == b || (a.isNumeric && b.isNumeric)
        }
    }

    /// Whether values of this type may be ordered with `<`, `<=`, `>`, `>=`.
    var isOrderable: Bool {
        switch self {
        case .string, .integer, .number, .null, .any: true
        default: false
        }
    }

    /// Whether a value of this type fits where `expected` is wanted (`any` fits everywhere).
    func fits(_ expected: ExprType) -> Bool {
        if self == .any || expected == .any { return true }
        switch (self, expected) {
        case (.list, .list(.any)): return true
        case (.list(let x), .list(let y)): return x.fits(y)
        default: return self == expected
        }
    }
}

/// A problem found in an expression before it runs: a syntax error or a static check.
///
/// It has the shape of a ``Diagnostic`` without its file: a stable ``DiagnosticCode``
/// (`MC3001`…, listed in `docs/diagnostics.md`), a message, the place as an ``offset`` in
/// the text and a ``hint``. Whoever holds the text's ``SourceLocation`` turns it into a
/// diagnostic at that place.
public struct ExpressionIssue: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable diagnostic code (`MC3001`…).
    public var code: DiagnosticCode
    /// One sentence saying what is wrong.
    public var message: String
    /// 0-based offset, in Unicode scalars, of the offending place: within the expression
    /// source (the text between `${{` and `}}`) for ``Expression``, or within the whole
    /// scalar text for ``Template``.
    public var offset: Int
    /// How to fix it, when that can be said (a did-you-mean, the names that exist).
    public var hint: String?

    /// Creates an issue.
    public init(code: DiagnosticCode, message: String, offset: Int, hint: String? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.hint = hint
    }

    /// The same issue with its offset moved by `delta` scalars.
    public func shifted(by delta: Int) -> ExpressionIssue {
        var copy = self
        copy.offset += delta
        return copy
    }

    /// `MC3001 at 4: message; hint`, the offset counted from 0 in Unicode scalars.
    public var description: String {
        var text = "\(code.rawValue) at \(offset): \(message)"
        if let hint { text += "; \(hint)" }
        return text
    }
}

/// A failure while evaluating an expression during a run (a type that only turned out
/// wrong at run time, text that is not JSON, a bad format string): what kind of failure
/// (``code``), a message, and where in the text (``offset``).
///
/// The message never contains a value: only names and types, so a secret cannot leak
/// through it. New codes may be added in later versions; compare against the static
/// members of ``EvaluationError/Code`` rather than switching exhaustively.
public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is. Codes extend without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case typeMismatch, unknownName, unknownFunction, argumentCount, formatString, invalidJSON, tooDeep
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A value of a type the operator or function does not take (`'!' needs a boolean`).
        public static let typeMismatch = Code(.typeMismatch)
        /// A name that is not in its context at run time.
        public static let unknownName = Code(.unknownName)
        /// A function the language does not have.
        public static let unknownFunction = Code(.unknownFunction)
        /// A function called with the wrong number of arguments, or a format placeholder
        /// without its argument.
        public static let argumentCount = Code(.argumentCount)
        /// A `format` template with a stray `{` or `}`.
        public static let formatString = Code(.formatString)
        /// `fromJSON` given text that is not JSON.
        public static let invalidJSON = Code(.invalidJSON)
        /// Values or JSON nested deeper than the evaluator goes.
        public static let tooDeep = Code(.tooDeep)

        /// The code's name, e.g. `typeMismatch`.
        public var description: String { wrapped.rawValue }
    }

    /// What kind of failure it is.
    public var code: Code
    /// One sentence saying what went wrong.
    public var message: String
    /// 0-based offset in Unicode scalars of the failing part: within the expression source
    /// for ``Expression``, within the whole scalar text for ``Template``; `nil` if unknown.
    public var offset: Int?

    /// Creates an error.
    public init(_ code: Code, _ message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    /// The same error placed at `offset`.
    public func at(_ offset: Int) -> EvaluationError {
        var copy = self
        copy.offset = offset
        return copy
    }

    /// The same error with its offset (if it has one) moved by `delta` scalars.
    public func shifted(by delta: Int) -> EvaluationError {
        var copy = self
        copy.offset = offset.map { $0 + delta }
        return copy
    }

    /// The message, as a run's failure shows it.
    public var description: String { message }
}
