/// WeChat's documented limits for what masscast sends, written once: WeChatMP's requests and
/// media checks, the step catalog's field bounds (and so `validate` and the JSON Schema), the
/// audience batch planner and the sandbox all read them from here.
///
/// Pure values, no dependencies, so that the pipeline core can read them without the HTTP
/// client.
public enum WeChatLimits {
    /// `message/mass/*`.
    public enum MassSend {
        /// Fewest OpenIDs `message/mass/send` accepts.
        public static let minOpenIDs = 2
        /// Most OpenIDs `message/mass/send` accepts in one call.
        public static let maxOpenIDs = 10_000
        /// Longest `clientmsgid`, in UTF-8 bytes.
        public static let maxClientMsgIDBytes = 64
        /// Valid `speed/set` levels: 0 = 80, 1 = 60, 2 = 45, 3 = 30, 4 = 10 (×10,000 per minute).
        public static let speedLevels: ClosedRange<Int> = 0...4
        /// Messages per minute (×10,000) of each speed level, indexed by level.
        public static let speedPerMinute: [Int] = [80, 60, 45, 30, 10]
        /// Articles per `uploadnews`.
        public static let articlesPerNews: ClosedRange<Int> = 1...8
        /// Image `media_id`s in one `images` message.
        public static let imagesPerMessage: ClosedRange<Int> = 1...8
    }

    /// What an uploaded file may be: size, extensions and (for voice) playtime.
    public struct Media: Sendable, Hashable {
        /// Largest accepted size in bytes (1 MB = 1,048,576 bytes).
        public let maxBytes: Int
        /// Accepted file extensions, lowercase, without the dot.
        public let allowedExtensions: [String]
        /// Longest accepted playtime in seconds, for voice.
        public let maxDurationSeconds: Int?

        /// `media/upload?type=image`: at most 10 MB, jpg/png.
        public static let image = Media(maxBytes: 10 << 20, allowedExtensions: ["jpg", "jpeg", "png"], maxDurationSeconds: nil)
        /// `media/upload?type=voice`: at most 2 MB and 60 s, mp3/amr.
        public static let voice = Media(maxBytes: 2 << 20, allowedExtensions: ["mp3", "amr"], maxDurationSeconds: 60)
        /// `media/upload?type=video`: at most 10 MB, mp4.
        public static let video = Media(maxBytes: 10 << 20, allowedExtensions: ["mp4"], maxDurationSeconds: nil)
        /// `media/upload?type=thumb` (article covers): at most 64 KB, jpg.
        public static let thumb = Media(maxBytes: 64 << 10, allowedExtensions: ["jpg", "jpeg"], maxDurationSeconds: nil)
        /// `media/uploadimg` (images inside article HTML): at most 1 MB, jpg/png.
        public static let articleImage = Media(maxBytes: 1 << 20, allowedExtensions: ["jpg", "jpeg", "png"], maxDurationSeconds: nil)
    }
}
