/// A run-time value of an expression (an input, an output, a literal, a function result) and
/// masscast's one JSON value: its cases are exactly JSON's, so stored inputs and outputs,
/// reports and the sandbox's request bodies use it too.
///
/// - ``jsonText`` is the one canonical writer (clientmsgids and content digests hash it).
/// - ``parseJSON(_:)`` is the exact reader: an integer written without fraction or exponent
///   stays `.integer`, everything else JSON allows is `.number`; errors name a position.
/// - `Codable` conformance lets any `Codable` type hold a value (see ``init(from:)``).
public enum Value: Sendable, Hashable {
    /// No value: a missing input or output, an unset variable, a skipped step's output.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number.
    case integer(Int)
    /// A number with a fraction (always finite when produced by an expression).
    case number(Double)
    /// Text.
    case string(String)
    /// A list of values.
    case list([Value])
    /// A mapping from strings to values.
    case object([String: Value])

    /// The kind of value as a user reads it: `null`, `boolean`, `integer`, `number`,
    /// `string`, `list`, `object`.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .list: "list"
        case .object: "object"
        }
    }

    /// The value's type; a list whose elements share one type is `list(thatType)`,
    /// otherwise `list(.any)`.
    public var type: ExprType { type(depth: 0) }

    private func type(depth: Int) -> ExprType {
        switch self {
        case .null: return .null
        case .bool: return .boolean
        case .integer: return .integer
        case .number: return .number
        case .string: return .string
        case .object: return .object
        case .list(let items):
            guard depth < 32, let first = items.first?.type(depth: depth + 1) else { return .list(.any) }
            for item in items.dropFirst() where item.type(depth: depth + 1) != first {
                return .list(.any)
            }
            return .list(first)
        }
    }

    /// The text of this value when it is joined into a string template (`'n=${{ x }}'`):
    /// `null` is empty, a string is itself, anything else is its JSON (``jsonText``).
    public var templateText: String {
        switch self {
        case .null: ""
        case .string(let s): s
        default: jsonText
        }
    }

    /// Compact JSON for this value, object keys sorted by Unicode scalars.
    /// Non-finite numbers (which no expression produces) are written as `null`.
    public var jsonText: String {
        enum Piece { case value(Value), raw(String) }
        var out = ""
        var stack: [Piece] = [.value(self)]
        while let piece = stack.popLast() {
            switch piece {
            case .raw(let text):
                out += text
            case .value(let value):
                switch value {
                case .null: out += "null"
                case .bool(let b): out += b ? "true" : "false"
                case .integer(let i): out += String(i)
                case .number(let d): out += Value.numberText(d)
                case .string(let s): Value.appendJSONString(s, to: &out)
                case .list(let items):
                    out += "["
                    stack.append(.raw("]"))
                    for (i, item) in items.enumerated().reversed() {
                        stack.append(.value(item))
                        if i > 0 { stack.append(.raw(",")) }
                    }
                case .object(let members):
                    out += "{"
                    stack.append(.raw("}"))
                    let pairs = members.sorted { Value.scalarLess($0.key, $1.key) }
                    for (i, pair) in pairs.enumerated().reversed() {
                        stack.append(.value(pair.value))
                        var key = ""
                        Value.appendJSONString(pair.key, to: &key)
                        stack.append(.raw(key + ":"))
                        if i > 0 { stack.append(.raw(",")) }
                    }
                }
            }
        }
        return out
    }

    static func numberText(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        return d.description
    }

    static func appendJSONString(_ s: String, to out: inout String) {
        JSONText.appendQuoted(s, to: &out)
    }

    /// Orders strings by their Unicode scalars, as expressions compare them.
    static func scalarLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    /// The member `key` of an object; `nil` for a missing key or a value that is not an object.
    public subscript(key: String) -> Value? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// Parses JSON text (RFC 8259; any value at the top level, not only objects).
    /// Numbers without fraction or exponent that fit in `Int` become `.integer`.
    /// Nesting deeper than 64 levels is refused.
    public static func parseJSON(_ text: String) throws(EvaluationError) -> Value {
        var parser = JSONValueParser(text)
        return try parser.parseDocument()
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A list literal.
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    /// An object literal; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, Value)...) {
        var members: [String: Value] = [:]
        for (key, value) in elements { members[key] = value }
        self = .object(members)
    }
}

extension Value: Codable {
    /// Decodes any JSON value: booleans before numbers, integers (that fit `Int`) before
    /// other numbers. A decoder does not say how a number was written, so `1.0` may come back
    /// as `.integer(1)`; read text with ``parseJSON(_:)`` where the difference matters.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let items = try? container.decode([Value].self) {
            self = .list(items)
        } else {
            self = .object(try container.decode([String: Value].self))
        }
    }

    /// Encodes the value as the JSON it holds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .list(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }
}

