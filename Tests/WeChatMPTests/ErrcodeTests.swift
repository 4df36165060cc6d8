import Foundation
import Testing
@testable import WeChatMP

/// Every errcode the reference (wechat-mass-api.md and the seed article) mentions, with the
/// class the runner relies on. `ErrcodeReferenceScan` below keeps this list in step with
/// the reference text, so a code added there cannot be silently missing from the table.
enum ErrcodeReference {
    static let expected: [(Int, ErrorClass)] = [
        // token
        (40001, .token), (40014, .token), (42001, .token), (41001, .token),
        // transient
        (-1, .transient), (9500002, .transient),
        // rate limit
        (45011, .rateLimit), (45066, .rateLimit),
        // duplicate
        (45065, .duplicate),
        // permanent
        (40013, .permanent), (40125, .permanent), (40164, .permanent), (61004, .permanent),
        (45009, .permanent), (45028, .permanent), (48008, .permanent), (48001, .permanent),
        (48003, .permanent), (40007, .permanent), (40008, .permanent), (40003, .permanent),
        (40130, .permanent), (40152, .permanent), (45002, .permanent), (45052, .permanent),
        (40059, .permanent), (40060, .permanent), (45067, .permanent), (45083, .permanent), (45159, .permanent),
    ]

    /// 4–7 digit numbers in the reference that are not API errcodes, and why.
    static let notErrcodes: [Int: String] = [
        2000: "token calls a day", 2018: "year clientmsgid appeared", 7200: "expires_in sample",
        2017: "seed article date", 2421: "seed article view count", 1466: "sample tag follower count",
        30124: "sample msg_id", 34182: "sample msg_id",
        // MASSSENDJOBFINISH `Status` err(N) codes: content review and originality results
        // reported by the push (Callback), not errcodes of an API answer.
        10001: "push status: ad", 20001: "push status: politics", 20002: "push status: porn",
        20004: "push status: society", 20006: "push status: crime", 20008: "push status: fraud",
        20013: "push status: copyright", 21000: "push status: other", 22000: "push status: mutual promotion",
        30001: "push status: originality check error", 30002: "push status: originality, not sendable",
        30003: "push status: judged a reprint",
    ]

    /// The reference files: the project's copy in `docs/reference/`, or the directory
    /// `MASSCAST_WECHAT_REFERENCE` names.
    static var files: [URL] {
        var directories: [URL] = []
        if let env = ProcessInfo.processInfo.environment["MASSCAST_WECHAT_REFERENCE"] {
            directories.append(URL(fileURLWithPath: env))
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        directories.append(packageRoot.appendingPathComponent("docs/reference"))
        for directory in directories {
            let files = ["wechat-mass-api.md", "seed-wechat-mass-messaging.txt"]
                .map { directory.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.path) }
            if !files.isEmpty { return files }
        }
        return []
    }

    /// Standalone runs of 4 to 7 digits (not part of a longer number, a hex string or an id).
    static func numbers(in text: String) -> Set<Int> {
        var found: Set<Int> = []
        var token = ""
        func flush() {
            if (4...7).contains(token.count), token.allSatisfy(\.isASCII), token.allSatisfy(\.isNumber),
               let value = Int(token) {
                found.insert(value)
            }
            token = ""
        }
        for character in text {
            if character.isASCII && (character.isLetter || character.isNumber || character == "_") {
                token.append(character)
            } else {
                flush()
            }
        }
        flush()
        return found
    }
}

@Suite("Errcode table")
struct ErrcodeTests {
    @Test(arguments: ErrcodeReference.expected)
    func referenceErrcodeIsClassified(code: Int, expected: ErrorClass) throws {
        let info = try #require(Errcodes.info(code), "errcode \(code) is missing from the table")
        #expect(info.code == code)
        #expect(info.errorClass == expected)
        #expect(Errcodes.classify(code) == expected)
        #expect(!info.meaning.isEmpty)
        #expect(info.meaning.count < 160)
    }

    @Test(arguments: [40013, 40125, 40164, 61004, 45011, 45066, 45065, 48001, 48008, 40130, 45067, 45083])
    func actionableCodesHaveAFix(code: Int) throws {
        let fix = try #require(Errcodes.info(code)?.fix)
        #expect(!fix.isEmpty)
    }

