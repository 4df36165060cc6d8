import Foundation
import WeChatMP
import WeChatPush

/// Renders a MASSSENDJOBFINISH event as WeChat writes it (WeChatMP only parses it).
enum PushXML {
    /// The push XML. Every push carries `CopyrightCheckResult` (a text push an empty one,
    /// `Count` 0 and `CheckState` 0, as the seed's example shows); `articleResults` adds
    /// `ArticleUrlResult` (mpnews jobs).
    static func render(_ event: MassSendJobFinish, articleResults: Bool) -> String {
        var out = "<xml>"
        out += "<ToUserName>\(cdata(event.toUserName))</ToUserName>"
        out += "<FromUserName>\(cdata(event.fromUserName))</FromUserName>"
        out += "<CreateTime>\(event.createTime)</CreateTime>"
        out += "<MsgType>\(cdata(event.msgType))</MsgType>"
        out += "<Event>\(cdata(event.event))</Event>"
        out += "<MsgID>\(event.msgID)</MsgID>"
        out += "<Status>\(cdata(event.status.wechatText))</Status>"
        out += "<TotalCount>\(event.totalCount)</TotalCount>"
        out += "<FilterCount>\(event.filterCount)</FilterCount>"
        out += "<SentCount>\(event.sentCount)</SentCount>"
        out += "<ErrorCount>\(event.errorCount)</ErrorCount>"
        do {
            let check = event.copyrightCheckResult
            out += "<CopyrightCheckResult><Count>\(check.count)</Count><ResultList>"
            for item in check.items {
                out += "<item><ArticleIdx>\(item.articleIdx)</ArticleIdx>"
                if let value = item.userDeclareState { out += "<UserDeclareState>\(value)</UserDeclareState>" }
                if let value = item.auditState { out += "<AuditState>\(value)</AuditState>" }
                if let value = item.originalArticleURL { out += "<OriginalArticleUrl>\(cdata(value))</OriginalArticleUrl>" }
                if let value = item.originalArticleType { out += "<OriginalArticleType>\(value)</OriginalArticleType>" }
                if let value = item.canReprint { out += "<CanReprint>\(value ? 1 : 0)</CanReprint>" }
                if let value = item.needReplaceContent { out += "<NeedReplaceContent>\(value ? 1 : 0)</NeedReplaceContent>" }
                if let value = item.needShowReprintSource {
                    out += "<NeedShowReprintSource>\(value ? 1 : 0)</NeedShowReprintSource>"
                }
                out += "</item>"
            }
            out += "</ResultList><CheckState>\(check.checkState.rawValue)</CheckState></CopyrightCheckResult>"
        }
        if articleResults {
            let urls = event.articleURLResult
            out += "<ArticleUrlResult><Count>\(urls.count)</Count><ResultList>"
            for item in urls.items {
                out += "<item><ArticleIdx>\(item.articleIdx)</ArticleIdx><ArticleUrl>\(cdata(item.articleURL))</ArticleUrl></item>"
            }
            out += "</ResultList></ArticleUrlResult>"
        }
        out += "</xml>"
        return out
    }

    /// `<![CDATA[…]]>`, splitting any `]]>` inside.
    static func cdata(_ text: String) -> String {
        "<![CDATA[" + text.replacingOccurrences(of: "]]>", with: "]]]]><![CDATA[>") + "]]>"
    }
}
