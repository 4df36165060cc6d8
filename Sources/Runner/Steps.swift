import Foundation
import Logging
import PipelineCore
import RunState
import WeChatMP

extension RunExecutor {
    /// Runs one step whose `if` allowed it.
    func perform(_ step: Step, context: EvaluationContext) async -> StepResult {
        let with: [String: Value]
        do {
            with = try WithEvaluator(context: context).evaluate(step.with)
        } catch {
            return .failure(error.description)
        }
        switch step.uses.value {
        case "media/upload": return await mediaUpload(step, with)
        case "media/uploadimg": return await mediaUploadImage(step, with)
        case "media/uploadnews": return await mediaUploadNews(step, with)
        case "media/uploadvideo": return await mediaUploadVideo(step, with)
        case "mass/sendall": return await sendAll(step, with)
        case "mass/send": return await sendToList(step, with)
        case "mass/preview": return await preview(step, with)
        case "mass/get": return await massGet(step, with)
        case "mass/wait": return await massWait(step, with)
        case "mass/delete": return await massDelete(step, with)
        case "mass/speed": return await massSpeed(step, with)
        default: return .failure("unknown step kind \(step.uses.value)")
        }
    }

    // MARK: Files and requests

    /// A path from the pipeline, relative to the pipeline's directory.
    func resolvePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    /// Reads a file the pipeline names, with a size limit.
    func readFile(_ path: String, field: String, limit: Int) throws(StepInputError) -> Data {
        let full = resolvePath(path)
        guard let handle = FileHandle(forReadingAtPath: full) else {
            let exists = FileManager.default.fileExists(atPath: full)
            throw StepInputError(
                path: field, message: exists ? "cannot read \(path) (permission denied?)" : "no file \(path) (looked at \(full))")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        if data.count > limit {
            throw StepInputError(path: field, message: "\(path) is larger than \(limit) bytes")
        }
        return data
    }

    /// Replaces `content_file` with `content` (text payloads and articles).
    func inlineContentFiles(_ object: [String: Value], path: String) throws(StepInputError) -> [String: Value] {
        var out = object
        if case .string(let file)? = object["content_file"] {
            let data = try readFile(file, field: path + "content_file", limit: 1 << 20)
            guard let text = String(data: data, encoding: .utf8) else {
                throw StepInputError(path: path + "content_file", message: "\(file) is not UTF-8 text")
            }
            out["content_file"] = nil
            out["content"] = .string(text)
        }
        return out
    }

    /// Decodes a WeChatMP request from the evaluated `with` and validates it.
    func decodeRequest<R: Decodable>(_ type: R.Type, _ value: [String: Value]) throws(StepInputError) -> R {
        let json = Value.object(value).jsonText
        let request: R
        do {
            request = try JSONDecoder().decode(R.self, from: Data(json.utf8))
        } catch {
            throw StepInputError(path: "", message: "the request cannot be built: \(Self.describe(error))")
        }
        return request
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .keyNotFound(let key, let ctx):
                return "missing \((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
            case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
                let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
                return (path.isEmpty ? "" : path + ": ") + ctx.debugDescription
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }

    /// Fails a step from a WeChat error.
    func failure(_ error: WeChatError) -> StepResult {
        .failure(error.description, errcode: error.errcode)
    }

    func outcomeResult<T>(_ outcome: CallOutcome<T>, _ success: (T) -> [String: Value]) -> StepResult {
        switch outcome {
        case .ok(let v): return .success(success(v))
        case .failed(let e), .unknown(let e): return failure(e)
        case .duplicate(let id): return .failure("unexpected 45065 (msg_id \(id)) on a call without clientmsgid")
        case .alreadyDone(let e): return failure(e)
        case .stopped: return .stopped(stopSignal.message)
        }
    }

    // MARK: Media

    func mediaUpload(_ step: Step, _ with: [String: Value]) async -> StepResult {
        guard let typeName = with["type"]?.stringValue, let type = MediaType(rawValue: typeName) else {
            return .failure("with.type must be image, voice, video or thumb")
        }
        guard let file = with["file"]?.stringValue else { return .failure("with.file is required") }
        let data: Data
        do { data = try readFile(file, field: "file", limit: type.maxBytes) } catch { return .failure(error.description) }
        let name = (file as NSString).lastPathComponent
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: "media/upload", isMass: false)) {
            () async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadMedia(type: type, fileName: name, data: data)
        }
        return outcomeResult(outcome) { r in
            ["media_id": .string(r.mediaID), "type": .string(r.type), "created_at": .integer(Int(r.createdAt))]
        }
    }

    func mediaUploadImage(_ step: Step, _ with: [String: Value]) async -> StepResult {
        guard let file = with["file"]?.stringValue else { return .failure("with.file is required") }
        let data: Data
        do { data = try readFile(file, field: "file", limit: 1 << 20) } catch { return .failure(error.description) }
        let name = (file as NSString).lastPathComponent
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: "media/uploadimg", isMass: false)) {
            () async throws(WeChatError) -> UploadImageResponse in
            try await client.uploadImage(fileName: name, data: data)
        }
        return outcomeResult(outcome) { r in ["url": .string(r.url)] }
    }

    func mediaUploadNews(_ step: Step, _ with: [String: Value]) async -> StepResult {
        let request: UploadNewsRequest
        do {
            var body = with
            if case .list(let articles)? = with["articles"] {
                var out: [Value] = []
                for (i, a) in articles.enumerated() {
                    guard case .object(let o) = a else { out.append(a); continue }
                    out.append(.object(try inlineContentFiles(o, path: "articles[\(i)].")))
                }
                body["articles"] = .list(out)
            }
            request = try decodeRequest(UploadNewsRequest.self, body)
        } catch {
            return .failure(error.description)
        }
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: "media/uploadnews", isMass: false)) {
            () async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadNews(request)
        }
        return outcomeResult(outcome) { r in
            ["media_id": .string(r.mediaID), "created_at": .integer(Int(r.createdAt))]
        }
    }

    func mediaUploadVideo(_ step: Step, _ with: [String: Value]) async -> StepResult {
        let request: UploadVideoRequest
        do { request = try decodeRequest(UploadVideoRequest.self, with) } catch { return .failure(error.description) }
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: "media/uploadvideo", isMass: false)) {
            () async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadVideo(request)
        }
        return outcomeResult(outcome) { r in
            ["media_id": .string(r.mediaID), "created_at": .integer(Int(r.createdAt))]
        }
    }

    // MARK: Status, delete, speed, preview

    func massGet(_ step: Step, _ with: [String: Value]) async -> StepResult {
        guard let msgID = with["msg_id"]?.messageID else { return .failure("with.msg_id must be a message id") }
        let client = client(for: step)
        let outcome = await call(CallSpec(step: step, endpoint: "message/mass/get", isMass: true)) {
            () async throws(WeChatError) -> GetResponse in
            try await client.get(msgID: msgID)
        }
        return outcomeResult(outcome) { r in
            ["msg_id": .integer(Int(r.msgID)), "msg_status": .string(r.msgStatus.rawValue)]
        }
    }

    func massDelete(_ step: Step, _ with: [String: Value]) async -> StepResult {
        var requests: [DeleteRequest] = []
        let articleIdx = with["article_idx"]?.intValue
        if let id = with["msg_id"] {
            guard let msgID = id.messageID else { return .failure("with.msg_id must be a message id") }
            requests.append(DeleteRequest(msgID: msgID, articleIdx: articleIdx))
        } else if case .list(let ids)? = with["msg_ids"] {
            for id in ids {
                guard let msgID = id.messageID else { return .failure("with.msg_ids holds \(id.templateText), not a message id") }
                requests.append(DeleteRequest(msgID: msgID, articleIdx: articleIdx))
            }
        } else if let url = with["url"]?.stringValue {
            requests.append(DeleteRequest(articleIdx: articleIdx, url: url))
        } else {
            return .failure("with needs msg_id, msg_ids or url")
        }
        guard let run else { return .failure("no run") }
        let client = client(for: step)
        for (index, request) in requests.enumerated() {
            // Journaled like a send: refused without the journal; a delete journaled as done
            // is not made again; one whose outcome is unknown is repeated, and WeChat's
            // 40059 (already deleted) then means it went through.
            let journaled = JournaledCall.delete(runID: run.id, stepID: step.id.value, index: index)
            let existing: JournalEntry?
            switch await readJournal(journaled) {
            case .success(let entry): existing = entry
            case .failure(let stop): return stop.result
            }
            let target = request.msgID.map { "msg_id \($0)" } ?? "the article"
            if existing?.state == .sent {
                logger.notice(
                    "\(target) was already deleted in this run; not deleting again",
                    metadata: ["event": "delete.adopted", "step.id": .string(step.id.value)])
                continue
            }
            let mayHaveArrived = existing.map { $0.state == .intent || $0.state == .unknown } ?? false
            let now = options.now()
            let digest = Idempotency.digest(
                "\(request.msgID.map(String.init) ?? "")|\(request.articleIdx.map(String.init) ?? "")|\(request.url ?? "")")
            var entry = JournalEntry(
                api: account.api, appID: account.appID, key: journaled.key, runID: run.id, stepID: step.id.value,
                batch: index, endpoint: "message/mass/delete", contentDigest: digest, recipients: 0, state: .intent,
                firstAttemptAt: mayHaveArrived ? existing!.firstAttemptAt : now, lastAttemptAt: now, updatedAt: now)
            if let stop = await journalIntent(entry, journaled) { return stop.result }
            var spec = CallSpec(step: step, endpoint: "message/mass/delete", isMass: true)
            spec.doneAfterMaybeReceived = [40059]
            spec.mayHaveArrived = mayHaveArrived
            let outcome = await call(spec) {
                () async throws(WeChatError) in
                try await client.delete(request)
            }
            entry.updatedAt = options.now()
            entry.lastAttemptAt = entry.updatedAt
            switch outcome {
            case .ok:
                await journalOutcome(&entry, .sent)
                continue
            case .alreadyDone:
                await journalOutcome(&entry, .sent)
                logger.notice("an earlier attempt may have deleted it; WeChat says 40059 (already deleted)", metadata: ["event": "delete.already_done", "step.id": .string(step.id.value)])
                continue
            case .failed(let e):
                await journalOutcome(&entry, .refused, errcode: e.errcode)
                return failure(e)
            case .unknown(let e):
                await journalOutcome(&entry, .unknown)
                return failure(e)
            case .duplicate: return .failure("unexpected 45065 on delete")
            case .stopped: return .stopped(stopSignal.message)
            }
        }
        return .success(["deleted": .bool(true)])
    }

    func massSpeed(_ step: Step, _ with: [String: Value]) async -> StepResult {
        let client = client(for: step)
        if let speed = with["speed"]?.intValue {
            let set = await call(CallSpec(step: step, endpoint: "message/mass/speed/set", isMass: true)) {
                () async throws(WeChatError) in
                try await client.setSpeed(speed)
            }
            switch set {
            case .ok: break
            case .failed(let e), .unknown(let e): return failure(e)
            case .duplicate, .alreadyDone: return .failure("unexpected answer on speed/set")
            case .stopped: return .stopped(stopSignal.message)
            }
        }
        let get = await call(CallSpec(step: step, endpoint: "message/mass/speed/get", isMass: true)) {
            () async throws(WeChatError) -> SpeedGetResponse in
            try await client.getSpeed()
        }
        return outcomeResult(get) { r in ["speed": .integer(r.speed), "realspeed": .integer(r.realspeed)] }
    }

    func preview(_ step: Step, _ with: [String: Value]) async -> StepResult {
        guard let run else { return .failure("no run") }
        let request: PreviewRequest
        do {
            request = try decodeRequest(PreviewRequest.self, try payloadWithFiles(with))
            try request.validate()
        } catch let e as StepInputError {
            return .failure(e.description)
        } catch {
            return .failure("\(error)")
        }
        // Previews have no idempotency key: journal them so that a preview whose outcome is
        // unknown is never repeated blindly (not by a retry, not by resume).
        let journaled = JournaledCall.preview(runID: run.id, stepID: step.id.value)
        let key = journaled.key
        let digest = Idempotency.digest(Value.object(with).jsonText)
        let now = options.now()
        let read: JournalEntry?
        switch await readJournal(journaled) {
        case .success(let entry): read = entry
        case .failure(let stop): return stop.result
        }
        if let existing = read {
            switch existing.state {
            case .sent:
                return .success(["msg_id": existing.msgID.map { .integer(Int($0)) } ?? .null],
                                message: "preview already sent in this run")
            case .intent, .unknown:
                if !options.confirmResend {
                    return .stopped(
                        "the preview's outcome is unknown (the request may have reached WeChat); it is not repeated without `\(options.resumeCommand(run.id, "--confirm-resend"))`")
                }
            case .refused: break
            }
        }
        var entry = JournalEntry(
            api: account.api, appID: account.appID, key: key, runID: run.id, stepID: step.id.value, batch: 0,
            endpoint: "message/mass/preview", contentDigest: digest, recipients: 1, state: .intent,
            firstAttemptAt: now, lastAttemptAt: now, updatedAt: now)
        if let stop = await journalIntent(entry, journaled) { return stop.result }
        let client = client(for: step)
        let outcome = await call(
            CallSpec(step: step, endpoint: "message/mass/preview", isMass: true, repeatAfterMaybeReceived: false)
        ) { () async throws(WeChatError) -> PreviewResponse in
            try await client.preview(request)
        }
        entry.updatedAt = options.now()
        switch outcome {
        case .ok(let r):
            entry.msgID = r.msgID
            await journalOutcome(&entry, .sent)
            return .success(["msg_id": r.msgID.map { .integer(Int($0)) } ?? .null])
        case .failed(let e):
            await journalOutcome(&entry, .refused, errcode: e.errcode)
            return failure(e)
        case .unknown(let e):
            await journalOutcome(&entry, .unknown)
            return .stopped(
                "the preview's outcome is unknown (\(e)); it is not repeated without `\(options.resumeCommand(run.id, "--confirm-resend"))`")
        case .duplicate, .alreadyDone: return .failure("unexpected answer on preview")
        case .stopped: return .stopped(stopSignal.message)
        }
    }

    /// `with` with `content_file` of a text payload read in.
    func payloadWithFiles(_ with: [String: Value]) throws(StepInputError) -> [String: Value] {
        var body = with
        if case .object(let text)? = with["text"] { body["text"] = .object(try inlineContentFiles(text, path: "text.")) }
        return body
    }
}
