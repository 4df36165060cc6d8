import Foundation
import PipelineCore
import RunState
import WeChatLimits

extension BroadcastPlan {
    /// The plan of a broadcast from what its executor described (``PlanFacts``): calls,
    /// audiences, quota, duration and warnings. Pure: no file, store or network is read.
    /// - Parameters:
    ///   - file: the pipeline file as the user named it.
    ///   - now: the time the window and "today" are judged at.
    ///   - known: facts from a preflight (tag sizes, speed level), when there are some.
    ///   - unchecked: what could not be checked (said in the plan).
    public static func make(
        _ facts: PlanFacts, file: String, now: Date, known: AccountFacts? = nil, unchecked: [String] = []
    ) -> BroadcastPlan {
        let pipeline = facts.pipeline
        let stepsByID = Dictionary(pipeline.steps.map { ($0.id.value, $0) }, uniquingKeysWith: { a, _ in a })
        func after(_ stepID: String) -> String { verb(ofKind: stepsByID[stepID]?.uses.value ?? "") }

        var calls: [PlanCall] = []
        var audiences: [PlanAudience] = []
        var problems: [String] = []
        var warnings: [PlanWarning] = []
        var unchecked = unchecked
        for planned in facts.calls {
            let step = stepsByID[planned.stepID]
            if let message = planned.problemMessage {
                problems.append("\(planned.stepID): \(message)")
                if message.contains("no file ") {
                    warnings.append(PlanWarning(code: "file_missing", step: planned.stepID, message: message))
                } else if message.contains("is larger than") {
                    warnings.append(PlanWarning(code: "media_too_large", step: planned.stepID, message: message))
                }
            }
            var base = PlanCall(
                step: planned.stepID, uses: planned.kind, endpoint: planned.endpoints.isEmpty ? planned.kind : planned.endpoints.joined(separator: " + "),
                irreversible: planned.irreversible?.rawValue, batch: nil, batchSize: nil, clientmsgid: nil,
                msgtype: planned.message?.msgtype, summary: planned.message?.summary,
                sendIgnoreReprint: planned.message?.sendIgnoreReprint, files: planned.files, journal: nil, msgID: nil,
                condition: step?.condition?.source, unknown: planned.unknown,
                unknownAfter: planned.unknown.mapValues(after))
            base.summary = base.summary.map { replacePlaceholders($0, after: after) }
            if let audience = planned.audience {
                var a = PlanAudience(
                    step: planned.stepID, description: audience.toAll ? "ALL FOLLOWERS" : audience.description,
                    toAll: audience.toAll, tagID: audience.tagID, recipients: audience.recipients,
                    duplicates: audience.duplicates,
                    batches: planned.batches.count, malformedLines: audience.malformedLines,
                    firstMalformedLine: audience.firstMalformedLine)
                if let tag = audience.tagID {
                    if let fact = known?.tags?[tag] {
                        a.tagName = fact.name
                        a.followers = fact.followers
                        if fact.followers == 0 {
                            warnings.append(PlanWarning(
                                code: "tag_empty", step: planned.stepID,
                                message: "tag \(tag) “\(fact.name)” has 0 followers: the send reaches no one"))
                        }
                    } else if known?.tags != nil {
                        // As apply's preflight finds it: the broadcast is blocked, not invalid.
                        warnings.append(PlanWarning(
                            code: "tag_missing", step: planned.stepID,
                            message: "tag \(tag) does not exist on the account: WeChat would refuse the send "
                                + "(40152); fix filter.tag_id or create the tag"))
                    }
                }
                if audience.toAll { a.followers = known?.followers }
                audiences.append(a)
            }
            if planned.batches.isEmpty {
                calls.append(base)
            } else {
                for batch in planned.batches {
                    var call = base
                    call.batch = batch.index
                    call.batchSize = batch.recipients
                    call.clientmsgid = batch.key
                    call.journal = batch.journal?.rawValue
                    call.msgID = batch.msgID
                    calls.append(call)
                }
            }
            // Warnings about the step as written.
            if planned.kind == "mass/sendall", planned.audience?.toAll == true, facts.account.kind == .service {
                warnings.append(PlanWarning(
                    code: "to_all_service_account", step: planned.stepID,
                    message: "a send to ALL FOLLOWERS of a service account: one of its 4 to-all sends a month, and each follower receives at most 4 mass messages a month"))
            }
            if planned.irreversible == .send || planned.irreversible == .preview, planned.message?.msgtype == "mpnews",
                planned.message?.sendIgnoreReprint != true, planned.irreversible == .send
            {
                warnings.append(PlanWarning(
                    code: "mpnews_reprint", step: planned.stepID,
                    message: "mpnews without send_ignore_reprint: 1: if WeChat judges an article a reprint, the whole send stops"))
            }
            if planned.kind == "mass/delete", let condition = step?.condition?.source,
                condition.contains("SEND_FAIL") || condition.contains("SEND_ERROR")
            {
                warnings.append(PlanWarning(
                    code: "delete_never_runs", step: planned.stepID,
                    message: "this delete runs only after a failed send (`\(condition)`), and only a message sent successfully can be deleted: it can never work"))
            }
        }
        // The schedule window.
        if let schedule = pipeline.schedule {
            let t = now.timeIntervalSince1970
            if let end = schedule.notAfterEpoch, t > end {
                warnings.append(PlanWarning(
                    code: "window_passed",
                    message: "the schedule window closed at \(schedule.notAfter?.value ?? ""): nothing would be sent"))
            } else if let start = schedule.notBeforeEpoch, t < start {
                warnings.append(PlanWarning(
                    code: "window_not_open",
                    message: "the schedule window opens at \(schedule.notBefore?.value ?? ""): apply waits until then"))
            }
        }
        // Quota: what is not yet made counts (``SendQuota``, as apply checks it).
        let quota = SendQuota.quotas(
            account: facts.account,
            usage: facts.usage ?? .unknown(now: now, pacing: facts.account.pacing), demand: QuotaDemand(facts.calls))
        for q in quota where q.exceeded {
            warnings.append(PlanWarning(code: "quota", message: q.text))
        }
        // Duration at the speed level.
        let level = known?.speedLevel ?? 0
        let perMinute = WeChatLimits.MassSend.speedPerMinute[min(max(level, 0), 4)] * 10_000
        var recipients = 0
        var estimable = true
        for a in audiences where a.description != "one follower" {
            if let n = a.recipients ?? a.followers { recipients += n } else { estimable = false }
        }
        if known?.speedLevel == nil { unchecked.append("the account's speed level (assumed 0: 800,000 a minute)") }
        if known?.tags == nil, audiences.contains(where: { $0.tagID != nil || $0.toAll }) {
            unchecked.append("tag names and follower counts (no credentials given to read them)")
        }
        let estimate: Int? = estimable ? Int((Double(recipients) / Double(perMinute) * 60).rounded(.up)) : nil
        return BroadcastPlan(
            name: pipeline.name.value, file: file, pipelineSHA256: facts.pipelineDigest,
            account: PlanAccount(
                name: facts.account.name, appID: facts.account.appID, kind: facts.account.kind.rawValue,
                api: facts.identity.api),
            inputs: facts.identity.inputsJSON, generation: facts.generation, state: nil, action: nil, reason: nil,
            exitClass: nil, identity: facts.identity, serial: nil, storeIdentity: nil,
            audiences: audiences, calls: calls, quota: quota, estimatedSeconds: estimate, speedLevel: level,
            speedKnown: known?.speedLevel != nil, warnings: warnings, problems: problems, unchecked: unchecked,
            inputFiles: inputFiles(facts, file: file))
    }

