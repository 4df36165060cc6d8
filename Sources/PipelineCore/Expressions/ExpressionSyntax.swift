/// A binary operator of the expression language, lowest precedence first in `Level`.
enum ExprBinaryOperator: String, Sendable, Hashable {
    case or = "||"
    case and = "&&"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessEqual = "<="
    case greater = ">"
    case greaterEqual = ">="

    var isOrdering: Bool {
        switch self {
        case .less, .lessEqual, .greater, .greaterEqual: true
        default: false
        }
    }
}

/// A node of a parsed expression.
struct ExprNode: Sendable, Hashable {
    indirect enum Kind: Sendable, Hashable {
        /// A scalar literal: string, integer, number, boolean or null.
        case literal(Value)
        /// A bare name: the root of a context (`inputs`, `steps`…).
        case identifier(String)
        /// `base.name`; the node's offset is the name's.
        case member(ExprNode, String)
        /// `base[index]`; the node's offset is the `[`.
        case index(ExprNode, ExprNode)
        /// `name(arguments)`; the node's offset is the name's.
        case call(String, [ExprNode])
        /// `!operand`; the node's offset is the `!`.
        case not(ExprNode)
        /// `left op right`; the node's offset is the operator's.
        case binary(ExprBinaryOperator, ExprNode, ExprNode)
    }

    var kind: Kind
    /// Where errors about this node point (see `Kind`).
    var offset: Int
    /// The offset of the node's first scalar.
    var start: Int
    /// 1 for a leaf, else 1 + the tallest child; bounds every recursion over the tree.
    var height: Int
}

/// A token of the expression language.
struct ExprToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case identifier(String)
        case integer(Int)
        case number(Double)
        case string(String)
        case leftParen, rightParen, leftBracket, rightBracket, dot, comma, bang
        case binary(ExprBinaryOperator)
        case end
    }

    var kind: Kind
    var offset: Int
    var length: Int
}

