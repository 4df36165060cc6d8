import Foundation
import Testing

@testable import PipelineCore

/// The located tree's plain-integer locations and byte-level look-ups give what the string
/// versions gave: same JSON, same equality, same typing, same keys found.
@Suite("Located tree: interned file names, key look-ups, core-schema typing")
struct LocatedTreeTests {
    @Test("a location's JSON still names the file; it round-trips, and equal names are equal locations")
    func locationJSON() throws {
        let a = PipelineCore.SourceLocation(file: "pipelines/weekly.yaml", line: 3, column: 7)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(a), as: UTF8.self)
        #expect(json == #"{"column":7,"file":"pipelines\/weekly.yaml","line":3}"#)
        let back = try JSONDecoder().decode(PipelineCore.SourceLocation.self, from: Data(json.utf8))
        #expect(back == a)
        #expect(back.file == "pipelines/weekly.yaml")
        #expect(PipelineCore.SourceLocation(file: "pipelines/weekly.yaml", line: 3, column: 7) == a)
        #expect(PipelineCore.SourceLocation(file: "pipelines/other.yaml", line: 3, column: 7) != a)
        #expect(a.advanced(by: 2).description == "pipelines/weekly.yaml:3:9")
        var moved = a
        moved.file = "x.yaml"
        #expect(moved.description == "x.yaml:3:7")
    }

    @Test("two spellings of one name (NFC and NFD) are two files, each shown as written")
    func namesByBytes() {
        let nfc = "caf\u{E9}.yaml"
        let nfd = "cafe\u{301}.yaml"
        let a = PipelineCore.SourceLocation(file: nfc, line: 1, column: 1)
        let b = PipelineCore.SourceLocation(file: nfd, line: 1, column: 1)
        #expect(a != b)
        #expect(Array(a.file.utf8) == Array(nfc.utf8))
        #expect(Array(b.file.utf8) == Array(nfd.utf8))
    }

    @Test("keys are found as String == finds them, also when only canonical equivalence matches")
    func keyLookups() {
        let at = PipelineCore.SourceLocation(file: "k.yaml", line: 1, column: 1)
        func entry(_ key: String, _ value: String) -> SourceNode.Entry {
            .init(key: key, keyLocation: at, value: SourceNode(.scalar(value, .plain), at: at))
        }
        let node = SourceNode(.mapping([
            entry("uses", "media/upload"), entry("with", "x"), entry("\u{212A}elvin", "sign"), entry("caf\u{E9}", "nfc"),
        ]), at: at)
        #expect(node["with"]?.scalar?.text == "x")
        #expect(node["uses"]?.scalar?.text == "media/upload")
        #expect(node["wit"] == nil)
        // U+212A KELVIN SIGN is canonically equivalent to K: `==` says equal, so does the look-up.
        #expect(node["Kelvin"]?.scalar?.text == "sign")
        #expect(node["cafe\u{301}"]?.scalar?.text == "nfc")
    }

    @Test("plain scalars are typed by the YAML 1.2 core schema")
    func coreSchema() {
        let cases: [(String, TypedScalar)] = [
            ("", .null), ("~", .null), ("null", .null), ("NULL", .null), ("Null", .null),
            ("true", .bool(true)), ("False", .bool(false)), ("TRUE", .bool(true)),
            ("yes", .string("yes")), ("on", .string("on")), ("n", .string("n")), ("nul", .string("nul")),
            ("-", .string("-")), (".", .string(".")), ("+", .string("+")),
            ("0", .integer(0)), ("010", .integer(10)), ("-42", .integer(-42)), ("+7", .integer(7)),
            ("0o17", .integer(15)), ("0x1F", .integer(31)), ("0o8", .string("0o8")),
            ("1.5", .float(1.5)), ("-.5", .float(-0.5)), ("1e3", .float(1000)), (".inf", .float(.infinity)),
            ("-.Inf", .float(-.infinity)), ("10:30", .string("10:30")), ("1_000", .string("1_000")),
            ("media/upload", .string("media/upload")), ("话题", .string("话题")),
        ]
        for (text, expected) in cases {
            #expect(TypedScalar.resolve(plain: text) == expected, "\(text)")
        }
        if case .float(let d) = TypedScalar.resolve(plain: ".NaN") { #expect(d.isNaN) } else { Issue.record(".NaN") }
    }
}
