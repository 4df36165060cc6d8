/// A line and column in an XML text, both counted from 1.
///
/// Lines are separated by LF, CR LF or CR; the column counts Unicode scalars, so a Chinese
/// character is one column.
public struct XMLPosition: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The line, from 1.
    public var line: Int
    /// The column, from 1, in Unicode scalars.
    public var column: Int

    /// Creates a position.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }
}

/// Why ``StrictXMLReader`` refused a text, and where.
///
/// The message quotes at most a short name from the input (an element or entity name),
/// never a whole text. New codes may be added; compare against the static members of
/// ``XMLError/Code``.
public struct XMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable identifier of what went wrong.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        /// The identifier, in `snake_case`.
        public let rawValue: String

        /// Creates a code from its identifier.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The identifier.
        public var description: String { rawValue }

        /// The input is larger than ``StrictXMLReader/Limits/maxBytes``.
        public static let tooLarge = Code(rawValue: "too_large")
        /// Elements are nested deeper than ``StrictXMLReader/Limits/maxDepth``.
        public static let tooDeep = Code(rawValue: "too_deep")
        /// A `<!DOCTYPE …>` declaration: DTDs are never read.
        public static let doctypeNotAllowed = Code(rawValue: "doctype_not_allowed")
        /// An `<!ENTITY …>` declaration: entities are never defined.
        public static let entityDeclarationNotAllowed = Code(rawValue: "entity_declaration_not_allowed")
        /// An entity reference other than the five predefined ones.
        public static let unknownEntity = Code(rawValue: "unknown_entity")
        /// A numeric character reference that is malformed or names a character XML forbids.
        public static let invalidCharacterReference = Code(rawValue: "invalid_character_reference")
        /// A processing instruction other than the leading XML declaration.
        public static let processingInstructionNotAllowed = Code(rawValue: "processing_instruction_not_allowed")
        /// A closing tag that does not match the open element.
        public static let mismatchedTag = Code(rawValue: "mismatched_tag")
        /// The input ends inside a construct (truncated input).
        public static let unexpectedEndOfInput = Code(rawValue: "unexpected_end_of_input")
        /// Any other syntax error.
        public static let syntax = Code(rawValue: "syntax")
        /// The bytes are not valid UTF-8.
        public static let invalidUTF8 = Code(rawValue: "invalid_utf8")
        /// A character that XML 1.0 does not allow (most control characters, U+FFFE, U+FFFF).
        public static let invalidCharacter = Code(rawValue: "invalid_character")
        /// The input has no root element.
        public static let noRootElement = Code(rawValue: "no_root_element")
        /// Something other than whitespace or comments after the root element.
        public static let contentAfterRoot = Code(rawValue: "content_after_root")
        /// The XML declaration names an encoding other than UTF-8.
        public static let unsupportedEncoding = Code(rawValue: "unsupported_encoding")
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// What went wrong, as a plain sentence.
    public let message: String
    /// Where it went wrong.
    public let position: XMLPosition

    /// Creates an error.
    public init(_ code: Code, _ message: String, at position: XMLPosition) {
        self.code = code
        self.message = message
        self.position = position
    }

    /// The line, from 1.
    public var line: Int { position.line }
    /// The column, from 1.
    public var column: Int { position.column }

    /// `line:column: message`.
    public var description: String { "\(position): \(message)" }
}
