/// Turns a located tree into a `Pipeline`, reporting every problem it finds: structure
/// and types (through `FormatSpec` and the catalog), expressions, and the step graph.
public enum PipelineDecoder {
    /// Decodes and checks; the pipeline is `nil` only when the tree is not a mapping at all.
    /// - Parameter secretEnvironment: environment variables that hold credentials (from
    ///   masscast.yaml's secret fields): a step's `with` may not read them (MC3009), nor the one
    ///   an inline account's `app_secret` names.
    public static func decode(_ root: SourceNode, file: String, secretEnvironment: Set<String> = [])
        -> (pipeline: Pipeline?, diagnostics: [Diagnostic])
    {
        var bag = DiagnosticBag()
        guard case .mapping = root.content else {
            bag.error(.wrongType, "a pipeline is a mapping of keys (version, name, account, steps…), not \(root.kindDescription)",
                      at: root.location, hint: "start the file with `version: 1`")
            return (nil, bag.diagnostics)
        }
        var structure = SpecChecker()
        structure.check(root, as: .object(FormatSpec.pipeline), path: "", expressions: false)
        bag.append(contentsOf: structure.diagnostics.diagnostics)

        var version = 1
        if case .integer(let v)? = root["version"]?.typed { version = v }
        let nameNode = root["name"]
        var name = Located("", at: nameNode?.location ?? root.location)
        if case .string(let s)? = nameNode?.typed { name.value = s }
        var description: String?
        if case .string(let s)? = root["description"]?.typed { description = s }

        let inputs = decodeInputs(root["inputs"], bag: &bag)
        var inputTypes: [String: ExprType] = [:]
        for input in inputs { inputTypes[input.name] = input.type.exprType }

        let account = decodeAccount(root["account"], inputs: inputTypes, bag: &bag, fallback: root.location)
        let schedule = decodeSchedule(root["schedule"], bag: &bag)
        var defaults = StepDefaults()
        if let d = root["defaults"] {
            if let t = duration(d["timeout"]) { defaults.timeout = t }
            if let r = d["retry"] { defaults.retry = mergeRetry(defaults.retry, r) }
        }

        var secrets = secretEnvironment
        if case .string(let text)? = root["account"]?["app_secret"]?.typed,
            let name = SecretReference.environmentName(text)
        {
            secrets.insert(name)
        }
        let steps = decodeSteps(
            root["steps"], inputs: inputTypes, defaults: defaults, secretEnvironment: secrets, bag: &bag)
        var pipeline = Pipeline(
            file: file, version: version, name: name, description: description, account: account,
            inputs: inputs, schedule: schedule, defaults: defaults, steps: steps)
        if case .string(let mode)? = root["apply"]?.typed, let apply = ApplyMode(rawValue: mode) { pipeline.apply = apply }
        bag.append(contentsOf: StepGraph.check(pipeline))
        bag.append(contentsOf: SendToAll.warnings(steps, pipelineName: name.value, account: account))
        return (pipeline, bag.diagnostics)
    }

    // MARK: Parts

    static func decodeInputs(_ node: SourceNode?, bag: inout DiagnosticBag) -> [InputDeclaration] {
        guard let entries = node?.entries else { return [] }
        var result: [InputDeclaration] = []
        for e in entries {
            guard case .mapping = e.value.content else { continue }
            guard case .string(let typeName)? = e.value["type"]?.typed,
                let type = InputDeclaration.InputType(rawValue: typeName)
            else { continue }
            var decl = InputDeclaration(name: e.key, type: type, defaultValue: nil, description: nil, required: false,
                                        location: e.keyLocation)
            if case .string(let s)? = e.value["description"]?.typed { decl.description = s }
            if case .bool(let b)? = e.value["required"]?.typed { decl.required = b }
            if let d = e.value["default"] {
                if let value = value(of: d, as: type) {
                    decl.defaultValue = value
                } else {
                    bag.error(.badInput, "the default of input '\(e.key)' must be \(typeName == "integer" ? "an integer" : typeName == "list" ? "a list" : typeName == "boolean" ? "true or false" : "a string"), not \(d.kindDescription)",
                              at: d.location, hint: typeName == "string" ? "quote it to make it a string" : nil)
                }
            }
            result.append(decl)
        }
        return result
    }