/// Splits expression source into tokens; offsets count Unicode scalars.
struct ExprLexer {
    private let scalars: [Unicode.Scalar]
    private var pos = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
    }

    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || isDigit(c) || c == "-"
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r"
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        pos + ahead < scalars.count ? scalars[pos + ahead] : nil
    }

    private func text(_ range: Range<Int>) -> String {
        String(scalars: scalars[range])
    }

    private func syntax(_ message: String, at offset: Int, hint: String? = nil) -> ExpressionIssue {
        ExpressionIssue(code: .expressionSyntax, message: message, offset: offset, hint: hint)
    }

    mutating func tokenize() throws(ExpressionIssue) -> [ExprToken] {
        var tokens: [ExprToken] = []
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next() throws(ExpressionIssue) -> ExprToken {
        while let c = peek(), Self.isSpace(c) { pos += 1 }
        let start = pos
        guard let c = peek() else { return ExprToken(kind: .end, offset: pos, length: 0) }
        func token(_ kind: ExprToken.Kind, _ length: Int) -> ExprToken {
            pos = start + length
            return ExprToken(kind: kind, offset: start, length: length)
        }
        switch c {
        case "(": return token(.leftParen, 1)
        case ")": return token(.rightParen, 1)
        case "[": return token(.leftBracket, 1)
        case "]": return token(.rightBracket, 1)
        case ".": return token(.dot, 1)
        case ",": return token(.comma, 1)
        case "!": return peek(1) == "=" ? token(.binary(.notEqual), 2) : token(.bang, 1)
        case "=":
            guard peek(1) == "=" else {
                throw syntax("'=' is not an operator", at: start, hint: "compare with '=='")
            }
            return token(.binary(.equal), 2)
        case "<": return peek(1) == "=" ? token(.binary(.lessEqual), 2) : token(.binary(.less), 1)
        case ">": return peek(1) == "=" ? token(.binary(.greaterEqual), 2) : token(.binary(.greater), 1)
        case "&":
            guard peek(1) == "&" else { throw syntax("'&' is not an operator", at: start, hint: "use '&&'") }
            return token(.binary(.and), 2)
        case "|":
            guard peek(1) == "|" else { throw syntax("'|' is not an operator", at: start, hint: "use '||'") }
            return token(.binary(.or), 2)
        case "'":
            return try lexString()
        case "\"":
            throw syntax(
                "strings are written in single quotes", at: start,
                hint: "write 'text' instead of \"text\"; a quote inside is doubled: 'it''s'")
        case "-":
            guard let d = peek(1), Self.isDigit(d) else {
                throw syntax(
                    "'-' must start a negative number", at: start,
                    hint: "expressions have no arithmetic")
            }
            return try lexNumber()
        case "+", "*", "/", "%":
            throw syntax("'\(c)' is not an operator", at: start, hint: "expressions have no arithmetic")
        default:
            if Self.isDigit(c) { return try lexNumber() }
            if Self.isIdentifierStart(c) {
                pos += 1
                while let p = peek(), Self.isIdentifierPart(p) { pos += 1 }
                return ExprToken(kind: .identifier(text(start..<pos)), offset: start, length: pos - start)
            }
            throw syntax("unexpected character '\(c.escaped(asASCII: false))'", at: start)
        }
    }

    private mutating func lexString() throws(ExpressionIssue) -> ExprToken {
        let start = pos
        pos += 1
        var value = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                throw syntax(
                    "string literal is not closed", at: start,
                    hint: "end it with ' (a quote inside a string is doubled: 'it''s')")
            }
            pos += 1
            if c == "'" {
                if peek() == "'" {
                    value.append("'")
                    pos += 1
                } else {
                    return ExprToken(kind: .string(String(value)), offset: start, length: pos - start)
                }
            } else {
                value.append(c)
            }
        }
    }

    private mutating func lexNumber() throws(ExpressionIssue) -> ExprToken {
        let start = pos
        var isInteger = true
        if peek() == "-" { pos += 1 }
        while let c = peek(), Self.isDigit(c) { pos += 1 }
        if peek() == "." {
            guard let d = peek(1), Self.isDigit(d) else {
                throw syntax("expected digits after the decimal point", at: pos + 1)
            }
            isInteger = false
            pos += 1
            while let c = peek(), Self.isDigit(c) { pos += 1 }
        }
        if let e = peek(), e == "e" || e == "E" {
            var p = 1
            if let sign = peek(1), sign == "+" || sign == "-" { p = 2 }
            if let d = peek(p), Self.isDigit(d) {
                isInteger = false
                pos += p
                while let c = peek(), Self.isDigit(c) { pos += 1 }
            }
        }
        if let c = peek(), Self.isIdentifierPart(c) || c == "." {
            while let c = peek(), Self.isIdentifierPart(c) || c == "." { pos += 1 }
            throw syntax("'\(text(start..<pos))' is not a valid number", at: start)
        }
        let literal = text(start..<pos)
        if isInteger {
            guard let value = Int(literal) else {
                throw syntax("integer \(literal) is too large", at: start)
            }
            return ExprToken(kind: .integer(value), offset: start, length: pos - start)
        }
        guard let value = Double(literal), value.isFinite else {
            throw syntax("number \(literal) is too large", at: start)
        }
        return ExprToken(kind: .number(value), offset: start, length: pos - start)
    }
}

/// Recursive-descent parser; nesting and tree height are bounded so that nothing that
/// walks the tree can exhaust the stack.
struct ExprParser {
    /// How deep parentheses, brackets, calls and `!` may nest.
    static let maxNesting = 64
    /// How tall the tree may grow (long chains of `&&`, `==`, `.name`).
    static let maxHeight = 256

    private let scalars: [Unicode.Scalar]
    private let tokens: [ExprToken]
    private var index = 0
    private var nesting = 0

