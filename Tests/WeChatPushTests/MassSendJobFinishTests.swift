import Foundation
import Testing

@testable import WeChatPush

/// MASSSENDJOBFINISH pushes used as fixtures.
enum MassSendJobFinishFixtures {
    /// The reference sheet's sample (section 5), with the seed article's account IDs in
    /// place of the sheet's ellipses.
    static let referenceSample = """
        <xml><ToUserName><![CDATA[gh_6b9aa8a6f1e2]]></ToUserName><FromUserName><![CDATA[o4WmZ0qcNsoRiDW9LEi1X1gWVBZ0]]></FromUserName>
        <CreateTime>1505397941</CreateTime><MsgType><![CDATA[event]]></MsgType>
        <Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1000000001</MsgID>
        <Status><![CDATA[send success]]></Status><TotalCount>1</TotalCount>
        <FilterCount>1</FilterCount><SentCount>1</SentCount><ErrorCount>0</ErrorCount>
        <CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>0</CheckState></CopyrightCheckResult>
        <ArticleUrlResult><Count>0</Count><ResultList></ResultList></ArticleUrlResult></xml>
        """

    /// The seed article's push, verbatim: whitespace around every CDATA section, and no
    /// `ArticleUrlResult`.
    static let seedArticle = """
        <xml>
            <ToUserName>
                <![CDATA[gh_6b9aa8a6f1e2]]>
            </ToUserName>
            <FromUserName>
                <![CDATA[o4WmZ0qcNsoRiDW9LEi1X1gWVBZ0]]>
            </FromUserName>
            <CreateTime>1505397941</CreateTime>
            <MsgType>
                <![CDATA[event]]>
            </MsgType>
            <Event>
                <![CDATA[MASSSENDJOBFINISH]]>
            </Event>
            <MsgID>1000000001</MsgID>
            <Status>
                <![CDATA[send success]]>
            </Status>
            <TotalCount>1</TotalCount>
            <FilterCount>1</FilterCount>
            <SentCount>1</SentCount>
            <ErrorCount>0</ErrorCount>
            <CopyrightCheckResult>
                <Count>0</Count>
                <ResultList></ResultList>
                <CheckState>0</CheckState>
            </CopyrightCheckResult>
        </xml>
        """

    /// A reprint-blocked push with copyright items and article URLs (written for these tests
    /// after the official field list), using `MsgId` and CRLF line ends.
    static let withResults = """
        <?xml version="1.0" encoding="UTF-8"?>\r
        <xml>\r
        <ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>\r
        <FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>\r
        <CreateTime>1481013459</CreateTime>\r
        <MsgType><![CDATA[event]]></MsgType>\r
        <Event><![CDATA[MASSSENDJOBFINISH]]></Event>\r
        <MsgId>3147483654</MsgId>\r
        <Status><![CDATA[err(30003)]]></Status>\r
        <TotalCount>20000</TotalCount>\r
        <FilterCount>19980</FilterCount>\r
        <SentCount>0</SentCount>\r
        <ErrorCount>19980</ErrorCount>\r
        <CopyrightCheckResult>\r
        <Count>2</Count>\r
        <ResultList>\r
        <item>\r
        <ArticleIdx>1</ArticleIdx>\r
        <UserDeclareState>0</UserDeclareState>\r
        <AuditState>2</AuditState>\r
        <OriginalArticleUrl><![CDATA[https://mp.weixin.qq.com/s?__biz=original&amp;mid=1]]></OriginalArticleUrl>\r
        <OriginalArticleType>1</OriginalArticleType>\r
        <CanReprint>1</CanReprint>\r
        <NeedReplaceContent>1</NeedReplaceContent>\r
        <NeedShowReprintSource>1</NeedShowReprintSource>\r
        </item>\r
        <item>\r
        <ArticleIdx>2</ArticleIdx>\r
        <UserDeclareState>0</UserDeclareState>\r
        <AuditState>2</AuditState>\r
        <OriginalArticleUrl>https://example.com/a?x=1&amp;y=2</OriginalArticleUrl>\r
        <OriginalArticleType>1</OriginalArticleType>\r
        <CanReprint>0</CanReprint>\r
        <NeedReplaceContent>0</NeedReplaceContent>\r
        <NeedShowReprintSource>1</NeedShowReprintSource>\r
        </item>\r
        </ResultList>\r
        <CheckState>3</CheckState>\r
        </CopyrightCheckResult>\r
        <ArticleUrlResult>\r
        <Count>1</Count>\r
        <ResultList>\r
        <item>\r
        <ArticleIdx>1</ArticleIdx>\r
        <ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/abc]]></ArticleUrl>\r
        </item>\r
        </ResultList>\r
        </ArticleUrlResult>\r
        </xml>\r

        """

