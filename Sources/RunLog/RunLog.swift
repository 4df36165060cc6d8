import Foundation
import PipelineCore

// RunLog: where masscast's words go.
//
// - `LogSink`: one destination for whole lines (a file descriptor, or memory for tests),
//   lock-protected so that lines from concurrent tasks never interleave, and aware of the
//   live status line a `ProgressLine` draws at the bottom of a terminal.
// - `JSONLogHandler` (one JSON object per line) and `TextLogHandler` (readable lines for a
//   terminal): swift-log handlers, value types, both passing everything through a `Scrubber`.
// - `LogFormat`: picks and builds a handler.
// - `RunReport`: a run, its steps, attempts and sends as one JSON document.
// - `RunTimeline`: `masscast runs list` / `runs show` as text, JSON or a Mermaid gantt chart.

// MARK: - Time (internal)

/// Date formatting without formatters: fast, thread-safe, locale-free.
enum TimeText {
    struct Parts {
        var year: Int64
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
        var second: Int
        var millisecond: Int
    }

    /// Milliseconds since 1970, rounded to the nearest millisecond.
    static func milliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite, abs(value) < 9.0e15 else { return 0 }
        return Int64(value)
    }

    /// The date rounded to the millisecond (what reports keep, so that they round-trip).
    static func normalized(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }

    /// The civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, Int(m), Int(d))
    }

    /// Days since 1970-01-01 of a civil date.
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func parts(_ date: Date, offsetSeconds: Int = 0) -> Parts {
        let ms = milliseconds(date) + Int64(offsetSeconds) * 1000
        let (secs, milli) = floorDivMod(ms, 1000)
        let (days, sod) = floorDivMod(secs, 86400)
        let (y, m, d) = civil(days: days)
        return Parts(
            year: y, month: m, day: d, hour: Int(sod / 3600), minute: Int(sod % 3600 / 60), second: Int(sod % 60),
            millisecond: Int(milli)
        )
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(abs(value))
        let padded = digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        return value < 0 ? "-" + padded : padded
    }

    static func pad(_ value: Int, _ width: Int) -> String { pad(Int64(value), width) }

    /// `2026-11-29T07:00:01.123Z`
    static func rfc3339(_ date: Date) -> String {
        let p = parts(date)
        return "\(pad(p.year, 4))-\(pad(p.month, 2))-\(pad(p.day, 2))T\(pad(p.hour, 2)):\(pad(p.minute, 2)):"
            + "\(pad(p.second, 2)).\(pad(p.millisecond, 3))Z"
    }

    /// `2026-11-29T07:00:01.123` (UTC, no zone: the Mermaid `dateFormat YYYY-MM-DDTHH:mm:ss.SSS`).
    static func mermaid(_ date: Date) -> String {
        let s = rfc3339(date)
        return String(s.dropLast())
    }

    static func offset(_ date: Date, _ timeZone: TimeZone) -> Int { timeZone.secondsFromGMT(for: date) }

    /// `07:00:01` or `07:00:01.120` in a time zone.
    static func clock(_ date: Date, timeZone: TimeZone, millis: Bool) -> String {
        let p = parts(date, offsetSeconds: offset(date, timeZone))
        let base = "\(pad(p.hour, 2)):\(pad(p.minute, 2)):\(pad(p.second, 2))"
        return millis ? base + "." + pad(p.millisecond, 3) : base
    }

    /// `UTC` or `+08:00`.
    static func zoneLabel(_ date: Date, _ timeZone: TimeZone) -> String {
        let off = offset(date, timeZone)
        if off == 0 { return "UTC" }
        let sign = off < 0 ? "-" : "+"
        let a = abs(off)
        return "\(sign)\(pad(a / 3600, 2)):\(pad(a % 3600 / 60, 2))"
    }

    /// `2026-11-29 07:00:01.120 UTC` (or without milliseconds).
    static func dateTime(_ date: Date, timeZone: TimeZone, millis: Bool = true, zone: Bool = true) -> String {
        let p = parts(date, offsetSeconds: offset(date, timeZone))
        var s = "\(pad(p.year, 4))-\(pad(p.month, 2))-\(pad(p.day, 2)) \(pad(p.hour, 2)):\(pad(p.minute, 2)):"
            + pad(p.second, 2)
        if millis { s += "." + pad(p.millisecond, 3) }
        if zone { s += " " + zoneLabel(date, timeZone) }
        return s
    }

    /// Parses RFC 3339 (`2026-11-29T07:00:01.123Z`, `…+08:00`, fraction optional).
    static func parseRFC3339(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard let year = num(0, 4), at(4, "-"), let month = num(5, 2), at(7, "-"), let day = num(8, 2),
            at(10, "T") || at(10, "t") || at(10, " "), let hour = num(11, 2), at(13, ":"), let minute = num(14, 2),
            at(16, ":"), let second = num(17, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if at(i, ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { millis *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-") {
            let negative = at(i, "-")
            guard let oh = num(i + 1, 2), at(i + 3, ":"), let om = num(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (negative ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let d = days(year: year, month: Int(month), day: Int(day))
        let secs = d * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(secs * 1000 + millis) / 1000)
    }
}

// MARK: - Numbers and durations (internal)

enum NumberText {
    /// `1234567` → `1,234,567`.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }

    /// A fixed-point decimal without locale: `fixed(1.234, 1)` → `1.2`.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return String(value) }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * Double(scale)).rounded())
        let whole = scaled / scale
        let frac = scaled % scale
        var s = String(whole)
        if decimals > 0 { s += "." + TimeText.pad(frac, decimals) }
        return value < 0 && scaled != 0 ? "-" + s : s
    }

    /// A duration for people: `0.31s`, `2.1s`, `2m 03s`, `1h 02m`.
    static func duration(ms: Int64) -> String {
        if ms < 0 { return "-" + duration(ms: -ms) }
        if ms < 1000 { return fixed(Double(ms) / 1000, 2) + "s" }
        if ms < 59_950 { return fixed(Double(ms) / 1000, 1) + "s" }
        let totalSeconds = (ms + 500) / 1000
        if totalSeconds < 3600 { return "\(totalSeconds / 60)m \(TimeText.pad(totalSeconds % 60, 2))s" }
        let totalMinutes = (totalSeconds + 30) / 60
        return "\(totalMinutes / 60)h \(TimeText.pad(totalMinutes % 60, 2))m"
    }
}

// MARK: - Text width (internal)

enum TextWidth {
    /// Terminal columns of one character: 2 for East Asian wide and emoji, 0 for controls, else 1.
    static func columns(_ ch: Character) -> Int {
        guard let scalar = ch.unicodeScalars.first else { return 0 }
        let v = scalar.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    static func columns(_ s: String) -> Int { s.reduce(0) { $0 + columns($1) } }

    /// Pads with spaces on the right to `width` columns.
    static func padded(_ s: String, _ width: Int) -> String {
        let w = columns(s)
        return w >= width ? s : s + String(repeating: " ", count: width - w)
    }

    /// Cuts to at most `width` columns, ending with `…` when cut.
    static func truncated(_ s: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        if columns(s) <= width { return s }
        var out = ""
        var used = 0
        for ch in s {
            let w = columns(ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }
}
