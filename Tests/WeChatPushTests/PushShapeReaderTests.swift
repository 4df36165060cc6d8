import Foundation
import Testing

@testable import WeChatPush

/// What a reader made of an input: the tree, or the error.
private enum Reading: Equatable {
    case element(StrictXMLElement)
    case error(XMLError)
}

private func reading(_ read: () throws(XMLError) -> StrictXMLElement) -> Reading {
    do { return .element(try read()) } catch { return .error(error) }
}

/// The push-shape reader alone (`nil`: it leaves the input to the general parser).
private func shapeReader(_ bytes: [UInt8], limits: StrictXMLReader.Limits = .init()) -> StrictXMLElement? {
    bytes.withUnsafeBufferPointer { PushShapeReader.read($0, limits: limits) }
}

/// The reader as the listener uses it (the push-shape reader first) and the general parser
/// alone must give the same tree, or the same error, for every input.
private func expectSameReading(
    _ bytes: [UInt8], limits: StrictXMLReader.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation
) {
    let reader = StrictXMLReader(limits: limits)
    let general = reading { () throws(XMLError) in try reader.parseGeneral(bytes: bytes) }
    #expect(reading { () throws(XMLError) in try reader.parse(bytes: bytes) } == general,
            "\(String(decoding: bytes, as: UTF8.self).debugDescription)", sourceLocation: sourceLocation)
    #expect(reading { () throws(XMLError) in try reader.parse(String(decoding: bytes, as: UTF8.self)) }
            == reading { () throws(XMLError) in try reader.parseGeneral(String(decoding: bytes, as: UTF8.self)) },
            sourceLocation: sourceLocation)
    if let fast = shapeReader(bytes, limits: limits) {
        #expect(Reading.element(fast) == general, sourceLocation: sourceLocation)
    }
}

@Suite("The reader for the shape of WeChat's pushes")
struct PushShapeReaderTests {
    static let envelope = """
        <xml><ToUserName><![CDATA[gh_1a2b3c4d5e6f]]></ToUserName><Encrypt><![CDATA[\
        q9Hk1Lw+Zx/8aB0cDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefghijABCDEFGHIJ==]]></Encrypt></xml>
        """
    static let massSendJobFinish = """
        <xml>
        <ToUserName><![CDATA[gh_1a2b3c4d5e6f]]></ToUserName>
        <FromUserName><![CDATA[oR5GjjgEhCMJFyzaVZdrxZ2zRRF4]]></FromUserName>
        <CreateTime>1741572000</CreateTime>
        <MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[MASSSENDJOBFINISH]]></Event>
        <MsgID>1000000001</MsgID>
        <Status><![CDATA[send success]]></Status>
        <TotalCount>100</TotalCount>
        <FilterCount>80</FilterCount>
        <SentCount>75</SentCount>
        <ErrorCount>5</ErrorCount>
        <CopyrightCheckResult>
        \t<Count>2</Count>
        \t<ResultList>
        \t\t<item>
        \t\t\t<ArticleIdx>1</ArticleIdx>
        \t\t\t<UserDeclareState>0</UserDeclareState>
        \t\t\t<AuditState>2</AuditState>
        \t\t\t<OriginalArticleUrl><![CDATA[Url_1]]></OriginalArticleUrl>
        \t\t\t<OriginalArticleType>1</OriginalArticleType>
        \t\t\t<CanReprint>1</CanReprint>
        \t\t\t<NeedReplaceContent>1</NeedReplaceContent>
        \t\t\t<NeedShowReprintSource>1</NeedShowReprintSource>
        \t\t</item>
        \t</ResultList>
        \t<CheckState>2</CheckState>
        </CopyrightCheckResult>
        <ArticleUrlResult>
        \t<Count>1</Count>
        \t<ResultList>
        \t\t<item>
        \t\t\t<ArticleIdx>1</ArticleIdx>
        \t\t\t<ArticleUrl><![CDATA[https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1]]></ArticleUrl>
        \t\t</item>
        \t</ResultList>
        </ArticleUrlResult>
        </xml>
        """

