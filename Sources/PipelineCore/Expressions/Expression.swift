import Foundation

/// A parsed expression: the text between `${{` and `}}`, or a whole `if` condition.
///
/// ```swift
/// let expression = try Expression.parse("steps.send.errcode == 48008")
/// let check = expression.check(in: scope)          // static types, names, references
/// let value = try expression.evaluate(in: context)  // during a run
/// ```
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// The source text exactly as written (offsets in issues count its Unicode scalars).
    public let source: String
    let root: ExprNode

    /// Parses expression source. Throws the first syntax error (`expressionSyntax`), with
    /// its offset at the offending token: the end of the text for a missing operand, the
    /// opening quote of an unterminated string, the unexpected token otherwise.
    /// Nesting is limited to 64 levels and the tree to 256 operations.
    public static func parse(_ source: String) throws(ExpressionIssue) -> Expression {
        Expression(source: source, root: try ExprParser.parse(source))
    }

    /// Checks the expression statically against a scope and reports every problem found.
    public func check(in scope: ExpressionScope) -> ExpressionCheck {
        ExprChecker.run(root, in: scope)
    }

    /// Evaluates the expression. Never crashes; problems that only show at run time
    /// (a type known only then, text that is not JSON) throw an error whose message
    /// names no value.
    public func evaluate(in context: EvaluationContext) throws(EvaluationError) -> Value {
        try ExprEvaluator(context: context).evaluate(root)
    }

    /// The source text.
    public var description: String { source }

    public static func == (a: Expression, b: Expression) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// Parsed templates by their text, shared by the threads of a `validate`: a parse depends
/// on the text alone (its offsets count from the text's start). Bounded: when full it starts
/// over, so a repository of unique texts costs a look-up per scalar and no memory growth.
final class TemplateCache: @unchecked Sendable {
    static let shared = TemplateCache(capacity: 4096, maxTextLength: 512)

    private let lock = NSLock()
    private var entries: [String: (template: Template?, issues: [ExpressionIssue])] = [:]
    private let capacity: Int
    private let maxTextLength: Int

    init(capacity: Int, maxTextLength: Int) {
        self.capacity = capacity
        self.maxTextLength = maxTextLength
    }

    func get(_ text: String) -> (template: Template?, issues: [ExpressionIssue])? {
        guard text.utf8.count <= maxTextLength else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return entries[text]
    }

    func put(_ text: String, _ parsed: (template: Template?, issues: [ExpressionIssue])) {
        guard text.utf8.count <= maxTextLength else { return }
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[text] = parsed
    }
}

/// A YAML scalar's text that may contain `${{ … }}` parts.
///
/// A template that is exactly one expression (surrounding whitespace allowed) keeps the
/// expression's type; otherwise the parts are joined as text (see ``Value/templateText``).
public struct Template: Sendable, Hashable {
    /// A piece of the text.
    public enum Part: Sendable, Hashable {
        /// Text outside any `${{ … }}`.
        case literal(String)
        /// An expression; `offset` is that of its source's first scalar (just after
        /// `${{`) within the whole scalar text.
        case expression(Expression, offset: Int)
    }

    /// The pieces in order; adjacent literal text is one part.
    public let parts: [Part]

    /// Exactly one expression and nothing else but whitespace.
    public var isSingleExpression: Bool {
        var found = false
        for part in parts {
            switch part {
            case .literal(let text):
                if !text.unicodeScalars.allSatisfy(ExprLexer.isSpace) { return false }
            case .expression:
                if found { return false }
                found = true
            }
        }
        return found
    }

    /// Whether the text contains at least one `${{ … }}`.
    public var hasExpressions: Bool {
        parts.contains { if case .expression = $0 { true } else { false } }
    }

