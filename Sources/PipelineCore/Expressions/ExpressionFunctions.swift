/// The built-in functions: names, arities, and the format-string reader shared by the
/// checker and the evaluator.
enum ExprFunction: String, Sendable, CaseIterable {
    case contains, startsWith, endsWith, format, join, length, toJSON, fromJSON
    case success, failure, always

    /// Allowed argument counts.
    var arity: ClosedRange<Int> {
        switch self {
        case .contains, .startsWith, .endsWith: 2...2
        case .format: 1...Int.max
        case .join: 1...2
        case .length, .toJSON, .fromJSON: 1...1
        case .success, .failure, .always: 0...0
        }
    }

    var isStatus: Bool { self == .success || self == .failure || self == .always }

    /// `contains(haystack, needle)`, as shown in messages.
    var signature: String {
        switch self {
        case .contains: "contains(haystack, needle)"
        case .startsWith: "startsWith(string, prefix)"
        case .endsWith: "endsWith(string, suffix)"
        case .format: "format(template, arguments…)"
        case .join: "join(list, separator?)"
        case .length: "length(value)"
        case .toJSON: "toJSON(value)"
        case .fromJSON: "fromJSON(text)"
        case .success: "success()"
        case .failure: "failure()"
        case .always: "always()"
        }
    }

    var arityText: String {
        switch self {
        case .format: "at least 1 argument"
        case .join: "1 or 2 arguments"
        case .success, .failure, .always: "no arguments"
        case .length, .toJSON, .fromJSON: "1 argument"
        default: "\(arity.lowerBound) arguments"
        }
    }

    static var allNames: [String] { allCases.map(\.rawValue) }
}

/// A parsed `format` template: literal text and `{n}` placeholders.
enum ExprFormat {
    enum Piece: Equatable {
        case text(String)
        case argument(Int)
    }

    /// Splits a format string; `{{` and `}}` are literal braces. The error is a
    /// message that quotes no part of the string (it may be a secret at run time).
    static func parse(_ template: String) -> Result<[Piece], EvaluationError> {
        let s = Array(template.unicodeScalars)
        var pieces: [Piece] = []
        var text = String.UnicodeScalarView()
        var i = 0
        func flush() {
            if !text.isEmpty {
                pieces.append(.text(String(text)))
                text = String.UnicodeScalarView()
            }
        }
        while i < s.count {
            let c = s[i]
            if c == "{" {
                if i + 1 < s.count, s[i + 1] == "{" {
                    text.append("{")
                    i += 2
                    continue
                }
                var j = i + 1
                var index = 0
                while j < s.count, ExprLexer.isDigit(s[j]), j - i <= 6 {
                    index = index * 10 + Int(s[j].value - 48)
                    j += 1
                }
                guard j > i + 1, j < s.count, s[j] == "}" else {
                    return .failure(EvaluationError(
                        .formatString,
                        "the format string has a '{' at character \(i + 1) that does not start a placeholder like {0}; write {{ for a literal brace"))
                }
                flush()
                pieces.append(.argument(index))
                i = j + 1
            } else if c == "}" {
                guard i + 1 < s.count, s[i + 1] == "}" else {
                    return .failure(EvaluationError(
                        .formatString,
                        "the format string has an unmatched '}' at character \(i + 1); write }} for a literal brace"))
                }
                text.append("}")
                i += 2
            } else {
                text.append(c)
                i += 1
            }
        }
        flush()
        return .success(pieces)
    }
}
