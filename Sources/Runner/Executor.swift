import Foundation
import Logging
import PipelineCore
import RunState
import WeChatMP

/// Executes a pipeline against WeChat (or the sandbox): schedules its steps, evaluates
/// conditions, retries, journals sends, and records everything in the state store.
///
/// One executor runs one run: `start()` a new one, or `resume(runID:)` one that stopped.
public actor RunExecutor {
    let pipeline: Pipeline
    /// The directory of the pipeline file: `file`, `content_file` and `touser_file` are
    /// relative to it.
    let baseDirectory: String
    let pipelineFile: String
    let pipelineDigest: String
    let account: AccountSettings
    let store: any StateStore
    let transport: any WeChatTransport
    let tokens: TokenProvider
    let options: RunOptions
    let pacer: Pacer
    public nonisolated let stopSignal = StopSignal()
    var logger: Logger

    var run: RunRecord?
    var inputs: [String: Value]
    var states: [String: StepState] = [:]
    /// When each step started (in this process, or as recorded before a resume): kept here so
    /// that finishing a step does not read every step of the run back from the store.
    var startedTimes: [String: Date] = [:]
    /// The last successful attempt of each running step whose call is not journaled, written
    /// with the step's next record (its end, usually) in one transaction; see `record`.
    var pendingAttempts: [String: AttemptRecord] = [:]
    /// Source digests of steps computed so far (`SourceDigest.swift`).
    var sourceDigests: [String: String] = [:]
    /// The followers each job was for (`TotalCount` of its MASSSENDJOBFINISH push), for the
    /// run's summary.
    var pushedTotals: [Int64: Int] = [:]

    /// Creates an executor.
    /// - Parameters:
    ///   - pipeline: a pipeline without errors.
    ///   - pipelineFile: its path; `pipelineDigest` the SHA-256 of its bytes.
    ///   - transport: the HTTP transport (one per process).
    public init(
        pipeline: Pipeline, pipelineFile: String, pipelineDigest: String, account: AccountSettings,
        store: any StateStore, transport: any WeChatTransport, logger: Logger, options: RunOptions
    ) {
        self.pipeline = pipeline
        self.pipelineFile = pipelineFile
        self.baseDirectory = (pipelineFile as NSString).deletingLastPathComponent
        self.pipelineDigest = pipelineDigest
        self.account = account
        self.store = store
        self.transport = transport
        self.options = options
        self.inputs = options.inputs
        self.pacer = Pacer(limit: account.pacing.massCallsPerMinute, now: options.now, clock: options.clock)
        self.tokens = TokenProvider(
            credentials: .init(appID: account.appID, secret: account.secret.value), mode: account.tokenMode,
            baseURL: account.apiBase, transport: transport, cache: StoreTokenCache(store: store, api: account.endpoint), now: options.now)
        var logger = logger
        logger[metadataKey: "pipeline"] = .string(pipeline.name.value)
        self.logger = logger
    }

    /// Ctrl-C or SIGTERM: calls in flight finish (or are journaled as unknown), nothing new
    /// starts, the run stops resumable; its messages name the `reason`.
    public nonisolated func stop(reason: StopReason = .interrupt) { stopSignal.stop(reason: reason) }

    var identity: BroadcastIdentity {
        BroadcastIdentity(
            project: options.project, appID: account.appID, api: account.api, name: pipeline.name.value,
            inputsJSON: Idempotency.canonicalInputs(inputs))
    }

    /// The clientmsgid of a send of this run (the run's generation and key format).
    func clientMsgID(step: Step, batch: Int, run: RunRecord) -> String {
        Idempotency.clientMsgID(
            format: run.keyFormat, project: run.identity.project, appID: account.appID, name: pipeline.name.value,
            inputs: inputs, step: step.id.value, batch: batch, generation: run.generation)
    }

    // MARK: Start and resume

    /// Starts a new run (or reports that the broadcast already completed).
    public func start() async -> RunResult {
        let now = options.now()
        if options.enforceSchedule, let refusal = scheduleRefusal(at: now) {
            logger.warning("\(refusal)", metadata: ["event": "run.not_run"])
            return .notRun(message: refusal)
        }
        if let refusal = toAllRefusal(finished: await toAllAlreadySent()) { return .invalid(message: refusal) }
        let template = RunRecord(
            id: Self.newRunID(now: now), identity: identity, generation: 0,
            keyFormat: Idempotency.keyFormat(project: options.project), pipelineFile: pipelineFile,
            pipelineDigest: pipelineDigest, inputsJSON: Idempotency.canonicalInputs(inputs), accountName: account.name,
            sandbox: options.sandbox, status: .running, createdAt: now, updatedAt: now, owner: options.owner,
            heartbeatAt: now)
        let begun: BeginRunResult
        do {
            begun = try await store.beginRun(template, nextGeneration: options.rerun, isOwnerAlive: options.ownerLiveness())
        } catch {
            return .invalid(message: "state store: \(error)")
        }
        switch begun {
        case .alreadyCompleted(let runID, let at):
            let again = await sendSummary(ofRun: runID)
            logger.notice(
                "broadcast \(pipeline.name.value) already completed in run \(runID); nothing to do (--rerun would send it AGAIN as a new generation\(again.isEmpty ? "" : ": " + again))",
                metadata: ["event": "run.already_completed", "run.id": .string(runID)])
            return .alreadyCompleted(runID: runID, completedAt: at)
        case .rerunRefused(let generation, let unknown):
            let list = unknown.prefix(5).map { "\($0.stepID) batch \($0.batch + 1) (\($0.key), run \($0.runID))" }
                .joined(separator: ", ")
            let message =
                "--rerun refused: \(unknown.count) send\(unknown.count == 1 ? "" : "s") of generation \(generation) \(unknown.count == 1 ? "has" : "have") an unknown outcome (\(list)\(unknown.count > 5 ? ", …" : "")); a new generation could send \(unknown.count == 1 ? "it" : "them") twice. Run the broadcast again without --rerun (or `masscast resume RUN_ID`) to settle \(unknown.count == 1 ? "it" : "them") with the same clientmsgid first."
            logger.error("\(message)", metadata: ["event": "run.rerun_refused"])
            return .invalid(message: message)
        case .unfinished(let record):
            let place = await unfinishedPlace(record)
            logger.notice(
                "continuing \(record.id) (\(place)) instead of starting over: steps that succeeded keep their results",
                metadata: ["event": "run.continuing", "run.id": .string(record.id)])
            return await resume(runID: record.id)
        case .busy(let runID, let owner):
            logger.error(
                "broadcast \(pipeline.name.value) is being run by \(owner) (run \(runID)); not starting a second runner",
                metadata: ["event": "run.busy", "run.id": .string(runID)])
            return .busy(runID: runID, owner: owner)
        case .started(let record):
            run = record
            logger[metadataKey: "run.id"] = .string(record.id)
            logger.info(
                "run \(record.id) started: \(pipeline.name.value), generation \(record.generation), \(account.name) (\(account.appID))\(options.sandbox ? ", sandbox" : "")",
                metadata: ["event": "run.started", "generation": .stringConvertible(record.generation)])
            return await execute(finished: [:])
        }
    }

    /// Continues a run that stopped (or whose runner died): finished steps keep their
    /// results, the others run; sends are recognised by the journal and never repeated.
    public func resume(runID: String) async -> RunResult {
        if let refusal = await toAllRefusal(resuming: runID) { return .invalid(message: refusal) }
        let claim: ClaimResult
        do {
            claim = try await store.claimRun(
                runID, owner: options.owner, now: options.now(), isOwnerAlive: options.ownerLiveness())
        } catch {
            return .invalid(message: "state store: \(error)")
        }
        switch claim {
        case .notFound:
            return .invalid(message: "no run \(runID) in the state store (masscast runs list shows the runs)")
        case .finished(let status):
            return .invalid(message: "run \(runID) already \(status.rawValue); nothing to resume")
        case .superseded(let current):
            return .invalid(
                message: "run \(runID) belongs to an earlier generation of its broadcast, which is now at generation \(current) (completed, or abandoned by --rerun); it is never continued. `masscast run` the pipeline for the current generation")
        case .held(let owner):
            return .busy(runID: runID, owner: owner)
        case .claimed(let record):
            run = record
            logger[metadataKey: "run.id"] = .string(record.id)
            if record.pipelineDigest != pipelineDigest {
                logger.warning(
                    "the pipeline file changed since run \(record.id) started; sends already made are checked against the journal",
                    metadata: ["event": "run.pipeline_changed"])
            }
            var finished: [String: StepRecord] = [:]
            do {
                for step in try await store.steps(runID: runID) {
                    if let startedAt = step.startedAt { startedTimes[step.stepID] = startedAt }
                    if keepsResult(step) { finished[step.stepID] = step }
                }
            } catch {
                return .invalid(message: "state store: \(error)")
            }
            logger.info(
                "run \(record.id) resumed: \(finished.count) of \(pipeline.steps.count) steps keep their results; the others run",
                metadata: ["event": "run.resumed"])
            return await execute(finished: finished)
        }
    }

    /// The convergence rule: a step of a continued run keeps its result only if it succeeded
    /// (outcome `success`), is not a send (sends are checked against the journal again) and,
    /// for temporary media, its media is still within WeChat's 3-day lifetime. Steps that failed, were skipped or cancelled, or never finished run again;
    /// sends among them are recognised by the journal, uploads give the same source digest.
    func keepsResult(_ step: StepRecord) -> Bool {
        guard step.state == .finished, StepOutcome(recorded: step.outcome) == .success else { return false }
        // A send runs again: the journal adopts what was sent without a call, and an edit
        // made since is refused, naming what changed, instead of passing unnoticed.
        if Catalog.kind(step.uses)?.sends == true { return false }
        guard Self.temporaryMediaKinds.contains(step.uses) else { return true }
        var uploadedAt = step.endedAt
        if let json = step.outputsJSON, case .object(let o)? = try? Value.parseJSON(json),
            let seconds = o["created_at"]?.intValue, seconds > 0
        {
            uploadedAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        guard let uploadedAt else { return false }
        if options.now().timeIntervalSince(uploadedAt) > options.mediaLifetime {
            logger.notice(
                "step \(step.stepID) runs again: its media, uploaded \(Self.isoFormat(uploadedAt)), has passed WeChat's 3-day lifetime",
                metadata: ["event": "step.media_expired", "step.id": .string(step.stepID)])
            return false
        }
        return true
    }

    /// Kinds whose media WeChat keeps for 3 days only.
    static let temporaryMediaKinds: Set<String> = ["media/upload", "media/uploadnews", "media/uploadvideo"]

    /// Where an unfinished run stands, for "continuing r… (stopped at finish)".
    func unfinishedPlace(_ record: RunRecord) async -> String {
        let steps = (try? await store.steps(runID: record.id)) ?? []
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

    /// What a completed run sent, for hints that say what `--rerun` would send again.
    func sendSummary(ofRun runID: String) async -> String {
        guard let entries = try? await store.journalEntries(runID: runID) else { return "" }
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

    static func newRunID(now: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        let suffix = String((0..<6).map { _ in alphabet.randomElement()! })
        return "r\(f.string(from: now))-\(suffix)"
    }

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

    // MARK: Scheduling

    func execute(finished: [String: StepRecord]) async -> RunResult {
        guard let run else { return .invalid(message: "no run") }
        let steps = pipeline.steps
        let scheduler = StepScheduler(pipeline)
        var done = Set<Int>()
        for (i, step) in steps.enumerated() {
            if let record = finished[step.id.value] {
                var outputs: [String: Value] = [:]
                if let json = record.outputsJSON, case .object(let o)? = try? Value.parseJSON(json) { outputs = o }
                states[step.id.value] = StepState(
                    outputs: outputs, outcome: record.outcome, conclusion: record.conclusion, errcode: record.errcode)
                done.insert(i)
            }
        }
        let heartbeat = Task { [store, options, stopSignal] in
            var failures = 0
            while !Task.isCancelled {
                try? await options.clock.sleep(for: options.heartbeatInterval)
                if Task.isCancelled { break }
                do {
                    try await store.heartbeat(run.id, owner: options.owner, at: options.now())
                    failures = 0
                } catch {
                    // Another process took the run over, or the store is gone: start nothing new.
                    failures += 1
                    if failures >= 3 {
                        stopSignal.stop(reason: .lostOwnership)
                        break
                    }
                }
            }
        }
        defer { heartbeat.cancel() }

        var stopMessage: String?
        await withTaskGroup(of: (Int, StepResult).self) { group in
            var running = Set<Int>()
            while true {
                if stopMessage == nil && stopSignal.isStopped { stopMessage = stopSignal.message }
                if stopMessage == nil {
                    var progressed = true
                    while progressed {
                        progressed = false
                        for i in steps.indices where !done.contains(i) && !running.contains(i) {
                            guard running.count < max(1, options.concurrency) else { break }
                            guard scheduler.isReady(i, done: done) else { continue }
                            let decision = scheduler.decide(i, context: evaluationContext())
                            switch decision {
                            case .run(let context):
                                running.insert(i)
                                let step = steps[i]
                                await markStarted(step)
                                group.addTask { [self] in (i, await self.perform(step, context: context)) }
                            case .skip(let outcome, let message):
                                await finish(steps[i], .finished(outcome: outcome, errcode: nil, outputs: [:], message: message))
                                done.insert(i)
                                progressed = true
                            }
                        }
                    }
                }
                guard let (i, result) = await group.next() else { break }
                running.remove(i)
                if case .stopped(let message) = result {
                    stopMessage = stopMessage ?? message
                    await markStoppedStep(steps[i], message: message)
                } else {
                    await finish(steps[i], result)
                    done.insert(i)
                }
            }
        }

        let now = options.now()
        if let stopMessage, done.count < steps.count {
            logger.warning(
                "run \(run.id) stopped: \(stopMessage). Resume with: \(options.resumeCommand(run.id))",
                metadata: ["event": "run.stopped"])
            try? await store.finishRun(run.id, status: .stopped, message: stopMessage, at: now)
            return .stopped(runID: run.id, message: stopMessage)
        }
        let failedSteps = steps.filter { StepOutcome(recorded: states[$0.id.value]?.conclusion) == .failure }.map(\.id.value)
        if !failedSteps.isEmpty {
            let message = "step\(failedSteps.count == 1 ? "" : "s") \(failedSteps.joined(separator: ", ")) failed"
            await logSummary(runID: run.id)
            logger.error("run \(run.id) failed: \(message)", metadata: ["event": "run.finished", "status": "failed"])
            try? await store.finishRun(run.id, status: .failed, message: message, at: now)
            return .failed(runID: run.id, message: message)
        }
        await logSummary(runID: run.id)
        logger.info("run \(run.id) succeeded", metadata: ["event": "run.finished", "status": "succeeded"])
        try? await store.finishRun(run.id, status: .succeeded, message: nil, at: now)
        return .succeeded(runID: run.id)
    }

    func evaluationContext() -> EvaluationContext {
        EvaluationContext(
            inputs: inputs, env: options.env, secrets: [:], steps: states, pipelineName: pipeline.name.value,
            runID: run?.id ?? "")
    }

    // MARK: Recording

    func markStarted(_ step: Step) async {
        guard let run else { return }
        let record = StepRecord(
            runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .running, startedAt: options.now())
        startedTimes[step.id.value] = record.startedAt
        // Not awaited: committed before the step's next record (a crash may lose it, and
        // resume runs an unfinished step again anyway).
        await store.queueStepSave(record, appending: [])
        options.progress?("[\(step.id.value)] \(step.uses.value) started")
        logger.info(
            "started (\(step.uses.value))",
            metadata: ["event": "step.started", "step.id": .string(step.id.value), "uses": .string(step.uses.value)])
    }

    func markStoppedStep(_ step: Step, message: String) async {
        guard let run else { return }
        var record = StepRecord(runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .pending)
        record.message = message
        record.startedAt = startedTimes[step.id.value]
        try? await store.saveStep(record, appending: takePendingAttempts(step.id.value))
        options.progressEnded?(step.id.value)
        logger.warning(
            "stopped: \(message)",
            metadata: ["event": "step.stopped", "step.id": .string(step.id.value), "uses": .string(step.uses.value)])
    }

    func finish(_ step: Step, _ result: StepResult) async {
        guard let run, case .ended(let end) = result else { return }
        let (outcome, errcode, outputs, message) = (end.outcome, end.errcode, end.outputs, end.message)
        let conclusion: StepOutcome = (outcome == .failure && step.continueOnError) ? .success : outcome
        states[step.id.value] = StepState(
            outputs: outputs, outcome: outcome.rawValue, conclusion: conclusion.rawValue, errcode: errcode)
        let now = options.now()
        let startedAt = startedTimes[step.id.value]
        let record = StepRecord(
            runID: run.id, stepID: step.id.value, uses: step.uses.value, state: .finished, outcome: outcome.rawValue,
            conclusion: conclusion.rawValue, errcode: errcode, outputsJSON: Value.object(outputs).jsonText, message: message,
            startedAt: startedAt ?? now, endedAt: now)
        if step.kind?.irreversible != nil {
            try? await store.saveStep(record, appending: takePendingAttempts(step.id.value))
        } else {
            // Not awaited: committed in order, before any later awaited write (a journal
            // intent, the run's end). A crash just after may lose it; resume then runs the
            // step again, as it would after a crash during its call, which for these
            // kinds (uploads, reads, waits) is harmless.
            await store.queueStepSave(record, appending: takePendingAttempts(step.id.value))
        }
        options.progressEnded?(step.id.value)
        var metadata: Logger.Metadata = [
            "event": "step.finished", "step.id": .string(step.id.value), "uses": .string(step.uses.value),
            "outcome": .string(outcome.rawValue), "conclusion": .string(conclusion.rawValue),
        ]
        if let startedAt { metadata["duration_ms"] = .stringConvertible(Int(now.timeIntervalSince(startedAt) * 1000)) }
        if let errcode { metadata["errcode"] = .stringConvertible(errcode) }
        let summary = Self.outputSummary(outputs)
        switch outcome {
        case .success:
            logger.info("success\(summary.isEmpty ? "" : " (\(summary))")", metadata: metadata)
        case .failure:
            let suffix = step.continueOnError ? " (continue_on_error: the run goes on)" : ""
            logger.error("failed: \(message ?? "")\(suffix)", metadata: metadata)
        default:
            logger.info("\(outcome.rawValue): \(message ?? "")", metadata: metadata)
        }
    }

    static func outputSummary(_ outputs: [String: Value]) -> String {
        outputs.keys.sorted().compactMap { key -> String? in
            guard let v = outputs[key], v != .null else { return nil }
            if case .list(let items) = v, items.count > 5 { return "\(key)=[\(items.count) items]" }
            return "\(key)=\(v.templateText)"
        }.joined(separator: " ")
    }
}
