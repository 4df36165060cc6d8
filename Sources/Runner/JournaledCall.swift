import Foundation
import PipelineCore
import RunState

/// One irreversible call (a send batch, a preview, a delete: the catalog's
/// `Irreversibility`) under its journal key, with one safety rule for all three:
/// 1. the journal entry for the key is read first; when it cannot be read the call is not
///    made (the run stops, resumable);
/// 2. the intent is committed before the call; when it cannot be written the call is not
///    made either;
/// 3. the call, with retries;
/// 4. the outcome is committed: `sent`, `refused` or `unknown`.
/// On a re-run the entry read in 1 decides: a call journaled `sent` is adopted without a
/// call; one whose outcome is `intent`/`unknown` is settled by each kind's rule (a send is
/// repeated with the same clientmsgid, a preview only with `--confirm-resend`, a delete is
/// repeated and WeChat's 40059 "already deleted" counts as done).
struct JournaledCall: Sendable {
    var kind: Irreversibility
    /// The clientmsgid of a send; `preview:<run>:<step>`; `delete:<run>:<step>:<n>`.
    var key: String

    /// What is not done without the journal, for the refusal.
    var refusedAction: String {
        switch kind {
        case .send: "not sending without it"
        case .preview: "not sending the preview without it"
        case .delete: "not deleting without it"
        }
    }

    static func preview(runID: String, stepID: String) -> JournaledCall {
        JournaledCall(kind: .preview, key: "preview:\(runID):\(stepID)")
    }

    static func delete(runID: String, stepID: String, index: Int) -> JournaledCall {
        JournaledCall(kind: .delete, key: "delete:\(runID):\(stepID):\(index)")
    }

    /// Whether a journal key is a send's (not a preview's or a delete's).
    static func isSendKey(_ key: String) -> Bool { !key.hasPrefix("preview:") && !key.hasPrefix("delete:") }
}

extension RunExecutor {
    /// Step 1: the journal entry of the call; a stopped step when the journal cannot be read.
    func readJournal(_ call: JournaledCall) async -> Result<JournalEntry?, StepStop> {
        do {
            return .success(try await store.journalEntry(api: account.api, appID: account.appID, key: call.key))
        } catch {
            return .failure(StepStop(message: "the journal cannot be read (\(error)); \(call.refusedAction)"))
        }
    }

    /// Step 2: commits the intent; a stopped step when the journal cannot be written.
    func journalIntent(_ entry: JournalEntry, _ call: JournaledCall) async -> StepStop? {
        if let leaseSafeUntil, ContinuousClock.now >= leaseSafeUntil {
            stopSignal.stop(reason: .leaseLost)
            return StepStop(
                message: "lease lost: the lease of broadcast \(identity.name) was not renewed in time and may have been taken over; \(call.refusedAction)")
        }
        do {
            if let leaseFence {
                try await store.journal(entry, fence: leaseFence)
            } else {
                try await store.journal(entry)
            }
            return nil
        } catch let error as StateStoreError where error.code == .leaseLost {
            stopSignal.stop(reason: .leaseLost)
            return StepStop(message: "\(error.message); \(call.refusedAction)")
        } catch {
            return StepStop(message: "the journal cannot be written (\(error)); \(call.refusedAction)")
        }
    }

    /// Step 3: records the call's outcome (best effort: the call was made, so a failed write
    /// leaves the intent, which a later run settles as an unknown outcome). A refusal keeps
    /// WeChat's errcode. Fenced by the lease like the intent: once another holder took the
    /// broadcast over, the journal is theirs (they may have settled this very call), so
    /// nothing is written and the run stops (lease lost).
    /// - Returns: `false` when the lease was lost (nothing written).
    @discardableResult
    func journalOutcome(_ entry: inout JournalEntry, _ state: JournalEntry.State, errcode: Int? = nil) async -> Bool {
        entry.state = state
        if state == .refused { entry.errcode = errcode }
        do {
            if let leaseFence {
                try await store.journal(entry, fence: leaseFence)
            } else {
                try await store.journal(entry)
            }
        } catch let error as StateStoreError where error.code == .leaseLost {
            stopSignal.stop(reason: .leaseLost)
            return false
        } catch {}
        return true
    }
}

/// A journaled call that was refused before it was made: the step stops (resumable).
struct StepStop: Error, Sendable {
    var message: String
}