/// A strict JSON reader producing ``Value``s; errors name a position, never the text.
struct JSONValueParser {
    static let maxDepth = 64
    private let scalars: [Unicode.Scalar]
    private var pos = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    private func fail(_ what: String) -> EvaluationError {
        EvaluationError(.invalidJSON, "fromJSON: the text is not valid JSON (\(what) at character \(pos + 1))")
    }

    private var current: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    private mutating func skipSpace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { pos += 1 }
    }

    mutating func parseDocument() throws(EvaluationError) -> Value {
        skipSpace()
        let value = try parseValue(depth: 0)
        skipSpace()
        guard current == nil else { throw fail("unexpected text after the value") }
        return value
    }

    private mutating func parseValue(depth: Int) throws(EvaluationError) -> Value {
        guard depth < Self.maxDepth else {
            throw EvaluationError(.tooDeep, "fromJSON: the JSON nests deeper than \(Self.maxDepth) levels")
        }
        guard let c = current else { throw fail("unexpected end") }
        switch c {
        case "{":
            pos += 1
            var members: [String: Value] = [:]
            skipSpace()
            if current == "}" { pos += 1; return .object(members) }
            while true {
                skipSpace()
                guard current == "\"" else { throw fail("expected a key") }
                let key = try parseString()
                skipSpace()
                guard current == ":" else { throw fail("expected ':'") }
                pos += 1
                skipSpace()
                members[key] = try parseValue(depth: depth + 1)
                skipSpace()
                if current == "," { pos += 1; continue }
                if current == "}" { pos += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        case "[":
            pos += 1
            var items: [Value] = []
            skipSpace()
            if current == "]" { pos += 1; return .list(items) }
            while true {
                skipSpace()
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                if current == "," { pos += 1; continue }
                if current == "]" { pos += 1; return .list(items) }
                throw fail("expected ',' or ']'")
            }
        case "\"":
            return .string(try parseString())
        case "t": try expectWord("true"); return .bool(true)
        case "f": try expectWord("false"); return .bool(false)
        case "n": try expectWord("null"); return .null
        case "-", "0"..."9":
            return try parseNumber()
        default:
            throw fail("unexpected character")
        }
    }

    private mutating func expectWord(_ word: String) throws(EvaluationError) {
        for expected in word.unicodeScalars {
            guard current == expected else { throw fail("unexpected character") }
            pos += 1
        }
    }

    private mutating func parseString() throws(EvaluationError) -> String {
        pos += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw fail("unterminated string") }
            pos += 1
            switch c {
            case "\"":
                return String(out)
            case "\\":
                guard let e = current else { throw fail("unterminated string") }
                pos += 1
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    let unit = try parseHex4()
                    if (0xD800...0xDBFF).contains(unit) {
                        guard current == "\\", pos + 1 < scalars.count, scalars[pos + 1] == "u" else {
                            throw fail("lone surrogate")
                        }
                        pos += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low),
                            let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        else { throw fail("lone surrogate") }
                        out.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(unit) else { throw fail("lone surrogate") }
                        out.append(scalar)
                    }
                default:
                    throw fail("bad escape")
                }
            default:
                guard c.value >= 0x20 else { throw fail("control character in string") }
                out.append(c)
            }
        }
    }

    private mutating func parseHex4() throws(EvaluationError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current, let digit = Int(String(c), radix: 16) else { throw fail("bad \\u escape") }
            value = value * 16 + UInt32(digit)
            pos += 1
        }
        return value
    }

    private mutating func parseNumber() throws(EvaluationError) -> Value {
        let start = pos
        var isInteger = true
        if current == "-" { pos += 1 }
        guard let first = current, ("0"..."9").contains(first) else { throw fail("bad number") }
        if first == "0" {
            pos += 1
        } else {
            while let c = current, ("0"..."9").contains(c) { pos += 1 }
        }
        if current == "." {
            isInteger = false
            pos += 1
            guard let c = current, ("0"..."9").contains(c) else { throw fail("bad number") }
            while let c = current, ("0"..."9").contains(c) { pos += 1 }
        }
        if current == "e" || current == "E" {
            isInteger = false
            pos += 1
            if current == "+" || current == "-" { pos += 1 }
            guard let c = current, ("0"..."9").contains(c) else { throw fail("bad number") }
            while let c = current, ("0"..."9").contains(c) { pos += 1 }
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: scalars[start..<pos])
        let literal = String(text)
        if isInteger, let i = Int(literal) { return .integer(i) }
        guard let d = Double(literal), d.isFinite else { throw fail("number out of range") }
        return .number(d)
    }
}

/// The one writer of JSON string literals: the canonical JSON of ``Value/jsonText`` (which
/// clientmsgids and content digests hash), the JSON log lines, the sandbox's answers.
public enum JSONText {
    /// Appends `s` as a JSON string literal: quoted, with `"`, backslash and control characters
    /// (below U+0020) escaped; everything else, non-ASCII and U+007F included, kept as it is.
    /// These bytes are part of every clientmsgid: they must not change.
    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `s` as a JSON string literal (see ``appendQuoted(_:to:)``).
    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }
}
