import PipelineCore
import Testing

@testable import PipelineYAML

@Suite("YAML reading")
struct YAMLReaderTests {
    let reader = YAMLReader()

    func root(_ text: String) -> SourceNode? { reader.read(text: text, file: "t.yaml").root }
    func codes(_ text: String) -> [String] { reader.read(text: text, file: "t.yaml").diagnostics.map(\.code.rawValue) }

    @Test("scalars are typed by YAML 1.2's core schema", arguments: [
        ("yes", TypedScalar.string("yes")), ("on", .string("on")), ("no", .string("no")), ("off", .string("off")),
        ("true", .bool(true)), ("False", .bool(false)), ("010", .integer(10)), ("0o17", .integer(15)),
        ("0x1F", .integer(31)), ("1:30", .string("1:30")), ("-7", .integer(-7)), ("1.5", .float(1.5)),
        ("1e3", .float(1000)), ("~", .null), ("null", .null), ("", .null), ("2026-12-01", .string("2026-12-01")),
        ("'true'", .string("true")), ("\"42\"", .string("42")),
    ])
    func coreSchemaTyping(source: String, expected: TypedScalar) throws {
        let node = try #require(root("v: \(source)")?["v"])
        #expect(node.typed == expected)
    }

    @Test("': ' in a plain value gets the quoting hint; an over-indented key gets an indentation hint", arguments: [
        ("title: Sale: 50% off\n", true),
        ("- title: Sale: 50% off\n", true),
        ("a: b\n  c: d\n", false),
        ("steps:\n  - id: x\n    with:\n      msgtype: text\n       text: y\n", false),
    ])
    func colonHint(text: String, quoting: Bool) throws {
        let d = try #require(reader.read(text: text, file: "t.yaml").diagnostics.first)
        #expect(d.code == .yamlSyntax)
        let hint = try #require(d.hint)
        #expect(hint.contains("must be quoted") == quoting, "\(hint)")
        #expect(hint.contains("indentation") == !quoting, "\(hint)")
    }

