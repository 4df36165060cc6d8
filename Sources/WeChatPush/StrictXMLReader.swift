/// A small, strict XML reader for the messages WeChat pushes.
///
/// It reads the subset WeChat uses: elements, character data, CDATA sections, the five
/// predefined entities (`&lt;` `&gt;` `&amp;` `&apos;` `&quot;`), numeric character
/// references, comments, and one optional `<?xml …?>` declaration at the very start.
/// Attributes are checked for syntax and then ignored.
///
/// It refuses, with an ``XMLError`` carrying a line and column: `<!DOCTYPE`, `<!ENTITY`
/// and any other `<!` declaration (so no DTD is ever read and no entity is ever expanded),
/// any other entity reference, any other processing instruction, mismatched tags,
/// truncated input, invalid UTF-8, characters XML 1.0 forbids, an input larger than
/// ``Limits/maxBytes`` and nesting deeper than ``Limits/maxDepth`` (never more than
/// ``Limits/depthCeiling``). The reader is iterative and the depth is bounded, so no input
/// can exhaust the stack.
public struct StrictXMLReader: Sendable {
    /// Bounds on what the reader accepts.
    public struct Limits: Sendable, Hashable {
        /// The largest input accepted, in bytes of UTF-8. Default 64 KiB.
        public var maxBytes: Int
        /// The deepest nesting accepted; the root element is depth 1. Default 16.
        ///
        /// Values above ``depthCeiling`` act as ``depthCeiling``: the tree that is returned is
        /// released recursively, so its depth must stay bounded whatever is configured.
        public var maxDepth: Int

        /// The largest effective ``maxDepth``: 256.
        public static let depthCeiling = 256

        /// ``maxDepth`` bounded by ``depthCeiling``.
        public var effectiveMaxDepth: Int { min(maxDepth, Self.depthCeiling) }

        /// Creates limits.
        /// - Parameters:
        ///   - maxBytes: the largest input accepted, in bytes (default 65,536).
        ///   - maxDepth: the deepest nesting accepted, the root being 1 (default 16).
        public init(maxBytes: Int = 64 * 1024, maxDepth: Int = 16) {
            self.maxBytes = maxBytes
            self.maxDepth = maxDepth
        }
    }

    /// The limits this reader applies.
    public var limits: Limits

    /// Creates a reader.
    /// - Parameter limits: the size and depth limits (64 KiB and 16 by default).
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Reads a document and returns its root element.
    /// - Parameter text: the whole document.
    /// - Throws: ``XMLError`` when the text is malformed or breaks a limit.
    public func parse(_ text: String) throws(XMLError) -> StrictXMLElement {
        let size = text.utf8.count
        try checkSize(size)
        if let root = text.utf8.withContiguousStorageIfAvailable({ PushShapeReader.read($0, limits: limits) }) ?? nil {
            return root
        }
        return try parseGeneral(text)
    }

    /// ``parse(_:)`` without the reader for the shape of WeChat's pushes (``PushShapeReader``):
    /// the general parser alone, which decides every input that reader does not take.
    func parseGeneral(_ text: String) throws(XMLError) -> StrictXMLElement {
        try checkSize(text.utf8.count)
        var parser = StrictXMLParser(input: Array(text.utf8), limits: limits)
        return try parser.parseDocument()
    }

    /// Reads a document given as UTF-8 bytes and returns its root element.
    /// - Parameter bytes: the whole document, UTF-8 encoded (a leading BOM is allowed).
    /// - Throws: ``XMLError`` when the bytes are not UTF-8, are malformed or break a limit.
    public func parse<Bytes: Collection>(bytes: Bytes) throws(XMLError) -> StrictXMLElement
    where Bytes.Element == UInt8 {
        try checkSize(bytes.count)
        if let root = bytes.withContiguousStorageIfAvailable({ PushShapeReader.read($0, limits: limits) }) ?? nil {
            return root
        }
        return try parseGeneral(bytes: bytes)
    }

    /// ``parse(bytes:)`` without the reader for the shape of WeChat's pushes.
    func parseGeneral<Bytes: Collection>(bytes: Bytes) throws(XMLError) -> StrictXMLElement
    where Bytes.Element == UInt8 {
        try checkSize(bytes.count)
        var parser = StrictXMLParser(input: Array(bytes), limits: limits)
        return try parser.parseDocument()
    }