    @Test func fixesSayWhatToCheck() {
        #expect(Errcodes.info(40013)?.fix?.contains("AppID") == true)
        #expect(Errcodes.info(40125)?.fix?.contains("AppSecret") == true)
        for code in [40164, 61004] {
            #expect(Errcodes.info(code)?.fix?.contains("whitelist") == true)
            #expect(Errcodes.info(code)?.fix?.contains("开发 → 基本配置") == true)
        }
        #expect(Errcodes.info(45011)?.fix?.contains("minute") == true)
        #expect(Errcodes.info(45065)?.fix?.contains("msg_id") == true)
    }

    @Test func unknownCodesArePermanentAndHaveNoRow() {
        for code in [0, 1, 12345, 99999, -2, Int.max] {
            #expect(Errcodes.info(code) == nil)
            #expect(Errcodes.classify(code) == .permanent)
        }
    }

    @Test func tableIsWellFormed() {
        let codes = Errcodes.all.map(\.code)
        #expect(Set(codes).count == codes.count, "duplicate rows")
        #expect(codes == codes.sorted())
        #expect(!codes.contains(0), "0 is success, not an error")
        for row in Errcodes.all {
            #expect(Errcodes.info(row.code) == row)
            #expect(!row.meaning.isEmpty)
            #expect(row.fix.map { !$0.isEmpty } ?? true)
        }
        // Only the documented codes are retried or adopted; everything else is permanent.
        let nonPermanent = Errcodes.all.filter { $0.errorClass != .permanent }.map(\.code).sorted()
        #expect(nonPermanent == [-1, 40001, 40014, 41001, 42001, 45011, 45065, 45066, 9500002].sorted())
        for errorClass in ErrorClass.allCases {
            #expect(Errcodes.all.contains { $0.errorClass == errorClass })
        }
    }

    @Test func errorClassRawValues() throws {
        #expect(ErrorClass.allCases.map(\.rawValue) == ["token", "transient", "rate_limit", "duplicate", "permanent"])
        #expect(try APITest.text([ErrorClass.rateLimit]) == #"["rate_limit"]"#)
        #expect(try APITest.decode([ErrorClass].self, #"["rate_limit","token"]"#) == [.rateLimit, .token])
    }

    @Test func statusUsesTheTable() {
        #expect(APIStatus(errcode: 0).errorClass == nil)
        #expect(APIStatus(errcode: 45066, errmsg: "x").errorClass == .rateLimit)
        #expect(APIStatus(errcode: 77777, errmsg: "x").errorClass == .permanent)
        #expect(APIStatus(errcode: 40164, errmsg: "x").info?.code == 40164)
    }
}

/// Keeps ``ErrcodeReference`` in step with the reference text: every 4–7 digit number
/// there is either an errcode in the list or explained in `notErrcodes`, and every listed
/// errcode (but `-1`) occurs in the text (the project's copy in docs/reference/).
@Suite("Errcode table against the reference text")
struct ErrcodeReferenceScan {
    @Test func everyNumberInTheReferenceIsAccountedFor() throws {
        #expect(ErrcodeReference.files.count == 2, "docs/reference/ must hold the reference and the seed article")
        var numbers: Set<Int> = []
        var text = ""
        for file in ErrcodeReference.files {
            let content = try String(contentsOf: file, encoding: .utf8)
            text += content
            numbers.formUnion(ErrcodeReference.numbers(in: content))
        }
        let listed = Set(ErrcodeReference.expected.map(\.0))
        for number in numbers.sorted() {
            #expect(listed.contains(number) || ErrcodeReference.notErrcodes[number] != nil,
                    "\(number) occurs in the reference but is neither in the errcode list nor explained")
        }
        for code in listed where code != -1 {
            #expect(numbers.contains(code), "errcode \(code) is listed but the reference no longer mentions it")
        }
        #expect(text.contains("`-1`"))
    }

    @Test func scannerFindsStandaloneNumbersOnly() {
        let found = ErrcodeReference.numbers(in: "`40001` a/30002/b 9500002, f464b24fc39322e44b 1714036504 -1 10,000 gh_6b9aa8a6f1e2 err(20013)")
        #expect(found == [40001, 30002, 9500002, 20013])
    }
}
