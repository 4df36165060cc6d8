import Foundation
import PipelineCore
import Runner
import Testing

@testable import MasscastApp

/// `approvals.over_recipients` for tag audiences (issue 12): a tag's follower count counts;
/// an unknown one never passes silently.
@Suite("Approvals over recipients")
struct OverRecipientsTests {
    func state(approvers: [String], over: Int? = 1000, toAll: Int = 0) -> ApprovalState {
        ApprovalState(
            settings: ApprovalSettings(toAll: toAll, overRecipients: over), path: "approvals/spring.yaml",
            exists: !approvers.isEmpty, approvers: approvers)
    }

    @Test func aTagsFollowerCountOverTheThresholdNeedsAnApproval() {
        let blocked = state(approvers: []).blockers(name: "spring", recipients: 5000, sendsToAll: false)
        #expect(blocked.map(\.kind) == [.approval])
        #expect(blocked.first?.message.contains("masscast approve spring --by WHO") == true)
        #expect(state(approvers: ["alice"]).blockers(name: "spring", recipients: 5000, sendsToAll: false).isEmpty)
        #expect(state(approvers: []).blockers(name: "spring", recipients: 999, sendsToAll: false).isEmpty)
    }

    @Test func anUncountedTagIsBlockedUnlessApproved() {
        let uncounted = [(100, "no credentials")]
        let blocked = state(approvers: []).blockers(
            name: "spring", recipients: nil, sendsToAll: false, uncountedTags: uncounted)
        #expect(blocked.map(\.kind) == [.approval])
        #expect(blocked.first?.message.contains("needs preflight to count tag 100's followers") == true)
        #expect(blocked.first?.message.contains("no credentials") == true)
        // An approval covers it; without the threshold there is nothing to count.
        #expect(state(approvers: ["alice"]).blockers(
            name: "spring", recipients: nil, sendsToAll: false, uncountedTags: uncounted).isEmpty)
        #expect(state(approvers: [], over: nil).blockers(
            name: "spring", recipients: nil, sendsToAll: false, uncountedTags: uncounted).isEmpty)
    }
}
