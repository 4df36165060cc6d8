/// One step of a member/index chain below a context root.
enum ExprAccessor {
    /// `.name` or `['name']`; the offset is the name's (or the string literal's).
    case name(String, offset: Int)
    /// `[expression]` with anything but a string literal inside; the offset is the `[`.
    case dynamic(ExprNode, offset: Int)

    /// Flattens `a.b['c'][d]` into its root node and accessors, without recursion.
    static func flatten(_ node: ExprNode) -> (root: ExprNode, accessors: [ExprAccessor]) {
        var accessors: [ExprAccessor] = []
        var current = node
        loop: while true {
            switch current.kind {
            case .member(let base, let name):
                accessors.append(.name(name, offset: current.offset))
                current = base
            case .index(let base, let index):
                if case .literal(.string(let name)) = index.kind {
                    accessors.append(.name(name, offset: index.offset))
                } else {
                    accessors.append(.dynamic(index, offset: current.offset))
                }
                current = base
            default:
                break loop
            }
        }
        return (current, accessors.reversed())
    }
}

/// The static checker: types, names, step references, and where functions may be used.
struct ExprChecker {
    static let contextNames = ["inputs", "env", "secrets", "steps", "pipeline", "run"]
    static let stepProperties = ["outputs", "outcome", "conclusion", "errcode"]

    let scope: ExpressionScope
    /// Every step id the expression may name: all of the pipeline's, and the earlier ones.
    /// Built only for a "did you mean" hint (a look-up asks the two sets).
    var knownSteps: Set<String> { scope.allSteps.union(scope.earlierSteps.keys) }
    var issues: [ExpressionIssue] = []
    var references: [StepReference] = []
    var usesStatus = false
    var contexts: Set<String> = []

    init(scope: ExpressionScope) {
        self.scope = scope
    }

    private func isKnownStep(_ id: String) -> Bool {
        scope.allSteps.contains(id) || scope.earlierSteps[id] != nil
    }

    static func run(_ root: ExprNode, in scope: ExpressionScope) -> ExpressionCheck {
        var checker = ExprChecker(scope: scope)
        let type = checker.check(root)
        return ExpressionCheck(
            type: type, references: checker.references, usesStatusFunction: checker.usesStatus,
            issues: checker.issues, contexts: checker.contexts)
    }

    private mutating func report(_ code: DiagnosticCode, _ message: String, at offset: Int, hint: String? = nil) {
        issues.append(ExpressionIssue(code: code, message: message, offset: offset, hint: hint))
    }

    mutating func check(_ node: ExprNode) -> ExprType {
        switch node.kind {
        case .literal(let value):
            return value.type
        case .identifier, .member, .index:
            return checkAccess(node)
        case .call(let name, let arguments):
            return checkCall(node, name: name, arguments: arguments)
        case .not(let operand):
            let type = check(operand)
            if !type.fits(.boolean) {
                report(.typeMismatch, "'!' needs a boolean, but its operand is \(type.withArticle)", at: operand.start)
            }
            return .boolean
        case .binary(let op, let left, let right):
            let lt = check(left), rt = check(right)
            switch op {
            case .and, .or:
                for (type, operand, side) in [(lt, left, "left"), (rt, right, "right")] where !type.fits(.boolean) {
                    report(
                        .typeMismatch,
                        "'\(op.rawValue)' needs boolean operands, but the \(side) operand is \(type.withArticle)",
                        at: operand.start)
                }
            case .equal, .notEqual:
                if !ExprType.areComparable(lt, rt) {
                    reportIncomparable(lt, rt, at: node.offset)
                }
            case .less, .lessEqual, .greater, .greaterEqual:
                if let bad = [lt, rt].first(where: { !$0.isOrderable }) {
                    report(
                        .typeMismatch, "'\(op.rawValue)' orders strings or numbers, not \(bad.withArticle)",
                        at: node.offset)
                } else if !ExprType.areComparable(lt, rt) {
                    reportIncomparable(lt, rt, at: node.offset)
                }
            }
            return .boolean
        }
    }

