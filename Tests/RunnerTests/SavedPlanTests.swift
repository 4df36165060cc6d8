import Foundation
import MasscastApp
import MasscastTesting
import Runner
import Testing

/// A saved plan (`plan --out`) and the refusals `apply FILE` makes from it: one per kind of
/// change, each with its own message, on a plan made on the rig and changed as a user would.
@Suite struct SavedPlanTests {
    struct Made {
        var plan: SavedPlan
        var path: String
        var audience: String
    }

    /// A plan of a broadcast to an OpenID file (pipeline + audience bound) and one to all
    /// followers, made on the rig's store.
    func make(_ rig: Rig) async throws -> Made {
        let followers = await rig.sandbox.engine.followers(appID: rig.account().appID)
        let audience = try rig.write("vip.txt", followers.prefix(2).joined(separator: "\n") + "\n")
        let path = try rig.write(
            "vip.yaml",
            """
            version: 1
            name: vip
            account: brand-main
            steps:
              - id: send
                uses: mass/send
                with: { touser_file: vip.txt, msgtype: text, text: { content: hello } }
            """)
        _ = try rig.write(
            "everyone.yaml",
            """
            version: 1
            name: everyone
            account: brand-main
            steps:
              - id: send
                uses: mass/sendall
                with: { filter: { is_to_all: true }, msgtype: text, text: { content: hello all } }
            """)
        let doc = await Planner.plan(
            PlanRequest(paths: [rig.dir.path]), environment: rig.environment,
            wiring: PlanWiring(store: rig.store, account: rig.accountSource), now: rig.now(), version: "0.1.0")
        #expect(doc.errors == [])
        // Saved and read back as apply reads it.
        let file = rig.dir.appendingPathComponent("plan.json").path
        try PlanFiles.write(doc, to: file)
        let saved = try SavedPlan(data: try #require(FileManager.default.contents(atPath: file)))
        #expect(saved.document == doc)
        return Made(plan: saved, path: path, audience: audience)
    }

    func refusals(_ made: Made, _ rig: Rig, now: Date? = nil, approved: Set<String> = ["everyone"]) async
        -> [SavedPlan.Refusal]
    {
        made.plan.check(
            now: now ?? rig.now(), files: PlanFiles.currentDigests(of: made.plan, environment: rig.environment),
            store: await PlanFiles.storeState(of: made.plan, store: rig.store), approved: approved, version: "0.1.0")
    }

    @Test func anUnchangedPlanIsAccepted() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            #expect(await refusals(made, rig) == [])
            let vip = try #require(made.plan.document.broadcasts.first { $0.name == "vip" })
            #expect(Set(vip.inputFiles.map(\.role)) == ["pipeline", "audience"])
            #expect(vip.storeIdentity != nil)
            #expect(vip.serial == 0)
        }
    }

    @Test func anEditedPipelineOrAudienceMakesItStale() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            try "oAAAAAAA1\noAAAAAAA3\n".write(toFile: made.audience, atomically: true, encoding: .utf8)  // another list
            #expect(await refusals(made, rig).map(\.message) == ["plan is stale: vip.txt changed"])
            try FileManager.default.removeItem(atPath: made.path)
            #expect(
                await refusals(made, rig).map(\.message) == ["plan is stale: vip.yaml is gone", "plan is stale: vip.txt changed"])
            #expect(await refusals(made, rig).allSatisfy { $0.code == .stale && $0.broadcast == "vip" })
        }
    }

    @Test func anotherStoreIsRefused() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            let other = try await Rig.start()
            let found = made.plan.check(
                now: rig.now(), files: PlanFiles.currentDigests(of: made.plan, environment: rig.environment),
                store: await PlanFiles.storeState(of: made.plan, store: other.store), approved: ["everyone"])
            await other.stop()
            #expect(found.map(\.code) == [.otherStore, .otherStore])
            #expect(found.first?.message.hasPrefix("plan was made against another state store") == true)
        }
    }

    @Test func aRunMeanwhileMovesTheSerial() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            let ran = try await rig.run(made.path)
            #expect(ran.exitCode == 0)
            let found = await refusals(made, rig)
            #expect(found.map(\.code) == [.serialMoved])
            #expect(found.first?.message.hasPrefix("broadcast vip changed in the store since the plan (serial 0 → ") == true)
        }
    }

    @Test func aPlanOlderThan24HoursIsRefused() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            #expect(await refusals(made, rig, now: rig.now().addingTimeInterval(23 * 3600)) == [])
            let found = await refusals(made, rig, now: rig.now().addingTimeInterval(25 * 3600))
            #expect(found.map(\.code) == [.tooOld])
            #expect(found.first?.message.hasPrefix("plan is too old: made ") == true)
        }
    }

    @Test func aToAllSendNeedsAnApproval() async throws {
        try await Rig.with { rig in
            let made = try await make(rig)
            let found = await refusals(made, rig, approved: [])
            #expect(found.map(\.code) == [.toAllWithoutApproval])
            #expect(found.first?.broadcast == "everyone")
            #expect(found.first?.message.contains("sends to ALL FOLLOWERS and has no valid approval") == true)
        }
    }
}
