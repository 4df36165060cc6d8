import Audience
import Testing

@Suite("Batch plan")
struct BatchPlanTests {
    @Test(
        "WeChat limit of 10,000: fewest batches, balanced, larger first",
        arguments: [
            (0, []),
            (1, []),
            (2, [2]),
            (3, [3]),
            (9_999, [9_999]),
            (10_000, [10_000]),
            (10_001, [5_001, 5_000]),
            (20_000, [10_000, 10_000]),
            (20_001, [6_667, 6_667, 6_667]),
            (20_002, [6_668, 6_667, 6_667]),
            (30_001, [7_501, 7_500, 7_500, 7_500]),
            (1_000_000, Array(repeating: 10_000, count: 100)),
            (1_000_001, Array(repeating: 9_901, count: 101)),
        ] as [(Int, [Int])]
    )
    func wechatSizes(count: Int, expected: [Int]) {
        #expect(BatchPlan.sizes(count: count) == expected)
    }

    @Test(
        "a small maximum batch size",
        arguments: [
            (5, 5, [5]),
            (6, 5, [3, 3]),
            (11, 5, [4, 4, 3]),
            (16, 5, [4, 4, 4, 4]),
            (7, 3, [3, 2, 2]),
            (4, 3, [2, 2]),
            // Below 3 the plan uses 3: an odd audience cannot be cut into pairs.
            (3, 2, [3]),
            (5, 1, [3, 2]),
        ] as [(Int, Int, [Int])]
    )
    func smallSizes(count: Int, maxBatchSize: Int, expected: [Int]) {
        #expect(BatchPlan.sizes(count: count, maxBatchSize: maxBatchSize) == expected)
    }

    @Test("every plan: adds up, at most the maximum, at least 2, balanced, fewest batches")
    func invariants() {
        for maxBatchSize in 3...15 {
            for count in 2...300 {
                let sizes = BatchPlan.sizes(count: count, maxBatchSize: maxBatchSize)
                #expect(sizes.reduce(0, +) == count)
                #expect(sizes.count == (count + maxBatchSize - 1) / maxBatchSize)
                #expect(sizes.allSatisfy { $0 >= 2 && $0 <= maxBatchSize })
                #expect(sizes == sizes.sorted(by: >))
                #expect(sizes.max()! - sizes.min()! <= 1)
            }
        }
    }
}