    static let expectedSample = MassSendJobFinish(
        toUserName: "gh_6b9aa8a6f1e2",
        fromUserName: "o4WmZ0qcNsoRiDW9LEi1X1gWVBZ0",
        createTime: 1_505_397_941,
        msgID: 1_000_000_001,
        status: .success,
        totalCount: 1,
        filterCount: 1,
        sentCount: 1,
        errorCount: 0
    )
}

@Suite("MASSSENDJOBFINISH parsing")
struct MassSendJobFinishTests {
    @Test func referenceSampleParses() throws {
        let event = try MassSendJobFinish(xml: MassSendJobFinishFixtures.referenceSample)
        #expect(event == MassSendJobFinishFixtures.expectedSample)
        #expect(event.msgType == "event")
        #expect(event.event == "MASSSENDJOBFINISH")
        #expect(event.copyrightCheckResult.checkState == .none)
        #expect(event.articleURLResult.items.isEmpty)
    }

    @Test func seedArticleParsesIdentically() throws {
        let seed = try MassSendJobFinish(xml: MassSendJobFinishFixtures.seedArticle)
        let reference = try MassSendJobFinish(xml: MassSendJobFinishFixtures.referenceSample)
        #expect(seed == reference)
        #expect(seed.toUserName == "gh_6b9aa8a6f1e2")
        #expect(seed.status == .success)
    }

