// Byte-level helpers shared by the scanner and the batch reader: OpenID rules, UTF-8
// validation, display of offending text, POSIX I/O.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum Bytes {
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let quote: UInt8 = 0x22
    static let comma: UInt8 = 0x2C

    @inline(__always)
    static func isBlank(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    /// `A-Z a-z 0-9 _ -`
    @inline(__always)
    static func isOpenIDByte(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return (byte >= 0x30 && byte <= 0x39) || (lower >= 0x61 && lower <= 0x7A) || byte == 0x5F || byte == 0x2D
    }

    /// The range left after trimming spaces and tabs on both sides.
    @inline(__always)
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start = 0
        var end = bytes.count
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return start..<end
    }

    @inline(__always)
    static func hasNonASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var acc: UInt8 = 0
        for byte in bytes { acc |= byte }
        return acc & 0x80 != 0
    }

    /// Offset of the first byte that starts an invalid UTF-8 sequence (overlong forms,
    /// surrogates and values above U+10FFFF are invalid), or `nil` if all is valid.
    static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = bytes.count
        var index = 0
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            var trailing: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; high = 0x9F
            case 0xF0: trailing = 3; low = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; high = 0x8F
            default: return index
            }
            guard index + trailing < count else { return index }
            let second = bytes[index + 1]
            guard second >= low, second <= high else { return index }
            var offset = 2
            while offset <= trailing {
                guard bytes[index + offset] & 0xC0 == 0x80 else { return index }
                offset += 1
            }
            index += trailing + 1
        }
        return nil
    }

    /// 1-based column, in Unicode scalars, of `byteOffset` in a line (invalid bytes count
    /// one each).
    static func column(in bytes: UnsafeBufferPointer<UInt8>, byteOffset: Int) -> Int {
        var column = 1
        var index = 0
        let end = Swift.min(byteOffset, bytes.count)
        while index < end {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return column
    }

    /// The text, decoded (invalid bytes become U+FFFD), cut to `limit` characters, in
    /// double quotes with `"`, `\` and control characters escaped.
    static func quoted(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 40) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        var result = "\""
        var count = 0
        for character in text {
            if count == limit {
                result += "…"
                break
            }
            count += 1
            for scalar in character.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case "\t": result += "\\t"
                case "\r": result += "\\r"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7F {
                        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                    } else {
                        result.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        return result + "\""
    }

    /// A masked fragment of `bytes` for messages that must not quote a file's content:
    /// the first characters (at most 3, and fewer than half of them) and `…`, e.g. `"oA…"`.
    static func masked(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let shown = Swift.min(3, (text.count - 1) / 2)
        var fragment = "\""
        for character in text.prefix(Swift.max(0, shown)) {
            for scalar in character.unicodeScalars {
                switch scalar {
                case "\"": fragment += "\\\""
                case "\\": fragment += "\\\\"
                default: fragment.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar)
                }
            }
        }
        return fragment + "…\""
    }

    /// The character (Unicode scalar) at `byteOffset`, for messages, e.g. `'#'`.
    static func describeCharacter(in bytes: UnsafeBufferPointer<UInt8>, at byteOffset: Int) -> String {
        let rest = UnsafeBufferPointer(rebasing: bytes[byteOffset...])
        let scalar = String(decoding: rest, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
        switch scalar {
        case " ": return "space"
        case "\t": return "tab"
        case "'": return "\"'\""
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                return "control character U+" + hex4(scalar.value)
            }
            if scalar.value >= 0x80 {
                return "'\(scalar)' (U+\(hex4(scalar.value)))"
            }
            return "'\(scalar)'"
        }
    }

    static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: Swift.max(0, 4 - digits.count)) + digits
    }

    static func hex<S: Sequence<UInt8>>(_ bytes: S) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum POSIX {
    /// `read(2)`, retried on EINTR; the count read or -errno.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        while true {
            #if canImport(Darwin)
            let result = Darwin.read(fd, buffer, count)
            #elseif canImport(Glibc)
            let result = Glibc.read(fd, buffer, count)
            #else
            let result = Musl.read(fd, buffer, count)
            #endif
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            return -Int(code)
        }
    }

    /// Writes all bytes, retrying on EINTR and short writes; 0 or the errno.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int32 {
        var offset = 0
        while offset < count {
            #if canImport(Darwin)
            let result = Darwin.write(fd, buffer + offset, count - offset)
            #elseif canImport(Glibc)
            let result = Glibc.write(fd, buffer + offset, count - offset)
            #else
            let result = Musl.write(fd, buffer + offset, count - offset)
            #endif
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                return code
            }
            offset += result
        }
        return 0
    }

    static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func isDirectory(_ mode: mode_t) -> Bool {
        (mode & S_IFMT) == S_IFDIR
    }

    static func isRegular(_ mode: mode_t) -> Bool {
        (mode & S_IFMT) == S_IFREG
    }
}
