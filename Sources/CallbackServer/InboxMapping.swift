import Foundation
import RunState
import WeChatPush

/// Turns a MASSSENDJOBFINISH push into the state store's inbox record.
public enum InboxMapping {
    /// The inbox record of `push`.
    /// - Parameters:
    ///   - push: the parsed (and, for encrypted pushes, decrypted) event.
    ///   - element: the event's root element, to tell whether `CopyrightCheckResult` and
    ///     `ArticleUrlResult` were present (absent ones are stored as `NULL`).
    ///   - receivedAt: when the listener received it.
    /// - Returns: the record: original id from `ToUserName`, `MsgID`, the `Status` text
    ///   (`send success`, `send fail`, `err(N)`), the four counts, `CheckState`, and the
    ///   article URLs as a JSON array of `{"article_idx", "article_url"}`.
    ///   - api: the API identity of the account (`ListenerAccount.api`).
    public static func event(
        from push: MassSendJobFinish, element: StrictXMLElement?, receivedAt: Date, api: String
    ) -> InboxEvent {
        let hasCopyright = element.map { $0.child("CopyrightCheckResult") != nil } ?? true
        let hasArticles = element.map { $0.child("ArticleUrlResult") != nil || $0.child("ArticleURLResult") != nil } ?? true
        return InboxEvent(
            api: api, originalID: push.toUserName, msgID: push.msgID, status: push.status.wechatText,
            totalCount: push.totalCount, filterCount: push.filterCount, sentCount: push.sentCount,
            errorCount: push.errorCount,
            copyrightCheckState: hasCopyright ? push.copyrightCheckResult.checkState.rawValue : nil,
            articlesJSON: hasArticles ? articlesJSON(push.articleURLResult.items) : nil,
            createdAt: Date(timeIntervalSince1970: TimeInterval(push.createTime)), receivedAt: receivedAt)
    }

    private struct Article: Encodable {
        var article_idx: Int
        var article_url: String
    }

    static func articlesJSON(_ items: [MassSendJobFinish.ArticleURLItem]) -> String {
        // The usual case, URLs with nothing to escape, written directly: the same bytes as
        // the encoder's below (sorted keys, slashes as they are).
        if items.allSatisfy({ $0.articleURL.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C } }) {
            var out = "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                out += #"{"article_idx":"# + String(item.articleIdx) + #","article_url":""# + item.articleURL + #""}"#
            }
            return out + "]"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let articles = items.map { Article(article_idx: $0.articleIdx, article_url: $0.articleURL) }
        guard let data = try? encoder.encode(articles) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
