/// Why an audience file cannot be sent: the file, where in it (when it is about a line),
/// what is wrong and how to fix it.
///
/// Problems on lines (malformed OpenIDs, invalid UTF-8, lines too long, CSV syntax) are
/// all collected before the scan fails, so one run lists them together: ``line``,
/// ``column`` and ``message`` describe the first, ``details`` lists the first 20 and
/// ``problemCount`` counts them all. Nothing is sent from a file with any such problem.
public struct AudienceError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem this is. Codes are extensible: new ones may be added without
    /// breaking callers, so a `switch` over them needs a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case notFound, unreadable, invalidUTF8, lineTooLong, malformedOpenID, missingColumn, ambiguousColumn, csvSyntax, tooFew,
                empty, spool
        }

        private var wrapped: Wrapped

        private init(_ wrapped: Wrapped) {
            self.wrapped = wrapped
        }

        /// The file does not exist.
        public static var notFound: Self { Self(.notFound) }
        /// The file could not be opened or read (a folder, no permission, an I/O error).
        public static var unreadable: Self { Self(.unreadable) }
        /// A line is not valid UTF-8.
        public static var invalidUTF8: Self { Self(.invalidUTF8) }
        /// A line is longer than 4,096 bytes.
        public static var lineTooLong: Self { Self(.lineTooLong) }
        /// An OpenID is not 6 to 64 characters of `A-Z a-z 0-9 _ -`.
        public static var malformedOpenID: Self { Self(.malformedOpenID) }
        /// The CSV header has no column of the name given by `touser_column`.
        public static var missingColumn: Self { Self(.missingColumn) }
        /// The CSV header has the column named by `touser_column` more than once (or also
        /// under a name that differs from it in case alone): which one holds the audience
        /// is not clear.
        public static var ambiguousColumn: Self { Self(.ambiguousColumn) }
        /// A CSV row cannot be read (an unclosed quote, text after a closing quote, a
        /// different number of cells than the header).
        public static var csvSyntax: Self { Self(.csvSyntax) }
        /// Only one OpenID remains after removing duplicates; `mass/send` needs 2.
        public static var tooFew: Self { Self(.tooFew) }
        /// The file has no OpenIDs.
        public static var empty: Self { Self(.empty) }
        /// The spool file (the unique OpenIDs between the two passes) could not be
        /// written or read back.
        public static var spool: Self { Self(.spool) }

        /// The code's name, e.g. `notFound`.
        public var description: String {
            switch wrapped {
            case .notFound: "notFound"
            case .unreadable: "unreadable"
            case .invalidUTF8: "invalidUTF8"
            case .lineTooLong: "lineTooLong"
            case .malformedOpenID: "malformedOpenID"
            case .missingColumn: "missingColumn"
            case .ambiguousColumn: "ambiguousColumn"
            case .csvSyntax: "csvSyntax"
            case .tooFew: "tooFew"
            case .empty: "empty"
            case .spool: "spool"
            }
        }
    }

    /// The audience file's path, as given.
    public var file: String
    /// 1-based physical line of the (first) problem, if it is about a line.
    public var line: Int?
    /// 1-based column (in Unicode scalars) of the (first) problem, when known.
    public var column: Int?
    /// The kind of the (first) problem.
    public var code: Code
    /// What is wrong, e.g. `malformed OpenID "abc": OpenIDs are 6–64 characters of A-Z a-z 0-9 _ -`.
    public var message: String
    /// How to fix it, when there is something useful to say.
    public var hint: String?
    /// One entry per problem line, at most ``maxDetails`` (the first ones), each
    /// `path:line: what`, e.g. `audiences/vip.txt:12: malformed OpenID "abc" (3 characters)`.
    public var details: [String]
    /// How many problems there are in all (at least 1; more than `details.count` when
    /// some were not listed).
    public var problemCount: Int

    /// How many problems ``details`` lists at most.
    public static let maxDetails = 20

    public init(
        file: String, line: Int? = nil, column: Int? = nil, code: Code, message: String,
        hint: String? = nil, details: [String] = [], problemCount: Int = 1
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.code = code
        self.message = message
        self.hint = hint
        self.details = details
        self.problemCount = problemCount
    }

    /// `file:line[:column]: message`, followed by ` (and N more lines)` when other lines
    /// have problems too; `file: message` for problems not about a line.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": " + message
        if problemCount > 1 {
            let more = problemCount - 1
            text += " (and \(more) more \(more == 1 ? "line" : "lines"))"
        }
        return text
    }
}
