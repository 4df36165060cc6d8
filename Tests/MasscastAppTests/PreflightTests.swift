import Foundation
import MasscastApp
import MasscastTesting
import PipelineCore
import Runner
import Testing
import WeChatMP
import WeChatSandbox

/// `Preflight` against the in-process sandbox: facts from read-only calls only, proved by the
/// sandbox's call log.
@Suite("Preflight: facts from read-only calls")
struct PreflightTests {
    /// The default fixture plus a tag without followers.
    static func withEmptyTag(_ yaml: String) -> String {
        yaml.replacingOccurrences(
            of: "      - { id: 104, name: new-followers, fraction: 0.10 }\n",
            with: "      - { id: 104, name: new-followers, fraction: 0.10 }\n      - { id: 105, name: lapsed, fraction: 0 }\n")
    }

    static let mutating = ["token", "message/mass/sendall", "message/mass/send", "message/mass/preview",
                           "message/mass/delete", "media/upload", "media/uploadimg", "media/uploadnews",
                           "media/uploadvideo", "message/mass/speed/set"]

    @Test func factsForTagsAndSpeedWithOnlyReadOnlyCalls() async throws {
        let rig = try await Rig.start(Self.withEmptyTag)
        defer { Task { await rig.stop() } }
        let preflight = Preflight(account: rig.account(), transport: rig.transport, tokenStore: rig.store, now: rig.now)
        let facts = await preflight.run(PreflightRequest(tagIDs: [100, 105, 999, 100], countMembersOf: [101]))

        let appID = rig.account().appID
        let vip = await rig.sandbox.engine.tagMembers(appID: appID, tagID: 100).count
        let beijing = await rig.sandbox.engine.tagMembers(appID: appID, tagID: 101).count
        #expect(facts.tag(100) == PreflightFacts.Tag(id: 100, name: "vip", followers: vip))
        #expect(facts.tag(101) == PreflightFacts.Tag(id: 101, name: "beijing", followers: beijing, countedMembers: beijing))
        #expect(facts.tag(105)?.followers == 0)
        #expect(facts.tags?.map(\.id) == [2, 100, 101, 102, 103, 104, 105])
        #expect(facts.speed == PreflightFacts.Speed(level: 0, messagesPerMinute: 800_000))
        #expect(facts.findings.map { "\($0.severity.rawValue) \($0.code) \($0.tagID ?? -1)" }
            == ["warning tag_empty 105", "error tag_missing 999"])
        #expect(facts.findings.last?.message.contains("(its tags: 2 星标组, 100 vip, 101 beijing") == true)
        #expect(facts.hasErrors && facts.unchecked.isEmpty)

        // What the sandbox saw: read-only calls only, never the classic /token.
        let calls = await rig.sandbox.engine.calls()
        // user/tag/get twice: the members, then the empty page that ends the list.
        #expect(calls.map(\.endpoint)
            == ["stable_token", "tags/get", "user/tag/get", "user/tag/get", "message/mass/speed/get"])
        #expect(facts.calls == calls.map(\.endpoint))
        #expect(calls.allSatisfy { $0.readOnly && $0.errcode == 0 })
        #expect(await rig.mutatingCalls().isEmpty)
        #expect(await rig.sends().isEmpty)
        #expect(await rig.sandbox.engine.previewRecords().isEmpty)
        #expect(await rig.sandbox.engine.uploadedMediaCount(appID: appID) == 0)
    }

    @Test func aClassicAccountStillGetsAStableTokenAndACachedTokenIsReused() async throws {
        let rig = try await Rig.start()
        defer { Task { await rig.stop() } }
        var account = rig.account()
        account.tokenMode = .classic
        _ = await Preflight(account: account, transport: rig.transport, tokenStore: rig.store, now: rig.now)
            .run(PreflightRequest(tagIDs: [100]))
        // A second preflight (another process) finds the token in the store: no token call at all.
        let again = await Preflight(account: account, transport: rig.transport, tokenStore: rig.store, now: rig.now)
            .run(PreflightRequest(tagIDs: [100], speed: false))
        #expect(again.calls == ["tags/get"])
        let endpoints = await rig.sandbox.engine.calls().map(\.endpoint)
        #expect(endpoints == ["stable_token", "tags/get", "message/mass/speed/get", "tags/get"])
        #expect(!endpoints.contains { Self.mutating.contains($0) })
    }

    @Test func whatFailsIsUncheckedWithItsReasonAndNoSecret() async throws {
        let rig = try await Rig.start()
        defer { Task { await rig.stop() } }
        var account = rig.account()
        account.secret = Secret("not-the-secret-0001")
        let facts = await Preflight(account: account, transport: rig.transport, now: rig.now)
            .run(PreflightRequest(tagIDs: [100]))
        #expect(facts.tags == nil && facts.speed == nil && facts.findings.isEmpty)
        #expect(facts.unchecked.map(\.subject) == ["tags", "tag 100", "speed"])
        #expect(facts.unchecked.allSatisfy { $0.reason.contains("40125") })
        let json = String(decoding: try JSONEncoder().encode(facts), as: UTF8.self)
        #expect(!json.contains("not-the-secret-0001") && !json.contains(Rig.secret))
        #expect(await rig.sandbox.engine.calls().map(\.endpoint) == ["stable_token"])
    }

    @Test func aTagThatCannotBeCountedSaysWhyAndTheRestStands() async throws {
        let rig = try await Rig.start()
        defer { Task { await rig.stop() } }
        try await rig.addFaults(#"{"on": "user/tag/get", "errcode": -1, "next": 1}"#)
        try await rig.addFaults(#"{"on": "message/mass/speed/get", "errcode": 48001, "next": 1}"#)
        let facts = await Preflight(account: rig.account(), transport: rig.transport, now: rig.now)
            .run(PreflightRequest(tagIDs: [100], countMembersOf: [100]))
        #expect(facts.tag(100)?.countedMembers == nil && facts.tag(100)?.followers ?? 0 > 0)
        #expect(facts.unchecked.map(\.subject) == ["tag 100 members", "speed"])
        #expect(facts.unchecked.last?.reason.contains("48001") == true)
        #expect(facts.findings.isEmpty)
    }

    @Test func theCallLogTellsARunsSendFromAPreflight() async throws {
        try await Rig.with { rig in
            _ = await Preflight(account: rig.account(), transport: rig.transport, now: rig.now).run(PreflightRequest(tagIDs: [100]))
            #expect(await rig.mutatingCalls().isEmpty)
            _ = try await rig.run(Rig.example("text-to-tag"), inputs: ["tag_id=100"])
            #expect(await rig.sends().count == 1)
            #expect(await rig.mutatingCalls().map(\.endpoint) == ["message/mass/sendall"])
        }
    }

    @Test func withoutCredentialsEveryCheckIsUnchecked() {
        let facts = PreflightFacts.unavailable(
            account: "brand-main", appID: "wx8a3f2c71d905be46", request: PreflightRequest(tagIDs: [100, 101], countMembersOf: [100]),
            reason: "no credentials: BRAND_MAIN_SECRET is not set", at: Date(timeIntervalSince1970: 0))
        #expect(facts.unchecked.map(\.subject) == ["tags", "tag 100", "tag 101", "speed"])
        #expect(facts.tags == nil && !facts.hasErrors)
    }
}
