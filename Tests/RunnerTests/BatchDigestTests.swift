import Testing
@testable import Runner

/// The journal's content digest of a `mass/send` batch (`Idempotency.batchDigest`) must change
/// whenever what the batch sends changes, or an edited pipeline could adopt a batch sent
/// with other content or to other people.
@Suite("mass/send batch digest")
struct BatchDigestTests {
    let payload = #"{"msgtype":"text","text":{"content":"hello"}}"#
    let ids = (0..<10_000).map { "o4WmZ0" + String($0, radix: 16).padding(toLength: 22, withPad: "x", startingAt: 0) }

    @Test func stable() {
        #expect(Idempotency.batchDigest(payloadJSON: payload, openIDs: ids)
            == Idempotency.batchDigest(payloadJSON: payload, openIDs: ids))
        #expect(Idempotency.batchDigest(payloadJSON: payload, openIDs: ids).count == 64)
    }

    @Test func changesWithContentAudienceAndOrder() {
        let base = Idempotency.batchDigest(payloadJSON: payload, openIDs: ids)
        var other = ids
        other[9_999] = "o4WmZ0yyyyyyyyyyyyyyyyyyyyyy"
        var fewer = ids
        fewer.removeLast()
        var swapped = ids
        swapped.swapAt(0, 1)
        let variants = [
            Idempotency.batchDigest(payloadJSON: #"{"msgtype":"text","text":{"content":"hello!"}}"#, openIDs: ids),
            Idempotency.batchDigest(payloadJSON: payload, openIDs: other),
            Idempotency.batchDigest(payloadJSON: payload, openIDs: fewer),
            Idempotency.batchDigest(payloadJSON: payload, openIDs: swapped),
            Idempotency.batchDigest(payloadJSON: payload, openIDs: ids + ["o4WmZ0zzzzzzzzzzzzzzzzzzzzzz"]),
        ]
        for v in variants { #expect(v != base) }
        #expect(Set(variants).count == variants.count)
    }

    @Test func boundariesAreUnambiguous() {
        #expect(Idempotency.batchDigest(payloadJSON: payload, openIDs: ["ab", "c"])
            != Idempotency.batchDigest(payloadJSON: payload, openIDs: ["a", "bc"]))
        #expect(Idempotency.batchDigest(payloadJSON: payload + "a", openIDs: ["b"])
            != Idempotency.batchDigest(payloadJSON: payload, openIDs: ["ab"]))
    }
}
