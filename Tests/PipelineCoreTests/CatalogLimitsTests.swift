import Testing
import WeChatLimits
@testable import PipelineCore

/// The step catalog reads WeChat's limits from `WeChatLimits`, so `validate`, the JSON Schema
/// and the client cannot disagree about them.
@Suite("Catalog: WeChat limits read from WeChatLimits")
struct CatalogLimitsTests {
    func listBounds(_ kind: String, _ path: [String]) throws -> (min: Int?, max: Int?) {
        var spec = try #require(Catalog.kind(kind)?.with)
        for name in path.dropLast() {
            guard case .object(let inner) = try #require(spec.field(name)).type else {
                Issue.record("\(name) is not an object")
                return (nil, nil)
            }
            spec = inner
        }
        let field = try #require(spec.field(path.last!))
        switch field.type {
        case .list(_, let min, let max): return (min, max)
        case .integer(let min, let max): return (min, max)
        default:
            Issue.record("\(path) is neither a list nor an integer")
            return (nil, nil)
        }
    }

    @Test func boundsAreWeChatsLimits() throws {
        let touser = try listBounds("mass/send", ["touser"])
        #expect(touser.min == WeChatLimits.MassSend.minOpenIDs && touser.max == WeChatLimits.MassSend.maxOpenIDs)
        #expect(touser.min == 2 && touser.max == 10_000)
        let articles = try listBounds("media/uploadnews", ["articles"])
        #expect(articles.min == 1 && articles.max == 8)
        #expect(articles.min == WeChatLimits.MassSend.articlesPerNews.lowerBound)
        #expect(articles.max == WeChatLimits.MassSend.articlesPerNews.upperBound)
        let images = try listBounds("mass/sendall", ["images", "media_ids"])
        #expect(images.min == 1 && images.max == 8)
        let speed = try listBounds("mass/speed", ["speed"])
        #expect(speed.min == 0 && speed.max == 4)
    }

    @Test func docsNameTheLimits() throws {
        #expect(Catalog.kind("mass/send")?.doc == "Send to a list of OpenIDs, in batches of at most 10,000")
        #expect(try #require(Catalog.kind("mass/send")?.with.field("touser")).doc
            == "2 to 10,000 OpenIDs; larger audiences go in touser_file")
        #expect(try #require(Catalog.kind("mass/speed")?.with.field("speed")).doc
            == "0..4 = 80, 60, 45, 30, 10 ×10,000 a minute; absent: only read")
    }
}
