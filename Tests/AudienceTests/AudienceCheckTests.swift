import Audience
import Foundation
import Testing

/// `AudienceScanner.check`: `validate`'s read of an audience file, with the runner's rules.
@Suite("Audience files: check without sending")
struct AudienceCheckTests {
    @Test("the runner's rules: counts after removing duplicates, no spool left behind")
    func counts() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.txt", "oAAAAAAAAAAA1\noAAAAAAAAAAA2\n\noAAAAAAAAAAA1\r\n")
        let result = try AudienceScanner.check(AudienceSource(path: path))
        #expect(result == AudienceCheck(uniqueCount: 2, duplicateCount: 1, linesRead: 4, complete: true))
        #expect(try folder.files() == ["ids.txt"])
    }

    @Test("maxLines stops the read: a bad line after it is not seen, nor is a too-small count")
    func maxLines() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.txt", "oAAAAAAAAAAA1\noAAAAAAAAAAA2\nbad\n")
        let first = try AudienceScanner.check(AudienceSource(path: path), maxLines: 2)
        #expect(first.complete == false && first.linesRead == 2)
        #expect(throws: AudienceError.self) { try AudienceScanner.check(AudienceSource(path: path), maxLines: 3) }
        let one = try folder.write("one.txt", "oAAAAAAAAAAA1\noAAAAAAAAAAA1\noAAAAAAAAAAA1\n")
        #expect(try AudienceScanner.check(AudienceSource(path: one), maxLines: 2).uniqueCount == 1)
        do {
            _ = try AudienceScanner.check(AudienceSource(path: one))
            Issue.record("an audience of one passed")
        } catch {
            #expect(error.code == .tooFew)
        }
    }

    @Test("a malformed OpenID is shown masked, with its line and column")
    func masked() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.csv", "id,openid\n1,oAAAAAAAAAAA1\n2,private remark here\n3,ab\n")
        do {
            _ = try AudienceScanner.check(AudienceSource(path: path, csvColumn: "openid"))
            Issue.record("malformed OpenIDs passed")
        } catch {
            #expect(error.code == .malformedOpenID)
            #expect(error.line == 3 && error.column == 10)
            #expect(error.problemCount == 2)
            #expect(error.details == [
                "\(path):3:10: malformed OpenID \"pri…\" (space is not allowed)",
                "\(path):4:3: malformed OpenID \"…\" (2 characters; at least 6)",
            ])
            #expect(!"\(error)".contains("private"))
        }
    }

    @Test("the CSV column is matched as by scan: exact, spaces around ignored")
    func column() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.csv", " open_id ,name\noAAAAAAAAAAA1,a\noAAAAAAAAAAA2,b\n")
        #expect(try AudienceScanner.check(AudienceSource(path: path, csvColumn: "open_id")).uniqueCount == 2)
        do {
            _ = try AudienceScanner.check(AudienceSource(path: path, csvColumn: "Open_ID"))
            Issue.record("a wrong column passed")
        } catch {
            #expect(error.code == .missingColumn)
            #expect(error.hint?.hasPrefix("did you mean \"open_id\"?") == true)
        }
    }

    @Test("a file without a header read as a CSV: its first row is not quoted in full")
    func noHeader() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.txt", "o4WmZ0aaaaaaaa1234567890abcd\no4WmZ0bbbbbbbb\n")
        do {
            _ = try AudienceScanner.check(AudienceSource(path: path, csvColumn: "openid"))
            Issue.record("a file without the column passed")
        } catch {
            #expect(error.code == .missingColumn)
            #expect(error.message == "the CSV header has no column \"openid\"; columns found: \"o4W…\"")
        }
    }

    @Test("a FIFO is refused without waiting for a writer")
    func fifo() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = folder.path + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        do {
            _ = try AudienceScanner.check(AudienceSource(path: path))
            Issue.record("a FIFO passed")
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.message == "the audience file is not a regular file")
        }
    }
}
