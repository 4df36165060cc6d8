/// A one-pass reader for the shape WeChat's pushes have, tried by ``StrictXMLReader`` before
/// its general parser.
///
/// The shape: elements with plain ASCII names and no attributes, written `<Name>…</Name>`,
/// whose content is either plain text (no `&`, `<`, `]` or CR), or whitespace around one
/// CDATA section, or whitespace around child elements; whitespace is space, tab or LF. Both
/// the encrypted envelope (`<xml><ToUserName>…</ToUserName><Encrypt>…</Encrypt></xml>`) and
/// the decrypted MASSSENDJOBFINISH message have it.
///
/// For such input it builds the tree the general parser builds (the same names, texts,
/// children and positions). For anything else — a declaration, a comment, an entity or
/// character reference, an attribute, a self-closing tag, CR, mixed content, a character
/// XML forbids, invalid UTF-8, nesting beyond the depth limit, or malformed input — it
/// returns `nil` and the general parser reads the input, so every error and every check
/// stays the general parser's.
struct PushShapeReader {
    private let input: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var index = 0
    private var sawNonASCII = false

    // Positions are asked for in increasing order: counted from the last one.
    private var cachedOffset = 0
    private var cachedLine = 1
    private var cachedColumn = 1

    private init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    /// The root element of `input`, or `nil` when the input is not of the shape (or is not
    /// well-formed): then the general parser decides.
    static func read(_ input: UnsafeBufferPointer<UInt8>, limits: StrictXMLReader.Limits) -> StrictXMLElement? {
        guard input.count <= limits.maxBytes else { return nil }
        var reader = PushShapeReader(input: input, maxDepth: limits.effectiveMaxDepth)
        return reader.document()
    }

    private mutating func document() -> StrictXMLElement? {
        skipSpaces()
        guard index < input.count, input[index] == Self.lt else { return nil }
        guard let root = element(depth: 1) else { return nil }
        skipSpaces()
        guard index == input.count else { return nil }
        if sawNonASCII, StrictUTF8.firstProblem(in: Array(input), xmlCharactersOnly: true) != nil { return nil }
        return root
    }

    /// The element whose `<` is at the index, with its content and end tag.
    private mutating func element(depth: Int) -> StrictXMLElement? {
        guard depth <= maxDepth else { return nil }
        let start = index
        index += 1
        let nameStart = index
        guard index < input.count, Self.isNameStart(input[index]) else { return nil }
        index += 1
        while index < input.count && Self.isNameByte(input[index]) { index += 1 }
        let nameEnd = index
        guard index < input.count, input[index] == Self.gt else { return nil }
        index += 1
        let position = position(at: start)

        // Plain text up to the first `<`: the whole text when the end tag follows it.
        let textStart = index
        var onlySpaces = true
        while index < input.count {
            let byte = input[index]
            if byte == Self.lt { break }
            if byte >= 0x80 {
                sawNonASCII = true
                onlySpaces = false
            } else if byte < 0x20 {
                guard byte == Self.tab || byte == Self.lf else { return nil }
            } else if byte == Self.amp || byte == Self.rightBracket {
                return nil
            } else if byte != Self.space {
                onlySpaces = false
            }
            index += 1
        }
        guard index + 1 < input.count else { return nil }
        var text: String?
        var children: [StrictXMLElement] = []
        if input[index + 1] == Self.slash {
            text = String(decoding: UnsafeBufferPointer(rebasing: input[textStart..<index]), as: UTF8.self)
        } else {
            // Whitespace, then a CDATA section or child elements, each followed by whitespace.
            guard onlySpaces else { return nil }
            while input[index + 1] != Self.slash {
                if input[index + 1] == Self.bang {
                    guard text == nil, children.isEmpty, let cdata = cdataSection() else { return nil }
                    text = cdata
                } else {
                    guard text == nil, let child = element(depth: depth + 1) else { return nil }
                    children.append(child)
                }
                skipSpaces()
                guard index + 1 < input.count, input[index] == Self.lt else { return nil }
            }
        }
        // The end tag: `</Name>`, the same name.
        index += 2
        let nameLength = nameEnd - nameStart
        guard index + nameLength < input.count else { return nil }
        for k in 0..<nameLength where input[index + k] != input[nameStart + k] { return nil }
        index += nameLength
        guard input[index] == Self.gt else { return nil }
        index += 1
        return StrictXMLElement(
            name: String(decoding: UnsafeBufferPointer(rebasing: input[nameStart..<nameEnd]), as: UTF8.self),
            children: children, text: text ?? "", position: position)
    }

    /// The text of the `<![CDATA[…]]>` section at the index, with the index after it.
    private mutating func cdataSection() -> String? {
        let open = Self.cdataOpen
        guard index + open.count <= input.count else { return nil }
        for k in 0..<open.count where input[index + k] != open[k] { return nil }
        let bodyStart = index + open.count
        var i = bodyStart
        while i + 2 < input.count {
            let byte = input[i]
            if byte == Self.rightBracket && input[i + 1] == Self.rightBracket && input[i + 2] == Self.gt {
                index = i + 3
                return String(decoding: UnsafeBufferPointer(rebasing: input[bodyStart..<i]), as: UTF8.self)
            }
            if byte >= 0x80 {
                sawNonASCII = true
            } else if byte < 0x20 && byte != Self.tab && byte != Self.lf {
                return nil
            }
            i += 1
        }
        return nil
    }

    private mutating func skipSpaces() {
        while index < input.count {
            let byte = input[index]
            guard byte == Self.space || byte == Self.tab || byte == Self.lf else { return }
            index += 1
        }
    }

    /// The line and column of `offset`, counted as the general parser counts them.
    private mutating func position(at offset: Int) -> XMLPosition {
        var i = cachedOffset
        var line = cachedLine
        var column = cachedColumn
        while i < offset {
            let byte = input[i]
            if byte == Self.lf {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        cachedOffset = offset
        cachedLine = line
        cachedColumn = column
        return XMLPosition(line: line, column: column)
    }

    private static func isNameStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"): true
        default: false
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static let lt = UInt8(ascii: "<")
    private static let gt = UInt8(ascii: ">")
    private static let amp = UInt8(ascii: "&")
    private static let slash = UInt8(ascii: "/")
    private static let bang = UInt8(ascii: "!")
    private static let rightBracket = UInt8(ascii: "]")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let lf = UInt8(ascii: "\n")
    private static let cdataOpen: [UInt8] = Array("<![CDATA[".utf8)
}