    private mutating func reportIncomparable(_ a: ExprType, _ b: ExprType, at offset: Int) {
        report(
            .typeMismatch, "cannot compare \(a.withArticle) with \(b.withArticle)", at: offset,
            hint: "comparison is typed: both sides must have the same type (only null compares with anything)")
    }

    // MARK: Contexts and access

    private enum Take {
        case end
        case dynamic(offset: Int)
        case name(String, offset: Int)
    }

    /// Takes the next accessor of a context path; a dynamic index must be a string.
    private mutating func take(_ rest: inout ArraySlice<ExprAccessor>) -> Take {
        guard let first = rest.popFirst() else { return .end }
        switch first {
        case .name(let name, let offset):
            return .name(name, offset: offset)
        case .dynamic(let index, let offset):
            let type = check(index)
            if !type.fits(.string) {
                report(.typeMismatch, "a name in a context is a string, not \(type.withArticle)", at: index.start)
            }
            return .dynamic(offset: offset)
        }
    }

    private mutating func checkAccess(_ node: ExprNode) -> ExprType {
        let (root, accessors) = ExprAccessor.flatten(node)
        guard case .identifier(let name) = root.kind else {
            return applyAccess(check(root), accessors[...])
        }
        return checkContext(name, at: root.offset, accessors[...])
    }

    private mutating func checkContext(_ root: String, at rootOffset: Int, _ accessors: ArraySlice<ExprAccessor>)
        -> ExprType
    {
        var rest = accessors
        if Self.contextNames.contains(root) { contexts.insert(root) }
        switch root {
        case "inputs":
            switch take(&rest) {
            case .end: return .object
            case .dynamic: return applyAccess(.any, rest)
            case .name(let name, let offset):
                if let type = scope.inputs[name] { return applyAccess(type, rest) }
                let hint =
                    ExprSuggestions.didYouMean(name, in: scope.inputs.keys, prefix: "inputs.")
                    ?? (scope.inputs.isEmpty
                        ? "the pipeline declares no inputs; declare it under 'inputs:'"
                        : "declared inputs: \(ExprSuggestions.list(scope.inputs.keys))")
                report(.unknownName, "input '\(name)' is not declared", at: offset, hint: hint)
                return applyAccess(.any, rest)
            }
        case "env", "secrets":
            if root == "secrets" && !scope.allowSecrets {
                report(
                    .secretOutsideAccount, "secrets can only be used in the account's credentials",
                    at: rootOffset,
                    hint: "a secret used here could be sent or printed; pass it through the account instead")
            }
            switch take(&rest) {
            case .end: return .object
            case .name(let name, let offset) where root == "env" && !scope.allowSecrets
                && (scope.secretEnvironment.contains(name) || SecretReference.isSecretEnvironmentName(name)):
                let why = scope.secretEnvironment.contains(name)
                    ? "an account's credentials or masscast.yaml's secret fields read it"
                    : "masscast reads credentials from it"
                report(
                    .secretOutsideAccount, "env.\(name) holds a secret (\(why)); it may not be used here",
                    at: offset,
                    hint: "a secret used here could be sent to followers or printed in a plan; put what you mean in an input or a content_file")
                return applyAccess(.string, rest)
            case .dynamic, .name: return applyAccess(.string, rest)
            }
        case "pipeline", "run":
            let property = root == "pipeline" ? "name" : "id"
            switch take(&rest) {
            case .end: return .object
            case .dynamic: return applyAccess(.any, rest)
            case .name(let name, let offset):
                if name == property { return applyAccess(.string, rest) }
                report(
                    .unknownName, "'\(root)' has no property '\(name)'", at: offset,
                    hint: "use \(root).\(property)")
                return applyAccess(.any, rest)
            }
        case "steps":
            return checkSteps(&rest, stepsOffset: rootOffset)
        default:
            let hint: String
            if ExprFunction(rawValue: root) != nil {
                report(.unknownName, "'\(root)' is a function and must be called", at: rootOffset, hint: "write \(root)(…)")
                return applyAccess(.any, rest)
            } else if scope.inputs[root] != nil {
                hint = "did you mean 'inputs.\(root)'?"
            } else if isKnownStep(root) {
                hint = "did you mean 'steps.\(root)'?"
            } else {
                hint =
                    ExprSuggestions.didYouMean(root, in: Self.contextNames)
                    ?? "expressions read the contexts inputs, env, secrets, steps, pipeline and run"
            }
            report(.unknownName, "unknown name '\(root)'", at: rootOffset, hint: hint)
            return applyAccess(.any, rest)
        }
    }

