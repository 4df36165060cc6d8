import MasscastTesting
import Testing

@testable import WeChatPush

/// Reads `text` and returns the XMLError it must produce.
private func xmlFailure(
    _ text: String,
    limits: StrictXMLReader.Limits = StrictXMLReader.Limits(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> XMLError? {
    do {
        let root = try StrictXMLReader(limits: limits).parse(text)
        Issue.record("expected an XMLError, got <\(root.name)>", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("Strict XML reader")
struct XMLReaderTests {
    let reader = StrictXMLReader()

    @Test func readsElementsTextAndCDATA() throws {
        let root = try reader.parse(
            "<xml><A>plain</A><B><![CDATA[data <not> &markup;]]></B><C/><D></D></xml>"
        )
        #expect(root.name == "xml")
        #expect(root.children.map(\.name) == ["A", "B", "C", "D"])
        #expect(root.childText("A") == "plain")
        #expect(root.childText("B") == "data <not> &markup;")
        #expect(root.childText("C") == "")
        #expect(root.childText("D") == "")
        #expect(root.childText("E") == nil)
    }

    @Test func whitespaceAroundCDATAIsDropped() throws {
        let indented = try reader.parse("<xml>\n  <A>\n    <![CDATA[gh_1]]>\n  </A>\n</xml>")
        let compact = try reader.parse("<xml><A><![CDATA[gh_1]]></A></xml>")
        #expect(indented.childText("A") == "gh_1")
        #expect(indented.childText("A") == compact.childText("A"))
        #expect(indented.text == "")
        // Whitespace inside CDATA is kept, and plain text with content is kept whole.
        let inner = try reader.parse("<xml><A><![CDATA[ x ]]></A><B> y </B></xml>")
        #expect(inner.childText("A") == " x ")
        #expect(inner.childText("B") == " y ")
    }

    @Test func predefinedEntitiesAndCharacterReferences() throws {
        let root = try reader.parse(
            "<xml><A>&lt;&amp;&gt;&apos;&quot;</A><B>&#60;&#x4E2D;&#65;</B></xml>"
        )
        #expect(root.childText("A") == "<&>'\"")
        #expect(root.childText("B") == "<中A")
    }

    @Test func cdataWithBracketFragments() throws {
        let root = try reader.parse("<xml><A><![CDATA[a]]b]c]]]]></A><B><![CDATA[]]></B></xml>")
        #expect(root.childText("A") == "a]]b]c]]")
        #expect(root.childText("B") == "")
        // Two CDATA sections split around "]]>" join back.
        let split = try reader.parse("<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A></xml>")
        #expect(split.childText("A") == "x]]>y")
    }

    @Test func declarationCommentsAttributesAndBOM() throws {
        let text = "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- before -->\n"
            + "<xml a=\"1\" b='x &amp; y'><!-- inside --><A id=\"2\">t<!-- mid -->u</A></xml>\n<!-- after -->\n"
        let root = try reader.parse(text)
        #expect(root.childText("A") == "tu")
        #expect(root.child("A")?.position == XMLPosition(line: 3, column: 41))
    }

    @Test func lineEndsAreNormalised() throws {
        let root = try reader.parse("<xml><A>a\r\nb\rc</A><B><![CDATA[d\r\ne]]></B></xml>")
        #expect(root.childText("A") == "a\nb\nc")
        #expect(root.childText("B") == "d\ne")
    }

    @Test func readsBytesAndRefusesInvalidUTF8() throws {
        let root = try reader.parse(bytes: Array("<xml><A>中文</A></xml>".utf8))
        #expect(root.childText("A") == "中文")
        var bytes = Array("<xml><A>x</A></xml>".utf8)
        bytes[8] = 0xFF
        do {
            _ = try reader.parse(bytes: bytes)
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.code == .invalidUTF8)
            #expect(error.position == XMLPosition(line: 1, column: 9))
        }
    }

    // MARK: Refusals

    @Test func doctypeIsRefused() {
        let error = xmlFailure("<?xml version=\"1.0\"?>\n<!DOCTYPE xml [<!ELEMENT xml ANY>]>\n<xml/>")
        #expect(error?.code == .doctypeNotAllowed)
        #expect(error?.position == XMLPosition(line: 2, column: 1))
        #expect(error?.description.hasPrefix("2:1: ") == true)
    }

    @Test func billionLaughsIsRefusedBeforeAnyExpansion() {
        var text = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            text += " <!ENTITY lol\(level) \"" + String(repeating: "&\(previous);", count: 10) + "\">\n"
        }
        text += "]>\n<lolz>&lol9;</lolz>"
        let error = xmlFailure(text)
        #expect(error?.code == .doctypeNotAllowed)
        #expect(error?.line == 2)
    }

    @Test func entityDeclarationIsRefused() {
        #expect(xmlFailure("<!ENTITY x \"y\"><xml/>")?.code == .entityDeclarationNotAllowed)
        #expect(xmlFailure("<xml><!ENTITY x \"y\"></xml>")?.code == .entityDeclarationNotAllowed)
        #expect(xmlFailure("<xml><!DOCTYPE x></xml>")?.code == .doctypeNotAllowed)
        #expect(xmlFailure("<xml><!ELEMENT x ANY></xml>")?.code == .syntax)
    }

    @Test func unknownEntityIsRefused() {
        let error = xmlFailure("<xml>\n  <A>&lol;</A></xml>")
        #expect(error?.code == .unknownEntity)
        #expect(error?.position == XMLPosition(line: 2, column: 6))
        #expect(error?.message.contains("&lol;") == true)
        #expect(xmlFailure("<xml a=\"&ext;\"/>")?.code == .unknownEntity)
        #expect(xmlFailure("<xml>& x</xml>")?.code == .syntax)
        #expect(xmlFailure("<xml>&;</xml>")?.code == .syntax)
        #expect(xmlFailure("<xml>&#0;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#x110000;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#xD800;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#12a;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#x;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#99999999999999999999;</xml>")?.code == .invalidCharacterReference)
        #expect(xmlFailure("<xml>&#1111111111111111111111111111111111111111;</xml>")?.code == .syntax)
    }

    @Test func processingInstructionsAreRefused() {
        #expect(xmlFailure("<xml><?php echo 1; ?></xml>")?.code == .processingInstructionNotAllowed)
        #expect(xmlFailure("<?xml-stylesheet href=\"a\"?><xml/>")?.code == .processingInstructionNotAllowed)
        let late = xmlFailure("\n<?xml version=\"1.0\"?><xml/>")
        #expect(late?.code == .processingInstructionNotAllowed)
        #expect(late?.position == XMLPosition(line: 2, column: 1))
        #expect(xmlFailure("<?xml version=\"1.0\" encoding=\"GBK\"?><xml/>")?.code == .unsupportedEncoding)
        #expect(xmlFailure("<?xml version=\"1.0\" encoding=GBK?><xml/>")?.code == .syntax)
    }

    @Test func mismatchedTagsAreRefused() {
        let error = xmlFailure("<xml>\n<A>text</B>\n</xml>")
        #expect(error?.code == .mismatchedTag)
        #expect(error?.position == XMLPosition(line: 2, column: 8))
        #expect(error?.message.contains("</B>") == true)
        #expect(error?.message.contains("<A> opened at 2:1") == true)
        #expect(xmlFailure("<xml></xml></xml>")?.code == .syntax)
        #expect(xmlFailure("</xml>")?.code == .syntax)
        #expect(xmlFailure("<xml/><xml/>")?.code == .contentAfterRoot)
        #expect(xmlFailure("<xml/>trailing")?.code == .contentAfterRoot)
        #expect(xmlFailure("leading<xml/>")?.code == .syntax)
    }

    @Test func depthBombIsRefused() {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let error = xmlFailure(deep, limits: StrictXMLReader.Limits(maxBytes: 1 << 20, maxDepth: 16))
        #expect(error?.code == .tooDeep)
        #expect(error?.position == XMLPosition(line: 1, column: 49))

        // Exactly at the limit is fine; one more is not.
        let atLimit = String(repeating: "<a>", count: 16) + String(repeating: "</a>", count: 16)
        #expect(throws: Never.self) { try StrictXMLReader().parse(atLimit) }
        let overLimit = String(repeating: "<a>", count: 17) + String(repeating: "</a>", count: 17)
        #expect(xmlFailure(overLimit)?.code == .tooDeep)
        #expect(xmlFailure("<a><b/></a>", limits: StrictXMLReader.Limits(maxDepth: 1))?.code == .tooDeep)

        // A huge configured limit is capped, so a very deep document cannot exhaust the
        // stack (neither while reading nor when the tree is released).
        let huge = StrictXMLReader.Limits(maxBytes: 1 << 20, maxDepth: 1_000_000)
        let capped = xmlFailure(deep, limits: huge)
        #expect(capped?.code == .tooDeep)
        #expect(capped?.message.contains("256") == true)
        let deepest = StrictXMLReader.Limits.depthCeiling
        let atCeiling = String(repeating: "<a>", count: deepest) + String(repeating: "</a>", count: deepest)
        #expect(throws: Never.self) { try StrictXMLReader(limits: huge).parse(atCeiling) }
    }

    @Test func oversizedInputIsRefused() {
        let big = "<xml><A>" + String(repeating: "x", count: 64 * 1024) + "</A></xml>"
        let error = xmlFailure(big)
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("65536") == true)
        let small = StrictXMLReader.Limits(maxBytes: 10)
        #expect(xmlFailure("<xml>12345</xml>", limits: small)?.code == .tooLarge)
        do {
            _ = try StrictXMLReader(limits: small).parse(bytes: Array("<xml>12345</xml>".utf8))
            Issue.record("oversized bytes were accepted")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test(arguments: [
        "", "   ", "<", "<x", "<xml", "<xml a", "<xml a=", "<xml a=\"1", "<xml>", "<xml><A>", "<xml><A>text",
        "<xml><A></A", "<xml><![CDATA[abc", "<xml><![CDATA[abc]]", "<xml><!-- c", "<xml><!-- c -",
        "<xml>&amp", "<xml>&#x4E", "<?xml", "<?xml version=\"1.0\"", "<!-- only a comment -->",
        "<xml><A>x</A></xml",
    ])
    func truncatedInputIsRefused(_ text: String) {
        let error = xmlFailure(text)
        #expect(
            error?.code == .unexpectedEndOfInput || error?.code == .noRootElement,
            "\(text.debugDescription) gave \(String(describing: error))"
        )
    }

    @Test func otherMalformedInput() {
        #expect(xmlFailure("<xml>a]]>b</xml>")?.code == .syntax)
        #expect(xmlFailure("<xml a=1/>")?.code == .syntax)
        #expect(xmlFailure("<xml a=\"<\"/>")?.code == .syntax)
        #expect(xmlFailure("<xml a=\"1\"b=\"2\"/>")?.code == .syntax)
        #expect(xmlFailure("<1xml/>")?.code == .syntax)
        #expect(xmlFailure("<xml><!-- a -- b --></xml>")?.code == .syntax)
        #expect(xmlFailure("<xml>\u{0001}</xml>")?.code == .invalidCharacter)
        #expect(xmlFailure("<xml>\u{FFFE}</xml>")?.code == .invalidCharacter)
        #expect(xmlFailure("<xml></ xml>")?.code == .syntax)
        #expect(xmlFailure("<xml></xml x>")?.code == .syntax)
    }

    @Test func columnsCountCharactersNotBytes() {
        let error = xmlFailure("<xml><A>中文中文&bad;</A></xml>")
        #expect(error?.position == XMLPosition(line: 1, column: 13))
    }

    /// Mutations of a real push must each parse or throw XMLError; nothing else may happen.
    @Test func mutatedInputNeverCrashes() {
        let base = Array(MassSendJobFinishFixtures.referenceSample.utf8)
        var random = CallbackTestRandom(seed: 0x584D_4C21)
        let alphabet = Array("<>/![]&;#x-?= \"'\nCDATAxml".utf8)
        var thrown = 0
        for _ in 0..<2_000 {
            var bytes = base
            for _ in 0..<random.int(in: 1...6) {
                switch random.int(in: 0...3) {
                case 0 where !bytes.isEmpty:
                    bytes.remove(at: random.int(in: 0...(bytes.count - 1)))
                case 1:
                    bytes.insert(alphabet[random.int(in: 0...(alphabet.count - 1))], at: random.int(in: 0...bytes.count))
                case 2 where !bytes.isEmpty:
                    bytes[random.int(in: 0...(bytes.count - 1))] = UInt8(truncatingIfNeeded: random.next())
                default:
                    bytes = Array(bytes.prefix(random.int(in: 0...bytes.count)))
                }
            }
            do {
                _ = try reader.parse(bytes: bytes)
            } catch {
                thrown += 1
                #expect(error.line >= 1 && error.column >= 1)
            }
        }
        #expect(thrown > 200)
    }
}

/// The fuzz loops' generator.
typealias CallbackTestRandom = SeededRandom

extension SeededRandom {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
