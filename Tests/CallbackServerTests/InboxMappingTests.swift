@testable import CallbackServer
import Foundation
import Testing
import WeChatPush

@Suite("InboxMapping: the articles JSON stored with a push")
struct InboxMappingTests {
    /// What `JSONEncoder` writes for the articles, the stored format since the first listener.
    private func encoded(_ items: [MassSendJobFinish.ArticleURLItem]) throws -> String {
        struct Article: Encodable {
            var article_idx: Int
            var article_url: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(items.map { Article(article_idx: $0.articleIdx, article_url: $0.articleURL) })
        return String(decoding: data, as: UTF8.self)
    }

    @Test("the articles JSON is byte for byte what JSONEncoder writes, with or without characters to escape")
    func sameBytesAsTheEncoder() throws {
        let cases: [[MassSendJobFinish.ArticleURLItem]] = [
            [],
            [.init(articleIdx: 1, articleURL: "https://mp.weixin.qq.com/s?__biz=x&mid=1000000101&idx=1")],
            [.init(articleIdx: 1, articleURL: "http://a/b"), .init(articleIdx: 2, articleURL: "https://例え.jp/記事?q=<&>'")],
            [.init(articleIdx: 0, articleURL: "")],
            [.init(articleIdx: 3, articleURL: #"https://x/"quoted"\back"#)],
            [.init(articleIdx: 1, articleURL: "https://x/\ttab\nline\u{1}")],
        ]
        for items in cases {
            #expect(InboxMapping.articlesJSON(items) == (try encoded(items)), "\(items)")
        }
    }
}
