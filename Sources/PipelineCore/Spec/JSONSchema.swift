import Foundation

/// The JSON Schema (draft-07) of the pipeline format, generated from the same `FormatSpec`
/// and `Catalog` the loader checks with, so that editors and the loader agree.
public enum PipelineSchema {
    public static let durationPattern = "^([0-9]+(ms|s|m|h|d))+$"
    public static let expressionPattern = "^\\s*\\$\\{\\{[\\s\\S]*\\}\\}\\s*$"

    /// The schema as pretty-printed JSON with sorted keys (stable, diffable).
    public static func json() -> String {
        let data = try? JSONSerialization.data(
            withJSONObject: document(), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data ?? Data(), as: UTF8.self) + "\n"
    }

    /// The schema as a JSON object.
    public static func document() -> [String: Any] {
        var definitions: [String: Any] = [
            "expression": [
                "type": "string", "pattern": expressionPattern,
                "description": "A ${{ }} expression whose value fills the field",
            ] as [String: Any],
            "step": stepSchema(),
        ]
        for kind in Catalog.kinds {
            definitions[definitionName(kind)] = schema(.object(kind.with), expression: false, doc: kind.doc)
        }
        var root = schema(.object(FormatSpec.pipeline), expression: false, doc: "")
        // Steps are checked against the step definition, which selects `with` by `uses`.
        if var properties = root["properties"] as? [String: Any], var steps = properties["steps"] as? [String: Any] {
            steps["items"] = ["$ref": "#/definitions/step"]
            properties["steps"] = steps
            root["properties"] = properties
        }
        root["$schema"] = "http://json-schema.org/draft-07/schema#"
        root["$id"] = "https://masscast.dev/schemas/pipeline.schema.json"
        root["title"] = "masscast pipeline"
        root["description"] = "One WeChat Official Account mass-message broadcast, declared as steps (format version 1)."
        root["definitions"] = definitions
        return root
    }

    static func definitionName(_ kind: StepKind) -> String {
        "with_" + kind.name.replacingOccurrences(of: "/", with: "_")
    }

    static func stepSchema() -> [String: Any] {
        var step = schema(.object(FormatSpec.step), expression: false, doc: "A step")
        var properties = step["properties"] as? [String: Any] ?? [:]
        properties["uses"] = ["type": "string", "enum": Catalog.names, "description": "The step kind"] as [String: Any]
        properties["with"] = ["type": "object", "description": "The step's inputs; mirror the WeChat request body"] as [String: Any]
        properties["if"] = [
            "type": ["string", "boolean"],
            "description": "A boolean expression; ${{ }} may be omitted",
        ] as [String: Any]
        step["properties"] = properties
        var rules: [[String: Any]] = []
        for kind in Catalog.kinds {
            var then: [String: Any] = ["properties": ["with": ["$ref": "#/definitions/\(definitionName(kind))"]]]
            if kind.with.fields.contains(where: \.required) { then["required"] = ["with"] }
            rules.append([
                "if": ["properties": ["uses": ["const": kind.name]], "required": ["uses"]] as [String: Any],
                "then": then,
            ])
        }
        step["allOf"] = rules
        return step
    }

    static func withExpression(_ s: [String: Any], _ expression: Bool) -> [String: Any] {
        guard expression else { return s }
        var plain = s
        let description = plain.removeValue(forKey: "description")
        var out: [String: Any] = ["anyOf": [plain, ["$ref": "#/definitions/expression"]]]
        if let description { out["description"] = description }
        return out
    }

    static func schema(_ type: FieldType, expression: Bool, doc: String) -> [String: Any] {
        var s: [String: Any] = [:]
        switch type {
        case .string(let rule):
            s["type"] = "string"
            if let rule, rule != .secretReference {
                s["pattern"] = rule.pattern
                // An expression may fill a restricted string; a plain string field takes it as text.
                if expression { s = withExpression(s, true) }
            } else if rule == .secretReference {
                s["pattern"] = rule!.pattern
            }
        case .integer(let lo, let hi):
            s["type"] = "integer"
            if let lo { s["minimum"] = lo }
            if let hi { s["maximum"] = hi }
            s = withExpression(s, expression)
        case .number(let lo):
            s["type"] = "number"
            if let lo { s["minimum"] = lo }
            s = withExpression(s, expression)
        case .boolean:
            s["type"] = "boolean"
            s = withExpression(s, expression)
        case .duration:
            s = ["type": "string", "pattern": durationPattern]
        case .enumeration(let values):
            s = ["type": "string", "enum": values]
        case .list(let item, let lo, let hi):
            s["type"] = "array"
            s["items"] = schema(item, expression: expression, doc: "")
            if let lo { s["minItems"] = lo }
            if let hi { s["maxItems"] = hi }
            s = withExpression(s, expression)
        case .object(let spec):
            s = objectSchema(spec)
            s = withExpression(s, expression)
        case .map(let key, let value):
            s = ["type": "object", "propertyNames": ["pattern": key.pattern],
                 "additionalProperties": schema(value, expression: expression, doc: "")]
        case .either(let types):
            s = ["anyOf": types.map { schema($0, expression: expression, doc: "") }]
        case .any, .deferred:
            s = [:]
        case .constant(let v):
            s = ["const": v]
        }
        if !doc.isEmpty { s["description"] = doc }
        return s
    }

    /// Every pair of distinct keys, in order.
    static func pairs(_ keys: [String]) -> [(String, String)] {
        keys.indices.flatMap { i in keys[(i + 1)...].map { (keys[i], $0) } }
    }

    static func objectSchema(_ spec: ObjectSpec) -> [String: Any] {
        var properties: [String: Any] = [:]
        for f in spec.fields {
            if case .deferred = f.type, f.name == "account" {
                properties[f.name] = schema(FormatSpec.accountField, expression: false, doc: f.doc)
            } else {
                properties[f.name] = schema(f.type, expression: f.allowsExpression, doc: f.doc)
            }
        }
        var s: [String: Any] = ["type": "object", "additionalProperties": false, "properties": properties]
        let required = spec.fields.filter(\.required).map(\.name)
        if !required.isEmpty { s["required"] = required }
        var rules: [[String: Any]] = []
        for c in spec.constraints {
            switch c {
            case .exactlyOne(let keys):
                rules.append(["oneOf": keys.map { ["required": [$0]] }])
            case .atLeastOne(let keys):
                rules.append(["anyOf": keys.map { ["required": [$0]] }])
            case .atMostOne(let keys):
                rules.append(["not": ["anyOf": pairs(keys).map { ["required": [$0.0, $0.1]] }]])
            case .requiredWhen(let field, let value, let req):
                rules.append([
                    "if": ["properties": [field: ["const": value]], "required": [field]] as [String: Any],
                    "then": ["required": [req]],
                ])
            case .payload(let selector, let keys):
                for (selected, key) in keys.sorted(by: { $0.key < $1.key }) {
                    let others = Set(keys.values).subtracting([key]).sorted()
                    rules.append([
                        "if": ["properties": [selector: ["const": selected]], "required": [selector]] as [String: Any],
                        "then": ["required": [key], "not": ["anyOf": others.map { ["required": [$0]] }]] as [String: Any],
                    ])
                }
            case .excludedWhen(let key, let field, let value, _, _, _):
                rules.append([
                    "if": ["properties": [field: ["const": value]], "required": [field]] as [String: Any],
                    "then": ["not": ["required": [key]]],
                ])
            }
        }
        if !rules.isEmpty { s["allOf"] = rules }
        return s
    }
}