    @Test func fullResultsParse() throws {
        let event = try MassSendJobFinish(xml: MassSendJobFinishFixtures.withResults)
        #expect(event.msgID == 3_147_483_654)
        #expect(event.status == .error(code: 30003, meaning: "judged a reprint and send_ignore_reprint was 0"))
        #expect(event.status.isOriginalityFailure)
        #expect(event.totalCount == 20000)
        #expect(event.filterCount == 19980)
        #expect(event.sentCount == 0)
        #expect(event.errorCount == 19980)
        let copyright = event.copyrightCheckResult
        #expect(copyright.count == 2)
        #expect(copyright.checkState == .reprintBlocked)
        #expect(copyright.checkState.meaning == "reprint blocked")
        #expect(copyright.items.count == 2)
        #expect(
            copyright.items.first
                == MassSendJobFinish.CopyrightCheckItem(
                    articleIdx: 1,
                    userDeclareState: 0,
                    auditState: 2,
                    originalArticleURL: "https://mp.weixin.qq.com/s?__biz=original&amp;mid=1",
                    originalArticleType: 1,
                    canReprint: true,
                    needReplaceContent: true,
                    needShowReprintSource: true
                )
        )
        #expect(copyright.items.last?.originalArticleURL == "https://example.com/a?x=1&y=2")
        #expect(copyright.items.last?.canReprint == false)
        #expect(
            event.articleURLResult
                == MassSendJobFinish.ArticleURLResult(
                    count: 1,
                    items: [MassSendJobFinish.ArticleURLItem(articleIdx: 1, articleURL: "https://mp.weixin.qq.com/s/abc")]
                )
        )
    }

    @Test(arguments: [
        ("send success", MassSendJobFinish.JobStatus.success),
        ("  Send Success ", .success),
        ("send fail", .fail),
        ("err(10001)", .error(code: 10001, meaning: "advertising")),
        ("err(20001)", .error(code: 20001, meaning: "politics")),
        ("err(20002)", .error(code: 20002, meaning: "pornography")),
        ("err(20004)", .error(code: 20004, meaning: "society")),
        ("err(20006)", .error(code: 20006, meaning: "crime")),
        ("err(20008)", .error(code: 20008, meaning: "fraud")),
        ("err(20013)", .error(code: 20013, meaning: "copyright")),
        ("err(21000)", .error(code: 21000, meaning: "other")),
        ("err(22000)", .error(code: 22000, meaning: "mutual promotion")),
        ("err(30001)", .error(code: 30001, meaning: "originality check failed (error)")),
        ("err(30002)", .error(code: 30002, meaning: "originality check: not sendable")),
        ("err(30003)", .error(code: 30003, meaning: "judged a reprint and send_ignore_reprint was 0")),
        ("err(99999)", .error(code: 99999, meaning: "unknown reason 99999")),
        ("err( 20002 )", .error(code: 20002, meaning: "pornography")),
        ("err(abc)", .unrecognized("err(abc)")),
        ("sending", .unrecognized("sending")),
    ])
    func statusParses(_ text: String, _ expected: MassSendJobFinish.JobStatus) {
        #expect(MassSendJobFinish.JobStatus(parsing: text) == expected)
    }

    @Test func statusDescriptions() {
        #expect(MassSendJobFinish.JobStatus(parsing: "err(20002)").description == "err(20002): pornography")
        #expect(MassSendJobFinish.JobStatus.success.wechatText == "send success")
        #expect(MassSendJobFinish.CheckState(rawValue: 1).meaning == "not a reprint")
        #expect(MassSendJobFinish.CheckState(rawValue: 2).meaning == "reprint sent")
        #expect(MassSendJobFinish.CheckState(rawValue: 7).meaning == "unknown check state 7")
    }

    @Test func codableRoundTrip() throws {
        let event = try MassSendJobFinish(xml: MassSendJobFinishFixtures.withResults)
        let data = try JSONEncoder().encode(event)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"status\":\"err(30003)\""))
        #expect(json.contains("\"checkState\":3"))
        #expect(try JSONDecoder().decode(MassSendJobFinish.self, from: data) == event)
    }

    @Test func missingOrInvalidFieldsAreClearErrors() {
        func failure(_ xml: String) -> CallbackError? {
            do {
                _ = try MassSendJobFinish(xml: xml)
                return nil
            } catch {
                return error
            }
        }
        let sample = MassSendJobFinishFixtures.referenceSample
        let noMsgID = failure(sample.replacingOccurrences(of: "<MsgID>1000000001</MsgID>", with: ""))
        #expect(noMsgID?.code == .missingField)
        #expect(noMsgID?.message.contains("MsgID or MsgId") == true)
        let badCount = failure(sample.replacingOccurrences(of: "<TotalCount>1<", with: "<TotalCount>many<"))
        #expect(badCount?.code == .invalidField)
        #expect(badCount?.message.contains("xml/TotalCount at 4:42") == true)
        let other = failure(sample.replacingOccurrences(of: "MASSSENDJOBFINISH", with: "subscribe"))
        #expect(other?.code == .unexpectedMessage)
        let malformed = failure(String(sample.dropLast(3)))
        #expect(malformed?.code == .malformedXML)
        #expect(malformed?.xmlError?.code == .unexpectedEndOfInput)
        let noArticleIdx = failure(
            sample.replacingOccurrences(
                of: "<ArticleUrlResult><Count>0</Count><ResultList></ResultList>",
                with: "<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleUrl>u</ArticleUrl></item></ResultList>"
            )
        )
        #expect(noArticleIdx?.code == .missingField)
    }

    @Test func absentResultsReadAsEmpty() throws {
        var xml = MassSendJobFinishFixtures.referenceSample
        xml = xml.replacingOccurrences(
            of: "<CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>0</CheckState></CopyrightCheckResult>",
            with: ""
        )
        xml = xml.replacingOccurrences(of: "<ArticleUrlResult><Count>0</Count><ResultList></ResultList></ArticleUrlResult>", with: "")
        let event = try MassSendJobFinish(xml: xml)
        #expect(event == MassSendJobFinishFixtures.expectedSample)
        // An empty element reads as empty too.
        let empty = try MassSendJobFinish(
            xml: MassSendJobFinishFixtures.referenceSample.replacingOccurrences(
                of: "<ArticleUrlResult><Count>0</Count><ResultList></ResultList></ArticleUrlResult>",
                with: "<ArticleUrlResult/>"
            )
        )
        #expect(empty == MassSendJobFinishFixtures.expectedSample)
    }

    @Test func genericEventEnvelope() throws {
        let mass = try CallbackEvent(xml: MassSendJobFinishFixtures.seedArticle)
        #expect(mass.msgType == "event")
        #expect(mass.event == "MASSSENDJOBFINISH")
        #expect(mass.toUserName == "gh_6b9aa8a6f1e2")
        #expect(mass.createTime == 1_505_397_941)
        #expect(mass.isMassSendJobFinish)
        #expect(try MassSendJobFinish(element: mass.root) == MassSendJobFinishFixtures.expectedSample)

        let subscribe = try CallbackEvent(
            xml: "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
                + "<CreateTime>123</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
        )
        #expect(subscribe.event == "subscribe")
        #expect(!subscribe.isMassSendJobFinish)

        let text = try CallbackEvent(xml: "<xml><MsgType>text</MsgType><Content>hi</Content></xml>")
        #expect(text.msgType == "text")
        #expect(text.event == nil)
        #expect(text.root.childText("Content") == "hi")

        do {
            _ = try CallbackEvent(xml: "<xml><ToUserName>gh</ToUserName><Encrypt>abc</Encrypt></xml>")
            Issue.record("an encrypted envelope was read as an event")
        } catch {
            #expect(error.code == .missingField)
            #expect(error.message.contains("decrypt it first"))
        }
    }
}
