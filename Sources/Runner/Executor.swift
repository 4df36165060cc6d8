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
            id: RunContinuation.newRunID(now: now), identity: identity, generation: 0,
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

    // MARK: Scheduling

    /// Runs the steps the scheduler says, as it says, until none is left to start (or the
    /// run stops), then concludes the run.
    func execute(finished: [String: StepRecord]) async -> RunResult {
        guard let run else { return .invalid(message: "no run") }
        let steps = pipeline.steps
        let scheduler = StepScheduler(pipeline)
        var done = restore(finished)
        let heartbeat = Heartbeat(store: store, runID: run.id, options: options, stopSignal: stopSignal).start()
        defer { heartbeat.cancel() }

        var stopMessage: String?
        await withTaskGroup(of: (Int, StepResult).self) { group in
            var running = Set<Int>()
            while true {
                if stopMessage == nil && stopSignal.isStopped { stopMessage = stopSignal.message }
                let actions = scheduler.next(
                    done: done, running: running, stopping: stopMessage != nil,
                    concurrency: options.concurrency, context: evaluationContext())
                for action in actions {
                    switch action {
                    case .start(let i, let context):
                        running.insert(i)
                        await markStarted(steps[i])
                        group.addTask { [self] in (i, await self.perform(steps[i], context: context)) }
                    case .conclude(let i, let outcome, let message):
                        await finish(steps[i], .finished(outcome: outcome, errcode: nil, outputs: [:], message: message))
                        done.insert(i)
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
        if let stopMessage, !scheduler.isComplete(done: done) {
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

}