    private mutating func checkSteps(_ rest: inout ArraySlice<ExprAccessor>, stepsOffset: Int) -> ExprType {
        let id: String
        switch take(&rest) {
        case .end, .dynamic:
            // The graph must know which step is read: a computed id (steps[inputs.x]) or the
            // whole `steps` object would let a step read another that may not have run.
            report(
                .unknownStep, "a step must be named literally (steps.<id> or steps['id'])", at: stepsOffset,
                hint: "write the step's id, so that this step waits for it")
            return .any
        case .name(let name, let offset):
            id = name
            if !isKnownStep(id) {
                report(
                    .unknownStep, "no step has the id '\(id)'", at: offset,
                    hint: ExprSuggestions.didYouMean(id, in: knownSteps))
            } else {
                references.append(StepReference(stepID: id, offset: offset))
                if scope.earlierSteps[id] == nil {
                    report(
                        .laterStep, "step '\(id)' is not listed before this one", at: offset,
                        hint: "an expression can only read steps listed earlier; reorder the steps")
                }
            }
        }
        let step = scope.earlierSteps[id]
        switch take(&rest) {
        case .end: return .object
        case .dynamic: return applyAccess(.any, rest)
        case .name(let property, let offset):
            switch property {
            case "outcome", "conclusion":
                return applyAccess(.string, rest)
            case "errcode":
                return applyAccess(.integer, rest)
            case "outputs":
                switch take(&rest) {
                case .end: return .object
                case .dynamic: return applyAccess(.any, rest)
                case .name(let output, let outputOffset):
                    guard let step, let known = step.outputs else { return applyAccess(.any, rest) }
                    if let type = known[output] { return applyAccess(type, rest) }
                    let produced =
                        known.isEmpty
                        ? "\(step.kind) produces no outputs"
                        : "its outputs are \(ExprSuggestions.list(known.keys))"
                    report(
                        .unknownOutput, "step '\(id)' (\(step.kind)) has no output '\(output)'; \(produced)",
                        at: outputOffset, hint: ExprSuggestions.didYouMean(output, in: known.keys))
                    return applyAccess(.any, rest)
                }
            default:
                report(
                    .unknownName, "steps.\(id) has no property '\(property)'", at: offset,
                    hint: ExprSuggestions.didYouMean(property, in: Self.stepProperties)
                        ?? "a step has outputs, outcome, conclusion and errcode")
                return applyAccess(.any, rest)
            }
        }
    }

    /// Applies `.name` and `[index]` accessors to a value of a known type.
    private mutating func applyAccess(_ type: ExprType, _ accessors: ArraySlice<ExprAccessor>) -> ExprType {
        var type = type
        for accessor in accessors {
            switch accessor {
            case .name(let name, let offset):
                switch type {
                case .object, .any:
                    type = .any
                case .list:
                    report(
                        .typeMismatch, "cannot read '\(name)' from a list", at: offset,
                        hint: "index a list with a number, as in [0]")
                    type = .any
                default:
                    report(.typeMismatch, "cannot read '\(name)' from \(type.withArticle)", at: offset)
                    type = .any
                }
            case .dynamic(let index, let offset):
                let indexType = check(index)
                switch type {
                case .list(let element):
                    if !indexType.fits(.integer) {
                        report(.typeMismatch, "a list is indexed by an integer, not \(indexType.withArticle)", at: index.start)
                    }
                    type = element
                case .object:
                    if !indexType.fits(.string) {
                        report(.typeMismatch, "an object is indexed by a string, not \(indexType.withArticle)", at: index.start)
                    }
                    type = .any
                case .any:
                    if !indexType.fits(.string) && !indexType.fits(.integer) {
                        report(.typeMismatch, "an index is a string or an integer, not \(indexType.withArticle)", at: index.start)
                    }
                    type = .any
                default:
                    report(.typeMismatch, "cannot index \(type.withArticle)", at: offset)
                    type = .any
                }
            }
        }
        return type
    }

