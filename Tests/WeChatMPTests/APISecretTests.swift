import Foundation
import Testing
@testable import WeChatMP

/// No way of printing a value that holds the AppSecret or an access token shows it.
@Suite("API secrets stay out of descriptions")
struct APISecretTests {
    static let secret = "S3cr3t-AppSecret-9f8e7d6c5b4a"
    static let token = "ACCESS-TOKEN-81_abcdefghijklmnop"

    /// Every way Swift turns a value into text for logs and errors.
    static func renderings(of value: some Any) -> [String: String] {
        var dumped = ""
        dump(value, to: &dumped)
        let mirror = Mirror(reflecting: value)
        return [
            "description": String(describing: value),
            "reflecting": String(reflecting: value),
            "interpolation": "\(value)",
            "optional": String(describing: Optional(value)),
            "array": String(describing: [value]),
            "dump": dumped,
            "mirror": mirror.children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ", "),
        ]
    }

    static func expectHidden(_ value: some Any, _ hidden: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, text) in renderings(of: value) {
            #expect(!text.contains(hidden), "\(name) shows the secret: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func stableTokenRequestHidesSecret() throws {
        let request = StableTokenRequest(appid: "wx1234567890abcdef", secret: Self.secret, forceRefresh: true)
        Self.expectHidden(request, Self.secret)
        #expect(request.description.contains("wx1234567890abcdef"))
        #expect(request.description.contains("<redacted>"))
        #expect(request.debugDescription == request.description)
        // The body still carries it: that is what it is for.
        #expect(try APITest.text(request).contains(Self.secret))
    }

    @Test func tokenRequestHidesSecret() {
        let request = TokenRequest(appid: "wx1", secret: Self.secret)
        Self.expectHidden(request, Self.secret)
        #expect(request.queryItems.contains { $0.value == Self.secret })
    }

    @Test func accessTokenResponseHidesToken() throws {
        let response = try APITest.decode(AccessTokenResponse.self,
                                          #"{"access_token":"\#(Self.token)","expires_in":7200}"#)
        #expect(response.accessToken == Self.token)
        Self.expectHidden(response, Self.token)
        #expect(response.description.contains("7200"))
    }

    @Test func nestedInOtherValuesStillHidden() {
        let pair = (StableTokenRequest(appid: "wx", secret: Self.secret),
                    AccessTokenResponse(accessToken: Self.token, expiresIn: 1))
        Self.expectHidden(pair, Self.secret)
        Self.expectHidden(pair, Self.token)
        Self.expectHidden(["k": TokenRequest(appid: "wx", secret: Self.secret)], Self.secret)
    }
}
