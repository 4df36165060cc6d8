import CLibYAML
import Foundation
import PipelineCore


/// Reads YAML text into `PipelineCore.SourceNode`, the located tree every other stage reads.
///
/// It walks the event stream of the system libyaml (the `CLibYAML` system-library target)
/// instead of a composed document, because the format needs what composition throws away: end
/// positions (the ` #` comment warning), the alias's own position, and every duplicate key
/// reported at its second occurrence rather than a throw at the first.
public struct YAMLReader: Sendable {
    /// Files larger than this are refused before parsing (MC1004).
    public var maxBytes: Int
    /// Collections nested deeper than this are refused (a nesting bomb must not crash us).
    public var maxDepth: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// The result of reading one file: the tree when the YAML could be read, and every
    /// diagnostic found on the way (syntax errors end reading; the others do not).
    public struct Result: Sendable {
        public var root: SourceNode?
        public var diagnostics: [Diagnostic]
        /// The file's bytes as read from disk (by ``read(path:displayName:)``), so that its
        /// diagnostics' snippets need no second read; `nil` for text given in memory.
        public var source: [UInt8]? = nil
    }

    /// Reads a file from disk (one `open`, `fstat` and `read`; the size limit is checked
    /// before anything is read).
    public func read(path: String, displayName: String? = nil) -> Result {
        let name = displayName ?? path
        switch readFile(path) {
        case .success(let bytes):
            var result = read(bytes: bytes, file: name)
            result.source = bytes
            return result
        case .failure(.tooLarge(let size)):
            return Result(root: nil, diagnostics: [tooLarge(size, file: name)])
        case .failure(.system(let message)):
            return Result(root: nil, diagnostics: [
                .error(.fileUnreadable, "cannot read '\(name)': \(message)", at: nil,
                       hint: "check that the path exists and is a readable file"),
            ])
        }
    }

    private enum ReadError: Error {
        case tooLarge(Int)
        case system(String)
    }

    private func readFile(_ path: String) -> Swift.Result<[UInt8], ReadError> {
        // Non-blocking open: opening a FIFO for reading would otherwise wait for a writer
        // forever. Only a regular file is read.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.system(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.system(String(cString: strerror(errno)))) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .failure(.system("it is a folder"))
        case S_IFIFO: return .failure(.system("it is a FIFO (named pipe), not a regular file; it is not read"))
        case S_IFCHR, S_IFBLK: return .failure(.system("it is a device, not a regular file; it is not read"))
        case S_IFSOCK: return .failure(.system("it is a socket, not a regular file; it is not read"))
        default: return .failure(.system("it is not a regular file; it is not read"))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let size = Int(info.st_size)
        if size > maxBytes { return .failure(.tooLarge(size)) }
        // Read to the end (the size may change under us); never past the limit.
        var bytes = [UInt8](repeating: 0, count: max(size, 0) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                if count > maxBytes { return .failure(.tooLarge(count)) }
                bytes.append(contentsOf: repeatElement(0, count: max(4096, count)))
            }
            let n = bytes.withUnsafeMutableBytes { buffer in
                Foundation.read(fd, buffer.baseAddress! + count, buffer.count - count)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.system(String(cString: strerror(errno))))
            }
            if n == 0 { break }
            count += n
        }
        if count > maxBytes { return .failure(.tooLarge(count)) }
        bytes.removeSubrange(count...)
        return .success(bytes)
    }

    /// Reads YAML from a string (tests, stdin).
    public func read(text: String, file: String) -> Result {
        read(bytes: Array(text.utf8), file: file)
    }

    /// Reads YAML from bytes that should be UTF-8.
    public func read(bytes: [UInt8], file: String) -> Result {
        if bytes.count > maxBytes {
            return Result(root: nil, diagnostics: [tooLarge(bytes.count, file: file)])
        }
        // A UTF-8 byte order mark at the start is allowed (YAML 1.2, 5.2) and not part of the
        // text: columns on the first line count from after it, as editors show them.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            return read(bytes: Array(bytes.dropFirst(3)), file: file)
        }
        if let bad = firstInvalidUTF8(bytes) {
            let (line, column) = position(ofByte: bad, in: bytes)
            return Result(root: nil, diagnostics: [
                .error(.invalidUTF8, "the file is not valid UTF-8: byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad) is not part of a UTF-8 character",
                       at: SourceLocation(file: file, line: line, column: column),
                       hint: "save the file as UTF-8 (pipelines are UTF-8 text)"),
            ])
        }
        var composer = Composer(bytes: bytes, file: file, maxDepth: maxDepth)
        return composer.run()
    }

    private func tooLarge(_ size: Int, file: String) -> Diagnostic {
        .error(.fileTooLarge, "the file is \(size) bytes, over the limit of \(maxBytes) bytes",
               at: SourceLocation(file: file, line: 1, column: 1),
               hint: "a pipeline is a short declaration: put a long audience in a file (`touser_file`, one OpenID a line) and long text in one (`content_file`); `masscast validate --max-file-size BYTES` checks a larger file")
    }
}

