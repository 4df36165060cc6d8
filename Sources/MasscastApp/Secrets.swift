import Foundation
import PipelineCore

/// The values of `${{ secrets.NAME }}`: `MASSCAST_SECRET_NAME` from the environment, then
/// (winning over it) the dotenv file given with `--secrets`.
///
/// `description` names the secrets, never their values.
public struct Secrets: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secrets by name.
    public var values: [String: String]

    /// Secrets with these values.
    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// The secrets of `environment` (`MASSCAST_SECRET_*`) and of the dotenv `file`, if any.
    public static func load(file: String?, environment: AppEnvironment) throws(SetupError) -> Secrets {
        var values: [String: String] = [:]
        for (k, v) in environment.variables where k.hasPrefix("MASSCAST_SECRET_") {
            values[String(k.dropFirst("MASSCAST_SECRET_".count))] = v
        }
        guard let file else { return Secrets(values) }
        guard let text = try? String(contentsOfFile: environment.absolute(file), encoding: .utf8) else {
            throw SetupError(.secrets, "cannot read the secrets file \(file)")
        }
        values.merge(try Dotenv.parse(text, file: file)) { _, new in new }
        return Secrets(values)
    }

    /// Every value, for a log scrubber.
    public var scrubbed: [String] { Array(values.values) }

    /// Evaluates a secret's expression (`${{ env.X }}` / `${{ secrets.X }}`); an unset or empty
    /// value is an error that says which variable is missing and where it can be set.
    /// - Parameter what: what the secret is for, in the message (`account brand-main app_secret`).
    public func resolve(_ expressionText: String, what: String, environment: AppEnvironment) throws(SetupError)
        -> String
    {
        let parsed = Template.parse(expressionText)
        guard let template = parsed.template else {
            throw SetupError(.secrets, "\(what): cannot parse \(expressionText)")
        }
        let value = try? template.evaluate(in: EvaluationContext(env: environment.variables, secrets: values))
        guard case .string(let s)? = value, !s.isEmpty else {
            var source = expressionText
            if let r = expressionText.range(of: "env.") {
                source = "the environment variable \(Self.name(after: r, in: expressionText))"
            } else if let r = expressionText.range(of: "secrets.") {
                let name = Self.name(after: r, in: expressionText)
                source = "the secret \(name) (environment variable MASSCAST_SECRET_\(name) or --secrets FILE)"
            }
            throw SetupError(.secrets, "\(what): \(source) is not set")
        }
        return s
    }

    /// An inline account's `app_id`: a literal, or an expression over `env.`, `secrets.` and
    /// `inputs.` evaluated as `app_secret` is; a variable that is not set is an error naming it.
    public func resolveAppID(_ text: String, inputs: [String: Value], environment: AppEnvironment) throws(SetupError)
        -> String
    {
        guard text.contains("${{") else { return text }
        let env = environment.variables
        let parsed = Template.parse(text)
        guard let template = parsed.template else {
            throw SetupError(.secrets, "account app_id: cannot parse \(text)")
        }
        // Every variable it names must be set: a missing one would otherwise evaluate to null
        // or an empty string, and WeChat would answer 40013 for an AppID that is not one.
        let checks: [(String, (String) -> Bool)] = [
            ("env.", { env[$0] != nil }), ("secrets.", { values[$0] != nil }), ("inputs.", { inputs[$0] != nil }),
        ]
        for (prefix, isSet) in checks {
            var rest = text[...]
            while let r = rest.range(of: prefix) {
                let before = rest[..<r.lowerBound].last
                let name = String(rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                rest = rest[r.upperBound...]
                guard before.map({ !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }) ?? true, !name.isEmpty,
                    !isSet(name)
                else { continue }
                switch prefix {
                case "env.": throw SetupError(.secrets, "account app_id: the environment variable \(name) is not set")
                case "secrets.":
                    throw SetupError(
                        .secrets,
                        "account app_id: the secret \(name) (environment variable MASSCAST_SECRET_\(name) or --secrets FILE) is not set"
                    )
                default: throw SetupError(.secrets, "account app_id: the input \(name) has no value")
                }
            }
        }
        let value = try? template.evaluate(in: EvaluationContext(inputs: inputs, env: env, secrets: values))
        guard case .string(let s)? = value, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SetupError(.secrets, "account app_id: \(text) does not give an AppID (a non-empty string)")
        }
        return s
    }

    private static func name(after range: Range<String.Index>, in text: String) -> Substring {
        text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// The names of the secrets, without their values.
    public var description: String { "Secrets(\(values.keys.sorted().joined(separator: ", ")))" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror with the names only, so `dump` shows no value.
    public var customMirror: Mirror { Mirror(self, children: ["names": values.keys.sorted()], displayStyle: .struct) }
}
