import Crypto
import Foundation
import MasscastApp
import MasscastTesting
import Runner
import Testing

/// `masscast plan` as the application layer makes it, against the rig's sandbox standing in
/// for WeChat and its store: what a reviewer reads, and that planning calls nothing and
/// writes nothing.
@Suite struct PlanTests {
    /// The inputs the example pipelines require.
    static let exampleInputs = ["tag_id=100", "msg_id=1000000001", "video_tag_id=101", "image_tag_id=102"]

    func plan(
        _ rig: Rig, _ paths: [String], inputs: [String] = [], facts: AccountFacts? = nil, now: Date? = nil
    ) async -> PlanDocument {
        await Planner.plan(
            PlanRequest(paths: paths, inputs: inputs, facts: facts), environment: rig.environment,
            wiring: PlanWiring(store: rig.store, account: rig.accountSource), now: now ?? rig.now(), version: "0.1.0")
    }

    /// SHA-256 of the state file and its WAL: any write changes one of them.
    func storeDigest(_ rig: Rig) -> String {
        var hasher = SHA256()
        for suffix in ["", "-wal"] {
            hasher.update(data: FileManager.default.contents(atPath: rig.store.path + suffix) ?? Data())
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    @Test func planningEveryExampleCallsNothingAndWritesNothing() async throws {
        try await Rig.with { rig in
            // Something in the store first, so that "unchanged" means something.
            let ran = try await rig.run(Rig.example("text-to-tag"), inputs: ["tag_id=100"])
            #expect(ran.exitCode == 0)
            let sendsBefore = await rig.sandbox.engine.sends().count
            let callsBefore = await rig.calls().count
            let before = storeDigest(rig)
            let doc = await plan(rig, [Rig.root.appendingPathComponent("pipelines").path], inputs: Self.exampleInputs)
            #expect(doc.errors == [])
            #expect(doc.broadcasts.count == 10)
            // The sandbox's call log: not one call, read-only or not.
            #expect(await rig.calls().count == callsBefore)
            #expect(await rig.sandbox.engine.sends().count == sendsBefore)
            #expect(await rig.sandbox.engine.previewRecords().isEmpty)
            #expect(await rig.sandbox.engine.uploadedMediaCount(appID: rig.account().appID) == 0)
            #expect(storeDigest(rig) == before)
            // Every send the examples make is in the plan, with the clientmsgid a run uses.
            let uploads = doc.broadcasts.flatMap(\.calls).filter { $0.endpoint == "media/upload" }
            #expect(uploads.count >= 5 && uploads.allSatisfy { $0.files.count == 1 && $0.files[0].sha256.count == 64 })
        }
    }

    @Test func aCompletedBroadcastPlansNoSendAndTheClientMsgIDIsTheRunsOwn() async throws {
        try await Rig.with { rig in
            let path = Rig.example("text-to-tag")
            let first = await plan(rig, [path], inputs: ["tag_id=100"])
            let planned = try #require(first.broadcasts.first?.calls.first { $0.endpoint == "message/mass/sendall" })
            #expect(first.broadcasts[0].sendsPlanned == 1)
            #expect(first.broadcasts[0].state == "send")
            #expect(first.broadcasts[0].action == "send")
            #expect(first.broadcasts[0].serial == 0)
            #expect(first.sendsPlanned)
            #expect(planned.msgtype == "text")
            #expect(planned.summary?.contains("本周六、周日门店营业时间调整") == true)
            #expect(planned.journal == nil)

            let ran = try await rig.run(path, inputs: ["tag_id=100"])
            #expect(ran.exitCode == 0)
            let sent = await rig.sandbox.engine.sends()
            #expect(sent.count == 1)
            #expect(sent.first?.clientMsgID == planned.clientmsgid)

            let second = await plan(rig, [path], inputs: ["tag_id=100"])
            let call = try #require(second.broadcasts.first?.calls.first { $0.endpoint == "message/mass/sendall" })
            #expect(call.journal == "sent")
            #expect(second.broadcasts[0].sendsPlanned == 0)
            #expect(second.broadcasts[0].state == "noop")
            #expect(second.broadcasts[0].action == "none")
            #expect((second.broadcasts[0].serial ?? 0) > 0)
            #expect(!second.sendsPlanned)
            #expect(second.rendered(.text).contains("journal: sent"))
        }
    }

    @Test func anOpenIDFileIsCountedAfterDedupeAndMalformedLinesArePlaced() async throws {
        try await Rig.with { rig in
            _ = try rig.write("good.txt", "oAAAAAAA1\noAAAAAAA2\noAAAAAAA1\noAAAAAAA3\n")
            _ = try rig.write("bad.txt", "oAAAAAAA1\nnot valid!\noAAAAAAA2\nalso bad\n")
            let pipeline = { (file: String) in
                """
                version: 1
                name: list-\(file.prefix(3))
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: \(file)
                      msgtype: text
                      text:
                        content: hello
                """
            }
            let good = try rig.write("good.yaml", pipeline("good.txt"))
            let bad = try rig.write("bad.yaml", pipeline("bad.txt"))
            let doc = await plan(rig, [good, bad])
            let byName = Dictionary(uniqueKeysWithValues: doc.broadcasts.map { ($0.name, $0) })
            let goodAudience = try #require(byName["list-goo"]?.audiences.first)
            #expect(goodAudience.recipients == 3)
            #expect(goodAudience.duplicates == 1)
            #expect(goodAudience.batches == 1)
            #expect(goodAudience.text == "good.txt: 3 recipients in 1 batch (1 duplicates dropped)")
            let badPlan = try #require(byName["list-bad"])
            #expect(badPlan.audiences.first?.malformedLines == 2)
            #expect(badPlan.audiences.first?.firstMalformedLine == 2)
            #expect(badPlan.text().contains("2 malformed lines, the first at line 2"))
            #expect(doc.invalid)
        }
    }

    @Test func warningsAReviewerMustSee() async throws {
        try await Rig.with { rig in
            let path = try rig.write(
                "risky.yaml",
                """
                version: 1
                name: risky
                account: brand-main
                schedule:
                  not_before: "2020-01-01T09:00:00+08:00"
                  not_after: "2020-01-01T21:00:00+08:00"
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: true }
                      msgtype: mpnews
                      mpnews: { media_id: MEDIA_1 }
                  - id: check
                    uses: mass/get
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                  - id: pull-back
                    uses: mass/delete
                    if: ${{ steps.check.outputs.msg_status == 'SEND_FAIL' }}
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                  - id: poster
                    uses: media/upload
                    with:
                      type: image
                      file: missing.jpg
                """)
            let doc = await plan(rig, [path])
            let plan = try #require(doc.broadcasts.first)
            let codes = Set(plan.warnings.map(\.code))
            #expect(codes == ["to_all_service_account", "mpnews_reprint", "delete_never_runs", "window_passed", "file_missing"])
            #expect(plan.audiences.first?.text == "ALL FOLLOWERS")
            let text = plan.text()
            #expect(text.contains("audience  ALL FOLLOWERS"))
            #expect(text.contains("msg_id = (known after send)"))
            #expect(plan.quota.contains { $0.name.contains("to-all sends this month") && $0.planned == 1 && $0.limit == 4 })

            let early = await self.plan(rig, [path], now: Date(timeIntervalSince1970: 1_500_000_000))
            #expect(early.broadcasts.first?.warnings.contains { $0.code == "window_not_open" } == true)
        }
    }

    @Test func factsGiveTagSizesAndTheDuration() async throws {
        try await Rig.with { rig in
            let path = Rig.example("text-to-tag")
            let facts = AccountFacts(tags: [100: .init(name: "VIP", followers: 1_600_000)], speedLevel: 3)
            let plan = try #require(await plan(rig, [path], inputs: ["tag_id=100"], facts: facts).broadcasts.first)
            #expect(plan.audiences.first?.text == "tag 100 “VIP” (1,600,000 followers)")
            #expect(plan.estimatedSeconds == 320)  // 1.6 M at 300,000 a minute
            #expect(plan.text().contains("duration  about 6 min at speed 3 (300,000 a minute)"))
            #expect(plan.unchecked.isEmpty)

            let empty = AccountFacts(tags: [100: .init(name: "VIP", followers: 0)], speedLevel: 0)
            let emptyPlan = try #require(await self.plan(rig, [path], inputs: ["tag_id=100"], facts: empty).broadcasts.first)
            #expect(emptyPlan.warnings.map(\.code) == ["tag_empty"])

            let missing = try #require(await self.plan(rig, [path], inputs: ["tag_id=100"], facts: AccountFacts(tags: [:], speedLevel: 0)).broadcasts.first)
            // A tag the account does not have blocks it, as apply's preflight does (exit 6).
            #expect(missing.problems.isEmpty)
            #expect(missing.warnings.map(\.code) == ["tag_missing"])
            #expect(missing.state == "blocked")
            #expect(missing.reason?.contains("preflight: send: tag 100 does not exist on the account") == true)
            #expect(missing.refused)

            let unknown = try #require(await self.plan(rig, [path], inputs: ["tag_id=100"]).broadcasts.first)
            #expect(unknown.estimatedSeconds == nil)
            #expect(unknown.unchecked.contains { $0.contains("follower counts") })
        }
    }

    @Test func preflightReadsTagsAndSpeedWithReadOnlyCallsOnly() async throws {
        try await Rig.with { rig in
            let doc = await Planner.plan(
                PlanRequest(paths: [Rig.example("text-to-tag")], inputs: ["tag_id=100"], preflight: true),
                environment: rig.environment,
                wiring: PlanWiring(store: rig.store, account: rig.accountSource, preflightTransport: rig.transport),
                now: rig.now(), version: "0.1.0")
            let plan = try #require(doc.broadcasts.first)
            let members = await rig.sandbox.engine.tagMembers(appID: rig.account().appID, tagID: 100).count
            #expect(plan.audiences.first?.followers == members)
            #expect(plan.audiences.first?.tagName != nil)
            #expect(plan.speedKnown)
            #expect(plan.estimatedSeconds != nil)
            #expect(!plan.unchecked.contains { $0.contains("follower counts") })
            let endpoints = await rig.calls().map(\.endpoint)
            #expect(endpoints.contains { $0.contains("tags/get") })
            #expect(!endpoints.contains { $0.hasSuffix("/token") })
            #expect(await rig.mutatingCalls().isEmpty)

            // A tag the account does not have: a problem, not a guess.
            let missing = await Planner.plan(
                PlanRequest(paths: [Rig.example("text-to-tag")], inputs: ["tag_id=999"], preflight: true),
                environment: rig.environment,
                wiring: PlanWiring(store: rig.store, account: rig.accountSource, preflightTransport: rig.transport),
                now: rig.now(), version: "0.1.0")
            #expect(missing.broadcasts.first?.state == "blocked")
            #expect(missing.broadcasts.first?.reason?.contains("tag 999 does not exist on the account") == true)
            #expect(missing.refused && !missing.invalid)
        }
    }

    @Test func aSubscriptionAccountsSecondSendallIsOverItsQuota() async throws {
        try await Rig.with { rig in
            let step = { (id: String) in
                """
                  - id: \(id)
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: \(id) }
                """
            }
            let path = try rig.write(
                "twice.yaml", "version: 1\nname: twice\naccount: brand-news\nsteps:\n" + step("a") + "\n" + step("b") + "\n")
            let doc = await plan(rig, [path])
            let plan = try #require(doc.broadcasts.first)
            let quota = try #require(plan.quota.first { $0.name.contains("subscription") })
            #expect(quota.planned == 2 && quota.limit == 1 && quota.exceeded)
            #expect(plan.refused)
            #expect(plan.state == "blocked")
            #expect(plan.reason?.contains("subscription") == true)
            #expect(doc.refused)
            #expect(plan.warnings.map(\.code) == ["quota"])
        }
    }

    @Test func anEditAfterSendingIsDriftAndAPassedWindowIsExpire() async throws {
        try await Rig.with { rig in
            let text = { (content: String, window: String) in
                """
                version: 1
                name: weekend
                account: brand-main
                \(window)
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "\(content)" }
                """
            }
            let path = try rig.write("weekend.yaml", text("open 10:00", ""))
            let ran = try await rig.run(path)
            #expect(ran.exitCode == 0)
            _ = try rig.write("weekend.yaml", text("open 11:00", ""))
            let drift = try #require(await plan(rig, [path]).broadcasts.first)
            #expect(drift.state == "drift")
            #expect(drift.refused)
            #expect(drift.sendsPlanned == 0)
            #expect(drift.reason?.contains("send.text.content") == true)

            let late = try rig.write(
                "late.yaml",
                text("x", "schedule:\n  not_before: \"2020-01-01T09:00:00+08:00\"\n  not_after: \"2020-01-01T21:00:00+08:00\"")
                    .replacingOccurrences(of: "name: weekend", with: "name: late"))
            let expired = try #require(await plan(rig, [late]).broadcasts.first)
            #expect(expired.state == "expire")
            #expect(expired.sendsPlanned == 0)
            #expect(expired.warnings.map(\.code) == ["window_passed"])
        }
    }

    @Test func jsonRoundTripsWithItsFormatVersion() async throws {
        try await Rig.with { rig in
            let doc = await plan(rig, [Rig.example("image-to-tag")], inputs: ["tag_id=100"])
            let json = doc.rendered(.json)
            #expect(json.contains("\"format_version\" : 1"))
            let send = try #require(doc.broadcasts.first?.calls.first { $0.irreversible == "send" })
            #expect(send.unknown == ["images.media_ids[0]": "poster_front", "images.media_ids[1]": "poster_back"])
            #expect(send.unknownAfter["images.media_ids[0]"] == "upload")
            let decoded = try PlanDocument.decode(Data(json.utf8))
            #expect(decoded.broadcasts == doc.broadcasts)
            #expect(!json.contains(Rig.secret))
            #expect(throws: PlanFileError.self) {
                try PlanDocument.decode(Data(json.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2").utf8))
            }
        }
    }

    /// The pull-request comment, compared with `Fixtures/plan-golden.md`
    /// (`MASSCAST_UPDATE_GOLDEN=1` rewrites it).
    @Test func markdownMatchesItsGoldenFile() async throws {
        try await Rig.with { rig in
            _ = try rig.write("vip.txt", "oAAAAAAA1\noAAAAAAA2\noAAAAAAA3\n")
            let a = try rig.write(
                "notice.yaml",
                """
                version: 1
                name: notice
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 100 }
                      msgtype: text
                      text: { content: "Our shop opens at 10:00 this weekend | welcome" }
                """)
            let b = try rig.write(
                "vip.yaml",
                """
                version: 1
                name: vip
                account: brand-main
                steps:
                  - id: poster
                    uses: media/upload
                    with: { type: image, file: missing.jpg }
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: vip.txt
                      msgtype: mpnews
                      mpnews: { media_id: "${{ steps.poster.outputs.media_id }}" }
                """)
            let doc = await plan(
                rig, [a, b], facts: AccountFacts(tags: [100: .init(name: "VIP", followers: 2_345)], speedLevel: 0))
            // The rig's folder is a new temporary one each time.
            let markdown = doc.rendered(.markdown).replacingOccurrences(of: rig.dir.path, with: "<rig>")
            let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/plan-golden.md")
            if ProcessInfo.processInfo.environment["MASSCAST_UPDATE_GOLDEN"] == "1" {
                try FileManager.default.createDirectory(
                    at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
                try markdown.write(to: golden, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOf: golden, encoding: .utf8)
            #expect(markdown == expected)
        }
    }
}
