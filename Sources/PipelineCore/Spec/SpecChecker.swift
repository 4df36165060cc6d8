/// Checks a `SourceNode` against a `FieldType`, reporting every problem with its position.
///
/// Expressions are checked here too, where a field allows them: syntax, names, the type
/// they produce against the field's type; the step references they make are collected for
/// the graph.
public struct SpecChecker {
    /// A step reference found in an expression, with its place in the file.
    public struct Reference: Sendable, Hashable {
        public var stepID: String
        public var location: SourceLocation
    }

    public var diagnostics = DiagnosticBag()
    public var references: [Reference] = []
    /// Scope for expressions; `nil` means expressions are not allowed at all here.
    public var scope: ExpressionScope?
    /// Warn about plain scalars cut short by a ` #` comment (inside `with`).
    public var warnTruncatedScalars = false
    /// What messages call the top-level mapping ("unknown key 'x' in the pipeline").
    public var rootName = "the pipeline"

    /// The path of the value being checked, rendered only when a message needs it.
    private enum PathComponent {
        case key(String)
        case index(Int)
    }
    private var pathStack: [PathComponent] = []

    private var path: String {
        var out = ""
        for c in pathStack {
            switch c {
            case .key(let k):
                if !out.isEmpty { out += "." }
                out += k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    /// The path for messages; the top level is "the pipeline".
    private var place: String {
        let p = path
        return p.isEmpty ? rootName : p
    }

    private var lastKey: String? {
        for c in pathStack.reversed() { if case .key(let k) = c { return k } }
        return nil
    }

    public init(scope: ExpressionScope? = nil) {
        self.scope = scope
    }

    /// Checks `node` as a value of `type`; `path` names it in messages (`with`).
    public mutating func check(_ node: SourceNode, as type: FieldType, path: String, expressions: Bool) {
        let saved = pathStack
        pathStack = path.isEmpty ? [] : [.key(path)]
        checkValue(node, as: type, expressions: expressions)
        pathStack = saved
    }

    private mutating func checkValue(_ node: SourceNode, as type: FieldType, expressions: Bool) {
        if case .deferred = type { return }
        if node.isAlias { return }
        if node.hasExpression, case .scalar(let text, _) = node.content {
            checkExpression(node, text: text, as: type, allowed: expressions)
            return
        }
        switch type {
        case .deferred:
            return
        case .any:
            if case .mapping(let entries) = node.content {
                for e in entries {
                    pathStack.append(.key(e.key))
                    checkValue(e.value, as: .any, expressions: expressions)
                    pathStack.removeLast()
                }
            } else if case .sequence(let items) = node.content {
                for (i, item) in items.enumerated() {
                    pathStack.append(.index(i))
                    checkValue(item, as: .any, expressions: expressions)
                    pathStack.removeLast()
                }
            }
        case .string(let rule):
            guard case .string(let s)? = node.typed else { return wrongType(node, type) }
            if let rule, !rule.matches(s) {
                badString(node, s, rule)
            }
            truncationWarning(node)
        case .integer(let lo, let hi):
            guard case .integer(let v)? = node.typed else { return wrongType(node, type) }
            if let lo, v < lo { outOfRange(node, "\(v)", type) }
            else if let hi, v > hi { outOfRange(node, "\(v)", type) }
        case .number(let lo):
            let v: Double
            switch node.typed {
            case .integer(let i)?: v = Double(i)
            case .float(let d)? where d.isFinite: v = d
            default: return wrongType(node, type)
            }
            if let lo, v < lo { outOfRange(node, FieldType.format(v), type) }
        case .constant(let expected):
            guard case .integer(let v)? = node.typed else { return wrongType(node, type) }
            if v != expected {
                diagnostics.error(.unsupportedVersion, "\(path) \(v) is not supported; this masscast reads \(path) \(expected)",
                                  at: node.location)
            }
        case .boolean:
            guard case .bool? = node.typed else {
                var hint: String?
                if case .string(let s)? = node.typed, ["yes", "no", "on", "off", "y", "n"].contains(s.lowercased()) {
                    hint = "YAML 1.2 reads '\(s)' as a string; write true or false"
                }
                return wrongType(node, type, hint: hint)
            }
        case .duration:
            guard case .string(let s)? = node.typed else {
                var hint: String?
                if case .integer(let v)? = node.typed { hint = "a duration needs a unit: \(v)s, \(v)m…" }
                return wrongType(node, type, hint: hint)
            }
            if DurationText.parse(s) == nil {
                diagnostics.error(.invalidDuration, "'\(s)' is not a duration (at \(path))", at: node.location,
                                  hint: "write a number and a unit: 500ms, 30s, 2m, 1h, 1d, or a sum like 1h30m")
            }
        case .enumeration(let values):
            guard case .string(let s)? = node.typed else { return wrongType(node, type) }
            if !values.contains(s) {
                let suggestion = Suggestion.closest(to: s, among: values)
                diagnostics.error(.invalidEnumValue, "'\(s)' is not allowed for \(path); expected \(type.expectation)",
                                  at: node.location, hint: suggestion.map { "did you mean '\($0)'?" })
            }
        case .list(let itemType, let lo, let hi):
            guard case .sequence(let items) = node.content else { return wrongType(node, type) }
            if let lo, items.count < lo, path == "steps" {
                diagnostics.error(.noSteps, "the pipeline has no steps", at: node.location,
                                  hint: "add at least one step under steps:")
            } else if let lo, items.count < lo {
                diagnostics.error(.listLength, "\(path) has \(items.count) item\(items.count == 1 ? "" : "s"); at least \(lo) \(lo == 1 ? "is" : "are") needed",
                                  at: node.location)
            } else if let hi, items.count > hi {
                diagnostics.error(.listLength, "\(path) has \(items.count) items; at most \(hi) are allowed",
                                  at: node.location,
                                  hint: path.hasSuffix(".touser")
                                      ? "put a larger audience in a file (`touser_file`, one OpenID a line): it is sent in batches of \(hi)"
                                      : nil)
            }
            for (i, item) in items.enumerated() {
                pathStack.append(.index(i))
                checkValue(item, as: itemType, expressions: expressions)
                pathStack.removeLast()
            }
        case .object(let spec):
            guard case .mapping(let entries) = node.content else { return wrongType(node, type) }
            checkObject(node, entries, spec)
        case .map(let keyRule, let valueType):
            guard case .mapping(let entries) = node.content else { return wrongType(node, type) }
            for e in entries {
                if !keyRule.matches(e.key) {
                    diagnostics.error(.badInput, "'\(e.key)' is not a valid name in \(path): \(keyRule.summary)",
                                      at: e.keyLocation)
                }
                pathStack.append(.key(e.key))
                checkValue(e.value, as: valueType, expressions: expressions)
                pathStack.removeLast()
            }
        case .either(let types):
            let pick = types.first { t in
                switch (t, node.content) {
                case (.object, .mapping), (.map, .mapping), (.list, .sequence): return true
                case (.object, _), (.map, _), (.list, _): return false
                default:
                    if case .scalar = node.content { return Self.scalarFits(node, t) }
                    return false
                }
            }
            if let pick {
                checkValue(node, as: pick, expressions: expressions)
            } else if case .scalar = node.content,
                let scalarType = types.first(where: { if case .string = $0 { return true }; return false })
            {
                checkValue(node, as: scalarType, expressions: expressions)
            } else {
                wrongType(node, type)
            }
        }
    }

    static func scalarFits(_ node: SourceNode, _ t: FieldType) -> Bool {
        switch (t, node.typed) {
        case (.string, .string?), (.duration, .string?), (.enumeration, .string?): true
        case (.integer, .integer?), (.boolean, .bool?), (.constant, .integer?): true
        case (.number, .integer?), (.number, .float?): true
        case (.any, _), (.deferred, _): true
        default: false
        }
    }

    /// Checks a mapping's keys, values and cross-key rules.
    private mutating func checkObject(_ node: SourceNode, _ entries: [SourceNode.Entry], _ spec: ObjectSpec) {
        var known: [String] { spec.fields.map(\.name) }
        func present(_ key: String) -> SourceNode.Entry? {
            let wanted = KeyMatcher(key)
            return entries.first { wanted.matches($0.key) }
        }
        for e in entries {
            if let refusal = spec.refused[e.key] {
                diagnostics.error(refusal.code, refusal.message, at: e.keyLocation, hint: refusal.hint)
                continue
            }
            guard let field = spec.field(e.key) else {
                let suggestion = Suggestion.closest(to: e.key, among: known)
                diagnostics.error(
                    .unknownKey, "unknown key '\(e.key)' in \(place)", at: e.keyLocation,
                    hint: suggestion.map { "did you mean '\($0)'?" }
                        ?? "allowed keys: " + known.joined(separator: ", "))
                continue
            }
            pathStack.append(.key(e.key))
            checkValue(e.value, as: field.type, expressions: field.allowsExpression)
            pathStack.removeLast()
        }
        if spec.constraints.isEmpty, !spec.fields.contains(where: \.required) { return }
        let path = self.path
        for field in spec.fields where field.required && present(field.name) == nil {
            diagnostics.error(.missingKey, "\(place) is missing the required key '\(field.name)'",
                              at: node.location)
        }
        for constraint in spec.constraints {
            switch constraint {
            case .exactlyOne(let keys), .atMostOne(let keys):
                let found = keys.filter { present($0) != nil }
                if found.count > 1, let second = present(found[1]), let first = present(found[0]) {
                    diagnostics.error(.conflictingKeys, "'\(found[0])' and '\(found[1])' exclude each other in \(path)",
                                      at: second.keyLocation, note: .init("'\(found[0])' is here", at: first.keyLocation),
                                      hint: "keep one of them")
                } else if found.isEmpty, case .exactlyOne = constraint {
                    diagnostics.error(.conflictingKeys, "\(path) needs one of " + keys.map { "'\($0)'" }.joined(separator: ", "),
                                      at: node.location)
                }
            case .atLeastOne(let keys):
                if !keys.contains(where: { present($0) != nil }) {
                    diagnostics.error(.conflictingKeys, "\(path) needs at least one of " + keys.map { "'\($0)'" }.joined(separator: ", "),
                                      at: node.location)
                }
            case .requiredWhen(let field, let value, let required):
                if case .bool(let b)? = present(field)?.value.typed, b == value, present(required) == nil {
                    diagnostics.error(.missingKey, "\(path) is missing '\(required)', required when \(field) is \(value)",
                                      at: node.location,
                                      hint: field == "is_to_all" ? "name the audience with tag_id; a missing audience is never turned into a send to everyone" : nil)
                }
            case .payload(let selector, let keys):
                guard case .string(let selected)? = present(selector)?.value.typed, let payloadKey = keys[selected] else {
                    continue
                }
                if present(payloadKey) == nil {
                    diagnostics.error(.missingPayload, "msgtype '\(selected)' needs its payload '\(payloadKey)' in \(path)",
                                      at: present(selector)?.value.location ?? node.location,
                                      hint: "add `\(payloadKey):` with the message content")
                }
                for (other, otherKey) in keys.sorted(by: { $0.key < $1.key }) where otherKey != payloadKey {
                    if let e = present(otherKey) {
                        diagnostics.error(.payloadMismatch, "'\(otherKey)' is the payload of msgtype '\(other)', but msgtype is '\(selected)'",
                                          at: e.keyLocation, hint: "remove '\(otherKey)' or change msgtype")
                    }
                }
            case .excludedWhen(let key, let field, let value, let code, let message, let hint):
                if let e = present(key), case .string(let s)? = present(field)?.value.typed, s == value {
                    diagnostics.error(code, message, at: e.keyLocation,
                                      note: present(field).map { .init("\(field): \(value) is here", at: $0.keyLocation) },
                                      hint: hint)
                }
            }
        }
    }

    private mutating func checkExpression(_ node: SourceNode, text: String, as type: FieldType, allowed: Bool) {
        guard allowed, let scope else {
            diagnostics.error(.badValue, "expressions are not evaluated in \(path)", at: node.location,
                              hint: "write a literal value here")
            return
        }
        let (template, issues) = Template.parse(text)
        for issue in issues {
            diagnostics.error(issue.code, issue.message, at: node.location(ofTextOffset: issue.offset), hint: issue.hint)
        }
        guard let template else { return }
        let result = template.check(in: scope)
        for issue in result.issues {
            diagnostics.error(issue.code, issue.message, at: node.location(ofTextOffset: issue.offset), hint: issue.hint)
        }
        for r in result.references {
            references.append(Reference(stepID: r.stepID, location: node.location(ofTextOffset: r.offset)))
        }
        if result.issues.isEmpty, !type.accepts(result.type) {
            diagnostics.error(.expressionFieldType, "\(path) expects \(type.expectation), but the expression gives \(result.type)",
                              at: node.location)
        }
    }

    private mutating func truncationWarning(_ node: SourceNode) {
        guard warnTruncatedScalars, node.followedByComment, let last = lastKey, Catalog.copyFields.contains(last)
        else { return }
        diagnostics.warning(.truncatedByComment,
                            "the text of \(path) ends before ' #': YAML reads the rest of the line as a comment",
                            at: node.location, hint: "quote the whole text, e.g. \"…#话题#…\"")
    }

    /// A secret written in the file: the message never quotes it and the snippet is cut.
    private mutating func literalSecret(_ node: SourceNode) {
        var d = Diagnostic.error(
            .literalSecret, "\(path) must not be written in the file; it must come from secrets. or env.",
            at: node.location,
            hint: "write ${{ secrets.APP_SECRET }} and set MASSCAST_SECRET_APP_SECRET; rotate the secret if this file was ever committed")
        d.redactsSource = true
        diagnostics.append(d)
    }

    private mutating func wrongType(_ node: SourceNode, _ type: FieldType, hint: String? = nil) {
        if case .string(.secretReference?) = type {
            // Whatever was written there (a number, a list), it is not to be quoted back.
            return literalSecret(node)
        }
        var hint = hint
        if hint == nil, case .string = type, case .scalar(_, .plain) = node.content {
            hint = "quote it to make it a string"
        }
        diagnostics.error(.wrongType, "\(path) must be \(type.expectation), not \(node.kindDescription)",
                          at: node.location, hint: hint)
    }

    private mutating func outOfRange(_ node: SourceNode, _ value: String, _ type: FieldType) {
        diagnostics.error(.outOfRange, "\(path) is \(value); it must be \(type.expectation)", at: node.location)
    }

    private mutating func badString(_ node: SourceNode, _ s: String, _ rule: StringRule) {
        switch rule {
        case .pipelineName:
            diagnostics.error(.badName, "'\(s)' is not a valid pipeline name: \(rule.summary)", at: node.location,
                              hint: suggestName(s).map { "try '\($0)'" })
        case .stepID:
            diagnostics.error(.badStepID, "'\(s)' is not a valid step id: \(rule.summary)", at: node.location)
        case .timestamp:
            diagnostics.error(.badTimestamp, "'\(s)' is not an RFC 3339 time with an explicit UTC offset (at \(path))",
                              at: node.location, hint: "write it like \"2026-12-01T09:00:00+08:00\"")
        case .secretReference:
            literalSecret(node)
        default:
            diagnostics.error(.badValue, "'\(s)' is not valid for \(path): \(rule.summary)", at: node.location)
        }
    }

    private func suggestName(_ s: String) -> String? {
        let mapped = s.lowercased().map { c -> Character in
            c.isLetter && c.isASCII || c.isNumber && c.isASCII ? c : "-"
        }
        var out = String(mapped).split(separator: "-").joined(separator: "-")
        out = String(out.prefix(63))
        return StringRule.pipelineName.matches(out) ? out : nil
    }
}