    /// A literal YAML value as an expression `Value` of the input type, or `nil` when it does not fit.
    static func value(of node: SourceNode, as type: InputDeclaration.InputType) -> Value? {
        switch (type, node.typed) {
        case (.string, .string(let s)?): return .string(s)
        case (.integer, .integer(let i)?): return .integer(i)
        case (.boolean, .bool(let b)?): return .bool(b)
        case (.list, _):
            guard let items = node.items else { return nil }
            return .list(items.map(plainValue))
        default: return nil
        }
    }

    /// Any literal node as a `Value` (YAML 1.2 core typing).
    public static func plainValue(_ node: SourceNode) -> Value {
        switch node.content {
        case .sequence(let items): return .list(items.map(plainValue))
        case .mapping(let entries):
            var object: [String: Value] = [:]
            for e in entries { object[e.key] = plainValue(e.value) }
            return .object(object)
        case .scalar:
            switch node.typed {
            case .null?, nil: return .null
            case .bool(let b)?: return .bool(b)
            case .integer(let i)?: return .integer(i)
            case .float(let d)?: return .number(d)
            case .string(let s)?: return .string(s)
            }
        }
    }

    static func decodeAccount(_ node: SourceNode?, inputs: [String: ExprType], bag: inout DiagnosticBag,
                              fallback: SourceLocation) -> AccountReference
    {
        guard let node else { return .named(Located("", at: fallback)) }
        var checker = SpecChecker(scope: ExpressionScope(inputs: inputs, earlierSteps: [:], allSteps: [],
                                                         isCondition: false, allowSecrets: true))
        checker.check(node, as: FormatSpec.accountField, path: "account", expressions: true)
        bag.append(contentsOf: checker.diagnostics.diagnostics)
        // `${{ secrets.A }}-x` passes the expression checks; the secret must still be exactly one reference.
        if let misuse = SecretReference.misuse(node["app_secret"], path: "account.app_secret",
                                               reported: checker.diagnostics.diagnostics)
        {
            bag.append(misuse)
        }
        if case .string(let s)? = node.typed { return .named(Located(s, at: node.location)) }
        func text(_ key: String) -> String? {
            if case .string(let s)? = node[key]?.typed { return s }
            return nil
        }
        let account = Account(
            name: "inline", appID: text("app_id") ?? "",
            kind: text("kind").flatMap(AccountKind.init(rawValue:)) ?? .service,
            apiBase: text("api_base") ?? Account.defaultAPIBase, originalID: text("original_id"))
        return .inline(InlineAccount(account, appSecret: text("app_secret") ?? "", location: node.location))
    }

    static func decodeSchedule(_ node: SourceNode?, bag: inout DiagnosticBag) -> Schedule? {
        guard let node, node.entries != nil else { return nil }
        func stamp(_ key: String) -> Located<String>? {
            guard let n = node[key], case .string(let s)? = n.typed else { return nil }
            return Located(s, at: n.location)
        }
        let schedule = Schedule(notBefore: stamp("not_before"), notAfter: stamp("not_after"))
        if let a = schedule.notBeforeEpoch, let b = schedule.notAfterEpoch, let after = schedule.notAfter,
            let before = schedule.notBefore, b <= a
        {
            bag.error(.invertedWindow, "schedule.not_after (\(after.value)) is not after not_before (\(before.value))",
                      at: after.location, note: .init("not_before is here", at: before.location),
                      hint: "the window would never open; swap the times or fix the date")
        }
        return schedule
    }

    static func duration(_ node: SourceNode?) -> Duration? {
        guard case .string(let s)? = node?.typed else { return nil }
        return DurationText.parse(s)
    }

