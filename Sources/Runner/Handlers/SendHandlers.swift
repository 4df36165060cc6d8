import Audience
import Foundation
import PipelineCore
import WeChatMP

/// `mass/sendall`: a broadcast to a tag or to all followers.
struct SendAllHandler: StepHandler {
    struct Inputs: Sendable {
        var request: SendAllRequest
        /// The request's body as `with` gave it (files read in), for the digests of earlier
        /// masscast versions.
        var body: [String: Value]
    }

    struct Outputs: Encodable, Sendable {
        var msgID: Int64
        var msgDataID: Int64?

        enum CodingKeys: String, CodingKey {
            case msgID = "msg_id", msgDataID = "msg_data_id"
        }
    }

    var kind: String { "mass/sendall" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        do {
            var body = try reader.payloadWithFiles(with)
            body["clientmsgid"] = nil
            let request = try reader.decodeRequest(SendAllRequest.self, body)
            do {
                try request.validate()
            } catch {
                throw StepFailure(.invalidInput, "\(error)", cause: error)
            }
            return Inputs(request: request, body: body)
        } catch let error as StepInputError {
            throw StepFailure(error)
        } catch let error as StepFailure {
            throw error
        } catch {
            throw StepFailure(.invalidInput, "\(error)")
        }
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["message/mass/sendall"])
        let filter = inputs.request.filter
        call.audience = PlannedAudience(
            description: filter.isToAll ? "ALL followers" : filter.tagID.map { "tag \($0)" } ?? "a tag",
            toAll: filter.isToAll, tagID: filter.isToAll ? nil : filter.tagID.map { Int($0) })
        call.batches = [await context.batch(0, key: context.clientMsgID(0), recipients: nil)]
        call.contentDigest = RunExecutor.sendAllDigest(view: context.digestView)
        return call
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        await context.executor.sendAll(context.step, inputs)
    }
}

/// `mass/send`: a broadcast to a list of OpenIDs, inline or from a file, in batches.
struct SendHandler: StepHandler {
    /// Who receives the send.
    enum Audience: Sendable {
        /// Distinct OpenIDs, in order.
        case openIDs([String])
        /// A file of OpenIDs (or a CSV and its column), read as a stream.
        case file(path: String, column: String?)
    }

    struct Inputs: Sendable {
        /// The payload without its audience and clientmsgid.
        var payload: [String: Value]
        /// The payload decoded once, checked before anything is sent.
        var template: SendRequest
        var audience: Audience
    }

    struct Outputs: Encodable, Sendable {
        var msgIDs: [Int64]
        var batches: Int
        var recipients: Int

        enum CodingKeys: String, CodingKey {
            case msgIDs = "msg_ids", batches, recipients
        }
    }

    var kind: String { "mass/send" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        var payload: [String: Value]
        do {
            payload = try reader.payloadWithFiles(with)
        } catch {
            throw StepFailure(error)
        }
        for key in ["touser", "touser_file", "touser_column", "clientmsgid"] { payload[key] = nil }
        let template: SendRequest
        do {
            var probe = payload
            probe["touser"] = .list([.string("probe-openid-1"), .string("probe-openid-2")])
            template = try reader.decodeRequest(SendRequest.self, probe)
        } catch {
            throw StepFailure(error)
        }
        do {
            try template.payload.validate()
        } catch {
            throw StepFailure(.invalidInput, "\(error)", cause: error)
        }
        if case .list(let items)? = with["touser"] {
            var ids: [String] = []
            var seen = Set<String>()
            for item in items {
                guard let s = item.stringValue else { throw .input("with.touser holds \(item.typeName), not an OpenID") }
                if seen.insert(s).inserted { ids.append(s) }
            }
            guard ids.count >= 2 else {
                throw .input("with.touser has \(ids.count) distinct OpenID\(ids.count == 1 ? "" : "s"); mass/send needs at least 2")
            }
            return Inputs(payload: payload, template: template, audience: .openIDs(ids))
        }
        guard let file = with["touser_file"]?.stringValue else { throw .input("with needs touser or touser_file") }
        return Inputs(
            payload: payload, template: template, audience: .file(path: file, column: with["touser_column"]?.stringValue))
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["message/mass/send"])
        let count: Int
        let description: String
        var duplicates: Int?
        switch inputs.audience {
        case .openIDs(let ids):
            count = ids.count
            description = "\(ids.count) OpenIDs"
        case .file(let path, let column):
            guard let checked = try? context.reader.checkedPath(path, field: "touser_file") else {
                call.problem = StepFailure(.invalidInput, "touser_file \(path) resolves outside the repository root; it is not read")
                return call
            }
            let source = AudienceSource(path: checked, csvColumn: column)
            call.files = context.reader.plannedFile(path).map { [$0] } ?? []
            do throws(AudienceError) {
                let check = try AudienceScanner.check(source)
                count = check.uniqueCount
                duplicates = check.duplicateCount
            } catch {
                call.problem = StepFailure(.audience, error.description, cause: error)
                if error.code == .malformedOpenID {
                    call.audience = PlannedAudience(
                        description: path, malformedLines: error.problemCount, firstMalformedLine: error.line)
                }
                return call
            }
            description = path
        }
        let sizes = BatchPlan.sizes(count: count)
        call.audience = PlannedAudience(
            description: description, recipients: count, batchSizes: sizes, duplicates: duplicates)
        for (index, size) in sizes.enumerated() {
            call.batches.append(await context.batch(index, key: context.clientMsgID(index), recipients: size))
        }
        return call
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        await context.executor.sendToList(context.step, inputs)
    }
}

