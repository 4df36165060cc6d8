import Audience
import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import WeChatMP

/// What one send batch came to.
enum BatchResult {
    case sent(msgID: Int64, msgDataID: Int64?)
    case failed(StepFailure)
    /// The run stops before (or without knowing) the batch's outcome.
    case stopped(String)
}

extension RunExecutor {
    // MARK: mass/sendall

    func sendAll(_ step: Step, _ inputs: SendAllHandler.Inputs) async -> StepExecution<SendAllHandler.Outputs> {
        let request = inputs.request
        let body = inputs.body
        // The run refuses an unconfirmed send to all followers before it starts; this is the
        // last line of defence, on the request itself: nothing is called or journaled.
        // A send the journal shows as sent is only adopted (no call): it needs no confirmation.
        if request.filter.isToAll, let refusal = toAllUnconfirmed(step), let run,
            !(await journalShowsSent(step, batch: 0, generation: run.generation, keyFormat: run.keyFormat))
        {
            return .failure(StepFailure(.refused, refusal))
        }
        if let refusal = await quotaRefusal(batches: [0], step: step) { return .failure(refusal) }
        let client = client(for: step)
        let content = sendAllContent(step, legacyBody: body)
        let result = await sendBatch(
            step, batch: 0, endpoint: "message/mass/sendall", content: content, recipients: 0,
            audience: request.filter.isToAll ? "ALL followers" : request.filter.tagID.map { "tag \($0)" }
        ) { key async throws(WeChatError) -> SendResponse in
            var r = request
            r.clientMsgID = key
            return try await client.sendAll(r)
        }
        switch result {
        case .sent(let msgID, let msgDataID):
            return .success(SendAllHandler.Outputs(msgID: msgID, msgDataID: msgDataID))
        case .failed(let failure):
            return .failure(failure)
        case .stopped(let message):
            return .stopped(message)
        }
    }

    // MARK: mass/send

    func sendToList(_ step: Step, _ inputs: SendHandler.Inputs) async -> StepExecution<SendHandler.Outputs> {
        let payload = inputs.payload
        let template = inputs.template
        // The audience: inline, or a file read as a stream.
        let file: String
        let column: String?
        switch inputs.audience {
        case .openIDs(let ids):
            var batches: [AudienceBatch] = []
            var start = 0
            for (i, size) in BatchPlan.sizes(count: ids.count).enumerated() {
                batches.append(AudienceBatch(index: i, openIDs: Array(ids[start..<start + size])))
                start += size
            }
            var iterator = batches.makeIterator()
            return await sendBatches(step, payload: payload, template: template,
                                     sizes: batches.map(\.openIDs.count)) { iterator.next() }
        case .file(let path, let csvColumn):
            file = path
            column = csvColumn
        }
        let checked: String
        do { checked = try inputReader.checkedPath(file, field: "touser_file") } catch {
            return .failure(StepFailure(error))
        }
        let source = AudienceSource(path: checked, csvColumn: column)
        let stepID = step.id.value
        let events = events
        let spoolDirectory = options.spoolDirectory
        let scanned: Result<AudienceScan, AudienceError> = await Task.detached {
            // Spools a killed run left behind go first.
            SpoolFolder.removeStale(in: spoolDirectory)
            do throws(AudienceError) {
                return .success(try AudienceScanner.scan(source, spoolDirectory: spoolDirectory, progress: { p in
                    events.emit(.audienceReading(
                        stepID: stepID, file: file, lines: p.linesRead, percent: Int(p.bytesRead * 100 / max(1, p.totalBytes))))
                }))
            } catch {
                return .failure(error)
            }
        }.value
        let scan: AudienceScan
        switch scanned {
        case .success(let s): scan = s
        case .failure(let e): return .failure(StepFailure(.audience, e.description, cause: e))
        }
        defer { scan.removeSpool() }
        events.emit(.audienceRead(
            stepID: stepID, file: file, recipients: scan.uniqueCount, duplicates: scan.duplicateCount,
            blankLines: scan.skippedBlankLines, batches: scan.batchSizes.count))
        let batches: AudienceBatches
        do { batches = try scan.batches() } catch { return .failure(StepFailure(.audience, error.description, cause: error)) }
        return await sendBatches(step, payload: payload, template: template, sizes: scan.batchSizes) {
            () throws(AudienceError) -> AudienceBatch? in try batches.next()
        }
    }