    /// The plan with its row of the reconcile table (``Reconciler/decide(_:now:)``) from the
    /// facts its executor gathered (`reconcileSource()`, `reconcileStoreFacts(now:)`,
    /// `scheduleWindow`); quota over its limit blocks it, as do `more` (the approvals apply
    /// would miss). `serial` and `storeIdentity` are what a saved plan binds to.
    public func reconciled(
        source: Reconciler.Source.Pipeline, store: Reconciler.StoreFacts, window: Reconciler.Window, serial: Int64?,
        storeIdentity: String?, now: Date, rerun: Bool = false, blockers more: [ReconcileBlocker] = []
    ) -> BroadcastPlan {
        var plan = self
        var blockers = SendQuota.blocker(quota, account: account.name).map { [$0] } ?? []
        blockers += more
        blockers += warnings.filter { $0.code == "tag_missing" }.map {
            ReconcileBlocker(.preflight, "preflight: \($0.step.map { "\($0): " } ?? "")\($0.message)")
        }
        var source = source
        source.plannedSends = calls.filter { $0.irreversible == "send" }.count
        let decision = Reconciler.decide(
            Reconciler.Facts(
                name: name, source: .present(source), store: store, window: window, blockers: blockers,
                applier: RunOptions.defaultOwner, rerun: rerun),
            now: now)
        plan.state = decision.action.rawValue
        plan.action =
            switch decision.action {
            case .send: "send"
            case .resume: "resume"
            case .failed where decision.retry: "retry"
            default: "none"
            }
        plan.reason = decision.reason
        plan.exitClass = decision.exitClass.rawValue
        plan.serial = serial
        plan.storeIdentity = storeIdentity
        return plan
    }

    /// The pipeline and every file its steps read, by their path from the working directory.
    static func inputFiles(_ facts: PlanFacts, file: String) -> [PlanInputFile] {
        var out = [PlanInputFile(path: file, role: "pipeline", sha256: facts.pipelineDigest)]
        let folder = (file as NSString).deletingLastPathComponent
        for call in facts.calls {
            let role =
                switch call.kind {
                case "mass/send": "audience"
                case let k where k.hasPrefix("media/upload") && k != "media/uploadnews": "media"
                default: "content"
                }
            for f in call.files {
                let path = f.path.hasPrefix("/") ? f.path : normalized(folder.isEmpty ? f.path : folder + "/" + f.path)
                let bound = PlanInputFile(path: path, role: role, sha256: f.sha256)
                if !out.contains(bound) { out.append(bound) }
            }
        }
        return out
    }

    /// `a/b/../c/./d` → `a/c/d` (a leading `..` stays).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// The verb a plan shows for values an earlier step gives: `(known after upload)`.
    static func verb(ofKind kind: String) -> String {
        switch kind {
        case let k where k.hasPrefix("media/"): "upload"
        case "mass/sendall", "mass/send": "send"
        case "mass/preview": "preview"
        case "mass/get", "mass/wait": "status check"
        case "mass/speed": "speed read"
        default: "its step"
        }
    }

    /// An earlier step's output in a summary is said as `(known after upload)`.
    static func replacePlaceholders(_ text: String, after: (String) -> String) -> String {
        var out = text
        for ref in OutputReference.all(in: .string(text)) {
            out = out.replacingOccurrences(of: ref.placeholder, with: "(known after \(after(ref.step)))")
        }
        return out
    }
}
