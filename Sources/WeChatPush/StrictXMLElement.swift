/// An element read by ``StrictXMLReader``: its name, its child elements and its text.
///
/// Attributes are not kept (WeChat sends none). ``text`` joins the element's character
/// data and CDATA sections in order, with entity and character references resolved and
/// line ends normalised to LF. When an element has a CDATA section or a child element,
/// runs of plain text that are only whitespace (indentation around them) are left out,
/// so `<A>\n  <![CDATA[x]]>\n</A>` and `<A><![CDATA[x]]></A>` both have the text `x`.
public struct StrictXMLElement: Sendable, Hashable, CustomStringConvertible {
    /// The element's name, e.g. `MsgType`.
    public let name: String
    /// The child elements, in document order.
    public let children: [StrictXMLElement]
    /// The element's own text (see the type's documentation for the whitespace rule).
    public let text: String
    /// Where the element's start tag begins.
    public let position: XMLPosition

    /// Creates an element.
    public init(
        name: String,
        children: [StrictXMLElement] = [],
        text: String = "",
        position: XMLPosition = XMLPosition(line: 1, column: 1)
    ) {
        self.name = name
        self.children = children
        self.text = text
        self.position = position
    }

    /// The first child element with this name, if any.
    public func child(_ name: String) -> StrictXMLElement? {
        children.first { $0.name == name }
    }

    /// The first child element with any of these names, tried in the order given.
    public func child(anyOf names: [String]) -> StrictXMLElement? {
        for name in names {
            if let found = child(name) { return found }
        }
        return nil
    }

    /// Every child element with this name, in document order.
    public func children(named name: String) -> [StrictXMLElement] {
        children.filter { $0.name == name }
    }

    /// The text of the first child element with this name, or `nil` when there is none.
    public func childText(_ name: String) -> String? {
        child(name)?.text
    }

    /// ``text`` without leading and trailing whitespace (space, tab, CR, LF).
    public var trimmedText: String {
        // Nothing to trim when neither end is a space byte (the usual field); otherwise by
        // Character, as always.
        if let first = text.utf8.first, let last = text.utf8.last,
            !CallbackFields.isSpaceByte(first), !CallbackFields.isSpaceByte(last)
        {
            return text
        }
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    /// A compact one-line rendering of the tree, for debugging (text is escaped).
    public var description: String {
        var out = "<\(name)>"
        if children.isEmpty {
            out += Self.escape(text)
        } else {
            for child in children { out += child.description }
        }
        out += "</\(name)>"
        return out
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
