import Foundation
import PipelineCore
import WeChatMP

/// The audience of a mass send, as read from the request.
enum Audience {
    case all
    case tag(Int)
    case list([String])
}

/// Where a payload is read: preview takes the single `image`, the sends take `images`.
enum PayloadContext {
    case massSend
    case preview
}

extension EngineCore {
    static let msgtypes: Set<String> = ["text", "mpnews", "voice", "mpvideo", "image", "wxcard"]

    // MARK: sendall / send

    /// `message/mass/sendall` (`toList == false`) and `message/mass/send`.
    ///
    /// Checks in this order: body (44002, 47001), clientmsgid length (45067), permission
    /// (48001 for an unverified account, and for `send` on a subscription account), msgtype
    /// (40008), audience shape (40130/40003 for `touser`, 40152 for a filter without tag),
    /// payload shape (47001, 44004, 45002, 40007, 40073), then the clientmsgid memory
    /// (45066, 45065 with the earlier msg_id; so a retry is recognised even when its quota or
    /// media ran out since), then state: tag exists (40152), media exist, fit and are not
    /// expired (40007), quotas (45009, 45028).
    func massSend(_ account: AccountState, _ request: SandboxRequest, toList: Bool, now: Date) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        var legacy: [String] = []

        var clientMsgID: String?
        if let value = body["clientmsgid"], !value.isNull {
            guard let text = value.lenientString else { throw APIError(47001) }
            if text.utf8.count > MassLimits.maxClientMsgIDBytes { throw APIError(45067) }
            if !text.isEmpty { clientMsgID = text }
        }
        // Both mass-send APIs need a verified (认证) account; `send` also needs a service account.
        if !account.config.verified || (toList && account.config.kind == .subscription) { throw APIError(48001) }
        guard let msgtype = body["msgtype"]?.stringValue, Self.msgtypes.contains(msgtype) else { throw APIError(40008) }

        let audience: Audience
        if toList {
            guard let items = body["touser"]?.listValue else { throw APIError(40130) }
            guard items.count >= MassLimits.minOpenIDs else { throw APIError(40130) }
            guard items.count <= MassLimits.maxOpenIDs else { throw APIError(40130, "invalid openid list size") }
            var ids: [String] = []
            ids.reserveCapacity(items.count)
            for item in items {
                guard let id = item.stringValue, isWellFormedOpenID(id) else { throw APIError(40003) }
                ids.append(id)
            }
            audience = .list(ids)
        } else {
            guard let filter = body["filter"]?.objectValue else { throw APIError(47001) }
            var isToAll = false
            if let value = filter["is_to_all"], !value.isNull {
                guard let flag = value.lenientBool else { throw APIError(47001) }
                isToAll = flag
            }
            var tag: Int64?
            if let value = filter["tag_id"], !value.isNull {
                guard let id = value.lenientInt else { throw APIError(40152) }
                tag = id
            }
            if filter.keys.contains("group_id") {
                legacy.append("filter.group_id")
                if tag == nil, let value = filter["group_id"], !value.isNull {
                    guard let id = value.lenientInt else { throw APIError(40152) }
                    tag = id
                }
            }
            if isToAll {
                audience = .all
            } else {
                guard let tag, let id = Int(exactly: tag) else { throw APIError(40152) }
                audience = .tag(id)
            }
        }

        let payload = try readPayload(body, msgtype: msgtype, context: .massSend, legacy: &legacy)
        var sendIgnoreReprint = 0
        if let value = body["send_ignore_reprint"], !value.isNull {
            guard let flag = value.lenientInt, flag == 0 || flag == 1 else { throw APIError(40035) }
            sendIgnoreReprint = Int(flag)
        }

        // The clientmsgid memory (or the keyless digest, when the fixture asks for it).
        let key: String?
        if let clientMsgID {
            key = "k:" + clientMsgID
        } else if fixture.dedupeKeyless {
            key = "d:" + digest(audience: audience, msgtype: msgtype, body: body, payload: payload)
        } else {
            key = nil
        }
        if let key, let prior = account.sendKeys[key] {
            let age = now.timeIntervalSince(prior.at)
            if age < fixture.windows.clientMsgIDWindow.seconds {
                if age < fixture.windows.clientMsgIDRetryWindow.seconds { throw APIError(45066) }
                throw APIError(45065, msgID: prior.msgID)
            }
        }

        // State: the tag, permissions, media, quotas.
        if case .tag(let id) = audience, account.tags[id] == nil { throw APIError(40152) }
        let articles = try checkMedia(account, payload, now: now)
        let day = QuotaPeriod.day(now)
        let month = QuotaPeriod.month(now)
        guard hasRoom(account, "sends", bucket: day, limit: fixture.quotas.sendsPerDay) else { throw APIError(45009) }
        if !toList, account.config.kind == .subscription,
           !hasRoom(account, "subscription_sendall", bucket: day, limit: fixture.quotas.subscriptionSendAllPerDay) {
            throw APIError(45028)
        }
        if case .all = audience, account.config.kind == .service,
           !hasRoom(account, "to_all", bucket: month, limit: fixture.quotas.toAllPerMonth) {
            throw APIError(45028)
        }