    /// Sends the batches `next` gives, one after another, each journaled before its call.
    /// While a batch is in flight the next one is prepared on another task (read from the
    /// spool, digested, its body encoded: ``BatchPrefetch``); its intent is still journaled
    /// only after the batch before it has its result, so sends stay strictly in order.
    func sendBatches(
        _ step: Step, payload: [String: Value], template: SendRequest, sizes: [Int],
        next: @escaping () throws(AudienceError) -> AudienceBatch?
    ) async -> StepExecution<SendHandler.Outputs> {
        guard let run else { return .failure(StepFailure(.noRun, "no run")) }
        if let refusal = await quotaRefusal(batches: Array(sizes.indices), step: step) { return .failure(refusal) }
        // The payload's canonical JSON, once: each batch's digest adds its OpenIDs to it.
        let payloadJSON = Value.object(payload).jsonText
        let payloadView = sendPayloadView(step)
        let payloadViewJSON = Value.object(payloadView).jsonText
        let v2PayloadViewJSON = Value.object(sendPayloadView(step, scheme: .v2)).jsonText
        let format = run.keyFormat
        let project = run.identity.project
        let generation = run.generation
        let appID = self.account.appID
        let name = self.pipeline.name.value
        let keyInputs = self.inputs
        let stepID = step.id.value
        let prefetch = BatchPrefetch(next: next) { batch in
            let content = RunExecutor.batchContent(
                payloadView: payloadView, payloadViewJSON: payloadViewJSON, v2PayloadViewJSON: v2PayloadViewJSON,
                legacyPayloadJSON: payloadJSON, openIDs: batch.openIDs)
            var request = template
            request.toUser = batch.openIDs
            request.clientMsgID = Idempotency.clientMsgID(
                format: format, project: project, appID: appID, name: name, inputs: keyInputs, step: stepID,
                batch: batch.index, generation: generation)
            // An encoding error is reported by the call, which encodes the request again.
            return PreparedBatch(batch: batch, content: content, encoded: try? EncodedSendRequest(request))
        }
        let execution = await sendPrepared(step, template: template, sizes: sizes, prefetch)
        await prefetch.finish()
        return execution
    }

    private func sendPrepared(
        _ step: Step, template: SendRequest, sizes: [Int], _ prefetch: BatchPrefetch
    ) async -> StepExecution<SendHandler.Outputs> {
        let client = client(for: step)
        var msgIDs: [Int64] = []
        let total = sizes.count
        let audience = sizes.reduce(0, +)
        var sentRecipients = 0
        while true {
            let prepared: PreparedBatch
            switch await prefetch.take() {
            case .failure(let error): return .failure(StepFailure(.audience, error.description, cause: error))
            case .success(nil): return .success(SendHandler.Outputs(msgIDs: msgIDs, batches: total, recipients: audience))
            case .success(let batch?): prepared = batch
            }
            let batch = prepared.batch
            if stopSignal.isStopped { return .stopped(stopSignal.message) }
            if options.enforceSchedule, let refusal = scheduleRefusal(at: options.now()) {
                return .failure(StepFailure(.refused, "\(refusal); \(batch.index) of \(total) batches were sent"))
            }
            let openIDs = batch.openIDs
            events.emit(.batchSending(
                stepID: step.id.value, batch: batch.index + 1, batches: total, sent: sentRecipients, audience: audience))
            var plain = template
            plain.toUser = openIDs
            let request = plain
            let encoded = prepared.encoded
            let result = await sendBatch(
                step, batch: batch.index, endpoint: "message/mass/send", content: prepared.content,
                recipients: openIDs.count
            ) { key async throws(WeChatError) -> SendResponse in
                if let encoded, encoded.request.clientMsgID == key { return try await client.send(encoded) }
                var r = request
                r.clientMsgID = key
                return try await client.send(r)
            }
            switch result {
            case .sent(let msgID, _):
                msgIDs.append(msgID)
                sentRecipients += openIDs.count
                events.emit(.batchSent(
                    stepID: step.id.value, batch: batch.index + 1, batches: total, openIDs: openIDs.count, msgID: msgID,
                    sent: sentRecipients, audience: audience))
            case .failed(let failure):
                let note = msgIDs.isEmpty ? "" : "; \(msgIDs.count) of \(total) batches were sent"
                return .failure(
                    failure.appending(note),
                    outputs: SendHandler.Outputs(msgIDs: msgIDs, batches: total, recipients: sentRecipients))
            case .stopped(let message):
                return .stopped(message)
            }
        }
    }

