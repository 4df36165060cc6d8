/// What a finished (or skipped) step left for later expressions to read.
public struct StepState: Sendable, Hashable {
    /// The step's outputs; a missing output reads as `null`.
    public var outputs: [String: Value]
    /// `success`, `failure`, `skipped` or `cancelled` before `continue_on_error`; `nil`
    /// (read as `null`) if the step has not finished.
    public var outcome: String?
    /// The outcome after `continue_on_error`; `nil` (read as `null`) if not finished.
    public var conclusion: String?
    /// The WeChat errcode that failed the step, if any.
    public var errcode: Int?

    /// Creates a step state.
    public init(outputs: [String: Value] = [:], outcome: String? = nil, conclusion: String? = nil, errcode: Int? = nil) {
        self.outputs = outputs
        self.outcome = outcome
        self.conclusion = conclusion
        self.errcode = errcode
    }

    var value: Value {
        .object([
            "outputs": .object(outputs),
            "outcome": outcome.map(Value.string) ?? .null,
            "conclusion": conclusion.map(Value.string) ?? .null,
            "errcode": errcode.map(Value.integer) ?? .null,
        ])
    }
}

/// The values expressions read during a run.
///
/// Names that are missing read as `null`: an input without value, an unset `env` or
/// `secrets` variable, a step that has not run, an output a step did not produce.
public struct EvaluationContext: Sendable {
    /// Input values by name.
    public var inputs: [String: Value]
    /// Environment variables.
    public var env: [String: String]
    /// Secret values by name; never shown in an error message.
    public var secrets: [String: String]
    /// States of the steps that have finished, by id.
    public var steps: [String: StepState]
    /// `pipeline.name`.
    public var pipelineName: String
    /// `run.id`.
    public var runID: String
    /// What `success()` returns for the step being evaluated.
    public var statusSuccess: Bool
    /// What `failure()` returns for the step being evaluated.
    public var statusFailure: Bool

    /// Creates a context; by default everything is empty and `success()` is true.
    public init(
        inputs: [String: Value] = [:],
        env: [String: String] = [:],
        secrets: [String: String] = [:],
        steps: [String: StepState] = [:],
        pipelineName: String = "",
        runID: String = "",
        statusSuccess: Bool = true,
        statusFailure: Bool = false
    ) {
        self.inputs = inputs
        self.env = env
        self.secrets = secrets
        self.steps = steps
        self.pipelineName = pipelineName
        self.runID = runID
        self.statusSuccess = statusSuccess
        self.statusFailure = statusFailure
    }
}

/// Evaluates a parsed expression. Error messages mention names and types, never values.
struct ExprEvaluator {
    static let maxValueDepth = 256
    let context: EvaluationContext

    private func fail(_ code: EvaluationError.Code, _ message: String, at offset: Int) -> EvaluationError {
        EvaluationError(code, message, offset: offset)
    }

    func evaluate(_ node: ExprNode) throws(EvaluationError) -> Value {
        switch node.kind {
        case .literal(let value):
            return value
        case .identifier, .member, .index:
            return try evaluateAccess(node)
        case .call(let name, let arguments):
            return try evaluateCall(node, name: name, arguments: arguments)
        case .not(let operand):
            let value = try evaluate(operand)
            guard case .bool(let b) = value else {
                throw fail(.typeMismatch, "'!' needs a boolean, but its operand is \(value.typeName)", at: operand.start)
            }
            return .bool(!b)
        case .binary(let op, let left, let right):
            switch op {
            case .and:
                guard try boolean(left, op) else { return .bool(false) }
                return .bool(try boolean(right, op))
            case .or:
                if try boolean(left, op) { return .bool(true) }
                return .bool(try boolean(right, op))
            case .equal:
                return .bool(try Self.equal(evaluate(left), evaluate(right), depth: 0))
            case .notEqual:
                return .bool(try !Self.equal(evaluate(left), evaluate(right), depth: 0))
            case .less, .lessEqual, .greater, .greaterEqual:
                let a = try evaluate(left), b = try evaluate(right)
                if a == .null || b == .null { return .bool(false) }
                guard let order = Self.order(a, b) else {
                    throw fail(.typeMismatch, "'\(op.rawValue)' orders strings or numbers, not \(a.typeName) and \(b.typeName)", at: node.offset)
                }
                switch op {
                case .less: return .bool(order < 0)
                case .lessEqual: return .bool(order <= 0)
                case .greater: return .bool(order > 0)
                default: return .bool(order >= 0)
                }
            }
        }
    }