        // Accepted.
        if fixture.limitsEnabled {
            account.increment("sends", bucket: day)
            if !toList && account.config.kind == .subscription { account.increment("subscription_sendall", bucket: day) }
            if case .all = audience, account.config.kind == .service { account.increment("to_all", bucket: month) }
        }
        let (total, filtered) = audienceCounts(account, audience, month: month)
        let msgID = nextMsgID
        nextMsgID += 1
        var msgDataID: Int64?
        var urls: [String] = []
        if msgtype == "mpnews" {
            let dataID = nextMsgDataID
            nextMsgDataID += 1
            msgDataID = dataID
            urls = (1...max(1, articles)).map { articleURL(account, msgDataID: dataID, index: $0) }
        }
        var outcome = JobOutcome.success
        for action in rollFaults(target: .job) {
            switch action {
            case .failJob: outcome = .fail
            case .jobError(let code): outcome = .error(code)
            case .reprint(let index) where msgtype == "mpnews" && index <= max(1, articles):
                outcome = .reprint(articleIdx: index, sent: sendIgnoreReprint == 1)
            default: continue
            }
            break
        }
        var isToAll: Bool?
        var tagID: Int?
        if !toList {
            if case .tag(let id) = audience { tagID = id; isToAll = false } else { isToAll = true }
        }
        let job = JobState(
            msgID: msgID, msgDataID: msgDataID, appID: account.appID, accountName: account.name,
            endpoint: toList ? "send" : "sendall", msgtype: msgtype, mediaID: payload.mediaIDs.first,
            articleCount: msgtype == "mpnews" ? max(1, articles) : 1, articleURLs: urls, totalCount: total,
            filterCount: filtered, outcome: outcome, createdAt: now, clientMsgID: clientMsgID, legacyShapes: legacy,
            isToAll: isToAll, tagID: tagID, review: fixture.jobs.review.seconds)
        jobs[msgID] = job
        jobOrder.append(msgID)
        runningJobs.append(msgID)
        sendLog.append(msgID)
        if let key {
            account.sendKeys[key] = (now, msgID)
            pruneSendKeys(account, now: now)
        }

