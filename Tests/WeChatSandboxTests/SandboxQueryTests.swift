import HummingbirdCore
import Testing
import Foundation
import WeChatMP
import WeChatSandbox

@Suite("The sandbox's query parameters, read without a dictionary")
struct SandboxQueryTests {
    /// The query texts the server may receive: plain, percent-encoded, invalid escapes,
    /// repeated names, names without `=`, empty parts, `+`, non-ASCII.
    static let queries = [
        "", "access_token=abc", "access_token=a%2Bb%3D%3D", "access_token=a+b", "access_token=",
        "access_token", "&&access_token=x&&", "access_token=1&access_token=2", "a=1&access_token=t&b=2",
        "access_token=%zz", "access_token=%4", "access_token=%%41", "access_token=%E4%BD%A0%E5%A5%BD",
        "access_token=%FF%FE", "access_token=x=y=z", "=v&access_token=w", "Access_Token=upper",
        "access_token=%41ccess", "type=image&access_token=tok%20en", "access_tokenx=1&xaccess_token=2",
        "access_token=你好", "grant_type=client_credential&appid=wx1&secret=s%26t",
    ]

    @Test("every parameter reads as Hummingbird's URI.queryParameters dictionary has it")
    func sameAsHummingbird() {
        for text in Self.queries {
            var expected: [String: String] = [:]
            for (name, value) in URI("/cgi-bin/x?" + text).queryParameters { expected[String(name)] = String(value) }
            let query = SandboxQuery(encoded: text)
            let names = Set(expected.keys).union(["access_token", "appid", "secret", "type", "grant_type", "missing", ""])
            for name in names {
                #expect(query[name] == expected[name], "query \(text.debugDescription), parameter \(name.debugDescription)")
            }
        }
    }

    @Test("a token sent percent-encoded over HTTP authenticates; a wrong one is refused with 40001")
    func percentEncodedTokenOverHTTP() async throws {
        let engine = SandboxEngine(fixture: .default)
        let sandbox = try await RunningSandbox.start(engine: engine)
        defer { Task { await sandbox.stop() } }
        let appID = try #require(await engine.accountInfos().first?.appID)
        let token = try #require(await engine.accessToken(appID: appID))
        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
        func tagsGet(_ query: String) async throws -> String {
            let response = try await AsyncHTTPTransport().send(TransportRequest(
                method: .get, url: sandbox.baseURL + "/cgi-bin/tags/get?" + query, timeout: .seconds(10)))
            return String(decoding: response.body, as: UTF8.self)
        }
        #expect(try await tagsGet("access_token=" + encoded).contains("\"tags\""))
        #expect(try await tagsGet("x=1&access_token=wrong&y").contains("\"errcode\":40001"))
        #expect(try await tagsGet("access_token=wrong&access_token=" + encoded).contains("\"tags\""))
    }
}
