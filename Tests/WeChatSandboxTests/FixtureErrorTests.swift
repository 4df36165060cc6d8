import Foundation
import PipelineCore
import Testing
@testable import WeChatSandbox

/// `SandboxFixtureError`: a code to compare, the file system's error kept as the cause, the
/// same lines a user saw before, and no secret of the fixture in them.
@Suite("sandbox fixture errors: codes, causes, messages")
struct FixtureErrorTests {
    func failure(yaml: String) throws -> SandboxFixtureError {
        try #require(throws: SandboxFixtureError.self) { try SandboxFixture.load(yaml: yaml, file: "bad.yaml") }
    }

    @Test("codes are equal to themselves and to nothing else")
    func codesCompare() {
        let codes: [SandboxFixtureError.Code] = [.unreadable, .syntax, .invalid]
        #expect(Set(codes).count == 3)
        #expect(codes.map(\.description) == ["unreadable", "syntax", "invalid"])
        #expect(SandboxFixtureError.Code.syntax == .syntax && SandboxFixtureError.Code.syntax != .invalid)
    }

    @Test("YAML that does not parse is a syntax error at its place")
    func syntax() throws {
        let error = try failure(yaml: "accounts: [\n")
        #expect(error.code == .syntax)
        #expect(error.diagnostics.first?.code == .yamlSyntax)
        #expect(error.location?.file == "bad.yaml")
        #expect(error.cause == nil)
        #expect(error.description == error.issues.map(\.description).joined(separator: "\n"))
    }

    @Test("a fixture that breaks the format is invalid, and reads as before")
    func invalid() throws {
        let error = try failure(yaml: "accounts: {}")
        #expect(error.code == .invalid)
        #expect(error.description == "bad.yaml:1:11: error: accounts is empty; give at least one account")
        #expect(error.message == "accounts is empty; give at least one account")
        #expect(error.location == SourceLocation(file: "bad.yaml", line: 1, column: 11))

        let faults = try #require(throws: SandboxFixtureError.self) {
            try SandboxFixture.loadFaults(text: #"{"on": "message/mass/sendall", "errcode": "x"}"#, file: "faults")
        }
        #expect(faults.code == .invalid && faults.code != .syntax)
    }

    @Test("a file that cannot be read keeps the file system's error as its cause")
    func unreadable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID()).yaml").path
        let error = try #require(throws: SandboxFixtureError.self) { try SandboxFixture.load(path: path) }
        #expect(error.code == .unreadable)
        #expect(error.cause != nil)
        #expect(error.diagnostics.map(\.code) == [.fileUnreadable])
        #expect(error.description.hasPrefix("error: cannot read '\(path)': "))
        #expect(error.location == nil)
    }

    @Test("an account's secret and callback token never appear in the error")
    func noSecret() throws {
        let secret = "app-secret-0123456789abcdef0123"
        let token = "callback-token-0123456789"
        let error = try failure(yaml: """
        accounts:
          a:
            appid: wx1
            secret: \(secret)
            kindd: service
            callback: { url: "ftp://x", token: \(token) }
        """)
        #expect(error.code == .invalid && error.diagnostics.count >= 2)
        for text in [error.description, error.message, String(reflecting: error)] + error.issues.map(\.description) {
            #expect(!text.contains(secret), "secret in: \(text)")
            #expect(!text.contains(token), "token in: \(text)")
        }
    }
}
