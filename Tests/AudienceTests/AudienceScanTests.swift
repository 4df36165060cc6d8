import Audience
import Foundation
import Testing

@Suite("Audience files: one OpenID a line")
struct AudienceScanTests {
    @Test("duplicates removed, first occurrence kept, order preserved, batches balanced")
    func dedupeAndBatches() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = sampleIDs(8)
        let lines = [ids[0], ids[1], ids[0], ids[2], ids[3], ids[1], ids[4], ids[5], ids[6], ids[7], ids[7]]
        let path = try folder.write("vip.txt", lines.joined(separator: "\n") + "\n")

        let scan = try AudienceScanner.scan(AudienceSource(path: path), maxBatchSize: 3, spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.uniqueCount == 8)
        #expect(scan.duplicateCount == 3)
        #expect(scan.linesRead == 11)
        #expect(scan.skippedBlankLines == 0)
        #expect(scan.batchSizes == [3, 3, 2])

        let batches = try allBatches(scan)
        #expect(batches.map(\.index) == [0, 1, 2])
        #expect(batches.map(\.openIDs.count) == [3, 3, 2])
        #expect(batches.flatMap(\.openIDs) == ids)
    }

    @Test("blank and whitespace lines skipped; spaces, tabs, CRLF and a BOM ignored; no final newline")
    func whitespaceAndLineEndings() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = sampleIDs(5)
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array((ids[0] + "\r\n").utf8)      // 1 (with the BOM)
        bytes += Array("\r\n".utf8)                  // 2 blank
        bytes += Array("   \t \r\n".utf8)            // 3 blank
        bytes += Array(("  " + ids[1] + "\t\r\n").utf8)  // 4
        bytes += Array("\n".utf8)                    // 5 blank
        bytes += Array(("\t" + ids[2] + " \n").utf8)  // 6
        bytes += Array((ids[3] + "\n").utf8)         // 7
        bytes += Array(ids[4].utf8)                  // 8, no newline
        let path = try folder.write("mixed.txt", bytes: bytes)

        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.linesRead == 8)
        #expect(scan.skippedBlankLines == 3)
        #expect(scan.uniqueCount == 5)
        #expect(scan.duplicateCount == 0)
        #expect(scan.batchSizes == [5])
        #expect(try allBatches(scan).flatMap(\.openIDs) == ids)
    }

    @Test("the shortest and longest OpenIDs and every allowed character are accepted")
    func boundaries() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = [
            "abcdef",
            String(repeating: "Z", count: 64),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "abcdefghijklmnopqrstuvwxyz",
            "0123456789_-",
        ]
        let path = try folder.write("edges.txt", ids.joined(separator: "\n"))
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(try allBatches(scan).flatMap(\.openIDs) == ids)
    }

    @Test("an OpenID written bare, padded, with CRLF or after a BOM is one recipient: the later ones are duplicates")
    func sameOpenIDWrittenDifferently() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = sampleIDs(3)
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array((ids[0] + "\n").utf8)          // 1: after the BOM
        bytes += Array((ids[0] + "\n").utf8)          // 2: bare, a duplicate
        bytes += Array((ids[1] + "\n").utf8)          // 3: bare
        bytes += Array((" " + ids[1] + "\r\n").utf8)  // 4: padded, CRLF: a duplicate
        bytes += Array(("\t" + ids[2] + "\n").utf8)   // 5: padded
        bytes += Array((ids[2] + "\r\n").utf8)        // 6: CRLF: a duplicate
        bytes += Array((ids[2] + "\n").utf8)          // 7: bare: a duplicate
        let path = try folder.write("same.txt", bytes: bytes)
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.linesRead == 7)
        #expect(scan.uniqueCount == 3)
        #expect(scan.duplicateCount == 4)
        #expect(try allBatches(scan).flatMap(\.openIDs) == ids)
    }

    @Test("each character next to the allowed ranges makes an OpenID malformed, at its column")
    func charactersNextToTheAllowedOnes() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        // The neighbours of 0-9, A-Z, a-z, _ and -, the byte 0x7F, and the letters' case bit
        // set on a neighbour ('@' | 0x20 is '`', '[' | 0x20 is '{').
        let neighbours: [UInt8] = [0x2C, 0x2E, 0x2F, 0x3A, 0x40, 0x5B, 0x5E, 0x60, 0x7B, 0x7F, 0x00, 0x10, 0x01]
        var bytes: [UInt8] = []
        for byte in neighbours { bytes += Array("o4WmZ0".utf8) + [byte] + Array("abc\n".utf8) }
        bytes += Array("o4WmZ0good01\no4WmZ0good02\n".utf8)
        let path = try folder.write("near.txt", bytes: bytes)
        let error = try #require(scanError(AudienceSource(path: path), spoolDirectory: folder.path))
        #expect(error.code == .malformedOpenID)
        #expect(error.problemCount == neighbours.count)
        #expect(error.details.map { $0.split(separator: ":")[1] } == (1...neighbours.count).map { "\($0)" })
        #expect(error.details.allSatisfy { $0.split(separator: ":")[2] == "7" })
        #expect(try folder.files() == ["near.txt"])
    }

    @Test("malformed OpenIDs are all reported with their line numbers and nothing is spooled")
    func malformedLines() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let lines = [
            "o4WmZ0validopenid00001",   // 1
            "# a comment",               // 2: not a comment
            "",                          // 3
            "abc",                       // 4: too short
            "o4WmZ0validopenid00002",   // 5
            "o4WmZ0 spaced",             // 6: a space inside
            String(repeating: "x", count: 65),  // 7: too long
            "o4WmZ0+plus",               // 8
            "张三张三张三",                // 9: valid UTF-8, not an OpenID
        ]
        let path = try folder.write("vip.txt", lines.joined(separator: "\n") + "\n")
        let error = try #require(scanError(AudienceSource(path: path), spoolDirectory: folder.path))
        #expect(error.code == .malformedOpenID)
        #expect(error.file == path)
        #expect(error.line == 2)
        #expect(error.column == 1)
        #expect(error.problemCount == 6)
        #expect(error.details.count == 6)
        #expect(error.details.map { $0.split(separator: ":")[1] } == ["2", "4", "6", "7", "8", "9"])
        #expect(error.details[0] == "\(path):2:1: malformed OpenID \"# a…\" ('#' is not allowed)")
        #expect(error.details[1] == "\(path):4:1: malformed OpenID \"a…\" (3 characters; at least 6)")
        #expect(error.details[2] == "\(path):6:7: malformed OpenID \"o4W…\" (space is not allowed)")
        #expect(error.details[3].hasSuffix("(65 characters; at most 64)"))
        // Never more than a masked fragment of the line (the file may hold a secret).
        #expect(error.details[3].contains("\"xxx…\"") && !error.details[3].contains("xxxx"))
        #expect(error.details[5].contains("'张' (U+5F20) is not allowed"))
        #expect(
            error.description
                == "\(path):2:1: malformed OpenID \"# a…\": OpenIDs are 6–64 characters of A-Z a-z 0-9 _ - (and 5 more lines)"
        )
        #expect(error.hint != nil)
        #expect(try folder.files() == ["vip.txt"])  // no spool left behind
    }

    @Test("at most 20 problems in detail, all counted")
    func detailCap() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var lines: [String] = []
        for index in 1...60 {
            lines.append(index.isMultiple(of: 2) ? "bad\(index)" : "o4WmZ0good\(index)")
        }
        let path = try folder.write("many.txt", lines.joined(separator: "\n"))
        let error = try #require(scanError(AudienceSource(path: path)))
        #expect(error.problemCount == 30)
        #expect(error.details.count == 20)
        #expect(error.line == 2)
        #expect(error.details.last?.hasPrefix("\(path):40:") == true)
        #expect(error.description.hasSuffix("(and 29 more lines)"))
    }

    @Test("a line longer than 4,096 bytes is an error at that line; line numbers after it stay right")
    func lineTooLong() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = sampleIDs(3)
        let lines = [
            ids[0],
            String(repeating: "a", count: 4_097),       // 2
            ids[1],
            String(repeating: "b", count: 200_000),     // 4: spans several read chunks
            "bad",                                      // 5
            String(repeating: "c", count: 4_096),       // 6: at the limit, only malformed
            ids[2],
        ]
        let path = try folder.write("long.txt", lines.joined(separator: "\n"))
        let error = try #require(scanError(AudienceSource(path: path)))
        #expect(error.code == .lineTooLong)
        #expect(error.line == 2)
        #expect(error.problemCount == 4)
        #expect(error.details.map { $0.split(separator: ":")[1] } == ["2", "4", "5", "6"])
        #expect(error.details[1] == "\(path):4: line longer than 4096 bytes")
        #expect(error.details[3].contains("4096 characters; at most 64"))
    }

    @Test("a last line too long, without a newline")
    func lastLineTooLong() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("tail.txt", sampleIDs(2).joined(separator: "\n") + "\n" + String(repeating: "d", count: 70_000))
        let error = try #require(scanError(AudienceSource(path: path)))
        #expect(error.code == .lineTooLong)
        #expect(error.line == 3)
    }

    @Test("invalid UTF-8 is an error at its line and column")
    func invalidUTF8() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let ids = sampleIDs(3)
        var bytes = Array((ids[0] + "\n" + ids[1] + "\n").utf8)
        bytes += Array("o4WmZ0".utf8) + [0xC3, 0x28] + Array("abc\n".utf8)  // line 3, bad at column 7
        bytes += Array((ids[2] + "\n").utf8)
        bytes += [0xFF, 0xFE] + Array("\n".utf8)                            // line 5
        let path = try folder.write("bad-utf8.txt", bytes: bytes)
        let error = try #require(scanError(AudienceSource(path: path)))
        #expect(error.code == .invalidUTF8)
        #expect(error.line == 3)
        #expect(error.column == 7)
        #expect(error.problemCount == 2)
        #expect(error.details[0] == "\(path):3:7: invalid UTF-8 (byte 0xC3)")
        #expect(error.details[1] == "\(path):5:1: invalid UTF-8 (byte 0xFF)")
    }

    @Test(
        "too few OpenIDs",
        arguments: [
            ("", AudienceError.Code.empty),
            ("\n  \n\t\r\n", .empty),
            ("o4WmZ0onlyone\n", .tooFew),
            ("o4WmZ0onlyone\no4WmZ0onlyone\n  o4WmZ0onlyone\n", .tooFew),
        ]
    )
    func tooFew(text: String, code: AudienceError.Code) throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("small.txt", text)
        let error = try #require(scanError(AudienceSource(path: path), spoolDirectory: folder.path))
        #expect(error.code == code)
        #expect(error.line == nil)
        if code == .empty {
            #expect(error.description == "\(path): the file has no OpenIDs")
        } else {
            #expect(
                error.message.hasPrefix("an audience of 1 cannot be sent with mass/send; WeChat needs at least 2 OpenIDs")
            )
        }
        #expect(try folder.files() == ["small.txt"])
    }

    @Test("a missing file and a folder")
    func unreadable() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let missing = try #require(scanError(AudienceSource(path: folder.path + "/nope.txt")))
        #expect(missing.code == .notFound)
        #expect(missing.description == "\(folder.path)/nope.txt: audience file not found")
        let directory = try #require(scanError(AudienceSource(path: folder.path)))
        #expect(directory.code == .unreadable)
    }

    @Test("200,000 generated OpenIDs with 10% duplicates")
    func largeFile() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var generator = OpenIDGenerator(seed: 42)
        var unique: [String] = []
        var text = ""
        text.reserveCapacity(200_000 * 29)
        var duplicates = 0
        for line in 0..<200_000 {
            if line % 10 == 9 {
                // Repeat an earlier OpenID, chosen deterministically.
                text += unique[Int(generator.nextWord() % UInt64(unique.count))]
                duplicates += 1
            } else {
                let id = generator.next()
                unique.append(id)
                text += id
            }
            text += "\n"
        }
        #expect(Set(unique).count == unique.count)
        let path = try folder.write("big.txt", text)

        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.uniqueCount == 180_000)
        #expect(scan.duplicateCount == 20_000)
        #expect(duplicates == 20_000)
        #expect(scan.linesRead == 200_000)
        #expect(scan.batchSizes == Array(repeating: 10_000, count: 18))

        let batches = try scan.batches()
        var seen = 0
        var all = Set<String>()
        while let batch = try batches.next() {
            #expect(batch.index == seen)
            #expect(batch.openIDs.count == 10_000)
            // Spot checks: the first and last of each batch, and one in the middle.
            let offset = batch.index * 10_000
            #expect(batch.openIDs.first == unique[offset])
            #expect(batch.openIDs[4_321] == unique[offset + 4_321])
            #expect(batch.openIDs.last == unique[offset + 9_999])
            all.formUnion(batch.openIDs)
            seen += 1
        }
        #expect(seen == 18)
        #expect(all.count == 180_000)
        #expect(try batches.next() == nil)
    }

    @Test("the same file always gives the same batches in the same order")
    func deterministic() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var generator = OpenIDGenerator(seed: 7)
        var lines: [String] = []
        for index in 0..<1_003 {
            lines.append(index % 7 == 3 && index > 10 ? lines[index / 2] : generator.next())
        }
        let path = try folder.write("same.txt", lines.joined(separator: "\n"))
        let first = try AudienceScanner.scan(AudienceSource(path: path), maxBatchSize: 100, spoolDirectory: folder.path)
        let second = try AudienceScanner.scan(AudienceSource(path: path), maxBatchSize: 100, spoolDirectory: folder.path)
        defer {
            first.removeSpool()
            second.removeSpool()
        }
        #expect(first.spoolPath != second.spoolPath)
        #expect(first.sourceDigest == second.sourceDigest)
        #expect(first.batchSizes == second.batchSizes)
        let batches = try allBatches(first)
        #expect(try allBatches(second) == batches)
        #expect(try allBatches(first) == batches)  // pass 2 can be run again
        var expected: [String] = []
        var seen = Set<String>()
        for line in lines where seen.insert(line).inserted { expected.append(line) }
        #expect(batches.flatMap(\.openIDs) == expected)
    }

    @Test("sourceDigest is the SHA-256 of the file's bytes")
    func sourceDigest() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("two.txt", "o4WmZ0aaaaaa\no4WmZ0bbbbbb\n")
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        defer { scan.removeSpool() }
        #expect(scan.sourceDigest == "2421277e77ebf8261cbbe1a6b7448f25b1d8e9319f1928efedfa70a099f30dec")
    }

    @Test("progress: increasing bytes, at most about one call per MiB, the last at the file's size")
    func progress() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        var generator = OpenIDGenerator(seed: 3)
        var text = ""
        for _ in 0..<150_000 { text += generator.next() + "\n" }
        let path = try folder.write("progress.txt", text)
        let size = Int64(text.utf8.count)

        let recorder = Recorder<AudienceProgress>()
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path) { recorder.append($0) }
        defer { scan.removeSpool() }
        let reports = recorder.values
        #expect(reports.count >= 3)
        #expect(reports.count <= Int(size / 65_536) + 2)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytesRead < $1.bytesRead && $0.linesRead <= $1.linesRead })
        #expect(reports.allSatisfy { $0.totalBytes == size })
        #expect(reports.last?.bytesRead == size)
        #expect(reports.last?.linesRead == 150_000)
    }

    @Test("the spool is private to the user and removed by removeSpool()")
    func spool() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.txt", sampleIDs(5).joined(separator: "\n"))
        let scan = try AudienceScanner.scan(AudienceSource(path: path), spoolDirectory: folder.path)
        #expect(scan.spoolPath.hasPrefix(folder.path + "/"))
        #expect(FileManager.default.fileExists(atPath: scan.spoolPath))
        let attributes = try FileManager.default.attributesOfItem(atPath: scan.spoolPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try String(contentsOfFile: scan.spoolPath, encoding: .utf8) == sampleIDs(5).joined(separator: "\n") + "\n")

        scan.removeSpool()
        #expect(!FileManager.default.fileExists(atPath: scan.spoolPath))
        #expect(try folder.files() == ["ids.txt"])
        scan.removeSpool()  // again: nothing happens
        #expect(throws: AudienceError.self) { try scan.batches() }
        do {
            _ = try scan.batches()
        } catch {
            #expect(error.code == .spool)
        }
    }

    @Test("spool in the system temp folder by default")
    func defaultSpoolFolder() throws {
        let folder = try TempFolder()
        defer { folder.remove() }
        let path = try folder.write("ids.txt", sampleIDs(3).joined(separator: "\n"))
        let scan = try AudienceScanner.scan(AudienceSource(path: path))
        defer { scan.removeSpool() }
        #expect(!scan.spoolPath.hasPrefix(folder.path))
        #expect(try allBatches(scan).flatMap(\.openIDs) == sampleIDs(3))
    }
}

@Suite("AudienceError: extensible codes")
struct AudienceErrorCodeTests {
    @Test func codesCompareAndNameThemselves() {
        let codes: [AudienceError.Code] = [
            .notFound, .unreadable, .invalidUTF8, .lineTooLong, .malformedOpenID, .missingColumn, .ambiguousColumn, .csvSyntax,
            .tooFew, .empty, .spool,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == [
            "notFound", "unreadable", "invalidUTF8", "lineTooLong", "malformedOpenID", "missingColumn", "ambiguousColumn", "csvSyntax",
            "tooFew", "empty", "spool",
        ])
        let error = AudienceError(file: "a.txt", line: 3, column: 2, code: .csvSyntax, message: "unclosed quote")
        #expect(error.code == .csvSyntax && error.code != .empty)
        #expect(error.description == "a.txt:3:2: unclosed quote")
    }
}
