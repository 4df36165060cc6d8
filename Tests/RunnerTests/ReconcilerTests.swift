import Foundation
import RunState
import Testing

@testable import Runner

/// The reconcile table, row by row, with the time given (issue 12 item 4).
@Suite("Reconciler")
struct ReconcilerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var opens: Date { t0.addingTimeInterval(3600) }
    var closes: Date { t0.addingTimeInterval(7200) }
    var window: Reconciler.Window { .init(notBefore: opens, notAfter: closes) }

    func pipeline(
        digest: String = "aaa", contents: [String: ReconcileContent]? = nil, planned: Int? = nil
    ) -> Reconciler.Source {
        .present(.init(digest: digest, contents: contents, plannedSends: planned))
    }

    func completed(digest: String = "aaa", sent: [ReconcileSentCall] = []) -> Reconciler.StoreFacts {
        .init(
            generation: 1, completed: .init(runID: "r1", at: t0.addingTimeInterval(-60), pipelineDigest: digest),
            sent: sent)
    }

    func decide(
        source: Reconciler.Source? = nil, store: Reconciler.StoreFacts = .neverRun, window: Reconciler.Window = .always,
        blockers: [ReconcileBlocker] = [], allowLate: Bool = false, rerun: Bool = false, at now: Date
    ) -> ReconcileDecision {
        Reconciler.decide(
            .init(
                name: "spring", source: source ?? pipeline(), store: store, window: window, blockers: blockers,
                applier: "ci:1", allowLate: allowLate, rerun: rerun),
            now: now)
    }

    @Test("never run: wait before the window, send inside it, expire after it (nothing sent), send with --allow-late")
    func windowStates() {
        let before = decide(window: window, at: t0)
        #expect(before.action == .wait)
        #expect(before.opensAt == opens)
        #expect(before.exitClass == .ok)
        #expect(before.reason.contains("2027-01-15T09:00:00Z"))
        #expect(!before.acts)

        let inside = decide(window: window, at: opens)
        #expect(inside.action == .send)
        #expect(inside.acts)
        #expect(!inside.newGeneration)

        let after = decide(window: window, at: closes.addingTimeInterval(1))
        #expect(after.action == .expire)
        #expect(after.closedAt == closes)
        #expect(after.exitClass == .outsideWindow)
        #expect(after.reason.contains("nothing was sent"))
        #expect(!after.acts)

        let late = decide(window: window, allowLate: true, at: closes.addingTimeInterval(1))
        #expect(late.action == .send)
        #expect(late.reason.contains("--allow-late"))

        // The window's last instant is inside it.
        #expect(decide(window: window, at: closes).action == .send)
    }

    @Test("completed with the same source: noop; with another: drift naming each field, nothing re-sent")
    func noopAndDrift() {
        let sent = [
            ReconcileSentCall(
                step: "send", batch: 0, recipients: 0, msgID: 1_000_000_001, state: .sent, contentDigest: "v3:old",
                fields: ["text.content": "Hello", "filter.tag_id": "100"])
        ]
        let same = decide(
            source: pipeline(contents: ["send": .init(contentDigest: "v3:old", fields: sent[0].fields!)]),
            store: completed(sent: sent), at: t0)
        #expect(same.action == .noop)
        #expect(same.exitClass == .ok)
        #expect(same.runID == "r1")

        let edited = decide(
            source: pipeline(
                digest: "bbb",
                contents: ["send": .init(contentDigest: "v3:new", fields: ["text.content": "Hi", "filter.tag_id": "100"])]),
            store: completed(sent: sent), at: t0)
        #expect(edited.action == .drift)
        #expect(edited.exitClass == .refused)
        #expect(!edited.acts)
        #expect(edited.changes == [ReconcileChange(step: "send", field: "text.content", sent: "Hello", now: "Hi")])
        #expect(edited.reason.contains("send.text.content"))
        #expect(edited.reason.contains("--rerun spring"))

        // A comment edited: the file changed, what would be sent did not.
        let comment = decide(
            source: pipeline(digest: "ccc", contents: ["send": .init(contentDigest: "v3:old", fields: sent[0].fields!)]),
            store: completed(sent: sent), at: t0)
        #expect(comment.action == .drift)
        #expect(comment.changes.map(\.field) == ["pipeline"])
        #expect(comment.reason.contains("what was sent is unchanged"))

        // --rerun starts a new generation, inside the window.
        let rerun = decide(source: pipeline(digest: "bbb"), store: completed(sent: sent), rerun: true, at: t0)
        #expect(rerun.action == .send)
        #expect(rerun.newGeneration)
    }

    @Test("a sent step removed from the pipeline is a drift")
    func stepRemoved() {
        let sent = [ReconcileSentCall(step: "send", batch: 0, recipients: 0, state: .sent, contentDigest: "v3:x")]
        let d = decide(source: pipeline(digest: "b", contents: [:]), store: completed(sent: sent), at: t0)
        #expect(d.action == .drift)
        #expect(d.changes == [ReconcileChange(step: "send", field: "step", sent: "send", now: nil)])
    }

    @Test("file gone: a completed broadcast is an orphan, never retracted; an unknown one is nothing")
    func orphan() {
        let d = decide(source: .gone, store: completed(), at: t0)
        #expect(d.action == .orphan)
        #expect(d.exitClass == .ok)
        #expect(d.reason.contains("never retracted"))
        #expect(!d.acts)
        #expect(decide(source: .gone, store: .neverRun, at: t0).action == .noop)
    }

    @Test("interrupted or stopped: resume inside the window; a half-sent run whose window closed expires saying what was sent")
    func resumeAndHalfSentExpire() {
        let sent = [
            ReconcileSentCall(step: "send", batch: 0, recipients: 10_000, msgID: 11, state: .sent, contentDigest: "v3:a"),
            ReconcileSentCall(step: "send", batch: 1, recipients: 10_000, msgID: 12, state: .sent, contentDigest: "v3:a"),
        ]
        let store = Reconciler.StoreFacts(
            generation: 1, unfinished: .init(runID: "r2", status: .running, ownerAlive: false, owner: "h:9"), sent: sent)
        let resume = decide(source: pipeline(planned: 3), store: store, window: window, at: opens)
        #expect(resume.action == .resume)
        #expect(resume.acts)
        #expect(resume.runID == "r2")
        #expect(resume.reason.contains("interrupted"))

        let expired = decide(source: pipeline(planned: 3), store: store, window: window, at: closes.addingTimeInterval(60))
        #expect(expired.action == .expire)
        #expect(expired.exitClass == .outsideWindow)
        #expect(expired.sent == sent)
        #expect(expired.reason.contains("2 of 3 sends made (20000 recipients)"))
        #expect(expired.reason.contains("msg_id 12"))
        #expect(!expired.acts)

        let late = decide(source: pipeline(planned: 3), store: store, window: window, allowLate: true, at: closes.addingTimeInterval(60))
        #expect(late.action == .resume)
    }

    @Test("failed: reported with exit 1, run again only inside its window")
    func failed() {
        let store = Reconciler.StoreFacts(
            generation: 1, unfinished: .init(runID: "r3", status: .failed, ownerAlive: false, message: "errcode 45028"))
        let inside = decide(store: store, window: window, at: opens)
        #expect(inside.action == .failed)
        #expect(inside.exitClass == .failed)
        #expect(inside.retry)
        #expect(inside.acts)
        #expect(inside.reason.contains("errcode 45028"))
        let after = decide(store: store, window: window, at: closes.addingTimeInterval(1))
        #expect(after.action == .expire)
        #expect(!after.acts)
    }

    @Test("busy: a live lease of another applier, or a run whose owner is alive; an expired lease or one's own is not")
    func busy() {
        var store = Reconciler.StoreFacts.neverRun
        store.lease = .init(owner: "other:2", expiresAt: t0.addingTimeInterval(30))
        let held = decide(store: store, at: t0)
        #expect(held.action == .busy)
        #expect(held.holder == "other:2")
        #expect(held.exitClass == .refused)
        #expect(decide(store: store, at: t0.addingTimeInterval(31)).action == .send)
        store.lease = .init(owner: "ci:1", expiresAt: t0.addingTimeInterval(30))
        #expect(decide(store: store, at: t0).action == .send)

        let running = Reconciler.StoreFacts(
            generation: 1, unfinished: .init(runID: "r4", status: .running, ownerAlive: true, owner: "h:7"))
        let d = decide(store: running, at: t0)
        #expect(d.action == .busy)
        #expect(d.runID == "r4")
    }

    @Test("blocked: approval and preflight even before the window; quota only once it is open")
    func blocked() {
        let approval = ReconcileBlocker(.approval, "no valid approval: run `masscast approve spring --by WHO`")
        let quota = ReconcileBlocker(.quota, "needs 3 sends, 1 left today")
        let early = decide(window: window, blockers: [approval, quota], at: t0)
        #expect(early.action == .blocked)
        #expect(early.blockers == [approval])
        #expect(early.exitClass == .refused)
        #expect(decide(window: window, blockers: [quota], at: t0).action == .wait)
        let open = decide(window: window, blockers: [quota], at: opens)
        #expect(open.action == .blocked)
        #expect(open.reason.contains("1 left today"))
        #expect(!open.acts)
    }

    @Test("needs-inputs names the inputs and the inputs file; manual and send-less pipelines are left to run")
    func inputsAndManual() {
        let d = decide(source: .present(.init(digest: "a", missingInputs: ["campaign", "tag"])), at: t0)
        #expect(d.action == .needsInputs)
        #expect(d.exitClass == .invalid)
        #expect(d.reason.contains("campaign, tag"))
        #expect(d.reason.contains("spring.inputs.yaml"))
        let manual = decide(source: .present(.init(digest: "a", manual: true)), at: t0)
        #expect(manual.action == .noop)
        #expect(manual.reason.contains("apply: manual"))
        let status = decide(source: .present(.init(digest: "a", hasSend: false)), at: t0)
        #expect(status.action == .noop)
        #expect(status.reason.contains("masscast run"))
    }

    @Test("the folder's exit code is the worst: refused over outside-window over failed")
    func exitOrder() {
        let classes: [ReconcileExitClass] = [.ok, .failed, .outsideWindow, .refused, .invalid]
        #expect(classes.max() == .refused)
        #expect(ReconcileExitClass.refused.rawValue == 6)
        #expect(ReconcileAction.needsInputs.rawValue == "needs-inputs")
    }
}