/// The byte offset of the first byte that is not well-formed UTF-8, or `nil`.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    bytes.withUnsafeBufferPointer(firstInvalidUTF8)
}

func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    let n = bytes.count
    let raw = UnsafeRawBufferPointer(bytes)
    while i < n {
        // Eight ASCII bytes at a time (most of a pipeline is ASCII).
        while i + 8 <= n, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i += 8
        }
        guard i < n else { break }
        let b = bytes[i]
        if b < 0x80 { i += 1; continue }
        var need = 0
        var min: UInt32 = 0
        var cp: UInt32 = 0
        if b & 0xE0 == 0xC0 { need = 1; min = 0x80; cp = UInt32(b & 0x1F) }
        else if b & 0xF0 == 0xE0 { need = 2; min = 0x800; cp = UInt32(b & 0x0F) }
        else if b & 0xF8 == 0xF0 { need = 3; min = 0x10000; cp = UInt32(b & 0x07) }
        else { return i }
        guard i + need < n else { return i }
        for k in 1...need {
            let c = bytes[i + k]
            guard c & 0xC0 == 0x80 else { return i }
            cp = cp << 6 | UInt32(c & 0x3F)
        }
        if cp < min || cp > 0x10FFFF || (0xD800...0xDFFF).contains(cp) { return i }
        i += need + 1
    }
    return nil
}

/// 1-based line and character column of a byte offset (counting well-formed characters).
func position(ofByte offset: Int, in bytes: [UInt8]) -> (Int, Int) {
    var line = 1
    var lineStart = 0
    for i in 0..<offset where bytes[i] == 0x0A {
        line += 1
        lineStart = i + 1
    }
    var column = 1
    for i in lineStart..<offset where bytes[i] & 0xC0 != 0x80 { column += 1 }
    return (line, column)
}

/// Builds the tree from libyaml's events with an explicit stack (no recursion).
private struct Composer {
    let bytes: [UInt8]
    let file: String
    /// The file's name, interned once: every location of the file carries only its number.
    let source: SourceFile
    let maxDepth: Int
    var diagnostics: [Diagnostic] = []
    /// Byte offset where each line starts (index 0 is line 1).
    var lineStarts: [Int] = []
    /// Lines known to hold a `#` (or not): a flow list of thousands of scalars on one line
    /// must not scan that line once per scalar.
    var lineHasHash: [Int: Bool] = [:]
    /// The last column looked up (line, column, byte index): scalars on one line come in
    /// column order, so the next look-up continues from there instead of the line's start.
    var lastColumn: (line: Int, column: Int, index: Int)?

    init(bytes: [UInt8], file: String, maxDepth: Int) {
        self.bytes = bytes
        self.file = file
        self.source = SourceFile(file)
        self.maxDepth = maxDepth
    }

    /// An open collection. Mutated in place on the stack (no copies of its arrays).
    private struct Frame {
        var isMapping: Bool
        var start: SourceLocation
        var flow: Bool
        var items: [SourceNode] = []
        var entries: [SourceNode.Entry] = []
        var pendingKey: String?
        var pendingKeyLocation: SourceLocation?
        var skipValue = false
        /// Key → index in `entries`, built once a mapping grows large (small ones scan).
        var index: [String: Int]?

        func firstOccurrence(of key: String) -> SourceLocation? {
            if let index { return index[key].map { entries[$0].keyLocation } }
            for e in entries where e.key == key { return e.keyLocation }
            return nil
        }
    }

    mutating func run() -> YAMLReader.Result {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            return YAMLReader.Result(root: nil, diagnostics: [
                .error(.yamlSyntax, "the YAML parser could not start (out of memory)", at: nil),
            ])
        }
        defer { yaml_parser_delete(&parser) }
        var root: SourceNode?
        var documents = 0
        var stack: [Frame] = []