    private func checkSize(_ size: Int) throws(XMLError) {
        if size > limits.maxBytes {
            throw XMLError(
                .tooLarge,
                "the input is \(size) bytes, more than the limit of \(limits.maxBytes) bytes",
                at: XMLPosition(line: 1, column: 1)
            )
        }
    }
}

// MARK: - UTF-8 and XML character checks

enum StrictUTF8 {
    /// The byte offset of the first invalid UTF-8 sequence, or of the first scalar that
    /// XML 1.0 does not allow when `xmlCharactersOnly` is set; `nil` when all is well.
    static func firstProblem(
        in bytes: [UInt8],
        xmlCharactersOnly: Bool
    ) -> (offset: Int, invalidUTF8: Bool)? {
        // ASCII first, byte by byte (what a push mostly is); the rest through the UTF-8 parser.
        let asciiEnd = bytes.withUnsafeBufferPointer { buffer -> Int in
            var i = 0
            while i < buffer.count {
                let byte = buffer[i]
                if byte >= 0x80 { break }
                if byte < 0x20 && xmlCharactersOnly && byte != 0x9 && byte != 0xA && byte != 0xD { return -1 - i }
                i += 1
            }
            return i
        }
        if asciiEnd < 0 { return (-1 - asciiEnd, false) }
        if asciiEnd == bytes.count { return nil }
        guard let problem = firstProblem(scalarsIn: bytes[asciiEnd...], xmlCharactersOnly: xmlCharactersOnly) else {
            return nil
        }
        return (asciiEnd + problem.offset, problem.invalidUTF8)
    }

    static func firstProblem(
        scalarsIn bytes: some Sequence<UInt8>,
        xmlCharactersOnly: Bool
    ) -> (offset: Int, invalidUTF8: Bool)? {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if xmlCharactersOnly {
                    let scalar = Unicode.UTF8.decode(encoded)
                    if !isXMLCharacter(scalar.value) { return (offset, false) }
                }
                offset += encoded.count
            case .emptyInput:
                return nil
            case .error:
                return (offset, true)
            }
        }
    }

    /// Whether the bytes are valid UTF-8.
    static func isValid(_ bytes: some Sequence<UInt8>) -> Bool {
        firstProblem(scalarsIn: bytes, xmlCharactersOnly: false) == nil
    }

    /// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    static func isXMLCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x9, 0xA, 0xD: return true
        case 0x20...0xD7FF: return true
        case 0xE000...0xFFFD: return true
        case 0x10000...0x10FFFF: return true
        default: return false
        }
    }
}

// MARK: - The parser

private enum Byte {
    static let lt = UInt8(ascii: "<")
    static let gt = UInt8(ascii: ">")
    static let amp = UInt8(ascii: "&")
    static let semicolon = UInt8(ascii: ";")
    static let slash = UInt8(ascii: "/")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let hash = UInt8(ascii: "#")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let rightBracket = UInt8(ascii: "]")
    static let question = UInt8(ascii: "?")

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == lf || byte == cr
    }

    static func isNameStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        default:
            return byte >= 0x80
        }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return isNameStart(byte)
        }
    }
}

private enum Literal {
    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    static let declaration = Array("<?xml".utf8)
    static let comment = Array("<!--".utf8)
    static let cdataOpen = Array("<![CDATA[".utf8)
    static let cdataClose = Array("]]>".utf8)
    static let doctype = Array("<!DOCTYPE".utf8)
    static let entity = Array("<!ENTITY".utf8)
    static let endTag = Array("</".utf8)
    static let piOpen = Array("<?".utf8)
    static let piClose = Array("?>".utf8)
    static let declarationOpen = Array("<!".utf8)
    static let emptyTagClose = Array("/>".utf8)
    static let doubleHyphen = Array("--".utf8)
}

/// An element being read: its start, children and text runs so far.
private struct OpenElement {
    var name: String
    var offset: Int
    var position: XMLPosition
    var children: [StrictXMLElement] = []
    var runs: [(bytes: [UInt8], isCDATA: Bool)] = []
    var hasCDATA = false

    func finished() -> StrictXMLElement {
        let dropBlankRuns = hasCDATA || !children.isEmpty
        var bytes: [UInt8] = []
        for run in runs {
            if dropBlankRuns && !run.isCDATA && run.bytes.allSatisfy(Byte.isWhitespace) { continue }
            bytes.append(contentsOf: run.bytes)
        }
        return StrictXMLElement(
            name: name,
            children: children,
            text: String(decoding: bytes, as: UTF8.self),
            position: position
        )
    }
}

