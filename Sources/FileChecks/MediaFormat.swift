import WeChatMP

/// A media file's format, told from its first bytes (its "magic bytes"), not its name.
public enum MediaFormat: String, Sendable, Hashable, CaseIterable {
    case jpeg = "JPEG"
    case png = "PNG"
    case gif = "GIF"
    case bmp = "BMP"
    case webp = "WebP"
    case mp3 = "MP3"
    case amr = "AMR"
    case mp4 = "MP4"

    /// How many leading bytes ``sniff(_:)`` needs at most.
    public static let sniffBytes = 12

    /// The format whose signature `bytes` (the file's first bytes) start with, or `nil`.
    public static func sniff(_ bytes: [UInt8]) -> MediaFormat? {
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF8".utf8)) { return .gif }
        if starts(Array("BM".utf8)) { return .bmp }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("#!AMR".utf8)) { return .amr }
        if starts(Array("ftyp".utf8), at: 4) { return .mp4 }
        // MP3: an ID3v2 tag, or an MPEG audio frame header (11 sync bits, layer III or II).
        if starts(Array("ID3".utf8)) { return .mp3 }
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] & 0xE0 == 0xE0, bytes[1] & 0x06 != 0 { return .mp3 }
        return nil
    }

    /// The format a file extension (lowercase, no dot) stands for.
    public static func forExtension(_ ext: String) -> MediaFormat? {
        switch ext {
        case "jpg", "jpeg": .jpeg
        case "png": .png
        case "gif": .gif
        case "bmp": .bmp
        case "webp": .webp
        case "mp3": .mp3
        case "amr": .amr
        case "mp4": .mp4
        default: nil
        }
    }

    /// The formats a limit accepts, from its extensions (WeChatMP's ``MediaLimit`` is the one
    /// source of the accepted extensions and sizes).
    public static func accepted(by limit: MediaLimit) -> [MediaFormat] {
        var formats: [MediaFormat] = []
        for ext in limit.allowedExtensions {
            if let format = forExtension(ext), !formats.contains(format) { formats.append(format) }
        }
        return formats
    }
}