    static func mergeRetry(_ base: RetryPolicy, _ node: SourceNode) -> RetryPolicy {
        var r = base
        if case .integer(let v)? = node["max_attempts"]?.typed { r.maxAttempts = v }
        if let d = duration(node["initial_delay"]) { r.initialDelay = d }
        switch node["factor"]?.typed {
        case .integer(let v)?: r.factor = Double(v)
        case .float(let v)?: r.factor = v
        default: break
        }
        if let d = duration(node["max_delay"]) { r.maxDelay = d }
        if case .string(let s)? = node["jitter"]?.typed, let j = RetryPolicy.Jitter(rawValue: s) { r.jitter = j }
        if let d = duration(node["deadline"]) { r.deadline = d }
        if let items = node["classes"]?.items {
            r.classes = items.compactMap { if case .string(let s)? = $0.typed { return s }; return nil }
        }
        if let items = node["errcodes"]?.items {
            r.errcodes = items.compactMap { if case .integer(let i)? = $0.typed { return i }; return nil }
        }
        return r
    }

    static func decodeSteps(_ node: SourceNode?, inputs: [String: ExprType], defaults: StepDefaults,
                            secretEnvironment: Set<String> = [], bag: inout DiagnosticBag) -> [Step]
    {
        guard let items = node?.items else { return [] }
        // First pass: ids and kinds, so that references can tell unknown from later steps.
        var ids: [(id: String, location: SourceLocation)?] = []
        var firstByID: [String: SourceLocation] = [:]
        for item in items {
            guard let idNode = item["id"], case .string(let id)? = idNode.typed else {
                ids.append(nil)
                continue
            }
            if let first = firstByID[id] {
                bag.error(.duplicateStepID, "step id '\(id)' is used twice", at: idNode.location,
                          note: .init("the first step '\(id)' is here", at: first), hint: "give each step its own id")
                ids.append(nil)
                continue
            }
            firstByID[id] = idNode.location
            ids.append((id, idNode.location))
        }
        let allSteps = Set(firstByID.keys)
        var earlier: [String: StepOutputs] = [:]
        var steps: [Step] = []
        for (index, item) in items.enumerated() {
            guard case .mapping = item.content else { continue }
            var kindName: String?
            var uses = Located("", at: item.location)
            if let usesNode = item["uses"], case .string(let u)? = usesNode.typed {
                uses = Located(u, at: usesNode.location)
                if Catalog.kind(u) != nil {
                    kindName = u
                } else {
                    let suggestion = Suggestion.closest(to: u, among: Catalog.names)
                    bag.error(.unknownStepKind, "unknown step kind '\(u)'", at: usesNode.location,
                              hint: suggestion.map { "did you mean '\($0)'?" }
                                  ?? "known kinds: " + Catalog.names.joined(separator: ", "))
                }
            }
            var scope = ExpressionScope(inputs: inputs, earlierSteps: earlier, allSteps: allSteps,
                                        isCondition: false, allowSecrets: false)
            scope.secretEnvironment = secretEnvironment
            var references: [Located<String>] = []
            if let kind = kindName.flatMap(Catalog.kind) {
                var checker = SpecChecker(scope: scope)
                checker.warnTruncatedScalars = true
                let withNode = item["with"] ?? SourceNode(.mapping([]), at: uses.location)
                checker.check(withNode, as: .object(kind.with), path: "with", expressions: true)
                if item["with"] == nil, kind.with.fields.contains(where: \.required) {
                    // Point at the step rather than at `uses`, and say it plainly.
                    let missing = checker.diagnostics.diagnostics.filter { $0.code != .missingKey }
                    bag.append(contentsOf: missing)
                    bag.error(.missingKey, "step '\(ids[index]?.id ?? "?")' (\(kind.name)) has no 'with'; it needs "
                              + kind.with.fields.filter(\.required).map { "'\($0.name)'" }.joined(separator: ", "),
                              at: item.location)
                } else {
                    bag.append(contentsOf: checker.diagnostics.diagnostics)
                }
                references += checker.references.map { Located($0.stepID, at: $0.location) }
            } else if let withNode = item["with"], withNode.entries == nil {
                bag.error(.wrongType, "with must be a mapping, not \(withNode.kindDescription)", at: withNode.location)
            }
            var condition: Condition?
            if let ifNode = item["if"] {
                var conditionScope = scope
                conditionScope.isCondition = true
                let (c, refs) = decodeCondition(ifNode, scope: conditionScope, bag: &bag)
                condition = c
                references += refs
            }
            var needs: [Located<String>]?
            if let needsItems = item["needs"]?.items {
                needs = needsItems.compactMap {
                    if case .string(let s)? = $0.typed { return Located(s, at: $0.location) }
                    return nil
                }
            }
            var retry = defaults.retry
            if let r = item["retry"] { retry = mergeRetry(retry, r) }
            var continueOnError = false
            if case .bool(let b)? = item["continue_on_error"]?.typed { continueOnError = b }
            if let (id, idLocation) = ids[index] {
                steps.append(Step(
                    id: Located(id, at: idLocation), uses: uses, kindName: kindName, with: item["with"],
                    needs: needs, condition: condition, timeout: duration(item["timeout"]) ?? defaults.timeout,
                    retry: retry, continueOnError: continueOnError, references: references, location: item.location))
                earlier[id] = StepOutputs(kind: kindName ?? uses.value, outputs: kindName.flatMap(Catalog.kind)?.outputTypes)
            }
        }
        return steps
    }