    @Test("the encrypted envelope and a MASSSENDJOBFINISH message are read by it, to the general parser's tree")
    func readsThePushes() throws {
        for text in [Self.envelope, Self.massSendJobFinish, "  \n<xml><A>中文 text</A><B><![CDATA[推送]]></B></xml>\n",
                     "<xml><A></A><B> </B><C>\n</C><D><![CDATA[]]></D><E>\t<![CDATA[x]]>\n</E></xml>"] {
            let bytes = Array(text.utf8)
            let fast = try #require(shapeReader(bytes), "not taken: \(text.prefix(60))")
            #expect(fast == (try StrictXMLReader().parseGeneral(bytes: bytes)))
            expectSameReading(bytes)
        }
        let push = try MassSendJobFinish(xml: Self.massSendJobFinish)
        #expect(push.msgID == 1_000_000_001 && push.sentCount == 75)
        #expect(push.articleURLResult.items.first?.articleURL == "https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1")
    }

    @Test("CDATA edge cases, entities, whitespace, declarations, malformed input: the same tree or the same error")
    func edgeCases() {
        let cases = [
            "<xml><A><![CDATA[a]]b]>c]]></A></xml>", "<xml><A><![CDATA[]]]]></A></xml>",
            "<xml><A><![CDATA[<B>x</B>]]></A></xml>", "<xml><A><![CDATA[x]]><![CDATA[y]]></A></xml>",
            "<xml><A>x<![CDATA[y]]></A></xml>", "<xml><A><![CDATA[x]]>z</A></xml>", "<xml><A><![CDATA[x]]</A></xml>",
            "<xml><A><![CDATA[x</A></xml>", "<xml><A><![cdata[x]]></A></xml>", "<xml><A>a]b</A></xml>",
            "<xml><A>a]]>b</A></xml>", "<xml><A>&lt;&amp;&#x4E2D;&#20013;</A></xml>", "<xml><A>&bogus;</A></xml>",
            "<xml><A>&</A></xml>", "<xml><A>x\r\ny</A></xml>", "<xml>\r\n<A>x</A>\r\n</xml>",
            "<xml><A><![CDATA[x\r\ny]]></A></xml>", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><A>x</A></xml>",
            "\u{FEFF}<xml><A>x</A></xml>", "<!DOCTYPE xml><xml/>", "<xml><!-- c --><A>x</A></xml>",
            "<xml><A a=\"1\">x</A></xml>", "<xml><A/></xml>", "<xml><A >x</A ></xml>", "<xml><A>x</B></xml>",
            "<xml><A>x</AB></xml>", "<xml><AB>x</A></xml>", "<xml><A>x</A>", "<xml><A>x", "<xml>", "", "   ",
            "<xml></xml><xml></xml>", "<xml></xml>trailing", "text<xml></xml>", "<xml><A>x</A>y</xml>",
            "<xml>y<A>x</A></xml>", "<xml><1A>x</1A></xml>", "<xml><a-b>x</a-b></xml>", "<xml><ns:A>x</ns:A></xml>",
            "<xml><A>\u{1}</A></xml>", "<xml><A>\u{7F}</A></xml>", "<xml><A>\u{FFFE}</A></xml>",
            "<xml><A><![CDATA[\u{8}]]></A></xml>", "<xml><中>x</中></xml>", "<xml><A>\t</A>\t</xml>",
            "<xml><A><B><C><D>deep</D></C></B></A></xml>", "<xml><?pi x?></xml>", "<xml><A>x</A></xml >",
            "</xml>", "<xml><A>x</A></xml></xml>", "<xml><A>x</A><</xml>", "<xml><", "<", "<x",
        ]
        for text in cases { expectSameReading(Array(text.utf8)) }
        // Invalid UTF-8 in text and in CDATA, a truncated sequence at the end.
        for bytes: [UInt8] in [[0x3C, 0x78, 0x3E, 0xC3, 0x28, 0x3C, 0x2F, 0x78, 0x3E],
                               Array("<x><![CDATA[".utf8) + [0xED, 0xA0, 0x80] + Array("]]></x>".utf8),
                               Array("<x>".utf8) + [0xE4, 0xB8]] {
            expectSameReading(bytes)
        }
        // Depth and size limits: the general parser's errors.
        let deep = "<xml><A><B><C>x</C></B></A></xml>"
        expectSameReading(Array(deep.utf8), limits: .init(maxDepth: 3))
        expectSameReading(Array(deep.utf8), limits: .init(maxDepth: 4))
        expectSameReading(Array(deep.utf8), limits: .init(maxBytes: 10))
        #expect(shapeReader(Array(deep.utf8), limits: .init(maxDepth: 3)) == nil)
    }