/// `mass/preview`: one message to one follower, to check it; journaled, never repeated
/// blindly.
struct PreviewHandler: StepHandler {
    struct Inputs: Sendable {
        var request: PreviewRequest
        /// `with` as evaluated: the journal's content digest.
        var with: [String: Value]
    }

    struct Outputs: Encodable, Sendable {
        var msgID: Int64?

        enum CodingKeys: String, CodingKey {
            case msgID = "msg_id"
        }
    }

    var kind: String { "mass/preview" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        let request: PreviewRequest
        do {
            request = try reader.decodeRequest(PreviewRequest.self, try reader.payloadWithFiles(with))
        } catch {
            throw StepFailure(error)
        }
        do {
            try request.validate()
        } catch {
            throw StepFailure(.invalidInput, "\(error)", cause: error)
        }
        return Inputs(request: request, with: with)
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["message/mass/preview"])
        call.audience = PlannedAudience(description: "one follower", recipients: 1)
        let key = context.runID.map { JournaledCall.preview(runID: $0, stepID: context.step.id.value).key }
        call.batches = [await context.batch(0, key: key, recipients: 1)]
        return call
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        await context.executor.preview(context.step, inputs)
    }
}

/// `mass/delete`: deletes sent messages (or an article of one); journaled like a send.
struct MassDeleteHandler: StepHandler {
    enum Target: Sendable, Hashable {
        case message(MessageRef)
        case url(String)
    }

    struct Inputs: Sendable {
        var targets: [Target]
        var articleIdx: Int?

        /// The requests, in order (a run's inputs hold known ids only).
        var requests: [DeleteRequest] {
            targets.compactMap { target in
                switch target {
                case .message(let ref): ref.known.map { DeleteRequest(msgID: $0, articleIdx: articleIdx) }
                case .url(let url): DeleteRequest(articleIdx: articleIdx, url: url)
                }
            }
        }
    }

    struct Outputs: Encodable, Sendable {
        var deleted: Bool
    }

    var kind: String { "mass/delete" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        let articleIdx = with["article_idx"]?.intValue
        if let id = with["msg_id"] {
            guard let ref = reader.messageID(id) else { throw .input("with.msg_id must be a message id") }
            return Inputs(targets: [.message(ref)], articleIdx: articleIdx)
        } else if case .list(let ids)? = with["msg_ids"] {
            var targets: [Target] = []
            for id in ids {
                guard let ref = reader.messageID(id) else { throw .input("with.msg_ids holds \(id.templateText), not a message id") }
                targets.append(.message(ref))
            }
            return Inputs(targets: targets, articleIdx: articleIdx)
        } else if let list = with["msg_ids"], let refs = reader.messageIDs(list) {
            return Inputs(targets: refs.map { .message($0) }, articleIdx: articleIdx)
        } else if let url = with["url"]?.stringValue {
            return Inputs(targets: [.url(url)], articleIdx: articleIdx)
        }
        throw .input("with needs msg_id, msg_ids or url")
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["message/mass/delete"])
        for index in inputs.targets.indices {
            let key = context.runID.map { JournaledCall.delete(runID: $0, stepID: context.step.id.value, index: index).key }
            call.batches.append(await context.batch(index, key: key, recipients: nil))
        }
        return call
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<Outputs> {
        await context.executor.massDelete(context.step, inputs.requests)
    }
}
