/// A YAML document as a tree whose every key and value keeps its source position.
///
/// `PipelineYAML` builds it from text; everything after that (the pipeline decoder, the
/// step catalog, fixtures and `masscast.yaml`) reads this tree, never YAML itself.
public final class SourceNode: Sendable {
    /// How a scalar was written; decides how it is typed (a quoted `"true"` is a string).
    public enum ScalarStyle: String, Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded

        /// Quoted and block scalars are always strings.
        public var isPlain: Bool { self == .plain }
    }

    /// One `key: value` of a mapping; keys are strings (others are refused while reading).
    public struct Entry: Sendable {
        public let key: String
        public let keyLocation: SourceLocation
        public let value: SourceNode

        public init(key: String, keyLocation: SourceLocation, value: SourceNode) {
            self.key = key
            self.keyLocation = keyLocation
            self.value = value
        }
    }

    public enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([SourceNode])
        case mapping([Entry])
    }

    public let content: Content
    /// Where the node starts.
    public let location: SourceLocation
    /// `true` when a flow collection (`{…}`, `[…]`) or a scalar was written on one line.
    public let isSingleLine: Bool
    /// For a plain single-line scalar: ` #` follows it on its line, so YAML cut the text there.
    public let followedByComment: Bool
    /// The column where the scalar's text starts when each character of the text is one
    /// column of the source (plain or quoted single-line scalars without escapes); positions
    /// inside an expression are exact then. `nil` otherwise (errors point at the scalar's start).
    public let textStartColumn: Int?
    /// Stands for an alias (`*a`), which was refused; later checks skip it, so that the one
    /// error is not followed by noise about its (empty) value.
    public let isAlias: Bool
    /// The scalar as YAML 1.2's core schema types it (plain scalars only; quoted and block
    /// scalars are strings); `nil` for collections.
    public let typed: TypedScalar?

    public init(
        _ content: Content, at location: SourceLocation, isSingleLine: Bool = true,
        followedByComment: Bool = false, textStartColumn: Int? = nil, isAlias: Bool = false
    ) {
        self.content = content
        self.location = location
        self.isSingleLine = isSingleLine
        self.followedByComment = followedByComment
        self.textStartColumn = textStartColumn
        self.isAlias = isAlias
        if case .scalar(let text, let style) = content {
            typed = style.isPlain ? TypedScalar.resolve(plain: text) : .string(text)
        } else {
            typed = nil
        }
    }

    /// Where the scalar's text starts, when exact (see `textStartColumn`).
    public var textStart: SourceLocation? {
        textStartColumn.map { SourceLocation(file: location.source, line: location.line, column: $0) }
    }

    /// The mapping's entries, or `nil` when the node is not a mapping.
    public var entries: [Entry]? {
        if case .mapping(let e) = content { return e }
        return nil
    }

    /// The sequence's items, or `nil`.
    public var items: [SourceNode]? {
        if case .sequence(let i) = content { return i }
        return nil
    }

    /// The first entry with `key`.
    public func entry(_ key: String) -> Entry? {
        guard case .mapping(let entries) = content else { return nil }
        let wanted = KeyMatcher(key)
        for e in entries where wanted.matches(e.key) { return e }
        return nil
    }

    /// The value under `key`.
    public subscript(key: String) -> SourceNode? { entry(key)?.value }

    /// The scalar's text and style, or `nil`.
    public var scalar: (text: String, style: ScalarStyle)? {
        if case .scalar(let t, let s) = content { return (t, s) }
        return nil
    }

    /// The scalar as YAML 1.2's core schema types it (plain scalars only; quoted and block
    /// scalars are strings).
    /// The location of the character at `offset` (Unicode scalars) in the scalar's text:
    /// exact when the text maps onto columns, else the scalar's start.
    public func location(ofTextOffset offset: Int) -> SourceLocation {
        textStart.map { $0.advanced(by: offset) } ?? location
    }

    /// Whether the scalar contains `${{` (a byte scan; no string search).
    public var hasExpression: Bool {
        guard case .scalar(let text, _) = content else { return false }
        return text.utf8.withContiguousStorageIfAvailable(Self.containsMarker) ?? Self.containsMarker(Array(text.utf8))
    }

    static func containsMarker<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8, C.Index == Int {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i + 2 < end {
            if bytes[i] == 0x24, bytes[i + 1] == 0x7B, bytes[i + 2] == 0x7B { return true }
            i += 1
        }
        return false
    }

    /// A word for error messages: "a mapping", "a list", "the integer 3", "the string 'x'".
    public var kindDescription: String {
        switch content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar:
            return typed?.kindDescription ?? "a scalar"
        }
    }
}

