/// A percentage written as text: `90%`, `99.5%`, `100%`; above 0 and at most 100.
public enum Percentage {
    /// The value (90 for `90%`), or `nil` when the text is not such a percentage. The grammar
    /// is the schema's pattern (`StringRule.percentage`): no sign, no leading zero, no
    /// spaces, a fraction only after digits.
    public static func parse(_ s: String) -> Double? {
        guard s.hasSuffix("%") else { return nil }
        let number = s.dropLast()
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit) else { return nil }
        if whole.count > 1 && whole.first == "0" { return nil }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit) else { return nil }
        }
        guard let v = Double(number), v > 0, v <= 100 else { return nil }
        return v
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// `mass/wait`'s `min_sent`: how many followers must have been sent the message for the
/// wait to succeed: a count (`min_sent: 1000`) or a share of `total_count`
/// (`min_sent: "90%"`).
public enum DeliveryThreshold: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    /// A percentage above 0 and at most 100.
    case percent(Double)

    /// Reads the value written in the pipeline (an integer ≥ 1 or a string like `"90%"`).
    public init?(_ value: Value) {
        switch value {
        case .integer(let n) where n >= 1: self = .count(n)
        case .string(let s):
            guard let p = Percentage.parse(s) else { return nil }
            self = .percent(p)
        default: return nil
        }
    }

    /// The number of sent messages that meets the threshold, out of `total`.
    public func required(total: Int) -> Int {
        switch self {
        case .count(let n): n
        // (The small margin keeps 90% of 30,000 at 27,000 despite binary fractions.)
        case .percent(let p): max(0, Int((Double(total) * p / 100 - 1e-9).rounded(.up)))
        }
    }

    public var description: String {
        switch self {
        case .count(let n): "\(n)"
        case .percent(let p): (p == p.rounded() ? String(Int(p)) : String(p)) + "%"
        }
    }
}
