import Foundation
import Logging
import PipelineCore
import RunLog
import RunState
import WeChatMP

extension RunExecutor {
    /// `mass/wait`: ends on the MASSSENDJOBFINISH push (from the callback inbox the listener
    /// fills), or on a terminal `msg_status` from polling plus a short grace period for the
    /// push; bounded by its own `timeout`, and not retried when that expires.
    func massWait(_ step: Step, _ inputs: MassWaitHandler.Inputs) async -> StepExecution<MassWaitHandler.Outputs> {
        let ids = inputs.ids.compactMap(\.known)
        let timeout = inputs.timeout
        let pollInterval = inputs.pollInterval
        let source = inputs.source
        let originalID = account.originalID
        let minSent = inputs.minSent
        let useInbox = source != "poll" && originalID != nil
        let usePolling = source != "callback"

        let started = options.now()
        let deadline = started.addingTimeInterval(timeout.seconds)
        var pushes: [Int64: InboxEvent] = [:]
        var statuses: [Int64: MassStatus] = [:]
        var terminalAt: [Int64: Date] = [:]
        var nextPoll = started.addingTimeInterval(options.firstPollDelay.seconds)
        var pollDelay = options.firstPollDelay
        var lastProgress = Date.distantPast
        var lastLoggedMinute = 0
        let client = client(for: step)
        let stepID = step.id.value
        // A store that announces pushes (PostgreSQL): woken at once, the inbox re-read less often.
        var watch: InboxWatch?
        if useInbox, let originalID, let wakeups = store as? any InboxWakeups {
            watch = await wakeups.watchInbox(api: account.endpoint, originalID: originalID)
        }

        while true {
            let now = options.now()
            if useInbox, let originalID {
                if let inboxEvents = try? await store.inboxEvents(api: account.endpoint, originalID: originalID, msgIDs: ids) {
                    for e in inboxEvents where pushes[e.msgID] == nil {
                        pushes[e.msgID] = e
                        if let total = e.totalCount { pushedTotals[e.msgID] = total }
                        events.emit(.waitPush(stepID: stepID, msgID: e.msgID, status: e.status))
                    }
                }
            }
            if ids.allSatisfy({ pushes[$0] != nil }) { break }
            if usePolling && now >= nextPoll {
                for id in ids where pushes[id] == nil && terminalAt[id] == nil {
                    var spec = CallSpec(step: step, endpoint: "message/mass/get", isMass: true)
                    spec.step.retry.maxAttempts = 1
                    let outcome = await call(spec) { () async throws(WeChatError) -> GetResponse in
                        try await client.get(msgID: id)
                    }
                    switch outcome {
                    case .ok(let r):
                        statuses[id] = r.msgStatus
                        if Self.isTerminal(r.msgStatus) { terminalAt[id] = options.now() }
                    case .failed(let e), .unknown(let e), .alreadyDone(let e):
                        if e.errorClass == .permanent {
                            return .failure(StepFailure(e))
                        }
                        events.emit(.waitPollFailed(stepID: stepID, msgID: id, error: String(describing: e)))
                    case .duplicate: break
                    case .stopped: return .stopped(stopSignal.message)
                    case .notAttempted(let message): return .stopped(message)
                    }
                }
                pollDelay = min(pollInterval, pollDelay * 2)
                nextPoll = options.now().addingTimeInterval(pollDelay.seconds)
            }
            let ended = ids.allSatisfy { id in
                if pushes[id] != nil { return true }
                guard let t = terminalAt[id] else { return false }
                return source == "poll" || !useInbox || options.now().timeIntervalSince(t) >= options.waitGrace.seconds
            }
            if ended { break }
            if options.now() >= deadline {
                let state = ids.map { "\($0): \(pushes[$0]?.status ?? statuses[$0]?.rawValue ?? "no status yet")" }
                return .failure(StepFailure(.timedOut,
                    "timed out after \(Self.format(timeout)) waiting for the job\(ids.count == 1 ? "" : "s") to finish (\(state.joined(separator: ", "))); a wait is not retried"))
            }
            if options.now().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = options.now()
                let waited = Int(options.now().timeIntervalSince(started))
                let states = ids.map { pushes[$0]?.status ?? statuses[$0]?.rawValue ?? "waiting" }
                events.emit(.waiting(stepID: stepID, waited: .seconds(waited), states: states))
                // Without a live progress line (JSON logs, not a terminal): a line a minute.
                if options.progress == nil, waited > 0, waited / 60 > lastLoggedMinute {
                    lastLoggedMinute = waited / 60
                    events.emit(.stillWaiting(stepID: stepID, uses: step.uses.value, waited: .seconds(waited), states: states))
                }
            }
            // The next thing that can happen: an inbox check, a poll, the deadline; without a
            // live progress line, also the next minute's `wait.progress` line.
            var sleep: Double
            if useInbox {
                sleep = (watch == nil ? options.inboxCheckInterval : options.inboxFallbackInterval).seconds
            } else if options.progress != nil {
                sleep = 0.5
            } else {
                sleep = max(0.5, started.addingTimeInterval(Double(lastLoggedMinute + 1) * 60).timeIntervalSince(options.now()))
            }
            sleep = min(sleep, max(0.01, deadline.timeIntervalSince(options.now())))
            if usePolling { sleep = min(sleep, max(0.01, nextPoll.timeIntervalSince(options.now()))) }
            if !(await sleepOrWake(.milliseconds(Int64(sleep * 1000)), watch: watch)) {
                return .stopped("\(stopSignal.message) while waiting")
            }
        }
        let outputs = Self.waitOutputs(ids: ids, pushes: pushes, statuses: statuses)
        logLowDelivery(outputs, ids: ids, step: step)
        if let minSent, let refusal = Self.minSentRefusal(minSent, outputs: outputs, ids: ids, pushes: pushes) {
            // The outputs stay readable (an `always()` step may report the counts).
            return .failure(StepFailure(.thresholdNotMet, refusal), outputs: outputs)
        }
        return .success(outputs)
    }

    /// Sleeps `duration` (on the run's clock), ended early by `watch`'s wake-up; `false` when
    /// the run is stopped meanwhile.
    private func sleepOrWake(_ duration: Duration, watch: InboxWatch?) async -> Bool {
        guard let watch else { return await stopSignal.sleep(duration, clock: options.clock) }
        let stopSignal = self.stopSignal
        let clock = options.clock
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await stopSignal.sleep(duration, clock: clock) }
            // Woken; or cancelled once the sleep ended first (its answer is then not read).
            group.addTask { _ = await watch.wait(); return true }
            let first = await group.next() ?? false
            group.cancelAll()
            return first && !stopSignal.isStopped
        }
    }

    /// A wait that ends with nothing sent, or with fewer than half of the audience sent,
    /// says so loudly (`event: wait.low_delivery`): a broadcast that reached nobody is a
    /// failure the status `send success` does not show.
    func logLowDelivery(_ outputs: MassWaitHandler.Outputs, ids: [Int64], step: Step) {
        guard let sent = outputs.sentCount, let total = outputs.totalCount, sent == 0 || sent * 2 < total
        else { return }
        events.emit(.lowDelivery(stepID: step.id.value, uses: step.uses.value, sent: sent, total: total, msgIDs: ids))
    }

    /// Why the wait fails its `min_sent`, or `nil` when it is met.
    static func minSentRefusal(
        _ minSent: DeliveryThreshold, outputs: MassWaitHandler.Outputs, ids: [Int64], pushes: [Int64: InboxEvent]
    ) -> String? {
        guard let sent = outputs.sentCount, let total = outputs.totalCount else {
            let missing = ids.filter { pushes[$0] == nil }.map(String.init).joined(separator: ", ")
            let status = outputs.status
            return "min_sent \(minSent) cannot be checked: counts unknown: no MASSSENDJOBFINISH push arrived for msg_id \(missing) (status \(status)); only the push carries the counts"
        }
        let needed = minSent.required(total: total)
        guard sent < needed else { return nil }
        var share = ""
        if total > 0 { share = " (" + String(format: "%.1f", Double(sent) * 100 / Double(total)) + "%)" }
        let threshold: String
        switch minSent {
        case .count: threshold = "\(needed)"
        case .percent: threshold = "\(needed) (\(minSent) of \(total))"
        }
        return "\(sent) of \(total) followers were sent the message\(share); min_sent requires \(threshold)"
    }

    static func isTerminal(_ status: MassStatus) -> Bool {
        switch status {
        case .sendSuccess, .sendFail, .delete: true
        default: false
        }
    }

    /// Outputs: the push's counts summed (null unless every job pushed), the worst status.
    static func waitOutputs(
        ids: [Int64], pushes: [Int64: InboxEvent], statuses: [Int64: MassStatus]
    ) -> MassWaitHandler.Outputs {
        func rank(_ status: String) -> Int {
            if status.hasPrefix("err") { return 3 }
            if status == "send fail" { return 2 }
            if status == "deleted" { return 1 }
            return 0
        }
        func statusText(_ id: Int64) -> String {
            if let p = pushes[id] { return p.status }
            switch statuses[id] {
            case .sendSuccess?: return "send success"
            case .sendFail?: return "send fail"
            case .delete?: return "deleted"
            default: return statuses[id]?.rawValue ?? "unknown"
            }
        }
        func msgStatusText(_ id: Int64) -> String {
            // The push ends the job and decides: a poll before it may have said SENDING.
            if let p = pushes[id] { return p.status == "send success" ? "SEND_SUCCESS" : "SEND_FAIL" }
            return statuses[id]?.rawValue ?? "UNKNOWN"
        }
        let worstStatus = ids.map(statusText).max { rank($0) < rank($1) } ?? "unknown"
        let msgStatusRank = ["SEND_SUCCESS": 0, "DELETE": 1, "SENDING": 2, "SEND_FAIL": 3]
        let worstMsgStatus = ids.map(msgStatusText).max { (msgStatusRank[$0] ?? 4) < (msgStatusRank[$1] ?? 4) } ?? "UNKNOWN"
        let allPushed = ids.allSatisfy { pushes[$0] != nil }
        func sum(_ key: KeyPath<InboxEvent, Int?>) -> Int? {
            guard allPushed else { return nil }
            var total = 0
            for id in ids {
                guard let v = pushes[id]?[keyPath: key] else { return nil }
                total += v
            }
            return total
        }
        var check: Int?
        if allPushed {
            check = ids.compactMap { pushes[$0]?.copyrightCheckState }.max()
        }
        var articles: [Value] = []
        for id in ids {
            if let json = pushes[id]?.articlesJSON, case .list(let items)? = try? Value.parseJSON(json) {
                articles.append(contentsOf: items)
            }
        }
        return MassWaitHandler.Outputs(
            status: worstStatus, msgStatus: worstMsgStatus, totalCount: sum(\.totalCount),
            filterCount: sum(\.filterCount), sentCount: sum(\.sentCount), errorCount: sum(\.errorCount),
            copyrightCheckState: check, articles: allPushed ? articles : nil)
    }
}
