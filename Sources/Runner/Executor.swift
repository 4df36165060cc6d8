import FileChecks
import Foundation
import Logging
import PipelineCore
import RunLog
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
    /// The repository root: the files steps read must lie inside it (``RepositoryRoot``).
    let repositoryRoot: String
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
    /// The broadcast's lease this run holds (`masscast apply`): every journal intent is
    /// written only while its epoch holds (``fence(_:)``).
    var leaseFence: LeaseFence?
    /// No new irreversible call starts from this time on (see ``leaseMargin(until:)``).
    var leaseSafeUntil: ContinuousClock.Instant?

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
        self.repositoryRoot = RepositoryRoot.find(forPipelineAt: pipelineFile)
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

    /// Fences the run's journal intents with the broadcast's lease: once another holder takes
    /// the lease over (its epoch moves), the next intent is refused (lease lost), the call is
    /// not made, and the run stops starting new steps.
    public func fence(_ fence: LeaseFence) { leaseFence = fence }

    /// Logs that another owner's lease of the broadcast is live until `until` and nothing
    /// starts (`run.lease_held`).
    public func leaseHeld(by owner: String, until: Date, runID: String?) {
        events.emit(.leaseHeld(pipeline: pipeline.name.value, runID: runID, owner: owner, until: until))
    }

    /// Whether the owner of another run of this broadcast still holds it. A run fenced by the
    /// broadcast's lease holds that lease: another owner's run of the broadcast is not live,
    /// whatever its heartbeat says (its holder lost the lease, or it was written by a masscast
    /// without leases); only a run of this same owner with a recent heartbeat is (two runs in
    /// one process). An unfenced run (the library used without a lease) goes by the heartbeat.
    func ownerLiveness() -> OwnerLiveness {
        let byHeartbeat = options.ownerLiveness()
        guard leaseFence != nil else { return byHeartbeat }
        let me = options.owner
        return { owner, heartbeatAt in owner == me && byHeartbeat(owner, heartbeatAt) }
    }

    /// Logs that the run's lease was taken over from `previousOwner` (`run.taken_over`).
    public func tookOver(from previousOwner: String, epoch: Int64) {
        events.emit(.takenOver(pipeline: pipeline.name.value, previousOwner: previousOwner, epoch: epoch))
    }

    /// The time (real time, not the run's schedule clock) from which the lease may have expired, so that another
    /// holder could take it over at any moment: from then on no new irreversible call starts
    /// (the run stops, lease lost). Each successful renewal of the lease moves it on.
    public func leaseMargin(until: ContinuousClock.Instant) { leaseSafeUntil = until }

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
            events.emit(.notRun(reason: refusal))
            return .notRun(message: refusal)
        }
        if let refusal = toAllRefusal(finished: await toAllAlreadySent()) { return .invalid(message: refusal) }
        let template = RunRecord(
            id: RunContinuation.newRunID(now: now), identity: identity, generation: 0,
            keyFormat: Idempotency.keyFormat(project: options.project), pipelineFile: pipelineFile,
            pipelineDigest: pipelineDigest, inputsJSON: Idempotency.canonicalInputs(inputs), accountName: account.name,
            sandbox: options.sandbox, status: .running, createdAt: now, updatedAt: now, owner: options.owner,
            heartbeatAt: now)
        var begun: BeginRunResult
        do {
            begun = try await store.beginRun(template, nextGeneration: options.rerun, isOwnerAlive: ownerLiveness())
            // A rehearsal's sandbox lives in its process: an unfinished rehearsal of another
            // process cannot be continued (its msg_ids and media_ids are unknown to this
            // sandbox), so it is rehearsed again from the start, as the next generation.
            if case .unfinished(let record) = begun, APIIdentity.isSandbox(account.api), record.owner != options.owner {
                events.emit(.rehearsalRestarted(runID: record.id, status: record.status))
                begun = try await store.beginRun(template, nextGeneration: true, isOwnerAlive: ownerLiveness())
            }
        } catch {
            return .invalid(message: "state store: \(error)")
        }
        switch begun {
        case .alreadyCompleted(let runID, let at):
            let sent = await sendSummary(ofRun: runID)
            events.emit(.alreadyCompleted(pipeline: pipeline.name.value, runID: runID, sent: sent))
            return .alreadyCompleted(runID: runID, completedAt: at)
        case .rerunRefused(let generation, let unknown):
            let event = RunEvent.rerunRefused(generation: generation, unknownSends: unknown)
            events.emit(event)
            let message = event.logLine?.message ?? ""
            return .invalid(message: message)
        case .unfinished(let record):
            let place = await unfinishedPlace(record)
            events.emit(.continuing(runID: record.id, place: place))
            return await resume(runID: record.id)
        case .busy(let runID, let owner):
            events.emit(.busy(pipeline: pipeline.name.value, runID: runID, owner: owner))
            return .busy(runID: runID, owner: owner)
        case .started(let record):
            run = record
            logger[metadataKey: "run.id"] = .string(record.id)
            events.emit(
                .started(
                    runID: record.id, pipeline: pipeline.name.value, generation: record.generation,
                    account: account.name, appID: account.appID, sandbox: options.sandbox))
            if let inputs = options.inputSources { logger.debug("inputs: \(inputs)", metadata: ["event": "run.inputs"]) }
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
                runID, owner: options.owner, now: options.now(), isOwnerAlive: ownerLiveness())
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
                events.emit(.pipelineChanged(runID: record.id))
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
            events.emit(.resumed(runID: record.id, kept: finished.count, steps: pipeline.steps.count))
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
        let restored = restore(finished)
        var progress = scheduler.progress(done: restored) { i in
            StepOutcome(recorded: self.states[steps[i].id.value]?.conclusion)
        }
        let heartbeat = Heartbeat(store: store, runID: run.id, options: options, stopSignal: stopSignal).start()
        defer { heartbeat.cancel() }

        var stopMessage: String?
        await withTaskGroup(of: (Int, StepResult).self) { group in
            // Steps running in the group's child tasks.
            var running = 0
            while true {
                if stopMessage == nil && stopSignal.isStopped { stopMessage = stopSignal.message }
                let actions = scheduler.next(
                    &progress, stopping: stopMessage != nil, concurrency: options.concurrency,
                    context: evaluationContext())
                let next: (Int, StepResult)?
                if running == 0, actions.count == 1, case .start(let i, let context) = actions[0] {
                    // The only step to run now, and none is running: run it on this task.
                    // A child task would add a thread hand-off each way for every step of a
                    // pipeline whose steps run one after another (`perform` runs on the
                    // executor either way).
                    await markStarted(steps[i])
                    next = (i, await perform(steps[i], context: context))
                } else {
                    for action in actions {
                        switch action {
                        case .start(let i, let context):
                            await markStarted(steps[i])
                            group.addTask { [self] in (i, await self.perform(steps[i], context: context)) }
                            running += 1
                        case .conclude(let i, let outcome, let message):
                            await finish(steps[i], .finished(outcome: outcome, errcode: nil, outputs: [:], message: message))
                        }
                    }
                    next = await group.next()
                    if next != nil { running -= 1 }
                }
                guard let (i, result) = next else { break }
                if case .stopped(let message) = result {
                    stopMessage = stopMessage ?? message
                    scheduler.stopped(i, in: &progress)
                    await markStoppedStep(steps[i], message: message)
                } else {
                    await finish(steps[i], result)
                    scheduler.finished(
                        i, conclusion: StepOutcome(recorded: states[steps[i].id.value]?.conclusion), in: &progress)
                }
            }
        }

        let now = options.now()
        if let stopMessage, progress.doneCount < steps.count {
            events.emit(.stopped(runID: run.id, reason: stopMessage, resumeCommand: options.resumeCommand(run.id)))
            try? await store.finishRun(run.id, status: .stopped, message: stopMessage, at: now)
            return .stopped(runID: run.id, message: stopMessage)
        }
        let failedSteps = steps.filter { StepOutcome(recorded: states[$0.id.value]?.conclusion) == .failure }.map(\.id.value)
        events.emit(.summary(await summary(runID: run.id)))
        events.emit(.finished(runID: run.id, failedSteps: failedSteps))
        if !failedSteps.isEmpty {
            let message = RunEvent.failureMessage(failedSteps)
            try? await store.finishRun(run.id, status: .failed, message: message, at: now)
            return .failed(runID: run.id, message: message)
        }
        try? await store.finishRun(run.id, status: .succeeded, message: nil, at: now)
        return .succeeded(runID: run.id)
    }

    func evaluationContext() -> EvaluationContext {
        EvaluationContext(
            inputs: inputs, env: options.env, secrets: [:], steps: states, pipelineName: pipeline.name.value,
            runID: run?.id ?? "")
    }

}
