import Foundation
import MasscastTesting
import PipelineCore
import RunState
import Runner
import Testing
import WeChatSandbox

/// Every pipeline in `pipelines/` runs green against the sandbox.
@Suite("examples run against the sandbox", .serialized)
struct RunnerExampleTests {
    @Test("every example pipeline runs green, one accepted send per send step")
    func examples() async throws {
        try await Rig.with(time: .virtual) { rig in try await examples(rig) }
    }

    func examples(_ rig: Rig) async throws {
        let cases: [(String, [String])] = [
            ("video-to-tag", []), ("text-to-tag", ["tag_id=101"]), ("image-to-tag", ["tag_id=102"]),
            ("voice-to-tag", ["tag_id=103"]), ("mpnews-with-preview-fallback", ["tag_id=100"]),
            ("openid-list-from-file", []), ("always-cleanup", ["tag_id=104"]),
            ("parallel-branches", ["video_tag_id=101", "image_tag_id=102"]),
        ]
        var expectedSends = 0
        var videoMsgID: Int?
        for (name, inputs) in cases {
            let before = await rig.sends().count
            let result = try await rig.run(Rig.example(name), inputs: inputs)
            #expect(result == .succeeded(runID: result.runID ?? ""), "\(name): \(result)")
            let pipeline = try rig.load(Rig.example(name))
            let sendSteps = pipeline.steps.filter { $0.kind?.sends == true }.count
            let after = await rig.sends().count
            #expect(after - before == sendSteps, "\(name): \(after - before) sends for \(sendSteps) send steps")
            expectedSends += sendSteps
            if name == "video-to-tag" {
                let steps = try await rig.steps(result)
                if case .integer(let id)? = rig.outputs(steps["send"])["msg_id"] { videoMsgID = id }
            }
        }
        let id = try #require(videoMsgID)
        let check = try await rig.run(Rig.example("check-status"), inputs: ["msg_id=\(id)"])
        #expect(check == .succeeded(runID: check.runID ?? ""), "check-status: \(check)")
        let delete = try await rig.run(Rig.example("delete-article"), inputs: ["msg_id=\(id)"])
        #expect(delete == .succeeded(runID: delete.runID ?? ""), "delete-article: \(delete)")
        #expect(await rig.sends().count == expectedSends)
    }
}
