import Foundation
import PipelineCore

/// Why a step's `with` could not be turned into a request; the step fails before any call.
public struct StepInputError: Error, Sendable, CustomStringConvertible {
    /// What is wrong: extensible (new codes are not a breaking change).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notAMapping = "not a mapping"
            case expression = "expression"
            case nullValue = "null value"
            case file = "file"
            case request = "request"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `with` is not a mapping.
        public static var notAMapping: Self { Self(.notAMapping) }
        /// An expression does not parse or cannot be evaluated.
        public static var expression: Self { Self(.expression) }
        /// A field that is exactly one expression resolved to `null`.
        public static var nullValue: Self { Self(.nullValue) }
        /// A file the step reads is missing, unreadable, too large or not UTF-8 text.
        public static var file: Self { Self(.file) }
        /// The values do not make the WeChat request.
        public static var request: Self { Self(.request) }

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The path in `with` (`filter.tag_id`).
    public var path: String
    public var message: String
    public var location: SourceLocation?
    /// The underlying error, if any (an expression's, a decoder's).
    public var cause: (any Error & Sendable)?

    public init(
        _ code: Code, path: String, message: String, location: SourceLocation? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.path = path
        self.message = message
        self.location = location
        self.cause = cause
    }

    public var description: String {
        let at = location.map { " (\($0.file):\($0.line):\($0.column))" } ?? ""
        return path.isEmpty ? message + at : "with.\(path): \(message)\(at)"
    }
}

/// Evaluates a step's `with` into a value, expression by expression.
///
/// A field whose value is exactly one expression and resolves to `null` is an error: a
/// missing audience, message id or media id must never turn into a different call.
public struct WithEvaluator {
    public var context: EvaluationContext

    public init(context: EvaluationContext) { self.context = context }

    public func evaluate(_ node: SourceNode?) throws(StepInputError) -> [String: Value] {
        guard let node else { return [:] }
        guard case .object(let fields) = try value(node, path: "") else {
            throw StepInputError(.notAMapping, path: "", message: "`with` must be a mapping", location: node.location)
        }
        return fields
    }

    func value(_ node: SourceNode, path: String) throws(StepInputError) -> Value {
        switch node.content {
        case .mapping(let entries):
            var out: [String: Value] = [:]
            for e in entries {
                out[e.key] = try value(e.value, path: path.isEmpty ? e.key : path + "." + e.key)
            }
            return .object(out)
        case .sequence(let items):
            var out: [Value] = []
            for (i, item) in items.enumerated() { out.append(try value(item, path: "\(path)[\(i)]")) }
            return .list(out)
        case .scalar(let text, _):
            if node.hasExpression {
                let parsed = Template.parse(text)
                guard let template = parsed.template else {
                    throw StepInputError(.expression, path: path, message: "the expression does not parse", location: node.location)
                }
                let result: Value
                do {
                    result = try template.evaluate(in: context)
                } catch {
                    let at = error.offset.map { node.location(ofTextOffset: $0) } ?? node.location
                    throw StepInputError(.expression, path: path, message: error.message, location: at, cause: error)
                }
                if template.isSingleExpression, result == .null {
                    throw StepInputError(
                        .nullValue, path: path,
                        message: "`\(text)` resolved to null; refusing to call WeChat with a missing value",
                        location: node.location)
                }
                return result
            }
            switch node.typed {
            case nil: return .string(text)
            case .null?: return .null
            case .bool(let b)?: return .bool(b)
            case .integer(let i)?: return .integer(i)
            case .float(let d)?: return .number(d)
            case .string(let s)?: return .string(s)
            }
        }
    }
}

extension Value {
    /// The value as an Int64 message id (an integer, or a string of digits).
    var messageID: Int64? {
        switch self {
        case .integer(let i): return i > 0 ? Int64(i) : nil
        case .string(let s): return Int64(s.trimmingCharacters(in: .whitespaces)).flatMap { $0 > 0 ? $0 : nil }
        case .number(let d) where d == d.rounded() && d > 0: return Int64(d)
        default: return nil
        }
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var intValue: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d) where d == d.rounded(): return Int(d)
        default: return nil
        }
    }
}