    static func decodeCondition(_ node: SourceNode, scope: ExpressionScope, bag: inout DiagnosticBag)
        -> (Condition?, [Located<String>])
    {
        switch node.typed {
        case .bool(let b)?:
            return (Condition(source: String(b), expression: nil, constant: b, usesStatusFunction: false,
                              location: node.location), [])
        case .string(let text)?:
            var check: ExpressionCheck
            var expression: Expression
            var source = text
            var base = 0  // offset of the expression source within the scalar text
            if node.hasExpression {
                let (template, issues) = Template.parse(text)
                for issue in issues {
                    bag.error(issue.code, issue.message, at: node.location(ofTextOffset: issue.offset), hint: issue.hint)
                }
                guard let template else { return (nil, []) }
                guard template.isSingleExpression,
                    let part = template.parts.first(where: { if case .expression = $0 { return true }; return false }),
                    case .expression(let e, let offset) = part
                else {
                    bag.error(.conditionNotBoolean, "if must be one boolean expression, not text with expressions in it",
                              at: node.location, hint: "write the whole condition inside one ${{ }}")
                    return (nil, [])
                }
                expression = e
                source = e.source
                base = offset
            } else {
                do {
                    expression = try Expression.parse(text)
                } catch {
                    bag.error(error.code, error.message, at: node.location(ofTextOffset: error.offset), hint: error.hint)
                    return (nil, [])
                }
            }
            let leading = expression.source.unicodeScalars.prefix { $0 == " " || $0 == "\t" }.count
            check = expression.check(in: scope)
            for issue in check.issues {
                bag.error(issue.code, issue.message, at: node.location(ofTextOffset: base + issue.offset), hint: issue.hint)
            }
            if check.issues.isEmpty {
                switch check.type {
                case .boolean, .any: break
                default:
                    bag.error(.conditionNotBoolean, "if must be a boolean expression, but this one gives \(check.type)",
                              at: node.location(ofTextOffset: base + leading),  // the expression, not the spaces after `${{`
                              hint: "compare it, e.g. ${{ steps.check.outputs.msg_status == 'SEND_SUCCESS' }}")
                }
            }
            let refs = check.references.map { Located($0.stepID, at: node.location(ofTextOffset: base + $0.offset)) }
            var condition = Condition(source: source, expression: expression, constant: nil,
                                      usesStatusFunction: check.usesStatusFunction, location: node.location)
            for r in refs where !condition.stepReferences.contains(r.value) { condition.stepReferences.append(r.value) }
            return (condition, refs)
        default:
            bag.error(.wrongType, "if must be a boolean expression, not \(node.kindDescription)", at: node.location)
            return (nil, [])
        }
    }
}
