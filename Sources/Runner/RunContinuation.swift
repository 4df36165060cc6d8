import Foundation
import PipelineCore
import RunState

/// The decisions of starting or continuing a run that need no I/O: which steps of an
/// unfinished run keep their results (the convergence rule), where that run stands, what a
/// completed run sent, the schedule window, a new run's id. `RunExecutor` reads the store and
/// asks.
struct RunContinuation {
    let pipeline: Pipeline
    /// How long WeChat keeps temporary media (`RunOptions.mediaLifetime`).
    let mediaLifetime: TimeInterval

    /// What the convergence rule says of a step recorded by an earlier attempt of the run.
    enum Verdict: Equatable {
        /// The step keeps its result and does not run again.
        case keep
        /// The step runs again (it did not succeed, or it is a send: sends are checked
        /// against the journal again).
        case runAgain
        /// The step succeeded, but its temporary media, uploaded then, has passed WeChat's
        /// 3-day lifetime: it runs again.
        case mediaExpired(uploadedAt: Date)
    }

    /// The convergence rule: a step of a continued run keeps its result only if it succeeded
    /// (outcome `success`), is not a send (sends are checked against the journal again) and,
    /// for temporary media, its media is still within WeChat's 3-day lifetime. Steps that
    /// failed, were skipped or cancelled, or never finished run again; sends among them are
    /// recognised by the journal, uploads give the same source digest.
    func verdict(_ step: StepRecord, now: Date) -> Verdict {
        guard step.state == .finished, StepOutcome(recorded: step.outcome) == .success else { return .runAgain }
        // A send runs again: the journal adopts what was sent without a call, and an edit
        // made since is refused, naming what changed, instead of passing unnoticed.
        if Catalog.kind(step.uses)?.sends == true { return .runAgain }
        guard Self.temporaryMediaKinds.contains(step.uses) else { return .keep }
        var uploadedAt = step.endedAt
        if let json = step.outputsJSON, case .object(let o)? = try? Value.parseJSON(json),
            let seconds = o["created_at"]?.intValue, seconds > 0
        {
            uploadedAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        guard let uploadedAt else { return .runAgain }
        if now.timeIntervalSince(uploadedAt) > mediaLifetime { return .mediaExpired(uploadedAt: uploadedAt) }
        return .keep
    }

    /// Kinds whose media WeChat keeps for 3 days only.
    static let temporaryMediaKinds: Set<String> = ["media/upload", "media/uploadnews", "media/uploadvideo"]

    /// Where an unfinished run stands, for "continuing r… (stopped at finish)": its status
    /// and the first step, in file order, that did not succeed or skip.
    func place(of record: RunRecord, steps: [StepRecord]) -> String {
        let byID = Dictionary(steps.map { ($0.stepID, $0) }, uniquingKeysWith: { _, b in b })
        let at = pipeline.steps.first { s in
            guard let r = byID[s.id.value] else { return true }
            return !(r.state == .finished && [.success, .skipped].contains(StepOutcome(recorded: r.outcome)))
        }?.id.value
        let state: String
        switch record.status {
        case .running: state = "interrupted: its runner \(record.owner ?? "") is gone"
        case .stopped: state = "stopped"
        case .failed: state = "failed"
        case .succeeded: state = "succeeded"
        }
        return at.map { "\(state) at \($0)" } ?? state
    }

    /// What a completed run sent, from its journal, for hints that say what `--rerun` would
    /// send again ("20,001 OpenIDs in 3 batches and 1 send to a tag or to all followers"; empty
    /// if it sent nothing).
    static func sentSummary(_ entries: [JournalEntry]) -> String {
        let sends = entries.filter { $0.state == .sent && JournaledCall.isSendKey($0.key) }
        guard !sends.isEmpty else { return "" }
        let batches = sends.filter { $0.recipients > 0 }
        let openIDs = batches.reduce(0) { $0 + $1.recipients }
        let tagSends = sends.count - batches.count
        var parts: [String] = []
        if !batches.isEmpty {
            parts.append("\(openIDs) OpenIDs in \(batches.count) batch\(batches.count == 1 ? "" : "es")")
        }
        if tagSends > 0 { parts.append("\(tagSends) send\(tagSends == 1 ? "" : "s") to a tag or to all followers") }
        return parts.joined(separator: " and ")
    }

    /// Why the pipeline's schedule window does not let it run at `now`, or `nil`.
    func scheduleRefusal(at now: Date) -> String? {
        guard let schedule = pipeline.schedule else { return nil }
        let t = now.timeIntervalSince1970
        if let nb = schedule.notBeforeEpoch, t < nb, let text = schedule.notBefore?.value {
            return "not run: the schedule window opens at \(text) (schedule.not_before)"
        }
        if let na = schedule.notAfterEpoch, t > na, let text = schedule.notAfter?.value {
            return "not run: the schedule window closed at \(text) (schedule.not_after)"
        }
        return nil
    }

    /// A new run's id: `r`, the UTC time to the second, and 6 random characters.
    /// Formatted from the broken-down UTC time (`gmtime_r`), not with a `DateFormatter`, whose
    /// first use loads ICU's locale and time zone data: most of a millisecond's work would
    /// cost tens of milliseconds at the start of every run.
    static func newRunID(now: Date) -> String {
        var seconds = time_t(now.timeIntervalSince1970.rounded(.down))
        var t = tm()
        gmtime_r(&seconds, &t)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(t.tm_year + 1900)
        let stamp = String(repeating: "0", count: max(0, 4 - year.count)) + year
            + "\(two(t.tm_mon + 1))\(two(t.tm_mday))-\(two(t.tm_hour))\(two(t.tm_min))\(two(t.tm_sec))"
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        let suffix = String((0..<6).map { _ in alphabet.randomElement()! })
        return "r\(stamp)-\(suffix)"
    }
}

extension RunExecutor {
    var continuation: RunContinuation { RunContinuation(pipeline: pipeline, mediaLifetime: options.mediaLifetime) }

    /// Whether a step recorded by an earlier attempt keeps its result (`RunContinuation.verdict`).
    func keepsResult(_ step: StepRecord) -> Bool {
        switch continuation.verdict(step, now: options.now()) {
        case .keep: return true
        case .runAgain: return false
        case .mediaExpired(let uploadedAt):
            events.emit(.mediaExpired(stepID: step.stepID, uploadedAt: uploadedAt))
            return false
        }
    }

    /// Where an unfinished run stands (`RunContinuation.place`).
    func unfinishedPlace(_ record: RunRecord) async -> String {
        continuation.place(of: record, steps: (try? await store.steps(runID: record.id)) ?? [])
    }

    /// What a completed run sent (`RunContinuation.sentSummary`); empty if its journal cannot be read.
    func sendSummary(ofRun runID: String) async -> String {
        guard let entries = try? await store.journalEntries(runID: runID) else { return "" }
        return RunContinuation.sentSummary(entries)
    }

    func scheduleRefusal(at now: Date) -> String? { continuation.scheduleRefusal(at: now) }
}