    init(scalars: [Unicode.Scalar], tokens: [ExprToken]) {
        self.scalars = scalars
        self.tokens = tokens
    }

    static func parse(_ source: String) throws(ExpressionIssue) -> ExprNode {
        let scalars = Array(source.unicodeScalars)
        var lexer = ExprLexer(scalars)
        let tokens = try lexer.tokenize()
        var parser = ExprParser(scalars: scalars, tokens: tokens)
        if parser.current.kind == .end {
            throw ExpressionIssue(
                code: .expressionSyntax, message: "the expression is empty", offset: parser.current.offset)
        }
        let root = try parser.parseOr()
        guard parser.current.kind == .end else {
            throw parser.unexpected("an operator or the end of the expression")
        }
        return root
    }

    private var current: ExprToken { tokens[min(index, tokens.count - 1)] }

    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func describe(_ token: ExprToken) -> String {
        if token.kind == .end { return "the end of the expression" }
        let end = min(token.offset + token.length, scalars.count)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[token.offset..<end].prefix(24))
        return "'\(String(view))\(token.length > 24 ? "…" : "")'"
    }

    private func unexpected(_ expected: String) -> ExpressionIssue {
        ExpressionIssue(
            code: .expressionSyntax, message: "expected \(expected), found \(describe(current))",
            offset: current.offset)
    }

    private func node(_ kind: ExprNode.Kind, offset: Int, start: Int, children: [ExprNode])
        throws(ExpressionIssue) -> ExprNode
    {
        let height = 1 + (children.map(\.height).max() ?? 0)
        guard height <= Self.maxHeight else {
            throw ExpressionIssue(
                code: .expressionSyntax,
                message: "the expression is too long: it nests more than \(Self.maxHeight) operations",
                offset: offset, hint: "split it over several steps or simplify it")
        }
        return ExprNode(kind: kind, offset: offset, start: start, height: height)
    }

    private mutating func enter(at offset: Int) throws(ExpressionIssue) {
        nesting += 1
        guard nesting <= Self.maxNesting else {
            throw ExpressionIssue(
                code: .expressionSyntax,
                message: "the expression nests deeper than \(Self.maxNesting) levels", offset: offset)
        }
    }

    private mutating func leave() { nesting -= 1 }

    private static let orOperators: Set<ExprBinaryOperator> = [.or]
    private static let andOperators: Set<ExprBinaryOperator> = [.and]
    private static let equalityOperators: Set<ExprBinaryOperator> = [.equal, .notEqual]
    private static let comparisonOperators: Set<ExprBinaryOperator> = [.less, .lessEqual, .greater, .greaterEqual]

    private mutating func parseBinary(
        _ operators: Set<ExprBinaryOperator>,
        operand: (inout ExprParser) throws(ExpressionIssue) -> ExprNode
    ) throws(ExpressionIssue) -> ExprNode {
        var left = try operand(&self)
        while case .binary(let op) = current.kind, operators.contains(op) {
            let offset = current.offset
            advance()
            let right = try operand(&self)
            left = try node(.binary(op, left, right), offset: offset, start: left.start, children: [left, right])
        }
        return left
    }

    mutating func parseOr() throws(ExpressionIssue) -> ExprNode {
        try parseBinary(Self.orOperators) { (p: inout ExprParser) throws(ExpressionIssue) in try p.parseAnd() }
    }

    private mutating func parseAnd() throws(ExpressionIssue) -> ExprNode {
        try parseBinary(Self.andOperators) { (p: inout ExprParser) throws(ExpressionIssue) in try p.parseEquality() }
    }

    private mutating func parseEquality() throws(ExpressionIssue) -> ExprNode {
        try parseBinary(Self.equalityOperators) { (p: inout ExprParser) throws(ExpressionIssue) in
            try p.parseComparison()
        }
    }

    private mutating func parseComparison() throws(ExpressionIssue) -> ExprNode {
        try parseBinary(Self.comparisonOperators) {
            (p: inout ExprParser) throws(ExpressionIssue) in try p.parseUnary()
        }
    }

    private mutating func parseUnary() throws(ExpressionIssue) -> ExprNode {
        guard current.kind == .bang else { return try parsePostfix() }
        let offset = current.offset
        advance()
        try enter(at: offset)
        let operand = try parseUnary()
        leave()
        return try node(.not(operand), offset: offset, start: offset, children: [operand])
    }

    private mutating func parsePostfix() throws(ExpressionIssue) -> ExprNode {
        var base = try parsePrimary()
        while true {
            switch current.kind {
            case .dot:
                advance()
                guard case .identifier(let name) = current.kind else {
                    throw unexpected("a name after '.'")
                }
                let offset = current.offset
                advance()
                base = try node(.member(base, name), offset: offset, start: base.start, children: [base])
            case .leftBracket:
                let offset = current.offset
                advance()
                try enter(at: offset)
                let index = try parseOr()
                leave()
                guard current.kind == .rightBracket else { throw unexpected("']'") }
                advance()
                base = try node(.index(base, index), offset: offset, start: base.start, children: [base, index])
            case .leftParen:
                throw ExpressionIssue(
                    code: .expressionSyntax, message: "only a function name can be called",
                    offset: current.offset, hint: "functions are contains, startsWith, endsWith, format, join, length, toJSON, fromJSON, success, failure, always")
            default:
                return base
            }
        }
    }

    private mutating func parsePrimary() throws(ExpressionIssue) -> ExprNode {
        let token = current
        switch token.kind {
        case .string(let s):
            advance()
            return try node(.literal(.string(s)), offset: token.offset, start: token.offset, children: [])
        case .integer(let i):
            advance()
            return try node(.literal(.integer(i)), offset: token.offset, start: token.offset, children: [])
        case .number(let d):
            advance()
            return try node(.literal(.number(d)), offset: token.offset, start: token.offset, children: [])
        case .identifier(let name):
            advance()
            switch name {
            case "true": return try node(.literal(.bool(true)), offset: token.offset, start: token.offset, children: [])
            case "false": return try node(.literal(.bool(false)), offset: token.offset, start: token.offset, children: [])
            case "null": return try node(.literal(.null), offset: token.offset, start: token.offset, children: [])
            default: break
            }
            guard current.kind == .leftParen else {
                return try node(.identifier(name), offset: token.offset, start: token.offset, children: [])
            }
            let open = current.offset
            advance()
            try enter(at: open)
            var arguments: [ExprNode] = []
            if current.kind != .rightParen {
                while true {
                    arguments.append(try parseOr())
                    if current.kind == .comma {
                        advance()
                        continue
                    }
                    guard current.kind == .rightParen else { throw unexpected("',' or ')'") }
                    break
                }
            }
            advance()
            leave()
            return try node(.call(name, arguments), offset: token.offset, start: token.offset, children: arguments)
        case .leftParen:
            advance()
            try enter(at: token.offset)
            let inner = try parseOr()
            leave()
            guard current.kind == .rightParen else { throw unexpected("')'") }
            advance()
            return inner
        default:
            throw unexpected("a value")
        }
    }
}

extension String {
    /// A string from Unicode scalars, encoded straight into the string's storage (no
    /// intermediate view that grows scalar by scalar).
    init<C: Collection>(scalars: C) where C.Element == Unicode.Scalar {
        let capacity = scalars.count * 4
        guard capacity > 0 else {
            self = ""
            return
        }
        self.init(unsafeUninitializedCapacity: capacity) { buffer in
            var n = 0
            for scalar in scalars {
                if scalar.value < 0x80 {
                    buffer[n] = UInt8(truncatingIfNeeded: scalar.value)
                    n += 1
                } else {
                    UTF8.encode(scalar) { byte in
                        buffer[n] = byte
                        n += 1
                    }
                }
            }
            return n
        }
    }
}
