import Foundation
import PipelineCore

/// A bad `--input`, or a required input not given.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Turns `--input name=value` texts into typed values, defaults applied.
public enum Inputs {
    /// Every declared input: the given value (typed by its declaration), else its default,
    /// else `null`; a required input without either, and an undeclared name, are errors.
    public static func resolve(_ given: [String], pipeline: Pipeline) throws(InputError) -> [String: Value] {
        var values: [String: Value] = [:]
        let declared = Dictionary(pipeline.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for item in given {
            guard let eq = item.firstIndex(of: "=") else { throw InputError("--input \(item): expected name=value") }
            let name = String(item[..<eq])
            let text = String(item[item.index(after: eq)...])
            guard let decl = declared[name] else {
                let names = pipeline.inputs.map(\.name).joined(separator: ", ")
                throw InputError(
                    "--input \(name): the pipeline declares no input \(name) (its inputs: \(names.isEmpty ? "none" : names))")
            }
            switch decl.type {
            case .string:
                values[name] = .string(text)
            case .integer:
                guard let i = Int(text) else { throw InputError("--input \(name)=\(text): expected an integer") }
                values[name] = .integer(i)
            case .boolean:
                guard text == "true" || text == "false" else {
                    throw InputError("--input \(name)=\(text): expected true or false")
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
                throw InputError("input \(decl.name) is required: pass --input \(decl.name)=…")
            } else {
                values[decl.name] = .null
            }
        }
        return values
    }
}
