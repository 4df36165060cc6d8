import Foundation

/// Dates as they are stored: integer milliseconds since 1970, exact to the millisecond (both
/// stores keep dates this way, so a record reads back equal from either).
public enum Millis {
    /// The largest magnitude kept (about ±285 000 years); beyond, dates are clamped.
    private static let limit = 9_007_199_254_740_992.0  // 2^53

    public static func encode(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        guard ms.isFinite else { return ms < 0 ? -Int64(limit) : Int64(limit) }
        return Int64(min(max(ms, -limit), limit))
    }

    public static func encode(_ date: Date?) -> Int64? { date.map { encode($0) } }

    public static func decode(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    public static func decode(_ ms: Int64?) -> Date? { ms.map { decode($0) } }

    /// The date as it will read back from the store.
    public static func normalize(_ date: Date) -> Date { decode(encode(date)) }
    public static func normalize(_ date: Date?) -> Date? { date.map { normalize($0) } }
}
