/// RFC 3339 date-times with an explicit offset, parsed without Foundation's formatters.
public enum RFC3339 {
    /// Seconds since 1970-01-01T00:00:00Z, or `nil` when the text is not RFC 3339 with an offset.
    public static func parse(_ s: String) -> Double? {
        let u = Array(s.utf8)
        guard u.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= u.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2),
            u[10] == 84 || u[10] == 116, let h = num(11, 2), u[13] == 58, let mi = num(14, 2), u[16] == 58,
            let sec = num(17, 2)
        else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y), h <= 23, mi <= 59, sec <= 60 else {
            return nil
        }
        var i = 19
        var fraction = 0.0
        if i < u.count, u[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                fraction += Double(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < u.count else { return nil }
        var offset = 0
        if u[i] == 90 || u[i] == 122 {
            i += 1
        } else if u[i] == 43 || u[i] == 45 {
            guard let oh = num(i + 1, 2), i + 3 < u.count, u[i + 3] == 58, let om = num(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offset = (oh * 60 + om) * 60 * (u[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == u.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        return Double(days * 86_400 + h * 3600 + mi * 60 + sec - offset) + fraction
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Durations as the format writes them: `500ms`, `30s`, `2m`, `1h`, `1d`, or sums (`1h30m`).
public enum DurationText {
    /// The duration, or `nil` when the text does not parse.
    public static func parse(_ s: String) -> Duration? {
        let u = Array(s.utf8)
        guard !u.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        while i < u.count {
            var v: Int64 = 0
            let start = i
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                v = v &* 10 &+ Int64(u[i] - 48)
                i += 1
                if v > 1_000_000_000 { return nil }
            }
            guard i > start, i < u.count else { return nil }
            let unitMs: Int64
            if u[i] == 109, i + 1 < u.count, u[i + 1] == 115 { unitMs = 1; i += 2 }  // ms
            else if u[i] == 115 { unitMs = 1000; i += 1 }
            else if u[i] == 109 { unitMs = 60_000; i += 1 }
            else if u[i] == 104 { unitMs = 3_600_000; i += 1 }
            else if u[i] == 100 { unitMs = 86_400_000; i += 1 }
            else { return nil }
            total += v * unitMs
        }
        return .milliseconds(total)
    }

    /// `d` in the largest unit that writes it whole (`90s`, `2m`, `1500ms`), as `parse` reads it.
    public static func format(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where ms != 0 && ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}
