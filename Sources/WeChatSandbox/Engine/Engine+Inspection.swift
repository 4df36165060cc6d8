import Foundation
import PipelineCore
import WeChatMP

extension EngineCore {
    /// `/sandbox/…`: inspection (GET) and admin (faults, callback).
    func admin(_ request: SandboxRequest, path: String, now: Date) -> SandboxResponse {
        let method = request.method.uppercased()
        let route = String(path.dropFirst("/sandbox".count))
        switch (method, route) {
        case ("GET", "/health"), ("GET", ""):
            return encode(Health(
                status: "ok", accounts: accounts.count, jobsRunning: runningJobs.count, jobs: jobs.count,
                sends: sendLog.count,
                pushesPending: pushes.filter { $0.status == .scheduled || $0.status == .delivering }.count,
                timeScale: fixture.timeScale, limits: fixture.limitsEnabled, faults: faultStates.count,
                uptimeSeconds: now.timeIntervalSince(startedAt)))
        case ("GET", "/sends"):
            var records = sends()
            if let account = request.query["account"] {
                records = records.filter { $0.account == account || $0.appID == account }
            }
            if let key = request.query["clientmsgid"] { records = records.filter { $0.clientMsgID == key } }
            return encode(["sends": records])
        case ("GET", "/calls"):
            var records = resolvedCallLog()
            if let account = request.query["account"] {
                records = records.filter { $0.account == account || $0.appID == account }
            }
            if let endpoint = request.query["endpoint"] { records = records.filter { $0.endpoint == endpoint } }
            if let text = request.query["after"] {
                guard let after = Int(text) else { return adminError(400, "after must be a call's seq (an integer), not '\(text)'") }
                records = records.filter { $0.seq > after }
            }
            return encode(["calls": records])
        case ("GET", "/jobs"):
            return encode(["jobs": jobInfos()])
        case ("GET", "/pushes"):
            return encode(["pushes": pushRecords()])
        case ("GET", "/previews"):
            return encode(["previews": previews])
        case ("GET", "/accounts"):
            return encode(["accounts": accountInfos()])
        case ("GET", "/faults"):
            return encode(["faults": faultStates.map(faultInfo(of:))])
        case ("POST", "/faults"):
            let text = String(decoding: request.body, as: UTF8.self)
            do {
                let parsed = try SandboxFixture.loadFaults(text: text, file: "POST /sandbox/faults")
                addFaults(parsed.rules)
                return encode(["added": parsed.rules.count, "total": faultStates.count])
            } catch {
                return adminError(400, error.description)
            }
        case ("DELETE", "/faults"):
            let removed = faultStates.count
            clearFaults()
            return encode(["removed": removed])
        case ("POST", "/callback"):
            guard let body = Value.parse(request.body), let account = body["account"]?.stringValue ?? body["appid"]?.stringValue,
                  let url = body["url"]?.stringValue else {
                return adminError(400, #"expected {"account": NAME or AppID, "url": URL, "mode"?: plain|compatible|safe, "token"?: TOKEN}"#)
            }
            var mode: SandboxFixture.Callback.Mode?
            if let text = body["mode"]?.stringValue {
                guard let parsed = SandboxFixture.Callback.Mode(rawValue: text) else {
                    return adminError(400, "mode must be plain, compatible or safe")
                }
                mode = parsed
            }
            guard findAccount(account) != nil else { return adminError(404, "no account named '\(account)'") }
            guard setCallback(account: account, url: url, mode: mode, token: body["token"]?.stringValue) else {
                return adminError(400, "the account has no EncodingAESKey for that mode, or no callback token (give \"token\")")
            }
            return encode(["ok": true])
        default:
            return adminError(404, "no such sandbox endpoint: \(method) \(path)")
        }
    }

    private func adminError(_ status: Int, _ message: String) -> SandboxResponse {
        var writer = JSONWriter()
        writer.add("error", message)
        return .json(writer.text, status: status)
    }

    private func encode<T: Encodable>(_ value: T) -> SandboxResponse {
        guard let data = try? WeChatJSON.encode(value) else { return adminError(500, "could not encode the answer") }
        return .json(data)
    }

    struct Health: Encodable {
        var status: String
        var accounts: Int
        var jobsRunning: Int
        var jobs: Int
        var sends: Int
        var pushesPending: Int
        var timeScale: Double
        var limits: Bool
        var faults: Int
        var uptimeSeconds: Double

        enum CodingKeys: String, CodingKey {
            case status, accounts, jobsRunning = "jobs_running", jobs, sends, pushesPending = "pushes_pending"
            case timeScale = "time_scale", limits, faults, uptimeSeconds = "uptime_seconds"
        }
    }

    struct FaultInfo: Encodable {
        var on: String
        var action: String?
        var latencyMs: Int?
        var when: String
        var trigger: String
        var matched: Int
        var fired: Int

        enum CodingKeys: String, CodingKey {
            case on, action, latencyMs = "latency_ms", when, trigger, matched, fired
        }
    }

    func faultInfo(of state: FaultState) -> FaultInfo {
        let rule = state.rule
        let action: String? = rule.action.map {
            switch $0 {
            case .errcode(let code): "errcode \(code)"
            case .httpStatus(let status): "http \(status)"
            case .reset: "reset"
            case .body(let text): "body \(text.prefix(80))"
            case .revokeToken: "revoke_token"
            case .dropPush: "drop"
            case .delayPush(let delay): "delay \(delay.seconds)s"
            case .duplicatePush: "duplicate"
            case .failJob: "fail"
            case .jobError(let code): "err(\(code))"
            case .reprint(let index): "reprint \(index)"
            }
        }
        let trigger: String = switch rule.trigger {
        case .always: "always"
        case .rate(let p): "rate \(p)"
        case .schedule(let skip, let count): count > 1_000_000 ? "after \(skip)" : "calls \(skip + 1)...\(skip + count)"
        }
        return FaultInfo(on: rule.target.description, action: action,
                         latencyMs: rule.latency.map { Int($0.seconds * 1000) }, when: rule.phase.rawValue,
                         trigger: rule.limit.map { "\(trigger), at most \($0)" } ?? trigger,
                         matched: state.matched, fired: state.fired)
    }

    // MARK: Record conversions

    func info(of account: AccountState) -> SandboxAccountInfo {
        SandboxAccountInfo(
            name: account.name, appID: account.appID, kind: account.config.kind.rawValue,
            verified: account.config.verified, originalID: account.config.originalID,
            followers: account.followers.count,
            tags: account.config.tags.map { .init(id: $0.id, name: $0.name, count: $0.members.count) },
            speed: account.speed, callbackURL: account.callback?.url, callbackMode: account.callback?.mode.rawValue)
    }

    func sendRecord(of job: JobState) -> SandboxSendRecord {
        SandboxSendRecord(
            msgID: job.msgID, msgDataID: job.msgDataID, account: job.accountName, appID: job.appID,
            endpoint: job.endpoint, clientMsgID: job.clientMsgID, audience: job.totalCount,
            filterCount: job.filterCount, msgtype: job.msgtype, legacy: !job.legacyShapes.isEmpty,
            legacyShapes: job.legacyShapes, isToAll: job.isToAll, tagID: job.tagID, status: job.status.rawValue,
            createdAt: Int64(job.createdAt.timeIntervalSince1970))
    }

    func jobInfo(of job: JobState) -> SandboxJobInfo {
        let delivered = Int(job.delivered.rounded(.down))
        let progress: Double = job.filterCount == 0 ? (job.phase == .done ? 1 : 0)
            : min(1, job.delivered / Double(job.filterCount))
        return SandboxJobInfo(
            msgID: job.msgID, account: job.accountName, msgtype: job.msgtype, status: job.status.rawValue,
            phase: job.phase.rawValue, totalCount: job.totalCount, filterCount: job.filterCount, delivered: delivered,
            progress: progress, sentCount: job.sentCount, errorCount: job.errorCount,
            outcome: job.phase == .done ? job.statusText : nil)
    }

    func pushRecord(of push: PushState) -> SandboxPushRecord {
        SandboxPushRecord(
            id: push.id, msgID: push.msgID, account: push.accountName, url: push.url, mode: push.mode?.rawValue,
            status: push.status.rawValue, duplicate: push.isDuplicate, xml: push.xml, attempts: push.attempts)
    }
}
