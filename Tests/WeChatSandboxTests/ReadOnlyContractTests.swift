import Foundation
import PipelineCore
import Testing
import WeChatMP

@testable import WeChatSandbox

/// WeChatMP's read-only calls (tags/get, user/tag/get, a stable_token that is never forced)
/// against the sandbox, proved read-only by the sandbox's call log.
@Suite("WeChatMP read-only calls against the sandbox", .serialized)
struct ReadOnlyContractTests {
    @Test("getTags: every tag with its follower count, the reserved 星标组 included", arguments: LiveSandbox.Mode.allCases)
    func tags(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let tags = try await sandbox.client().getTags()
        let vip = await sandbox.engine.tagMembers(appID: LiveSandbox.main.appID, tagID: 100).count
        #expect(tags.first == UserTag(id: 2, name: "星标组", count: 0))
        #expect(tags.dropFirst().map(\.id) == [100, 101, 102, 103, 104])
        #expect(tags.first { $0.id == 100 } == UserTag(id: 100, name: "vip", count: vip))
        // One stable_token and one tags/get: nothing else, nothing that changes anything.
        let calls = await sandbox.engine.calls()
        #expect(calls.map(\.endpoint) == ["stable_token", "tags/get"])
        #expect(calls.allSatisfy { $0.readOnly })
    }

    @Test("getTagMembers: pages until the last one, every member once", arguments: LiveSandbox.Mode.allCases)
    func members(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        var members: [String] = []
        var next = ""
        for _ in 0..<10 {
            let page = try await client.getTagMembers(tagID: 101, nextOpenID: next)
            members += page.openIDs
            if page.isLast { break }
            next = page.nextOpenID
        }
        #expect(members == (await sandbox.engine.tagMembers(appID: LiveSandbox.main.appID, tagID: 101)))
        #expect(members.count > 1000)
        do {
            _ = try await client.getTagMembers(tagID: 4242)
            Issue.record("an unknown tag was answered")
        } catch {
            #expect(error.errcode == 45159 && error.errorClass == .permanent && error.endpoint == "user/tag/get")
        }
        #expect(await sandbox.engine.calls().allSatisfy { $0.readOnly })
    }

    @Test("a read-only token provider never forces a refresh: a refused token is an error, not a new token")
    func noForcedRefresh() async throws {
        let sandbox = try await LiveSandbox.start(mode: .inProcess)
        defer { Task { await sandbox.stop() } }
        let tokens = TokenProvider(credentials: .init(appID: LiveSandbox.main.appID, secret: LiveSandbox.main.secret),
                                   mode: .stable, baseURL: sandbox.baseURL, transport: sandbox.transport,
                                   mayForceRefresh: false)
        let client = WeChatClient(configuration: .init(baseURL: sandbox.baseURL), tokens: tokens, transport: sandbox.transport)
        _ = try await client.getTags()
        // The platform keeps refusing this token (stable_token hands the same one back).
        let token = try await tokens.token()
        let rule = SandboxFault(target: .endpoint("tags/get"), action: .errcode(40001), trigger: .always)
        await sandbox.engine.addFaults([rule])
        do {
            _ = try await client.getTags()
            Issue.record("a refused token was not reported")
        } catch {
            #expect(error.code == .tokenRefreshLimited, "\(error)")
            #expect(!error.description.contains(token))
        }
        let calls = await sandbox.engine.calls()
        #expect(calls.allSatisfy { $0.readOnly }, "\(calls.map(\.endpoint))")
        #expect(!calls.contains { $0.endpoint == "token" })
    }
}
