import Foundation
import WeChatMP
import WeChatPush

extension EngineCore {
    // MARK: Job progress (sandbox time)

    /// Moves sandbox time by the wall time since the last call times the time scale, and
    /// every running job with it.
    func advance(to now: Date) {
        let elapsed = now.timeIntervalSince(lastWall)
        guard elapsed >= 0 else { return }  // a clock set back: wait until it catches up
        lastWall = now
        let scaled = elapsed * fixture.timeScale
        let start = sandboxNow
        sandboxNow += scaled
        guard !runningJobs.isEmpty else { return }
        var stillRunning: [Int64] = []
        for id in runningJobs {
            guard let job = jobs[id] else { continue }
            progress(job, from: start, by: scaled)
            if job.phase != .done { stillRunning.append(id) }
        }
        runningJobs = stillRunning
    }

    /// Review first (a failing outcome ends the job there), then sending at the account's
    /// current speed (realspeed × 10,000 a minute of sandbox time).
    private func progress(_ job: JobState, from start: Double, by scaled: Double) {
        var remaining = scaled
        var time = start
        if job.phase == .review {
            if job.reviewLeft > remaining {
                job.reviewLeft -= remaining
                return
            }
            remaining -= job.reviewLeft
            time += job.reviewLeft
            job.reviewLeft = 0
            if job.outcome.fails {
                finish(job, at: time)
                return
            }
            job.phase = .sending
        }
        guard job.phase == .sending else { return }
        let speed = accounts[job.appID]?.speed ?? 0
        let perSecond = Double(MassLimits.speedPerMinute[speed]) * 10_000 / 60
        let needed = Double(job.filterCount) - job.delivered
        let duration = needed / perSecond
        if duration <= remaining {
            job.delivered = Double(job.filterCount)
            finish(job, at: time + duration)
        } else {
            job.delivered += perSecond * remaining
        }
    }

    private func finish(_ job: JobState, at time: Double) {
        job.phase = .done
        switch job.outcome {
        case .success, .reprint(_, true):
            job.status = .sendSuccess
            let errors = Int((Double(job.filterCount) * fixture.jobs.errorRate).rounded())
            job.errorCount = errors
            job.sentCount = job.filterCount - errors
        case .fail:
            job.status = .sendFail
            job.sentCount = 0
            job.errorCount = job.filterCount
        case .error, .reprint(_, false):
            job.status = .sendFail
            job.sentCount = 0
            job.errorCount = 0
        }
        schedulePush(for: job, at: time + fixture.jobs.pushDelay.seconds)
    }

    // MARK: Pushes

    private func schedulePush(for job: JobState, at due: Double) {
        guard let account = accounts[job.appID] else { return }
        var dueAt = due
        var drop = false
        var duplicate = false
        for action in rollFaults(target: .push) {
            switch action {
            case .dropPush: drop = true
            case .delayPush(let delay): dueAt += delay.seconds
            case .duplicatePush: duplicate = true
            default: break
            }
        }
        let push = PushState(id: nextPushID, msgID: job.msgID, appID: job.appID, accountName: job.accountName,
                             isDuplicate: false, dueAt: dueAt, duplicateAfterDelivery: duplicate)
        nextPushID += 1
        push.event = event(for: job, account: account)
        push.url = account.callback?.url
        push.mode = account.callback?.mode
        if account.callback == nil {
            push.status = .noCallback
        } else if drop {
            push.status = .dropped
        }
        if push.status != .scheduled, var event = push.event {
            event.createTime = Int64(lastWall.timeIntervalSince1970)
            push.event = event
            push.xml = PushXML.render(event, articleResults: job.msgtype == "mpnews")
        }
        pushes.append(push)
    }

    /// The MASSSENDJOBFINISH event of a finished job (CreateTime is set when it is first sent).
    func event(for job: JobState, account: AccountState) -> MassSendJobFinish {
        // Other msgtypes: the empty check of the seed's text push (Count 0, CheckState 0).
        var copyright = MassSendJobFinish.CopyrightCheckResult(count: 0, checkState: .init(rawValue: 0), items: [])
        var urls = MassSendJobFinish.ArticleURLResult()
        if job.msgtype == "mpnews" {
            copyright.checkState = .notReprint
            if case .reprint(let index, let sent) = job.outcome {
                let item = MassSendJobFinish.CopyrightCheckItem(
                    articleIdx: index, userDeclareState: 0, auditState: 2,
                    originalArticleURL: "https://mp.weixin.qq.com/s?__biz=MzA5MjQ1NzE0OQ==&mid=2650000001&idx=1",
                    originalArticleType: 1, canReprint: sent, needReplaceContent: sent, needShowReprintSource: sent)
                copyright = .init(count: 1, checkState: sent ? .reprintSent : .reprintBlocked, items: [item])
            }
            if job.status == .sendSuccess {
                let items = job.articleURLs.enumerated().map {
                    MassSendJobFinish.ArticleURLItem(articleIdx: $0.offset + 1, articleURL: $0.element)
                }
                urls = .init(count: items.count, items: items)
            }
        }
        return MassSendJobFinish(
            toUserName: account.config.originalID, fromUserName: account.systemOpenID, createTime: 0,
            msgID: job.msgID, status: .init(parsing: job.statusText), totalCount: job.totalCount,
            filterCount: job.filterCount, sentCount: job.sentCount ?? 0, errorCount: job.errorCount ?? 0,
            copyrightCheckResult: copyright, articleURLResult: urls)
    }

