import Testing
@testable import PipelineCore

@Suite("Diagnostic snippets of long lines")
struct DiagnosticSnippetTests {
    static func render(_ line: String, column: Int, width: Int = 120) -> [Substring] {
        let renderer = DiagnosticRenderer(snippetWidth: width) { _, _ in line }
        let d = Diagnostic.error(DiagnosticCode(rawValue: "MC2017")!, "with.touser has too many items",
                                 at: SourceLocation(file: "p.yaml", line: 8, column: column))
        return renderer.text(d).split(separator: "\n")
    }

    @Test("a short line is shown whole with the caret under its column")
    func shortLineWhole() {
        let lines = Self.render("      touser: [a, b]", column: 15)
        #expect(lines[1] == "   8 |       touser: [a, b]")
        #expect(lines[2] == "     |               ^")
    }

    @Test("a 1 MB line is cut to the width around the caret, with … where it was cut, and the caret under the same character")
    func longLineWindowed() {
        let ids = (0..<40_000).map { "o4WmZ0\(String($0, radix: 36))" }.joined(separator: ", ")
        let line = "      touser: [" + ids + "]"
        let lines = Self.render(line, column: 15)
        #expect(lines[1].count <= 120, "\(lines[1].count) columns")
        #expect(lines[1].hasPrefix("   8 |       touser: [o4WmZ00"), "\(lines[1])")
        #expect(lines[1].hasSuffix("…"))
        let caret = lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) }
        let bracket = lines[1].firstIndex(of: "[").map { lines[1].distance(from: lines[1].startIndex, to: $0) }
        #expect(caret == bracket)

        // A column deep inside the line: cut on both sides, the caret still under its character.
        let deep = line.unicodeScalars.count / 2
        let middle = Self.render(line, column: deep + 1, width: 80)
        #expect(middle[1].count <= 80, "\(middle[1].count) columns")
        #expect(middle[1].contains("| …") && middle[1].hasSuffix("…"), "\(middle[1])")
        let shownCaret = middle[2].distance(from: middle[2].startIndex, to: middle[2].firstIndex(of: "^")!)
        let under = middle[1][middle[1].index(middle[1].startIndex, offsetBy: shownCaret)]
        let expected = line[line.index(line.startIndex, offsetBy: deep)]
        #expect(under == expected, "caret under \(under), expected \(expected)")
    }

    @Test("wide characters count two columns when the line is cut")
    func wideCharacters() {
        let line = "      text: { content: \"" + String(repeating: "感谢您的支持", count: 40) + "\" }"
        let lines = Self.render(line, column: 7, width: 60)
        let columns = lines[1].unicodeScalars.reduce(0) { $0 + DiagnosticRenderer.displayWidth($1) }
        #expect(columns <= 60, "\(columns) columns: \(lines[1])")
        #expect(lines[1].hasSuffix("…"))
    }

    @Test("a tab takes four columns when deciding whether a line fits, and a tab stays a tab under the caret")
    func tabsCountFourColumns() {
        // 4 tabs and 4 letters: 20 columns, fits a width of 20 whole.
        let fits = DiagnosticRenderer.window("\t\t\t\tabcd", caretAt: 5, width: 20)
        #expect(fits.0 == "\t\t\t\tabcd" && fits.1 == 5)
        // One letter more: 21 columns, cut.
        let cut = DiagnosticRenderer.window("\t\t\t\tabcde", caretAt: 5, width: 20)
        #expect(cut.0 != "\t\t\t\tabcde" && cut.0.contains("…"), "\(cut.0)")
        // The pad under a tab-indented line: tabs, then one space per column.
        #expect(DiagnosticRenderer.caretPad("\t\tkey: value", before: 4) == "\t\t  ")
        #expect(DiagnosticRenderer.caretPad("感谢 ok", before: 3) == "     ")
        let lines = Self.render("\tneeds: [a, a]", column: 9)
        #expect(lines[1] == "   8 | \tneeds: [a, a]")
        #expect(lines[2] == "     | \t       ^")
    }

    @Test("a line with control characters or non-ASCII text is measured by its characters, not its bytes")
    func nonASCIIMeasuredByCharacters() {
        // 30 two-column characters: 60 columns, 90 bytes; fits a width of 60.
        let wide = String(repeating: "感", count: 30)
        #expect(DiagnosticRenderer.window(wide, caretAt: 0, width: 60).0 == wide)
        #expect(DiagnosticRenderer.window(wide + "a", caretAt: 0, width: 60).0.hasSuffix("…"))
        // é as two scalars (e + U+0301) takes one column: 40 of them fit in 40.
        let accented = String(repeating: "e\u{301}", count: 40)
        #expect(DiagnosticRenderer.window(accented, caretAt: 0, width: 40).0 == accented)
    }
}