private struct StrictXMLParser {
    let input: [UInt8]
    let limits: StrictXMLReader.Limits
    var index = 0

    // Position cache: positions are mostly asked for in increasing order.
    private var cachedOffset = 0
    private var cachedLine = 1
    private var cachedColumn = 1

    init(input: [UInt8], limits: StrictXMLReader.Limits) {
        self.input = input
        self.limits = limits
    }

    // MARK: Positions and errors

    mutating func position(at offset: Int) -> XMLPosition {
        let target = min(max(offset, 0), input.count)
        if target < cachedOffset {
            cachedOffset = 0
            cachedLine = 1
            cachedColumn = 1
        }
        var i = cachedOffset
        var line = cachedLine
        var column = cachedColumn
        while i < target {
            let byte = input[i]
            if byte == Byte.lf {
                line += 1
                column = 1
            } else if byte == Byte.cr {
                if i + 1 < input.count && input[i + 1] == Byte.lf {
                    // counted at the LF
                } else {
                    line += 1
                    column = 1
                }
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        cachedOffset = target
        cachedLine = line
        cachedColumn = column
        return XMLPosition(line: line, column: column)
    }

    mutating func error(_ code: XMLError.Code, _ message: String, at offset: Int) -> XMLError {
        XMLError(code, message, at: position(at: offset))
    }

    mutating func endOfInput(_ what: String) -> XMLError {
        error(.unexpectedEndOfInput, "the input ends \(what)", at: input.count)
    }

    // MARK: Low-level helpers

    var atEnd: Bool { index >= input.count }

    func hasPrefix(_ literal: [UInt8], at offset: Int) -> Bool {
        guard offset + literal.count <= input.count else { return false }
        for (k, byte) in literal.enumerated() where input[offset + k] != byte {
            return false
        }
        return true
    }

    func hasPrefix(_ literal: [UInt8]) -> Bool { hasPrefix(literal, at: index) }

    /// Whether the input at the current index starts with `literal`, ignoring ASCII case.
    func hasPrefixIgnoringCase(_ literal: [UInt8]) -> Bool {
        guard index + literal.count <= input.count else { return false }
        for (k, byte) in literal.enumerated() {
            let lhs = input[index + k]
            let fold: (UInt8) -> UInt8 = { ($0 >= 0x61 && $0 <= 0x7A) ? $0 - 0x20 : $0 }
            if fold(lhs) != fold(byte) { return false }
        }
        return true
    }

    /// The offset of the next occurrence of `literal` at or after `from`, if any.
    func find(_ literal: [UInt8], from: Int) -> Int? {
        guard let first = literal.first, literal.count <= input.count else { return nil }
        var i = from
        let last = input.count - literal.count
        while i <= last {
            if input[i] == first && hasPrefix(literal, at: i) { return i }
            i += 1
        }
        return nil
    }

    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = index
        while index < input.count && Byte.isWhitespace(input[index]) { index += 1 }
        return index > start
    }

    /// Appends `bytes[range]` to `out`, turning CR LF and lone CR into LF.
    func appendNormalisingLineEnds(_ range: Range<Int>, to out: inout [UInt8]) {
        var i = range.lowerBound
        while i < range.upperBound {
            let byte = input[i]
            if byte == Byte.cr {
                out.append(Byte.lf)
                if i + 1 < range.upperBound && input[i + 1] == Byte.lf { i += 1 }
            } else {
                out.append(byte)
            }
            i += 1
        }
    }

    // MARK: Document

    mutating func parseDocument() throws(XMLError) -> StrictXMLElement {
        if let problem = StrictUTF8.firstProblem(in: input, xmlCharactersOnly: true) {
            if problem.invalidUTF8 {
                throw error(.invalidUTF8, "the input is not valid UTF-8", at: problem.offset)
            }
            throw error(
                .invalidCharacter,
                "the input contains a character that XML does not allow (a control character, U+FFFE or U+FFFF)",
                at: problem.offset
            )
        }
        if hasPrefix(Literal.bom) { index = Literal.bom.count }
        if hasPrefix(Literal.declaration) && index + Literal.declaration.count == input.count {
            throw endOfInput("inside the XML declaration")
        }
        if hasPrefix(Literal.declaration),
            index + Literal.declaration.count < input.count,
            Byte.isWhitespace(input[index + Literal.declaration.count])
                || input[index + Literal.declaration.count] == Byte.question
        {
            try parseDeclaration()
        }

        var root: StrictXMLElement?
        while true {
            skipWhitespace()
            if atEnd { break }
            if hasPrefix(Literal.comment) {
                try skipComment()
                continue
            }
            if hasPrefix(Literal.piOpen) { throw processingInstruction() }
            if hasPrefix(Literal.declarationOpen) { throw markupDeclaration() }
            if input[index] == Byte.lt {
                if hasPrefix(Literal.endTag) {
                    throw error(.syntax, "a closing tag without a matching start tag", at: index)
                }
                if root != nil {
                    throw error(.contentAfterRoot, "a second root element follows the first", at: index)
                }
                root = try parseElement()
                continue
            }
            if root != nil {
                throw error(.contentAfterRoot, "text after the root element", at: index)
            }
            throw error(.syntax, "text before the root element (expected '<')", at: index)
        }
        guard let root else {
            throw error(.noRootElement, "the input has no root element", at: index)
        }
        return root
    }

    mutating func parseDeclaration() throws(XMLError) {
        let start = index
        guard let end = find(Literal.piClose, from: index + Literal.declaration.count) else {
            throw endOfInput("inside the XML declaration that starts at \(position(at: start))")
        }
        // Pseudo-attributes: name = "value" | 'value', separated by whitespace.
        var i = index + Literal.declaration.count
        while true {
            while i < end && Byte.isWhitespace(input[i]) { i += 1 }
            if i >= end { break }
            let nameStart = i
            while i < end && Byte.isNameByte(input[i]) { i += 1 }
            let name = String(decoding: input[nameStart..<i], as: UTF8.self)
            while i < end && Byte.isWhitespace(input[i]) { i += 1 }
            guard !name.isEmpty, i < end, input[i] == Byte.equals else {
                throw error(.syntax, "malformed XML declaration", at: i)
            }
            i += 1
            while i < end && Byte.isWhitespace(input[i]) { i += 1 }
            guard i < end, input[i] == Byte.quote || input[i] == Byte.apostrophe else {
                throw error(.syntax, "malformed XML declaration (expected a quoted value)", at: i)
            }
            let quote = input[i]
            i += 1
            let valueStart = i
            while i < end && input[i] != quote { i += 1 }
            guard i < end else {
                throw error(.syntax, "malformed XML declaration (unclosed quote)", at: valueStart)
            }
            let value = String(decoding: input[valueStart..<i], as: UTF8.self)
            i += 1
            if name == "encoding" {
                let lowered = value.lowercased()
                if lowered != "utf-8" && lowered != "utf8" {
                    throw error(
                        .unsupportedEncoding,
                        "the XML declaration names the encoding '\(value.prefix(32))'; only UTF-8 is read",
                        at: valueStart
                    )
                }
            }
        }
        index = end + Literal.piClose.count
    }

    mutating func processingInstruction() -> XMLError {
        if hasPrefix(Literal.declaration) {
            return error(
                .processingInstructionNotAllowed,
                "an XML declaration is only allowed at the very start of the input",
                at: index
            )
        }
        return error(.processingInstructionNotAllowed, "processing instructions are not allowed", at: index)
    }

    mutating func markupDeclaration() -> XMLError {
        if hasPrefixIgnoringCase(Literal.doctype) {
            return error(
                .doctypeNotAllowed,
                "a DOCTYPE declaration is not allowed: no DTD is read and no entity is defined",
                at: index
            )
        }
        if hasPrefixIgnoringCase(Literal.entity) {
            return error(.entityDeclarationNotAllowed, "entity declarations are not allowed", at: index)
        }
        return error(.syntax, "unsupported markup declaration starting with '<!'", at: index)
    }

    mutating func skipComment() throws(XMLError) {
        let start = index
        let bodyStart = index + Literal.comment.count
        guard let hyphens = find(Literal.doubleHyphen, from: bodyStart) else {
            throw endOfInput("inside the comment that starts at \(position(at: start))")
        }
        guard hyphens + 2 < input.count else {
            throw endOfInput("inside the comment that starts at \(position(at: start))")
        }
        guard input[hyphens + 2] == Byte.gt else {
            throw error(.syntax, "'--' is not allowed inside a comment", at: hyphens)
        }
        index = hyphens + 3
    }

    // MARK: Elements

    mutating func parseName(_ what: String) throws(XMLError) -> String {
        guard !atEnd else { throw endOfInput("where \(what) was expected") }
        guard Byte.isNameStart(input[index]) else {
            throw error(.syntax, "expected \(what)", at: index)
        }
        let start = index
        while index < input.count && Byte.isNameByte(input[index]) { index += 1 }
        return String(decoding: input[start..<index], as: UTF8.self)
    }

    /// Reads a start tag at `<`; returns the open element and whether it was `<name/>`.
    mutating func parseStartTag(depth: Int) throws(XMLError) -> (OpenElement, selfClosing: Bool) {
        let start = index
        if depth > limits.effectiveMaxDepth {
            throw error(
                .tooDeep,
                "elements are nested more than \(limits.effectiveMaxDepth) deep",
                at: start
            )
        }
        index += 1
        let name = try parseName("an element name after '<'")
        let element = OpenElement(name: name, offset: start, position: position(at: start))
        while true {
            let hadSpace = skipWhitespace()
            guard !atEnd else { throw endOfInput("inside the start tag <\(name)>") }
            if input[index] == Byte.gt {
                index += 1
                return (element, false)
            }
            if hasPrefix(Literal.emptyTagClose) {
                index += 2
                return (element, true)
            }
            guard hadSpace else {
                throw error(.syntax, "expected whitespace, '>' or '/>' in the start tag <\(name)>", at: index)
            }
            try skipAttribute(of: name)
        }
    }

    mutating func skipAttribute(of element: String) throws(XMLError) {
        _ = try parseName("an attribute name in <\(element)>")
        skipWhitespace()
        guard !atEnd else { throw endOfInput("inside the start tag <\(element)>") }
        guard input[index] == Byte.equals else {
            throw error(.syntax, "expected '=' after an attribute name in <\(element)>", at: index)
        }
        index += 1
        skipWhitespace()
        guard !atEnd else { throw endOfInput("inside the start tag <\(element)>") }
        let quote = input[index]
        guard quote == Byte.quote || quote == Byte.apostrophe else {
            throw error(.syntax, "expected a quoted attribute value in <\(element)>", at: index)
        }
        index += 1
        var scratch: [UInt8] = []
        while true {
            guard !atEnd else { throw endOfInput("inside an attribute value of <\(element)>") }
            let byte = input[index]
            if byte == quote {
                index += 1
                return
            }
            if byte == Byte.lt {
                throw error(.syntax, "'<' is not allowed in an attribute value", at: index)
            }
            if byte == Byte.amp {
                try appendReference(to: &scratch)
            } else {
                index += 1
            }
        }
    }

    mutating func parseEndTag() throws(XMLError) -> (name: String, offset: Int) {
        let start = index
        index += Literal.endTag.count
        let name = try parseName("an element name after '</'")
        skipWhitespace()
        guard !atEnd else { throw endOfInput("inside the closing tag </\(name)>") }
        guard input[index] == Byte.gt else {
            throw error(.syntax, "expected '>' to end the closing tag </\(name)>", at: index)
        }
        index += 1
        return (name, start)
    }

    /// Reads the element whose `<` is at the current index, with all its content.
    mutating func parseElement() throws(XMLError) -> StrictXMLElement {
        let (first, selfClosing) = try parseStartTag(depth: 1)
        if selfClosing { return first.finished() }
        var stack: [OpenElement] = [first]
        var run: [UInt8] = []

        func flush(_ run: inout [UInt8], into stack: inout [OpenElement]) {
            guard !run.isEmpty else { return }
            stack[stack.count - 1].runs.append((run, false))
            run.removeAll(keepingCapacity: true)
        }

        while true {
            guard let top = stack.last else { break }
            guard !atEnd else {
                throw endOfInput("before <\(top.name)> (opened at \(position(at: top.offset))) is closed")
            }
            let byte = input[index]
            if byte == Byte.lt {
                flush(&run, into: &stack)
                if hasPrefix(Literal.endTag) {
                    let (name, offset) = try parseEndTag()
                    let open = stack.removeLast()
                    guard name == open.name else {
                        let opened = position(at: open.offset)
                        throw error(
                            .mismatchedTag,
                            "the closing tag </\(name)> does not match <\(open.name)> opened at \(opened)",
                            at: offset
                        )
                    }
                    let element = open.finished()
                    if stack.isEmpty { return element }
                    stack[stack.count - 1].children.append(element)
                } else if hasPrefix(Literal.cdataOpen) {
                    let start = index
                    let bodyStart = index + Literal.cdataOpen.count
                    guard let close = find(Literal.cdataClose, from: bodyStart) else {
                        throw endOfInput("inside the CDATA section that starts at \(position(at: start))")
                    }
                    var bytes: [UInt8] = []
                    appendNormalisingLineEnds(bodyStart..<close, to: &bytes)
                    stack[stack.count - 1].runs.append((bytes, true))
                    stack[stack.count - 1].hasCDATA = true
                    index = close + Literal.cdataClose.count
                } else if hasPrefix(Literal.comment) {
                    try skipComment()
                } else if hasPrefix(Literal.piOpen) {
                    throw processingInstruction()
                } else if hasPrefix(Literal.declarationOpen) {
                    throw markupDeclaration()
                } else {
                    let (child, selfClosing) = try parseStartTag(depth: stack.count + 1)
                    if selfClosing {
                        stack[stack.count - 1].children.append(child.finished())
                    } else {
                        stack.append(child)
                    }
                }
            } else if byte == Byte.amp {
                try appendReference(to: &run)
            } else if byte == Byte.rightBracket && hasPrefix(Literal.cdataClose) {
                throw error(.syntax, "']]>' is not allowed in text outside a CDATA section", at: index)
            } else if byte == Byte.cr {
                run.append(Byte.lf)
                index += 1
                if !atEnd && input[index] == Byte.lf { index += 1 }
            } else {
                // Plain text up to the next byte that means something: copied in one go.
                var end = index + 1
                while end < input.count {
                    let next = input[end]
                    if next == Byte.lt || next == Byte.amp || next == Byte.rightBracket || next == Byte.cr { break }
                    end += 1
                }
                run.append(contentsOf: input[index..<end])
                index = end
            }
        }
        throw error(.syntax, "internal reader state error", at: index)
    }

    // MARK: References

    /// Reads `&…;` at the current index and appends the character it stands for.
    mutating func appendReference(to out: inout [UInt8]) throws(XMLError) {
        let start = index
        let bodyStart = index + 1
        var end = bodyStart
        let maxLength = 32
        while end < input.count && end - bodyStart <= maxLength
            && (Byte.isNameByte(input[end]) || input[end] == Byte.hash)
        {
            end += 1
        }
        if end >= input.count {
            throw endOfInput("inside the reference that starts at \(position(at: start))")
        }
        guard input[end] == Byte.semicolon, end > bodyStart else {
            throw error(
                .syntax,
                "'&' must start a reference such as &amp; (write &amp; for a literal '&')",
                at: start
            )
        }
        let body = Array(input[bodyStart..<end])
        if body[0] == Byte.hash {
            let scalar = try characterReference(body, at: start)
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        } else {
            switch String(decoding: body, as: UTF8.self) {
            case "lt": out.append(Byte.lt)
            case "gt": out.append(Byte.gt)
            case "amp": out.append(Byte.amp)
            case "apos": out.append(Byte.apostrophe)
            case "quot": out.append(Byte.quote)
            case let name:
                guard Byte.isNameStart(body[0]), body.allSatisfy(Byte.isNameByte) else {
                    throw error(
                        .syntax,
                        "'&' must start a reference such as &amp; (write &amp; for a literal '&')",
                        at: start
                    )
                }
                throw error(
                    .unknownEntity,
                    "the entity reference &\(name); is not allowed; only &lt; &gt; &amp; &apos; &quot; and numeric references are",
                    at: start
                )
            }
        }
        index = end + 1
    }

    mutating func characterReference(_ body: [UInt8], at start: Int) throws(XMLError) -> Unicode.Scalar {
        var digits = body.dropFirst()
        var radix: UInt32 = 10
        if digits.first == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else {
            throw error(.invalidCharacterReference, "a character reference without digits", at: start)
        }
        var value: UInt32 = 0
        for digit in digits {
            let d: UInt32
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: d = UInt32(digit - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: d = UInt32(digit - UInt8(ascii: "A") + 10)
            default:
                throw error(.invalidCharacterReference, "a malformed character reference", at: start)
            }
            value = value * radix + d
            if value > 0x10FFFF {
                throw error(.invalidCharacterReference, "a character reference beyond U+10FFFF", at: start)
            }
        }
        guard StrictUTF8.isXMLCharacter(value), let scalar = Unicode.Scalar(value) else {
            throw error(
                .invalidCharacterReference,
                "a character reference to a character XML does not allow",
                at: start
            )
        }
        return scalar
    }
}