    @Test("a UTF-8 byte order mark at the start is accepted; first-line columns count from after it")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("version: 1\nname: [x\n".utf8)
        let result = reader.read(bytes: bytes, file: "t.yaml")
        // The only problem is the unclosed list on line 2, not the mark.
        let d = try #require(result.diagnostics.first)
        #expect(result.diagnostics.count == 1)
        #expect(d.location?.line ?? 0 >= 2, "\(d)")
        let ok = reader.read(bytes: [0xEF, 0xBB, 0xBF] + Array("version: 1\nname: x\n".utf8), file: "t.yaml")
        #expect(ok.diagnostics.isEmpty)
        #expect(ok.root?["version"]?.location.column == 10)  // as without the mark
        #expect(ok.root?["name"]?.typed == .string("x"))
    }

    @Test("a control character is reported at its own line and column, by name", arguments: [
        ("version: 1\nname: \"a\u{0}b\"\n", 2, 9, "U+0000 (NUL)"),
        ("version: 1\nname: a\u{1B}b\n", 2, 8, "U+001B (ESC)"),
        ("version: 1\nname: 名字\u{7}\n", 2, 9, "U+0007 (BEL)"),
    ])
    func controlCharacterPlace(text: String, line: Int, column: Int, name: String) throws {
        let d = try #require(reader.read(text: text, file: "t.yaml").diagnostics.first)
        #expect(d.code == .yamlSyntax)
        #expect(d.location?.line == line && d.location?.column == column, "\(String(describing: d.location))")
        #expect(d.message.contains(name), "\(d.message)")
    }

    @Test("columns count characters, not bytes")
    func columnsInCharacters() throws {
        let tree = try #require(root("标题: 群发视频\nkey: [你好, x]\n"))
        let title = try #require(tree.entry("标题"))
        #expect(title.keyLocation.column == 1)
        #expect(title.value.location.column == 5)  // 标 题 : space → column 5
        let list = try #require(tree["key"]?.items)
        #expect(list[1].location == SourceLocation(file: "t.yaml", line: 2, column: 11))
    }

    @Test("a duplicate key is reported at its second occurrence, noting the first")
    func duplicateKey() throws {
        let result = reader.read(text: "a: 1\nb: 2\na: 3\n", file: "t.yaml")
        let d = try #require(result.diagnostics.first)
        #expect(d.code == .duplicateKey)
        #expect(d.location?.line == 3 && d.location?.column == 1)
        #expect(d.note?.location?.line == 1)
        // The first value is kept; the duplicate is not merged in silently.
        #expect(result.root?["a"]?.typed == .integer(1))
    }

    @Test("every duplicate in a file is reported, not only the first")
    func allDuplicates() {
        let text = "a: 1\na: 2\nm:\n  x: 1\n  x: 2\n  y: 1\n  y: 3\n"
        #expect(codes(text) == ["MC1002", "MC1002", "MC1002"])
    }

    @Test("anchors and aliases are refused at their own positions")
    func anchorsAndAliases() {
        let result = reader.read(text: "a: &x 1\nb: *x\n", file: "t.yaml")
        #expect(result.diagnostics.map(\.code) == [.anchorOrAlias, .anchorOrAlias])
        #expect(result.diagnostics.map { $0.location!.line } == [1, 2])
        #expect(result.diagnostics[1].location?.column == 4)
    }

    @Test("explicit tags are refused")
    func tags() {
        #expect(codes("a: !!str 1\n") == ["MC1008"])
    }

    @Test("a syntax error names the problem's position and gives the context as a note")
    func syntaxError() throws {
        let result = reader.read(text: "a:\n  b: [1, 2\n  c: 3\n", file: "t.yaml")
        let d = try #require(result.diagnostics.first)
        #expect(d.code == .yamlSyntax)
        #expect(result.root == nil)
        #expect(d.location?.line == 3)
        #expect(d.note?.message.contains("flow sequence") == true)
        #expect(d.note?.location == SourceLocation(file: "t.yaml", line: 2, column: 6))
    }

    @Test("an unclosed quote is reported at the quote, not at the end of the file")
    func unclosedQuote() throws {
        let d = try #require(reader.read(text: "a:\n  b: 'open\n  c: 1\n", file: "t.yaml").diagnostics.first)
        #expect(d.code == .yamlSyntax)
        #expect(d.location == SourceLocation(file: "t.yaml", line: 2, column: 6))
        #expect(d.note?.location?.line == 4)
    }

    @Test("an unquoted ': ' inside a value gets a hint to quote it")
    func colonHint() throws {
        let d = try #require(reader.read(text: "a: b: c\n", file: "t.yaml").diagnostics.first)
        #expect(d.code == .yamlSyntax)
        #expect(d.location?.line == 1 && d.location?.column == 5)
        #expect(d.hint?.contains("quoted") == true)
    }

    @Test("invalid UTF-8 is reported with the line and column of the bad byte")
    func invalidUTF8() throws {
        var bytes = Array("name: ok\ntitle: caf".utf8)
        bytes.append(0xE9)
        bytes += Array("\n".utf8)
        let d = try #require(reader.read(bytes: bytes, file: "t.yaml").diagnostics.first)
        #expect(d.code == .invalidUTF8)
        #expect(d.location == SourceLocation(file: "t.yaml", line: 2, column: 11))
    }

    @Test("files over the size limit are refused before parsing")
    func sizeLimit() throws {
        let small = YAMLReader(maxBytes: 64)
        let d = try #require(small.read(text: String(repeating: "a: 1\n", count: 20), file: "t.yaml").diagnostics.first)
        #expect(d.code == .fileTooLarge)
        #expect(d.message.contains("100 bytes"))
        // The hint names the way out: the audience in a file, or validate's flag.
        #expect(d.hint?.contains("`touser_file`") == true, "\(d.hint ?? "")")
        #expect(d.hint?.contains("--max-file-size") == true, "\(d.hint ?? "")")
    }

    @Test("a flow list of 30,000 OpenIDs on one line (under 1 MiB) is read in seconds, not quadratic time")
    func longFlowList() throws {
        let ids = (0..<30_000).map { String(format: "o4WmZ0flow%018d", $0) }.joined(separator: ", ")
        let text = "touser: [\(ids)]  # trailing comment\n"
        let clock = ContinuousClock()
        let started = clock.now
        let result = YAMLReader().read(text: text, file: "t.yaml")
        let took = clock.now - started
        // Before: every scalar scanned its whole line (2,000 items took 12 s in a debug build).
        #expect(took < .seconds(10), "\(took)")
        #expect(result.diagnostics.filter { $0.severity == .error }.isEmpty, "\(result.diagnostics)")
    }

    @Test("one document per file; an empty file is an error")
    func documentCount() {
        #expect(codes("a: 1\n---\nb: 2\n") == ["MC1006"])
        #expect(codes("") == ["MC1006"])
        #expect(codes("# only a comment\n") == ["MC1006"])
    }

    @Test("deep nesting is refused, not a crash")
    func nestingBomb() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(codes(text) == ["MC1001"])
    }

    @Test("a list or mapping used as a key is refused")
    func complexKey() {
        #expect(codes("? [a, b]\n: 1\n") == ["MC1007"])
    }

    @Test("a plain scalar followed by ' #' is flagged; quoted ones and '#' without a space are not")
    func commentFlag() throws {
        let tree = try #require(root("a: 新品 #话题# 上线\nb: \"x #y\"\nc: x#y\nd: x   # note\n"))
        #expect(tree["a"]?.followedByComment == true)
        #expect(tree["a"]?.typed == .string("新品"))
        #expect(tree["b"]?.followedByComment == false)
        #expect(tree["c"]?.followedByComment == false)
        #expect(tree["d"]?.followedByComment == true)
    }

    @Test("positions inside a single-line scalar map onto columns")
    func textStart() throws {
        let tree = try #require(root("a: ${{ x }}\nb: '${{ y }}'\nc: |\n  ${{ z }}\n"))
        #expect(tree["a"]?.location(ofTextOffset: 4).column == 8)
        #expect(tree["b"]?.location(ofTextOffset: 4).column == 9)
        #expect(tree["c"]?.location(ofTextOffset: 4).column == 4)  // block scalar: its start
    }
}
