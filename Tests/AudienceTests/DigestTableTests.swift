import Testing

@testable import Audience

/// The scanner's set of OpenID keys: what de-duplication relies on.
@Suite("OpenID key table")
struct DigestTableTests {
    static let sipKey = SipKey.random()

    static func key(_ text: String) -> OpenIDDigest {
        Array(text.utf8).withUnsafeBufferPointer { OpenIDDigest($0, key: sipKey) }
    }

    @Test("every new key is inserted once, every repeat is refused, across growth from the smallest table")
    func insertsAndRepeats() {
        var table = DigestTable()
        let ids = (0..<50_000).map { "o4WmZ0table\($0)" }
        for id in ids {
            let inserted = table.insert(Self.key(id))
            #expect(inserted, "\(id)")
        }
        let afterInserts = table.count
        #expect(afterInserts == 50_000)
        for id in ids.shuffled().prefix(5_000) {
            let inserted = table.insert(Self.key(id))
            #expect(!inserted, "\(id)")
        }
        let afterRepeats = table.count
        #expect(afterRepeats == 50_000)
        let new = table.insert(Self.key("o4WmZ0table-new"))
        #expect(new)
    }

    @Test("keys sharing a slot are told apart, and the all-zero key is not taken for an empty slot")
    func collisionsAndZero() {
        var table = DigestTable()
        table.reserve(10)
        let keys = (1...20).map { OpenIDDigest(high: 7, low: UInt64($0)) }  // all in one slot
        for key in keys {
            let inserted = table.insert(key)
            #expect(inserted)
        }
        for key in keys {
            let inserted = table.insert(key)
            #expect(!inserted)
        }
        let zero = OpenIDDigest(high: 0, low: 0)
        let zeroFirst = table.insert(zero)
        let zeroAgain = table.insert(zero)
        let nextToZero = table.insert(OpenIDDigest(high: 0, low: 1))
        #expect(zeroFirst && !zeroAgain && nextToZero)
        let count = table.count
        #expect(count == 22)
    }
}