    @Test("generated pushes, reordered and re-spaced, and their mutations: the same tree or the same error")
    func generated() {
        var rng = CallbackTestRandom(seed: 0x5EED)
        let names = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "MsgID", "Status", "Encrypt",
                     "item", "ResultList", "Count", "A", "b_2"]
        // Texts and spaces of the shape, and (one pick in eight) ones that are not.
        let plainTexts = ["gh_1", "", " ", "send success", "err(30003)", "中文", "1741572000", "q9Hk+/==",
                          "line\nnext", "tab\there"]
        let otherTexts = ["a]b", "x&amp;y", "]]", "<", "&#65;", "a\rb", "\u{1}"]
        let plainSpaces = ["", " ", "\n", "\t", "\n\t\t"]
        let otherSpaces = ["\r\n", "\r"]
        func pick<T>(_ array: [T]) -> T { array[Int(rng.next() % UInt64(array.count))] }
        var texts: [String] { rng.next() % 8 == 0 ? otherTexts : plainTexts }
        var spaces: [String] { rng.next() % 8 == 0 ? otherSpaces : plainSpaces }
        func element(_ depth: Int) -> String {
            let name = pick(names)
            var out = "<\(name)>"
            switch rng.next() % (depth < 3 ? 4 : 3) {
            case 0: out += pick(texts)
            case 1: out += pick(spaces) + "<![CDATA[" + pick(texts) + "]]>" + pick(spaces)
            case 2: out += ""
            default:
                for _ in 0..<(1 + rng.next() % 4) { out += pick(spaces) + element(depth + 1) }
                out += pick(spaces)
            }
            return out + "</\(name)>"
        }
        var taken = 0
        let count = 600
        for _ in 0..<count {
            let document = pick(plainSpaces) + "<xml>" + element(1) + element(1)
                + element(1) + pick(spaces) + "</xml>"
            let bytes = Array(document.utf8)
            if shapeReader(bytes) != nil { taken += 1 }
            expectSameReading(bytes)
            // A mutation: cut short, a byte changed, or a byte dropped.
            var mutated = bytes
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 3 {
            case 0: mutated = Array(bytes[..<at])
            case 1: mutated[at] = pick(Array("<>/&]![ \r\u{1}x".utf8) + [0xFF, 0xC3])
            default: mutated.remove(at: at)
            }
            expectSameReading(mutated)
        }
        // The generator makes both kinds: most documents are of the shape, some are not.
        #expect(taken > count / 10 && taken < count, "the shape reader took \(taken) of \(count)")
    }
}

extension PushShapeReaderTests {
    @Test("the fuzz-push corpus: every payload read the same by both readers")
    func fuzzCorpus() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/corpus/push").standardizedFileURL
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count > 100, "the corpus at \(folder.path) has \(names.count) files")
        var taken = 0
        for name in names {
            // The first byte picks the fuzz target's mode; the rest is a body or a message.
            let payload = Array(try Data(contentsOf: folder.appendingPathComponent(name)).dropFirst())
            if shapeReader(payload) != nil { taken += 1 }
            expectSameReading(payload)
        }
        #expect(taken > 0, "the shape reader took none of the \(names.count) payloads")
    }
}
