import Foundation
import PipelineCore

/// A bad `--input`, or a required input not given.
public struct InputError: Error, Sendable, CustomStringConvertible {
    /// What is wrong: extensible (new codes are not a breaking change).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case malformed = "malformed"
            case undeclared = "undeclared"
            case invalidValue = "invalid value"
            case missing = "missing"
            case repeated = "repeated"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `--input` without `name=value`.
        public static var malformed: Self { Self(.malformed) }
        /// `--input` names an input the pipeline does not declare.
        public static var undeclared: Self { Self(.undeclared) }
        /// The value is not of the input's declared type.
        public static var invalidValue: Self { Self(.invalidValue) }
        /// A required input without a value or a default.
        public static var missing: Self { Self(.missing) }
        /// `--input` names the same input twice: which value counts would be a guess.
        public static var repeated: Self { Self(.repeated) }

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The text shown for the error.
    public var message: String
    /// The input it concerns (its name), when known.
    public var input: String?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, input: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.input = input
        self.cause = cause
    }

    public var description: String { message }
}

/// Turns `--input name=value` texts into typed values, defaults applied.
public enum Inputs {
    /// Every declared input: the given value (typed by its declaration), else the inputs
    /// file's, else its default,
    /// else `null`; a required input without either, and an undeclared name, are errors.
    /// - Parameter file: values of the pipeline's inputs file (`NAME.inputs.yaml`), already
    ///   typed; a `--input` of the same name wins.
    public static func resolve(
        _ given: [String], file: [String: Value] = [:], pipeline: Pipeline
    ) throws(InputError) -> [String: Value] {
        var values: [String: Value] = file
        let declared = Dictionary(pipeline.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<String> = []
        for item in given {
            guard let eq = item.firstIndex(of: "=") else { throw InputError(.malformed, "--input \(item): expected name=value") }
            let name = String(item[..<eq])
            let text = String(item[item.index(after: eq)...])
            guard seen.insert(name).inserted else {
                throw InputError(
                    .repeated, "--input \(name) is given more than once; give each input once (a list input takes name=a,b,c or a JSON list)",
                    input: name)
            }
            guard let decl = declared[name] else {
                let names = pipeline.inputs.map(\.name).joined(separator: ", ")
                throw InputError(
                    .undeclared, "--input \(name): the pipeline declares no input \(name) (its inputs: \(names.isEmpty ? "none" : names))", input: name)
            }
            switch decl.type {
            case .string:
                values[name] = .string(text)
            case .integer:
                guard let i = Int(text) else { throw InputError(.invalidValue, "--input \(name)=\(text): expected an integer", input: name) }
                values[name] = .integer(i)
            case .boolean:
                guard text == "true" || text == "false" else {
                    throw InputError(.invalidValue, "--input \(name)=\(text): expected true or false", input: name)
                }
                values[name] = .bool(text == "true")
            case .list:
                if text.hasPrefix("["), let v = try? Value.parseJSON(text), case .list = v {
                    values[name] = v
                } else {
                    values[name] = .list(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
                }
            }
        }
        for decl in pipeline.inputs where values[decl.name] == nil {
            if let d = decl.defaultValue {
                values[decl.name] = d
            } else if decl.required {
                throw InputError(
                    .missing, "input \(decl.name) is required: pass --input \(decl.name)=…", input: decl.name)
            } else {
                values[decl.name] = .null
            }
        }
        return values
    }
}