        var writer = JSONWriter()
        writer.add("errcode", 0)
        writer.add("errmsg", "send job submission success")
        writer.add("msg_id", msgID)
        if let msgDataID { writer.add("msg_data_id", msgDataID) }
        return .json(writer.text)
    }

    /// TotalCount and FilterCount of a new job; records what each follower receives this
    /// month (service accounts: at most `follower_messages_per_month`, the rest are filtered).
    func audienceCounts(_ account: AccountState, _ audience: Audience, month: Int64) -> (Int, Int) {
        let members: [String]
        let total: Int
        switch audience {
        case .all:
            members = account.config.followers
            total = members.count
        case .tag(let id):
            members = account.tags[id]?.members ?? []
            total = members.count
        case .list(let ids):
            total = ids.count
            var seen = Set<String>()
            members = ids.filter { account.followers.contains($0) && seen.insert($0).inserted }
        }
        guard fixture.limitsEnabled, account.config.kind == .service,
              let cap = fixture.quotas.followerMessagesPerMonth else {
            return (total, members.count)
        }
        var filtered = 0
        for member in members {
            var receipt = account.receipts[member] ?? (month, 0)
            if receipt.month != month { receipt = (month, 0) }
            guard receipt.count < cap else { continue }
            receipt.count += 1
            account.receipts[member] = receipt
            filtered += 1
        }
        return (total, filtered)
    }

    func digest(audience: Audience, msgtype: String, body: Value, payload: MassPayload) -> String {
        var text = msgtype + "|"
        switch audience {
        case .all: text += "all"
        case .tag(let id): text += "tag:\(id)"
        case .list(let ids): text += "list:" + ids.sorted().joined(separator: ",")
        }
        text += "|" + (body[payload.payloadKey]?.jsonText ?? body["image"]?.jsonText ?? "")
        return String(stableHash(text), radix: 16) + String(stableHash(text, seed: 0x8422_2325_CBF2_9CE4), radix: 16)
    }

    func pruneSendKeys(_ account: AccountState, now: Date) {
        guard account.sendKeys.count > 10_000 else { return }
        let window = fixture.windows.clientMsgIDWindow.seconds
        account.sendKeys = account.sendKeys.filter { now.timeIntervalSince($0.value.at) < window }
    }

    func articleURL(_ account: AccountState, msgDataID: Int64, index: Int) -> String {
        var hashRNG = SplitMix64(seed: stableHash(account.appID) ^ UInt64(bitPattern: msgDataID) &* 31 ^ UInt64(index))
        let biz = "MzI" + String(stableHash(account.appID) % 1_000_000_000) + "=="
        return "https://mp.weixin.qq.com/s?__biz=\(biz)&mid=\(msgDataID)&idx=\(index)&sn=\(hashRNG.hex(32))#rd"
    }

    // MARK: Payloads

    /// Reads the payload under the key `msgtype` names. The sends take `images` for images
    /// and accept the single `image{media_id}` of older docs as one image (noted in
    /// `legacy`); preview takes `image`.
    func readPayload(_ body: Value, msgtype: String, context: PayloadContext,
                     legacy: inout [String]) throws(APIError) -> MassPayload {
        func mediaID(_ key: String) throws(APIError) -> String {
            guard let object = body[key]?.objectValue else { throw APIError(47001) }
            guard let id = object["media_id"]?.lenientString, !id.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw APIError(40007)
            }
            return id
        }
        switch msgtype {
        case "text":
            guard let object = body["text"]?.objectValue else { throw APIError(47001) }
            guard let value = object["content"], !value.isNull else { throw APIError(44004) }
            guard let content = value.stringValue else { throw APIError(47001) }
            if content.isEmpty { throw APIError(44004) }
            if content.utf8.count > fixture.payload.textMaxBytes { throw APIError(45002) }
            return .text(content: content)
        case "mpnews":
            return .mpnews(mediaID: try mediaID("mpnews"))
        case "voice":
            return .voice(mediaID: try mediaID("voice"))
        case "mpvideo":
            let id = try mediaID("mpvideo")
            let object = body["mpvideo"]?.objectValue ?? [:]
            return .mpvideo(mediaID: id, title: object["title"]?.stringValue, description: object["description"]?.stringValue)
        case "image":
            switch context {
            case .preview:
                return .image(mediaID: try mediaID("image"))
            case .massSend:
                if let images = body["images"] {
                    guard let object = images.objectValue, let list = object["media_ids"]?.listValue else { throw APIError(47001) }
                    var ids: [String] = []
                    for item in list {
                        guard let id = item.lenientString, !id.isEmpty else { throw APIError(40007) }
                        ids.append(id)
                    }
                    if ids.isEmpty { throw APIError(40007) }
                    return .images(mediaIDs: ids, recommend: object["recommend"]?.stringValue,
                                   needOpenComment: object["need_open_comment"]?.lenientInt.map { Int($0) },
                                   onlyFansCanComment: object["only_fans_can_comment"]?.lenientInt.map { Int($0) })
                }
                let id = try mediaID("image")
                legacy.append("image")
                return .images(mediaIDs: [id])
            }
        case "wxcard":
            guard let object = body["wxcard"]?.objectValue else { throw APIError(47001) }
            guard let id = object["card_id"]?.lenientString, !id.isEmpty else { throw APIError(40073) }
            return .wxcard(cardID: id)
        default:
            throw APIError(40008)
        }
    }

    /// Checks that each media id exists for this account, is of the kind the payload needs
    /// and has not expired (40007). Returns the article count of an mpnews.
    func checkMedia(_ account: AccountState, _ payload: MassPayload, now: Date) throws(APIError) -> Int {
        let kind: SandboxMediaKind
        switch payload {
        case .text, .wxcard: return 0
        case .mpnews: kind = .news
        case .voice: kind = .voice
        case .mpvideo: kind = .mpvideo
        case .images, .image: kind = .image
        }
        var articles = 0
        for id in payload.mediaIDs {
            guard let media = account.media[id], media.kind == kind, now < media.expiresAt else { throw APIError(40007) }
            articles = media.articles
        }
        return articles
    }

    // MARK: preview

    /// `message/mass/preview`: `towxname` (wins) or `touser` (40003 malformed, 43004 not a
    /// follower); images in the single `image{media_id}` form; 100 a day (45009). Allowed to
    /// every account, verified or not (docs/sandbox.md, "Unverified accounts").
    func preview(_ account: AccountState, _ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        var toWXName: String?
        if let value = body["towxname"], !value.isNull {
            guard let name = value.lenientString else { throw APIError(40132) }
            if !name.trimmingCharacters(in: .whitespaces).isEmpty { toWXName = name }
        }
        var toUser: String?
        if toWXName == nil {
            guard let id = body["touser"]?.stringValue, isWellFormedOpenID(id) else { throw APIError(40003) }
            guard account.followers.contains(id) else { throw APIError(43004) }
            toUser = id
        }
        guard let msgtype = body["msgtype"]?.stringValue, Self.msgtypes.contains(msgtype) else { throw APIError(40008) }
        var legacy: [String] = []
        let payload = try readPayload(body, msgtype: msgtype, context: .preview, legacy: &legacy)
        _ = try checkMedia(account, payload, now: now)
        let day = QuotaPeriod.day(now)
        guard hasRoom(account, "previews", bucket: day, limit: fixture.quotas.previewsPerDay) else { throw APIError(45009) }
        if fixture.limitsEnabled { account.increment("previews", bucket: day) }
        let msgID = nextMsgID
        nextMsgID += 1
        previews.append(SandboxPreviewRecord(msgID: msgID, account: account.name, toUser: toUser, toWXName: toWXName,
                                             msgtype: msgtype, createdAt: Int64(now.timeIntervalSince1970)))
        var writer = JSONWriter()
        writer.add("errcode", 0)
        writer.add("errmsg", "preview success")
        writer.add("msg_id", msgID)
        return .json(writer.text)
    }

    // MARK: delete / get / speed

    /// `message/mass/delete`: only this account's mpnews and mpvideo jobs that ended
    /// SEND_SUCCESS (else 40059); `article_idx` 0/absent for all, 1...n for one (else
    /// 40060); `url` finds the article when `msg_id` is absent. Deleting disables the
    /// article in every send of the same material. 10 a day (45009).
    func delete(_ account: AccountState, _ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        var articleIdx = 0
        if let value = body["article_idx"], !value.isNull {
            guard let index = value.lenientInt, let small = Int(exactly: index), small >= 0 else { throw APIError(40060) }
            articleIdx = small
        }
        let job: JobState
        if let value = body["msg_id"], !value.isNull {
            guard let msgID = value.lenientInt, let found = jobs[msgID], found.appID == account.appID else {
                throw APIError(40059)
            }
            job = found
        } else if let url = body["url"]?.stringValue, !url.isEmpty {
            let wanted = url.split(separator: "#", maxSplits: 1).first.map(String.init) ?? url
            var match: (JobState, Int)?
            for msgID in jobOrder.reversed() {
                guard let candidate = jobs[msgID], candidate.appID == account.appID else { continue }
                if let index = candidate.articleURLs.firstIndex(where: { $0.hasPrefix(wanted) && !wanted.isEmpty }) {
                    match = (candidate, index + 1)
                    break
                }
            }
            guard let match else { throw APIError(40059) }
            job = match.0
            if articleIdx == 0 { articleIdx = match.1 }
        } else {
            throw APIError(40059)
        }
        guard job.msgtype == "mpnews" || job.msgtype == "mpvideo", job.status == .sendSuccess else { throw APIError(40059) }
        guard articleIdx <= job.articleCount, !job.deletedArticles.contains(articleIdx) else { throw APIError(40060) }
        let day = QuotaPeriod.day(now)
        guard hasRoom(account, "deletes", bucket: day, limit: fixture.quotas.deletesPerDay) else { throw APIError(45009) }
        if fixture.limitsEnabled { account.increment("deletes", bucket: day) }

        let affected = jobOrder.compactMap { jobs[$0] }.filter {
            $0 === job || ($0.appID == job.appID && $0.mediaID != nil && $0.mediaID == job.mediaID && $0.status == .sendSuccess)
        }
        for target in affected {
            if articleIdx == 0 {
                target.deletedArticles = Set(1...target.articleCount)
            } else if articleIdx <= target.articleCount {
                target.deletedArticles.insert(articleIdx)
            }
            if target.deletedArticles.count >= target.articleCount { target.status = .delete }
        }
        return ok()
    }

    /// `message/mass/get`: the job's status (40059 for an unknown or foreign msg_id).
    func get(_ account: AccountState, _ request: SandboxRequest) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        guard let msgID = body["msg_id"]?.lenientInt, let job = jobs[msgID], job.appID == account.appID else {
            throw APIError(40059)
        }
        var writer = JSONWriter()
        writer.add("msg_id", msgID)
        writer.add("msg_status", job.status.rawValue)
        return .json(writer.text)
    }

    /// `message/mass/speed/get`: `{"speed":N,"realspeed":R}`.
    func speedGet(_ account: AccountState) -> SandboxResponse {
        var writer = JSONWriter()
        writer.add("speed", account.speed)
        writer.add("realspeed", MassLimits.speedPerMinute[account.speed])
        return .json(writer.text)
    }

    /// `message/mass/speed/set`: 0...4, else 45083. Running jobs change pace at once.
    func speedSet(_ account: AccountState, _ request: SandboxRequest) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        guard let value = body["speed"], !value.isNull else { throw APIError(45083) }
        guard let speed = value.lenientInt, MassLimits.speedLevels.contains(Int(clamping: speed)) else { throw APIError(45083) }
        account.speed = Int(speed)
        return ok()
    }
}