    private func boolean(_ node: ExprNode, _ op: ExprBinaryOperator) throws(EvaluationError) -> Bool {
        let value = try evaluate(node)
        guard case .bool(let b) = value else {
            throw fail(.typeMismatch, "'\(op.rawValue)' needs boolean operands, but got \(value.typeName)", at: node.start)
        }
        return b
    }

    // MARK: Comparison

    /// Typed equality: different types are unequal, except integer and number which
    /// compare numerically; strings compare by Unicode scalars.
    static func equal(_ a: Value, _ b: Value, depth: Int) throws(EvaluationError) -> Bool {
        guard depth < maxValueDepth else {
            throw EvaluationError(.tooDeep, "values nest too deeply to compare")
        }
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            return order(a, b) == 0
        case (.list(let x), .list(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where try !equal(p, q, depth: depth + 1) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, p) in x {
                guard let q = y[key], try equal(p, q, depth: depth + 1) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// -1, 0 or 1 for two numbers or two strings; `nil` for anything else.
    static func order(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.number(let x), .number(let y)): return x < y ? -1 : (x == y ? 0 : (x > y ? 1 : nil))
        case (.integer(let x), .number(let y)): return compare(x, y)
        case (.number(let x), .integer(let y)): return compare(y, x).map { -$0 }
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return Value.scalarLess(x, y) ? -1 : 1
        default: return nil
        }
    }

    /// Compares an integer with a double exactly (no rounding of large integers).
    private static func compare(_ x: Int, _ y: Double) -> Int? {
        guard !y.isNaN else { return nil }
        if y >= 9_223_372_036_854_775_808.0 { return -1 }
        if y < -9_223_372_036_854_775_808.0 { return 1 }
        let floor = y.rounded(.down)
        let whole = Int(floor)
        if x < whole { return -1 }
        if x > whole { return 1 }
        return floor == y ? 0 : -1
    }

    // MARK: Access

    private func key(_ accessor: ExprAccessor) throws(EvaluationError) -> String {
        switch accessor {
        case .name(let name, _):
            return name
        case .dynamic(let index, _):
            let value = try evaluate(index)
            guard case .string(let key) = value else {
                throw fail(.typeMismatch, "a name in a context is a string, not \(value.typeName)", at: index.start)
            }
            return key
        }
    }

    private func evaluateAccess(_ node: ExprNode) throws(EvaluationError) -> Value {
        let (root, accessors) = ExprAccessor.flatten(node)
        var rest = accessors[...]
        var value: Value
        if case .identifier(let name) = root.kind {
            value = try contextValue(name, at: root.offset, &rest)
        } else {
            value = try evaluate(root)
        }
        for accessor in rest {
            value = try access(value, accessor)
        }
        return value
    }

    private func strings(_ map: [String: String]) -> Value {
        .object(map.mapValues(Value.string))
    }

    private func contextValue(_ name: String, at offset: Int, _ rest: inout ArraySlice<ExprAccessor>)
        throws(EvaluationError) -> Value
    {
        switch name {
        case "inputs", "env", "secrets", "steps":
            guard let first = rest.popFirst() else {
                switch name {
                case "inputs": return .object(context.inputs)
                case "env": return strings(context.env)
                case "secrets": return strings(context.secrets)
                default: return .object(context.steps.mapValues(\.value))
                }
            }
            let key = try key(first)
            switch name {
            case "inputs": return context.inputs[key] ?? .null
            case "env": return context.env[key].map(Value.string) ?? .null
            case "secrets": return context.secrets[key].map(Value.string) ?? .null
            default: return context.steps[key]?.value ?? .null
            }
        case "pipeline":
            return .object(["name": .string(context.pipelineName)])
        case "run":
            return .object(["id": .string(context.runID)])
        default:
            throw fail(.unknownName, "unknown name '\(name)'", at: offset)
        }
    }

    private func access(_ value: Value, _ accessor: ExprAccessor) throws(EvaluationError) -> Value {
        switch accessor {
        case .name(let name, let offset):
            switch value {
            case .object(let members): return members[name] ?? .null
            case .null: return .null
            default: throw fail(.typeMismatch, "cannot read '\(name)' from \(value.typeName)", at: offset)
            }
        case .dynamic(let indexNode, let offset):
            let index = try evaluate(indexNode)
            switch (value, index) {
            case (.null, _):
                return .null
            case (.object(let members), .string(let key)):
                return members[key] ?? .null
            case (.list(let items), .integer(let i)):
                return items.indices.contains(i) ? items[i] : .null
            default:
                throw fail(.typeMismatch, "cannot index \(value.typeName) with \(index.typeName)", at: offset)
            }
        }
    }

    // MARK: Calls

    private func string(_ node: ExprNode, for function: String) throws(EvaluationError) -> String? {
        let value = try evaluate(node)
        switch value {
        case .string(let s): return s
        case .null: return nil
        default: throw fail(.typeMismatch, "\(function) takes strings, not \(value.typeName)", at: node.start)
        }
    }

    private func evaluateCall(_ node: ExprNode, name: String, arguments: [ExprNode]) throws(EvaluationError) -> Value {
        guard let function = ExprFunction(rawValue: name) else {
            throw fail(.unknownFunction, "unknown function '\(name)'", at: node.offset)
        }
        guard function.arity.contains(arguments.count) else {
            throw fail(.argumentCount, "\(name) takes \(function.arityText), not \(arguments.count)", at: node.offset)
        }
        switch function {
        case .success:
            return .bool(context.statusSuccess)
        case .failure:
            return .bool(context.statusFailure)
        case .always:
            return .bool(true)
        case .contains:
            let haystack = try evaluate(arguments[0])
            let needle = try evaluate(arguments[1])
            switch haystack {
            case .null:
                return .bool(false)
            case .string(let s):
                switch needle {
                case .string(let t): return .bool(Self.scalarContains(s, t))
                case .null: return .bool(false)
                default:
                    throw fail(.typeMismatch, "contains looks for a string in a string, not \(needle.typeName)", at: arguments[1].start)
                }
            case .list(let items):
                for item in items where try Self.equal(item, needle, depth: 0) { return .bool(true) }
                return .bool(false)
            default:
                throw fail(.typeMismatch, "contains searches a string or a list, not \(haystack.typeName)", at: arguments[0].start)
            }
        case .startsWith, .endsWith:
            guard let s = try string(arguments[0], for: name), let p = try string(arguments[1], for: name) else {
                return .bool(false)
            }
            if function == .startsWith { return .bool(s.unicodeScalars.starts(with: p.unicodeScalars)) }
            return .bool(s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed()))
        case .format:
            let templateValue = try evaluate(arguments[0])
            guard case .string(let template) = templateValue else {
                throw fail(.typeMismatch, "format's template is a string, not \(templateValue.typeName)", at: arguments[0].start)
            }
            var values: [Value] = []
            for argument in arguments.dropFirst() { values.append(try evaluate(argument)) }
            let pieces: [ExprFormat.Piece]
            switch ExprFormat.parse(template) {
            case .success(let parsed): pieces = parsed
            case .failure(let error): throw error.at(arguments[0].start)
            }
            var out = ""
            for piece in pieces {
                switch piece {
                case .text(let text):
                    out += text
                case .argument(let index):
                    guard values.indices.contains(index) else {
                        throw fail(
                            .argumentCount,
                            "the format string refers to {\(index)}, but \(values.count) argument\(values.count == 1 ? "" : "s") follow\(values.count == 1 ? "s" : "") it",
                            at: arguments[0].start)
                    }
                    out += values[index].templateText
                }
            }
            return .string(out)
        case .join:
            let list = try evaluate(arguments[0])
            guard case .list(let items) = list else {
                throw fail(.typeMismatch, "join takes a list, not \(list.typeName)", at: arguments[0].start)
            }
            var separator = ","
            if arguments.count == 2 {
                let value = try evaluate(arguments[1])
                guard case .string(let s) = value else {
                    throw fail(.typeMismatch, "join's separator is a string, not \(value.typeName)", at: arguments[1].start)
                }
                separator = s
            }
            return .string(items.map(\.templateText).joined(separator: separator))
        case .length:
            let value = try evaluate(arguments[0])
            switch value {
            case .string(let s): return .integer(s.count)
            case .list(let items): return .integer(items.count)
            default: throw fail(.typeMismatch, "length takes a string or a list, not \(value.typeName)", at: arguments[0].start)
            }
        case .toJSON:
            return .string(try evaluate(arguments[0]).jsonText)
        case .fromJSON:
            let value = try evaluate(arguments[0])
            guard case .string(let text) = value else {
                throw fail(.typeMismatch, "fromJSON takes a string, not \(value.typeName)", at: arguments[0].start)
            }
            do {
                return try Value.parseJSON(text)
            } catch {
                throw error.at(arguments[0].start)
            }
        }
    }

    /// Whether `needle` occurs in `haystack`, comparing Unicode scalars exactly.
    static func scalarContains(_ haystack: String, _ needle: String) -> Bool {
        let h = Array(haystack.unicodeScalars), n = Array(needle.unicodeScalars)
        if n.isEmpty { return true }
        guard n.count <= h.count else { return false }
        for i in 0...(h.count - n.count) where h[i..<(i + n.count)].elementsEqual(n) {
            return true
        }
        return false
    }
}
