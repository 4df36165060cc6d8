import Audience
import Foundation
import Testing

@Suite("Audience files: a CSV column")
struct CSVAudienceTests {
    @Test("the named column, with quoted cells, commas and quotes inside quotes, empty cells skipped")
    func quotedCells() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let text = #"""
            name,openid,note
            "Li, Wei",o4WmZ0aaaaaaaa,"said ""hi"""
            Zhang San,"o4WmZ0bbbbbbbb",
            "Empty",,"no id here"

            "Wang ""W"" Fang"," o4WmZ0cccccccc ","a, b, c"
            Dup,o4WmZ0aaaaaaaa,again
            Last,  o4WmZ0dddddddd  ,x
            """#
        let path = try folder.write("members.csv", text)
        let scan = try AudienceScanner.scan(AudienceSource(path: path, csvColumn: "openid"), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.linesRead == 8)
        #expect(scan.skippedBlankLines == 2)  // the empty cell and the blank line
        #expect(scan.duplicateCount == 1)
        #expect(scan.uniqueCount == 4)
        #expect(
            try allBatches(scan).flatMap(\.openIDs)
                == ["o4WmZ0aaaaaaaa", "o4WmZ0bbbbbbbb", "o4WmZ0cccccccc", "o4WmZ0dddddddd"]
        )
    }

    @Test("a quoted, spaced header with a BOM and CRLF line endings")
    func headerForms() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array("\"id\", \" OpenID \" ,名字\r\n1,o4WmZ0aaaaaaaa,李\r\n2,o4WmZ0bbbbbbbb,王\r\n".utf8)
        let path = try folder.write("bom.csv", bytes: bytes)
        let scan = try AudienceScanner.scan(AudienceSource(path: path, csvColumn: "OpenID"), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(try allBatches(scan).flatMap(\.openIDs) == ["o4WmZ0aaaaaaaa", "o4WmZ0bbbbbbbb"])
    }

    @Test("a header naming the column twice, or twice in different case, is an error naming both columns; nothing is read")
    func ambiguousColumn() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        // The first column is last month's list, the second this month's: a guess would send
        // to the wrong audience.
        let twice = try folder.write("twice.csv", "openid,openid\no4WmZ0aaaaaaaa,o4WmZ0bbbbbbbb\no4WmZ0cccccccc,o4WmZ0dddddddd\n")
        let error = try #require(scanError(AudienceSource(path: twice, csvColumn: "openid"), spoolDirectory: folder.path))
        #expect(error.code == .ambiguousColumn)
        #expect(error.line == 1)
        #expect(error.description == "\(twice):1: the CSV header has column \"openid\" twice: columns 1 and 2")
        #expect(error.hint?.contains("rename") == true)
        let cased = try folder.write("cased.csv", "name,OpenID,openid\nA,o4WmZ0aaaaaaaa,o4WmZ0bbbbbbbb\n")
        let caseError = try #require(scanError(AudienceSource(path: cased, csvColumn: "openid"), spoolDirectory: folder.path))
        #expect(caseError.code == .ambiguousColumn)
        #expect(caseError.message.contains("columns 3 \"openid\" and 2 \"OpenID\""))
        #expect(try folder.files().sorted() == ["cased.csv", "twice.csv"])
    }

    @Test("a missing column is an error listing the columns found")
    func missingColumn() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("members.csv", "name,open_id,OpenID\nA,o4WmZ0aaaaaaaa,x\n")
        let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid"), spoolDirectory: folder.path))
        #expect(error.code == .missingColumn)
        #expect(error.line == 1)
        #expect(
            error.description
                == "\(path):1: the CSV header has no column \"openid\"; columns found: \"name\", \"open_id\", \"OpenID\""
        )
        #expect(error.hint?.contains("did you mean \"OpenID\"?") == true)
        #expect(try folder.files() == ["members.csv"])
    }

    @Test("malformed OpenIDs in the column, at their physical line and column")
    func malformedCells() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let text = #"""
            name,openid
            A,o4WmZ0aaaaaaaa

            B,#o4WmZ0bbbbbbbb
            "C, c",short
            D,o4WmZ0dddddddd
            E,  "  o4WmZ0e+eeeeeee"
            """#
        let path = try folder.write("members.csv", text)
        let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid")))
        #expect(error.code == .malformedOpenID)
        #expect(error.line == 4)
        #expect(error.column == 3)
        #expect(error.problemCount == 3)
        #expect(error.details == [
            "\(path):4:3: malformed OpenID \"#o4…\" ('#' is not allowed)",
            "\(path):5:8: malformed OpenID \"sh…\" (5 characters; at least 6)",
            "\(path):7:15: malformed OpenID \"o4W…\" ('+' is not allowed)",
        ])
    }

    @Test("CSV syntax errors at their lines: an unclosed quote, text after a quote, a wrong number of cells")
    func syntaxErrors() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let text = #"""
            name,openid
            A,o4WmZ0aaaaaaaa
            "B,o4WmZ0bbbbbbbb
            continued",x
            "C"x,o4WmZ0cccccccc
            D,o4WmZ0dddddddd,extra
            E
            F,o4WmZ0ffffffff
            """#
        let path = try folder.write("broken.csv", text)
        let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid")))
        #expect(error.code == .csvSyntax)
        #expect(error.line == 3)
        #expect(error.column == 1)
        #expect(error.details.map { $0.split(separator: ":")[1] } == ["3", "4", "5", "6", "7"])
        #expect(error.details[2] == "\(path):5:4: unexpected text after the closing quote of a cell")
        #expect(error.details[3] == "\(path):6: row has 3 cells, the header has 2")
        #expect(error.details[4] == "\(path):7: row has 1 cell, the header has 2")
    }

    @Test("a header with an unclosed quote stops the scan at once")
    func brokenHeader() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("head.csv", "name,\"openid\n1,o4WmZ0aaaaaaaa\n")
        let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid")))
        #expect(error.code == .csvSyntax)
        #expect(error.line == 1)
        #expect(error.column == 6)
    }

    @Test("a header only, or an empty CSV, has no OpenIDs")
    func emptyCSV() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        for text in ["", "\n\n", "name,openid\n", "name,openid\nA,\nB,  \n"] {
            let path = try folder.write("empty.csv", text)
            let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid")))
            #expect(error.code == .empty, "\(text.debugDescription)")
        }
    }

    @Test("invalid UTF-8 in another column is an error at its line")
    func invalidUTF8Elsewhere() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var bytes = Array("name,openid\nA,o4WmZ0aaaaaaaa\n".utf8)
        bytes += [0x41, 0xE4, 0xB8] + Array(",o4WmZ0bbbbbbbb\n".utf8)
        let path = try folder.write("latin.csv", bytes: bytes)
        let error = try #require(scanError(AudienceSource(path: path, csvColumn: "openid")))
        #expect(error.code == .invalidUTF8)
        #expect(error.line == 3)
        #expect(error.column == 2)
    }
}