    /// Splits a scalar into text and expressions and parses each expression.
    ///
    /// Every problem is reported (with offsets into `text`), and the template is `nil` if
    /// there is any: `${{` without `}}` is `unterminatedExpression` at the `${{`; `}}`
    /// inside a quoted string does not end an expression.
    public static func parse(_ text: String) -> (template: Template?, issues: [ExpressionIssue]) {
        // The same text (`${{ inputs.tag_id }}`, `${{ steps.send.outputs.msg_id }}`) recurs
        // in most files of a repository: its parse is kept, by text, and shared.
        if let known = TemplateCache.shared.get(text) { return known }
        let parsed = parseUncached(text)
        TemplateCache.shared.put(text, parsed)
        return parsed
    }

    private static func parseUncached(_ text: String) -> (template: Template?, issues: [ExpressionIssue]) {
        let s = Array(text.unicodeScalars)
        var parts: [Part] = []
        var issues: [ExpressionIssue] = []
        var literalStart = 0
        var i = 0
        func flushLiteral(upTo end: Int) {
            if literalStart < end {
                parts.append(.literal(String(scalars: s[literalStart..<end])))
            }
        }
        scan: while i < s.count {
            guard s[i] == "$", i + 2 < s.count, s[i + 1] == "{", s[i + 2] == "{" else {
                i += 1
                continue
            }
            let open = i
            let start = i + 3
            var j = start
            var end: Int?
            while j < s.count {
                if s[j] == "'" {
                    let quote = j
                    j += 1
                    var closed = false
                    while j < s.count {
                        if s[j] == "'" {
                            if j + 1 < s.count, s[j + 1] == "'" {
                                j += 2
                                continue
                            }
                            j += 1
                            closed = true
                            break
                        }
                        j += 1
                    }
                    if !closed {
                        issues.append(ExpressionIssue(
                            code: .expressionSyntax, message: "string literal is not closed", offset: quote,
                            hint: "end it with ' (a quote inside a string is doubled: 'it''s'); '}}' inside a string does not end the expression"))
                        break scan
                    }
                } else if s[j] == "}", j + 1 < s.count, s[j + 1] == "}" {
                    end = j
                    break
                } else {
                    j += 1
                }
            }
            guard let end else {
                issues.append(ExpressionIssue(
                    code: .unterminatedExpression, message: "'${{' is not closed by '}}'", offset: open,
                    hint: "end the expression with }}"))
                break scan
            }
            do {
                let expression = try Expression.parse(String(scalars: s[start..<end]))
                flushLiteral(upTo: open)
                parts.append(.expression(expression, offset: start))
            } catch {
                issues.append(error.shifted(by: start))
            }
            i = end + 2
            literalStart = i
        }
        flushLiteral(upTo: s.count)
        return (issues.isEmpty ? Template(parts: parts) : nil, issues)
    }

    /// Checks every expression. The type is the expression's if the template is a single
    /// expression, else `string`; offsets are relative to the scalar text.
    public func check(in scope: ExpressionScope) -> ExpressionCheck {
        var result = ExpressionCheck(type: .string)
        for part in parts {
            guard case .expression(let expression, let offset) = part else { continue }
            let check = expression.check(in: scope)
            result.references += check.references.map { StepReference(stepID: $0.stepID, offset: $0.offset + offset) }
            result.issues += check.issues.map { $0.shifted(by: offset) }
            result.usesStatusFunction = result.usesStatusFunction || check.usesStatusFunction
            if result.contexts.isEmpty { result.contexts = check.contexts } else { result.contexts.formUnion(check.contexts) }
            if isSingleExpression { result.type = check.type }
        }
        return result
    }

    /// Evaluates the template: the expression's value if it is a single expression, else
    /// a string joining the text with each expression's ``Value/templateText``.
    /// Error offsets are relative to the scalar text.
    public func evaluate(in context: EvaluationContext) throws(EvaluationError) -> Value {
        let single = isSingleExpression
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text):
                out += text
            case .expression(let expression, let offset):
                let value: Value
                do {
                    value = try expression.evaluate(in: context)
                } catch {
                    throw error.shifted(by: offset)
                }
                if single { return value }
                out += value.templateText
            }
        }
        return .string(out)
    }
}
