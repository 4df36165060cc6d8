import WeChatLimits

/// How a `mass/send` audience is split into calls of `message/mass/send`, which takes 2 to
/// 10,000 OpenIDs each.
public enum BatchPlan {
    /// The sizes of the fewest batches of at most `maxBatchSize` that hold `count` OpenIDs,
    /// balanced: sizes differ by at most one, larger first, so none has fewer than 2.
    ///
    /// `sizes(count: 10_001)` is `[5001, 5000]`, `sizes(count: 20_001)` is
    /// `[6667, 6667, 6667]`. Returns `[]` when `count < 2` (an audience of 0 or 1 cannot be
    /// sent; the scanner reports that as an error). A `maxBatchSize` below 3 is taken as 3,
    /// the smallest that can split every count of at least 2 into batches of at least 2.
    public static func sizes(count: Int, maxBatchSize: Int = WeChatLimits.MassSend.maxOpenIDs) -> [Int] {
        guard count >= 2 else { return [] }
        let limit = Swift.max(3, maxBatchSize)
        let batchCount = (count + limit - 1) / limit
        let base = count / batchCount
        let larger = count % batchCount
        var sizes = [Int](repeating: base, count: batchCount)
        for index in 0..<larger { sizes[index] += 1 }
        return sizes
    }
}