    // MARK: Calls

    private mutating func checkCall(_ node: ExprNode, name: String, arguments: [ExprNode]) -> ExprType {
        var types: [ExprType] = []
        for argument in arguments { types.append(check(argument)) }
        guard let function = ExprFunction(rawValue: name) else {
            report(
                .badFunctionCall, "unknown function '\(name)'", at: node.offset,
                hint: ExprSuggestions.didYouMean(name, in: ExprFunction.allNames)
                    ?? "functions are \(ExprFunction.allNames.joined(separator: ", "))")
            return .any
        }
        if function.isStatus {
            usesStatus = true
            if !scope.isCondition {
                report(
                    .statusFunctionOutsideIf, "\(name)() can only be used in a step's 'if'", at: node.offset)
            }
        }
        let result: ExprType
        switch function {
        case .contains, .startsWith, .endsWith, .success, .failure, .always: result = .boolean
        case .format, .join, .toJSON: result = .string
        case .length: result = .integer
        case .fromJSON: result = .any
        }
        guard function.arity.contains(arguments.count) else {
            report(
                .badFunctionCall, "\(name) takes \(function.arityText), not \(arguments.count)", at: node.offset,
                hint: "call it as \(function.signature)")
            return result
        }
        func stringLike(_ type: ExprType) -> Bool { type.fits(.string) || type == .null }
        switch function {
        case .contains:
            let (haystack, needle) = (types[0], types[1])
            switch haystack {
            case .string:
                if !stringLike(needle) {
                    report(
                        .typeMismatch, "contains looks for a string in a string, not \(needle.withArticle)",
                        at: arguments[1].start)
                }
            case .list(let element):
                if !ExprType.areComparable(element, needle) {
                    report(
                        .typeMismatch, "contains looks for \(element.withArticle) in a \(haystack), not \(needle.withArticle)",
                        at: arguments[1].start)
                }
            case .any, .null:
                break
            default:
                report(
                    .typeMismatch, "contains searches a string or a list, not \(haystack.withArticle)",
                    at: arguments[0].start)
            }
        case .startsWith, .endsWith:
            for (type, argument) in zip(types, arguments) where !stringLike(type) {
                report(.typeMismatch, "\(name) takes strings, not \(type.withArticle)", at: argument.start)
            }
        case .format:
            if !types[0].fits(.string) {
                report(.typeMismatch, "format's template is a string, not \(types[0].withArticle)", at: arguments[0].start)
            } else if case .literal(.string(let template)) = arguments[0].kind {
                switch ExprFormat.parse(template) {
                case .failure(let error):
                    report(.badFunctionCall, error.message, at: arguments[0].start)
                case .success(let pieces):
                    let count = arguments.count - 1
                    for case .argument(let index) in pieces where index >= count {
                        report(
                            .badFunctionCall,
                            "the format string refers to {\(index)}, but \(count == 1 ? "only 1 argument follows" : "\(count) arguments follow") it",
                            at: arguments[0].start, hint: "placeholders count from {0}")
                        break
                    }
                }
            }
        case .join:
            switch types[0] {
            case .list, .any: break
            default:
                report(.typeMismatch, "join takes a list, not \(types[0].withArticle)", at: arguments[0].start)
            }
            if types.count == 2 && !types[1].fits(.string) {
                report(.typeMismatch, "join's separator is a string, not \(types[1].withArticle)", at: arguments[1].start)
            }
        case .length:
            switch types[0] {
            case .string, .list, .any: break
            default:
                report(.typeMismatch, "length takes a string or a list, not \(types[0].withArticle)", at: arguments[0].start)
            }
        case .fromJSON:
            if !types[0].fits(.string) {
                report(.typeMismatch, "fromJSON takes a string, not \(types[0].withArticle)", at: arguments[0].start)
            }
        case .toJSON, .success, .failure, .always:
            break
        }
        return result
    }
}