        return bytes.withUnsafeBufferPointer { buffer -> YAMLReader.Result in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    diagnostics.append(syntaxError(parser))
                    return YAMLReader.Result(root: nil, diagnostics: diagnostics)
                }
                defer { yaml_event_delete(&event) }
                let type = event.type
                if type == YAML_STREAM_END_EVENT { break }
                let start = location(event.start_mark)
                switch type {
                case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT:
                    continue
                case YAML_DOCUMENT_START_EVENT:
                    documents += 1
                    if documents == 2 {
                        diagnostics.append(.error(
                            .documentCount, "a pipeline file holds one YAML document; this is a second one",
                            at: start, hint: "split the documents into separate files"))
                    }
                    continue
                default:
                    break
                }
                if stack.count >= maxDepth,
                    type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT
                {
                    diagnostics.append(.error(
                        .yamlSyntax, "the YAML is nested more than \(maxDepth) levels deep", at: start,
                        hint: "a pipeline never needs this much nesting"))
                    return YAMLReader.Result(root: nil, diagnostics: diagnostics)
                }
                var finished: SourceNode?
                switch type {
                case YAML_ALIAS_EVENT:
                    let name = cString(event.data.alias.anchor)
                    diagnostics.append(.error(
                        .anchorOrAlias, "alias '*\(name)' is not allowed in a pipeline", at: start,
                        hint: "write the value out in full: aliases hide from reviewers what a broadcast sends"))
                    finished = SourceNode(.scalar("", .plain), at: start, isAlias: true)
                case YAML_SCALAR_EVENT:
                    let s = event.data.scalar
                    checkAnchor(s.anchor, at: start)
                    checkTag(s.tag, at: start)
                    let text = string(s.value, Int(s.length))
                    let style = scalarStyle(s.style)
                    if let top = stack.indices.last, stack[top].isMapping, stack[top].pendingKey == nil {
                        // A key: kept as text and position, no node needed.
                        addKey(text, style: style, at: start, to: &stack[top])
                        continue
                    }
                    let end = location(event.end_mark)
                    let singleLine = start.line == end.line
                    var comment = false
                    if style == .plain, singleLine {
                        comment = commentFollows(line: end.line, column: end.column)
                    }
                    var textColumn: Int?
                    if singleLine, s.length >= 3, memchr(s.value, 0x24, Int(s.length)) != nil {
                        textColumn = exactTextStart(text: text, style: style, start: start, end: end)?.column
                    }
                    finished = SourceNode(.scalar(text, style), at: start, isSingleLine: singleLine,
                                          followedByComment: comment, textStartColumn: textColumn)
                case YAML_SEQUENCE_START_EVENT:
                    checkAnchor(event.data.sequence_start.anchor, at: start)
                    checkTag(event.data.sequence_start.tag, at: start)
                    stack.append(Frame(isMapping: false, start: start,
                                       flow: event.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE))
                    continue
                case YAML_MAPPING_START_EVENT:
                    checkAnchor(event.data.mapping_start.anchor, at: start)
                    checkTag(event.data.mapping_start.tag, at: start)
                    stack.append(Frame(isMapping: true, start: start,
                                       flow: event.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE))
                    continue
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let frame = stack.popLast() else { continue }
                    finished = frame.isMapping
                        ? SourceNode(.mapping(frame.entries), at: frame.start, isSingleLine: frame.flow)
                        : SourceNode(.sequence(frame.items), at: frame.start, isSingleLine: frame.flow)
                default:
                    continue
                }
                guard let node = finished else { continue }
                if stack.isEmpty {
                    if root == nil { root = node }
                } else {
                    attach(node, to: &stack[stack.count - 1])
                }
            }
            if documents == 0 || root == nil {
                diagnostics.append(.error(
                    .documentCount, "the file is empty: it holds no YAML document",
                    at: SourceLocation(file: source, line: 1, column: 1),
                    hint: "a pipeline starts with `version: 1`"))
            }
            return YAMLReader.Result(root: root, diagnostics: diagnostics)
        }
    }

    private mutating func attach(_ node: SourceNode, to frame: inout Frame) {
        guard frame.isMapping else {
            frame.items.append(node)
            return
        }
        if let key = frame.pendingKey, let keyLocation = frame.pendingKeyLocation {
            if !frame.skipValue {
                frame.entries.append(SourceNode.Entry(key: key, keyLocation: keyLocation, value: node))
                if frame.index != nil {
                    frame.index![key] = frame.entries.count - 1
                } else if frame.entries.count > 16 {
                    var index: [String: Int] = [:]
                    for (i, e) in frame.entries.enumerated() where index[e.key] == nil { index[e.key] = i }
                    frame.index = index
                }
            }
            frame.pendingKey = nil
            frame.pendingKeyLocation = nil
            frame.skipValue = false
            return
        }
        // A collection (or an alias) used as a key.
        diagnostics.append(.error(
            .complexKey, "a mapping key must be a plain name, not \(node.isAlias ? "an alias" : node.kindDescription)",
            at: node.location, hint: "use a string key"))
        frame.pendingKey = ""
        frame.pendingKeyLocation = node.location
        frame.skipValue = true
    }

    /// A scalar in key position.
    private mutating func addKey(_ key: String, style: SourceNode.ScalarStyle, at location: SourceLocation,
                                 to frame: inout Frame)
    {
        frame.pendingKey = key
        frame.pendingKeyLocation = location
        if style == .plain {
            let typed = TypedScalar.resolve(plain: key)
            if case .string = typed {} else {
                // YAML 1.2 makes `2025:` an integer key and `true:` a boolean one; JSON (and so
                // the schema) has only string keys.
                diagnostics.append(.error(
                    .complexKey, "a mapping key must be a name, not \(typed.kindDescription)", at: location,
                    hint: "quote it if you mean the text: \"\(key)\":"))
                frame.skipValue = true
                return
            }
        }
        if let first = frame.firstOccurrence(of: key) {
            diagnostics.append(.error(
                .duplicateKey, "duplicate key '\(key)'", at: location,
                note: .init("'\(key)' was first defined here", at: first),
                hint: "remove one of the two; YAML would silently keep only the last"))
            frame.skipValue = true
        }
    }

    private mutating func checkAnchor(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at location: SourceLocation) {
        guard let anchor else { return }
        diagnostics.append(.error(
            .anchorOrAlias, "anchor '&\(cString(anchor))' is not allowed in a pipeline", at: location,
            hint: "write values out in full: anchors and aliases hide from reviewers what a broadcast sends"))
    }

    private mutating func checkTag(_ tag: UnsafeMutablePointer<yaml_char_t>?, at location: SourceLocation) {
        guard let tag else { return }
        let name = cString(tag)
        diagnostics.append(.error(
            .explicitTag, "explicit tag '\(name)' is not allowed in a pipeline", at: location,
            hint: "remove the tag; quote a value to make it a string"))
    }

    private func syntaxError(_ parser: yaml_parser_t) -> Diagnostic {
        var problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let mark: SourceLocation
        if parser.error == YAML_READER_ERROR {
            // The reader reports a byte offset (and the character), not a line: place it.
            let offset = min(max(Int(parser.problem_offset), 0), bytes.count)
            let (line, column) = position(ofByte: offset, in: bytes)
            mark = SourceLocation(file: source, line: line, column: column)
            if problem == "control characters are not allowed", parser.problem_value >= 0 {
                let value = UInt32(parser.problem_value)
                let name = Self.controlNames[value].map { " (\($0))" } ?? ""
                problem = "control character U+\(String(format: "%04X", value))\(name) is not allowed"
            }
        } else {
            mark = location(parser.problem_mark)
        }
        var note: Diagnostic.Note?
        if let context = parser.context {
            let contextLocation = location(parser.context_mark)
            note = .init(String(cString: context), at: contextLocation)
        }
        var hint: String?
        if problem.contains("found unexpected end of stream"), let context = parser.context,
            String(cString: context).contains("quoted scalar")
        {
            // The end of the file is where libyaml noticed; the quote that was never closed
            // is what the user must fix.
            return .error(.yamlSyntax, "YAML syntax error: this quoted text is never closed", at: location(parser.context_mark),
                          note: .init("the file ends here, still inside the quotes", at: mark),
                          hint: "add the closing quote; inside single quotes a quote is written ''")
        }
        if problem.contains("mapping values are not allowed") {
            hint = colonFollowsValue(atByte: Int(parser.problem_mark.index))
                ? "a value that contains ': ' must be quoted"
                : "check the indentation: this line is indented more than the line above it, so YAML reads it "
                    + "as the rest of that line's value; align it with the keys it belongs with"
        } else if problem.contains("found character that cannot start any token"), problem.contains("\t") || mark.column == 1 {
            hint = "YAML indentation uses spaces, not tabs"
        } else if problem.contains("did not find expected ',' or '}'") || problem.contains("did not find expected ',' or ']'") {
            hint = "quote expressions inside flow collections: { a: \"${{ x }}\" }"
        }
        return .error(.yamlSyntax, "YAML syntax error: \(problem)", at: mark, note: note, hint: hint)
    }

    /// Whether the `:` at byte `index` (where libyaml refused a mapping value) comes after
    /// a key and the start of its value on the same line (`title: Sale: 50% off`): then the
    /// value holds ': ' and needs quotes. Otherwise the line holds a key that is indented
    /// more than the line above, which YAML read as the continuation of that line's value.
    private func colonFollowsValue(atByte index: Int) -> Bool {
        guard index > 0, index <= bytes.count else { return true }
        var start = index
        while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
        var i = start
        while i + 1 < index {
            if bytes[i] == UInt8(ascii: ":"), bytes[i + 1] == UInt8(ascii: " ") || bytes[i + 1] == UInt8(ascii: "\t") {
                return true
            }
            i += 1
        }
        return false
    }

    static let controlNames: [UInt32: String] = [0x00: "NUL", 0x07: "BEL", 0x08: "BS", 0x0B: "VT", 0x0C: "FF", 0x1B: "ESC", 0x7F: "DEL"]

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: source, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private func cString(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    private func scalarStyle(_ style: yaml_scalar_style_t) -> SourceNode.ScalarStyle {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }

    // MARK: Source text look-ups (only for the few scalars that need them)

    private mutating func lineBytes(_ line: Int) -> ArraySlice<UInt8>? {
        if lineStarts.isEmpty {
            lineStarts.reserveCapacity(bytes.count / 24 + 1)
            lineStarts.append(0)
            for (i, b) in bytes.enumerated() where b == 0x0A { lineStarts.append(i + 1) }
        }
        guard line >= 1, line <= lineStarts.count else { return nil }
        let s = lineStarts[line - 1]
        var e = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if e > s, bytes[e - 1] == 0x0D { e -= 1 }
        return bytes[s..<max(s, e)]
    }

    /// The byte index within the line of a 1-based character column.
    private func byteIndex(in line: ArraySlice<UInt8>, column: Int, from start: (column: Int, index: Int)? = nil) -> Int? {
        var col = start?.column ?? 1
        var i = start?.index ?? line.startIndex
        while col < column {
            guard i < line.endIndex else { return nil }
            i += 1
            while i < line.endIndex, line[i] & 0xC0 == 0x80 { i += 1 }
            col += 1
        }
        return i
    }

    /// Whether ` #…` follows the position on its line (YAML made the rest a comment).
    private mutating func commentFollows(line: Int, column: Int) -> Bool {
        guard let text = lineBytes(line) else { return false }
        let hasHash: Bool
        if let known = lineHasHash[line] {
            hasHash = known
        } else {
            hasHash = text.contains(UInt8(ascii: "#"))
            lineHasHash[line] = hasHash
        }
        guard hasHash else { return false }
        let i: Int
        if let last = lastColumn, last.line == line, last.column <= column {
            guard let found = byteIndex(in: text, column: column, from: (last.column, last.index)) else { return false }
            i = found
        } else {
            guard let found = byteIndex(in: text, column: column) else { return false }
            i = found
        }
        lastColumn = (line, column, i)
        var j = i
        var sawSpace = false
        while j < text.endIndex, text[j] == 0x20 || text[j] == 0x09 { j += 1; sawSpace = true }
        return sawSpace && j < text.endIndex && text[j] == UInt8(ascii: "#")
    }

    /// Where the scalar's text starts when its characters map one to one onto columns.
    private func exactTextStart(text: String, style: SourceNode.ScalarStyle, start: SourceLocation, end: SourceLocation)
        -> SourceLocation?
    {
        let count = text.unicodeScalars.count
        switch style {
        case .plain:
            return end.column - start.column == count ? start : nil
        case .singleQuoted, .doubleQuoted:
            return end.column - start.column == count + 2 ? start.advanced(by: 1) : nil
        default:
            return nil
        }
    }
}