    // MARK: Quota

    /// Refuses before the first batch when the batches still to send exceed what the
    /// account has left today (as far as this store knows).
    func quotaRefusal(batches: [Int], step: Step) async -> StepFailure? {
        guard let run else { return StepFailure(.noRun, "no run") }
        var pending = 0
        for batch in batches {
            let key = clientMsgID(step: step, batch: batch, run: run)
            let entry = try? await store.journalEntry(api: account.api, appID: account.appID, key: key)
            if entry?.state != .sent { pending += 1 }
        }
        guard pending > 0 else { return nil }
        let now = options.now()
        let since = account.pacing.startOfDay(containing: now)
        let used = (try? await store.acceptedSends(api: account.api, appID: account.appID, since: since)) ?? 0
        let left = account.pacing.sendsPerDay - used
        if pending > left {
            return StepFailure(.refused,
                "refusing to start: \(pending) send\(pending == 1 ? "" : "s") needed but \(account.name) has \(max(0, left)) of its \(account.pacing.sendsPerDay) mass sends left today (\(used) made by masscast since \(RunEvent.chinaTime(since))); nothing was sent. Split the audience over several days or raise pacing.sends_per_day if WeChat allows more.")
        }
        return nil
    }

    // MARK: One send

    /// One irreversible call under its clientmsgid: journal the intent, call, journal the
    /// result. A batch the journal shows as sent is adopted without a call.
    func sendBatch(
        _ step: Step, batch: Int, endpoint: String, content: SendContent, recipients: Int,
        audience: String? = nil, _ send: @escaping @Sendable (String) async throws(WeChatError) -> SendResponse
    ) async -> BatchResult {
        guard let run else { return .failed(StepFailure(.noRun, "no run")) }
        let key = clientMsgID(step: step, batch: batch, run: run)
        let now = options.now()
        let sendCall = RunEvent.SendCall(stepID: step.id.value, uses: step.uses.value, clientMsgID: key, batch: batch)
        let journaled = JournaledCall(kind: .send, key: key)
        let existing: JournalEntry?
        switch await readJournal(journaled) {
        case .success(let entry): existing = entry
        case .failure(let stop): return .stopped(stop.message)
        }
        let rehearsal = APIIdentity.isSandbox(account.api)
        let label = "\(step.id.value)\(step.uses.value == "mass/send" ? " batch \(batch + 1)" : "")"
        if let existing {
            let sameContent = content.matches(existing.contentDigest)
            let edit = Self.describeEdit(old: existing.contentFields, new: content.fields)
            let what = edit.isEmpty ? "its content differs from what was journaled" : "changed: \(edit)"
            switch existing.state {
            case .sent:
                guard sameContent else {
                    let sentSoFar = await sendSummary(ofRun: existing.runID)
                    return .failed(StepFailure(.refused,
                        "\(label) was already sent under \(key) (run \(existing.runID), msg_id \(existing.msgID.map(String.init) ?? "?")), and the pipeline was edited since: \(what). Nothing was sent now. To finish this broadcast as it was sent, restore what changed (git checkout) and run it again: nothing is sent twice. To send the edited version as a new broadcast, --rerun starts the next generation and SENDS AGAIN, to the whole audience of every send step\(sentSoFar.isEmpty ? "" : " (this generation has made \(sentSoFar) so far)")."))
                }
                events.emit(.sendAdopted(sendCall, runID: existing.runID, msgID: existing.msgID))
                if rehearsal, let instance = existing.instance, instance != account.endpoint {
                    events.emit(.sendAdoptedFromGoneSandbox(sendCall, runID: existing.runID, msgID: existing.msgID))
                }
                if let id = existing.msgID { return .sent(msgID: id, msgDataID: existing.msgDataID) }
                return .failed(StepFailure(.refused, "journal entry \(key) is sent but has no msg_id"))
            case .intent, .unknown:
                if rehearsal, let instance = existing.instance, instance != account.endpoint {
                    return .failed(StepFailure(.refused,
                        "\(label) has an unknown outcome from an earlier rehearsal (run \(existing.runID)), whose in-process sandbox is gone; a rehearsal never repeats it. Run the pipeline again with `masscast run --sandbox`: an unfinished rehearsal of another process is rehearsed again from the start."))
                }
                guard sameContent else {
                    return .failed(StepFailure(.refused,
                        "an earlier send of \(label) under \(key) (run \(existing.runID)) has an unknown outcome, and the pipeline was edited since: \(what). Nothing was sent now. Restore what changed (git checkout) and run it again, so that it is settled with the same clientmsgid (WeChat answers 45065 if it went out); --rerun is refused until it is settled."))
                }
                let age = now.timeIntervalSince(existing.firstAttemptAt)
                if age > options.unknownOutcomeLimit && !options.confirmResend {
                    return .stopped(
                        "\(label) has an unknown outcome since \(RunEvent.chinaTime(existing.firstAttemptAt)) (over 23 hours: WeChat may have forgotten its clientmsgid, so repeating could send twice). Check the account's sent messages, then `\(options.resumeCommand(run.id, "--confirm-resend"))` to send it again.")
                }
                events.emit(.sendReconciled(sendCall, runID: existing.runID))
            case .refused:
                break
            }
        }
        let resumable = existing.map { $0.state == .intent || $0.state == .unknown } ?? false
        // Whether this store ever recorded a send under this key that may have gone out.
        let recorded = existing.map { $0.state != .refused } ?? false
        var entry = JournalEntry(
            api: account.api, appID: account.appID, key: key, runID: run.id, stepID: step.id.value, batch: batch,
            endpoint: endpoint, contentDigest: content.digest, contentFields: content.fields,
            instance: rehearsal ? account.endpoint : nil, recipients: recipients, state: .intent,
            firstAttemptAt: resumable ? existing!.firstAttemptAt : now, lastAttemptAt: now, updatedAt: now)
        if let stop = await journalIntent(entry, journaled) { return .stopped(stop.message) }
        crashPoint("send.before_call")
        var spec = CallSpec(step: step, batch: batch, endpoint: endpoint, isMass: true)
        spec.keyLastUsed = resumable ? existing!.lastAttemptAt : nil
        spec.intent = (entry, journaled)
        let attempts = SendAttempts()
        let outcome = await call(spec) { () async throws(WeChatError) -> SendResponse in
            do throws(WeChatError) {
                return try await send(key)
            } catch {
                attempts.failed(error)
                throw error
            }
        }
        entry.updatedAt = options.now()
        entry.lastAttemptAt = entry.updatedAt
        switch outcome {
        case .ok(let response):
            crashPoint("send.after_response")
            entry.msgID = response.msgID
            entry.msgDataID = response.msgDataID
            await journalOutcome(&entry, .sent)
            crashPoint("send.after_journal")
            events.emit(.sendAccepted(sendCall, to: audience, msgID: response.msgID))
            return .sent(msgID: response.msgID, msgDataID: response.msgDataID)
        case .duplicate(let msgID):
            // 45065 for a key this store never recorded as possibly sent, when no attempt of
            // this call may have gone through: another state store (or tool) made this send.
            // Lost state must converge, so it is adopted; but its content could not be
            // compared, and that is said loudly.
            let unrecorded = !recorded && !attempts.mayHaveSent
            entry.msgID = msgID
            entry.adoptedUnrecorded = unrecorded
            await journalOutcome(&entry, .sent)
            events.emit(.sendDuplicate(sendCall, msgID: msgID, unrecorded: unrecorded))
            return .sent(msgID: msgID, msgDataID: nil)
        case .failed(let e), .alreadyDone(let e):
            await journalOutcome(&entry, .refused, errcode: e.errcode)
            return .failed(StepFailure(e))
        case .unknown(let e):
            if !(await journalOutcome(&entry, .unknown)) { return .stopped(stopSignal.message) }
            return .stopped(
                "outcome unknown for \(label) (\(e)); `\(options.resumeCommand(run.id))` repeats it with the same clientmsgid, so it cannot be sent twice")
        case .stopped:
            return .stopped(stopSignal.message)
        case .notAttempted(let message):
            return .stopped(message)
        }
    }
}