/// A scalar typed by YAML 1.2's core schema: only `true`/`false` are booleans, `yes`/`on`
/// are strings, `010` is the integer 10 (no octal), `1:30` is a string.
public enum TypedScalar: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int)
    case float(Double)
    case string(String)

    /// Resolution of a plain scalar per the YAML 1.2 core schema.
    public static func resolve(plain text: String) -> TypedScalar {
        if text.utf8.count > 6 || !Self.mayBeKeyword(text.utf8.first) {
            // Too long for a keyword (null, true, false, .inf…), or starts with a byte no
            // keyword starts with (most keys and values: no string comparisons then);
            // numbers are checked below.
        } else {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
        case ".nan", ".NaN", ".NAN": return .float(.nan)
        default: break
        }
        }
        guard let first = text.utf8.first else { return .string(text) }
        // Fast exit: core-schema numbers start with a sign, a digit or a dot.
        guard first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
            || (first >= 48 && first <= 57)
        else { return .string(text) }
        return text.utf8.withContiguousStorageIfAvailable { resolveNumber(text, $0) }
            ?? Array(text.utf8).withUnsafeBufferPointer { resolveNumber(text, $0) }
    }

    /// Whether a keyword of the core schema (`~`, `null`, `true`, `false`, `.inf`, `.nan`
    /// and their spellings) can start with `byte` (`nil`: the empty scalar, which is null).
    private static func mayBeKeyword(_ byte: UInt8?) -> Bool {
        guard let byte else { return true }
        switch byte {
        case UInt8(ascii: "~"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"), UInt8(ascii: "T"),
            UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The number cases of `resolve(plain:)`, over the text's bytes (no copy into an array).
    private static func resolveNumber(_ text: String, _ u: UnsafeBufferPointer<UInt8>) -> TypedScalar {
        if u.count > 2, u[0] == UInt8(ascii: "0"), u[1] == UInt8(ascii: "o") {
            let digits = text.dropFirst(2)
            if digits.allSatisfy({ ("0"..."7").contains($0) }), let v = Int(digits, radix: 8) { return .integer(v) }
            return .string(text)
        }
        if u.count > 2, u[0] == UInt8(ascii: "0"), u[1] == UInt8(ascii: "x") {
            let digits = text.dropFirst(2)
            if digits.allSatisfy(\.isHexDigit), let v = Int(digits, radix: 16) { return .integer(v) }
            return .string(text)
        }
        if isDecimalInteger(u) {
            if let v = Int(text) { return .integer(v) }
            // Too large for Int: keep as a float, as YAML 1.2 tools do with big numbers.
            return Double(text).map(TypedScalar.float) ?? .string(text)
        }
        if isCoreFloat(u), let d = Double(text) { return .float(d) }
        return .string(text)
    }

    private static func isDecimalInteger(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        if u[0] == UInt8(ascii: "-") || u[0] == UInt8(ascii: "+") { i = 1 }
        guard i < u.count else { return false }
        while i < u.count {
            guard u[i] >= 48 && u[i] <= 57 else { return false }
            i += 1
        }
        return true
    }

    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    private static func isCoreFloat(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        func digits() -> Int {
            let s = i
            while i < u.count, u[i] >= 48, u[i] <= 57 { i += 1 }
            return i - s
        }
        if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        } else {
            guard digits() > 0 else { return false }
            if i < u.count, u[i] == UInt8(ascii: ".") {
                i += 1
                _ = digits()
            }
        }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1
            if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == u.count
    }

    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): "the boolean \(b)"
        case .integer(let i): "the integer \(i)"
        case .float(let d): "the number \(d)"
        case .string(let s): "the string '\(s.count > 40 ? String(s.prefix(40)) + "…" : s)'"
        }
    }
}

/// Compares keys as `==` does, without a string comparison for a key of another length
/// when the wanted key is a plain name (ASCII lowercase letters, digits, `_`, `-`): no other
/// string is canonically equivalent to such a name, so a different length means different.
/// (The spec's and catalog's keys are such names; a lookup is a byte-length check for most
/// entries.)
struct KeyMatcher {
    let key: String
    let count: Int
    let isPlainName: Bool

    init(_ key: String) {
        self.key = key
        count = key.utf8.count
        isPlainName = key.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    @inline(__always)
    func matches(_ other: String) -> Bool {
        if isPlainName, other.utf8.count != count { return false }
        return other == key
    }
}