    /// Takes every push that is due: each is marked as being delivered and its request is
    /// made (the XML rendered at its first try). `nil` when there is nothing to send.
    func takeDuePushes(now: Date) -> PushBatch? {
        var items: [PushBatch.Item] = []
        for push in pushes where push.status == .scheduled && push.dueAt <= sandboxNow {
            guard let account = accounts[push.appID], let callback = account.callback else {
                push.status = .noCallback
                continue
            }
            guard pushSender != nil else {
                push.status = .noSender
                continue
            }
            if push.xml == nil, var event = push.event {
                event.createTime = Int64(now.timeIntervalSince1970)
                push.event = event
                push.xml = PushXML.render(event, articleResults: jobs[push.msgID]?.msgtype == "mpnews")
            }
            let request = pushRequest(xml: push.xml ?? "", account: account, callback: callback, now: now)
            push.url = callback.url
            push.mode = callback.mode
            push.status = .delivering
            items.append(.init(pushID: push.id, url: request.url, body: request.body, timestamp: request.timestamp,
                               nonce: request.nonce))
        }
        guard let sender = pushSender, !items.isEmpty else { return nil }
        return PushBatch(items: items, sender: sender, timeout: fixture.jobs.pushTimeout, now: now)
    }

    /// Records the answers to a batch from ``takeDuePushes(now:)`` (`results[i]` for
    /// `batch.items[i]`); a failed try is retried after `push_retry_interval` until
    /// `push_tries` tries were made.
    func recordPushResults(_ batch: PushBatch, results: [Bool]) {
        let now = batch.now
        var byID: [Int: PushState] = [:]
        let wanted = Set(batch.items.map(\.pushID))
        for push in pushes where wanted.contains(push.id) { byID[push.id] = push }
        for (index, item) in batch.items.enumerated() {
            guard let push = byID[item.pushID] else { continue }
            let ok = results[index]
            push.attempts.append(.init(at: now.timeIntervalSince1970, timestamp: item.timestamp, nonce: item.nonce,
                                       url: item.url, ok: ok))
            if ok {
                push.status = .delivered
                if push.duplicateAfterDelivery {
                    push.duplicateAfterDelivery = false
                    let copy = PushState(id: nextPushID, msgID: push.msgID, appID: push.appID,
                                         accountName: push.accountName, isDuplicate: true, dueAt: sandboxNow,
                                         duplicateAfterDelivery: false)
                    nextPushID += 1
                    copy.event = push.event
                    copy.xml = push.xml
                    copy.url = push.url
                    copy.mode = push.mode
                    pushes.append(copy)
                }
            } else if push.attempts.count >= fixture.jobs.pushTries {
                push.status = .failed
            } else {
                push.status = .scheduled
                push.dueAt = sandboxNow + fixture.jobs.pushRetryInterval.seconds
            }
        }
    }

    /// The URL (with `signature`, `timestamp`, `nonce`, `openid` and, when encrypted,
    /// `encrypt_type=aes` and `msg_signature`) and body of one try.
    func pushRequest(xml: String, account: AccountState, callback: SandboxFixture.Callback,
                     now: Date) -> (url: String, body: Data, timestamp: String, nonce: String) {
        let timestamp = String(Int64(now.timeIntervalSince1970))
        let nonce = rng.digits(10)
        var query = [
            ("signature", CallbackCrypto.sign(token: callback.token, timestamp: timestamp, nonce: nonce)),
            ("timestamp", timestamp), ("nonce", nonce), ("openid", account.systemOpenID),
        ]
        var body = xml
        if callback.mode != .plain, let key = callback.encodingAESKey,
           let crypto = try? CallbackCrypto(credentials: CallbackCredentials(token: callback.token, encodingAESKey: key,
                                                                            appID: account.appID)) {
            let random = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if let encrypted = try? crypto.encrypt(xml, randomBytes: random) {
                query.append(("encrypt_type", "aes"))
                query.append(("msg_signature", CallbackCrypto.sign(token: callback.token, timestamp: timestamp,
                                                                   nonce: nonce, encrypt: encrypted)))
                let element = "<Encrypt>\(PushXML.cdata(encrypted))</Encrypt>"
                if callback.mode == .safe {
                    body = "<xml><ToUserName>\(PushXML.cdata(account.config.originalID))</ToUserName>\(element)</xml>"
                } else if let end = xml.range(of: "</xml>", options: .backwards) {
                    body = xml.replacingCharacters(in: end, with: element + "</xml>")
                }
            }
        }
        let separator = callback.url.contains("?") ? "&" : "?"
        let url = callback.url + separator + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return (url, Data(body.utf8), timestamp, nonce)
    }
}