/// What the failed attempts of one send call may have done: an attempt whose request may
/// have arrived, or that WeChat answered with a transient error (-1, a 5xx) that it may have
/// processed, may have sent; a clear refusal (45066, a permanent errcode) did not.
final class SendAttempts: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = false

    func failed(_ error: WeChatError) {
        guard error.delivery == .maybeReceived || error.errorClass == .transient else { return }
        lock.withLock { sent = true }
    }

    var mayHaveSent: Bool { lock.withLock { sent } }
}

/// One batch of a `mass/send`, made ready for its call: its OpenIDs, its journal content
/// (digest) and its request body under its clientmsgid (`nil` when it could not be encoded).
struct PreparedBatch: Sendable {
    var batch: AudienceBatch
    var content: SendContent
    var encoded: EncodedSendRequest?
}

/// Prepares a send's batches one ahead: while the executor sends batch N, a task reads batch
/// N+1 from its source and prepares it. The source and `prepare` are used by one task at a
/// time (each task starts when the executor takes the one before it), and nothing is
/// journaled or sent here.
final class BatchPrefetch: @unchecked Sendable {
    private let next: () throws(AudienceError) -> AudienceBatch?
    private let prepare: @Sendable (AudienceBatch) -> PreparedBatch
    /// Used by the executor only.
    private var pending: Task<Result<PreparedBatch?, AudienceError>, Never>?

    init(
        next: @escaping () throws(AudienceError) -> AudienceBatch?,
        prepare: @escaping @Sendable (AudienceBatch) -> PreparedBatch
    ) {
        self.next = next
        self.prepare = prepare
        pending = start()
    }

    private func start() -> Task<Result<PreparedBatch?, AudienceError>, Never> {
        Task.detached { [self] in
            do throws(AudienceError) {
                guard let batch = try next() else { return .success(nil) }
                return .success(prepare(batch))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The next batch (`nil` after the last, or an error reading it); starts preparing the
    /// one after it.
    func take() async -> Result<PreparedBatch?, AudienceError> {
        guard let pending else { return .success(nil) }
        let result = await pending.value
        if case .success(.some) = result { self.pending = start() } else { self.pending = nil }
        return result
    }

    /// Waits for the batch in preparation, if any, so that nothing reads the source after.
    func finish() async {
        if let pending { _ = await pending.value }
        pending = nil
    }
}
