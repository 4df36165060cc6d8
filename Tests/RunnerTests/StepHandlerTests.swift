import MasscastTesting
import Foundation
import Logging
import PipelineCore
import PipelineYAML
import RunState
import Testing
import WeChatMP
import WeChatSandbox

@testable import Runner

/// Every catalog kind has one handler whose outputs are the catalog's; `describe` says what a
/// run then calls (endpoints, batches, clientmsgids) without calling or writing anything.
@Suite("step handlers", .serialized)
struct StepHandlerTests {
    @Test("every catalog kind has exactly one handler, registered under its name")
    func everyKindHasAHandler() {
        #expect(StepHandlers.all.count == Catalog.kinds.count)
        for kind in Catalog.kinds {
            let handler = StepHandlers.handler(for: kind.name)
            #expect(handler?.kind == kind.name, "no handler for \(kind.name)")
        }
        #expect(Set(StepHandlers.all.map(\.kind)) == Set(Catalog.names))
        #expect(StepHandlers.handler(for: "mass/unknown") == nil)
    }

    /// The keys a handler's outputs encode to, given a value of its `Outputs`.
    func keys<H: StepHandler>(_ handler: H, _ outputs: H.Outputs) -> Set<String> { Set(handler.encode(outputs).keys) }

    func declared(_ kind: String) -> Set<String> { Set(Catalog.kind(kind)?.outputs.map(\.name) ?? []) }

    @Test("the outputs each handler produces are exactly the outputs its catalog kind declares")
    func outputsMatchTheCatalog() {
        let articles: [Value] = [.object(["idx": .integer(1), "article_url": .string("https://example.com/a")])]
        var produced: [String: Set<String>] = [:]
        produced["media/upload"] = keys(
            MediaUploadHandler(), MediaUploadOutputs(mediaID: "m", type: "thumb", createdAt: 1_700_000_000))
        produced["media/uploadimg"] = keys(MediaUploadImageHandler(), .init(url: "https://mmbiz.example/1.png"))
        produced["media/uploadnews"] = keys(
            MediaUploadNewsHandler(), MediaCreatedOutputs(mediaID: "n", createdAt: 1_700_000_000))
        produced["media/uploadvideo"] = keys(
            MediaUploadVideoHandler(), MediaCreatedOutputs(mediaID: "v", createdAt: 1_700_000_000))
        produced["mass/sendall"] = keys(SendAllHandler(), .init(msgID: 1000, msgDataID: 2000))
        produced["mass/send"] = keys(SendHandler(), .init(msgIDs: [1000, 1001], batches: 2, recipients: 3))
        produced["mass/preview"] = keys(PreviewHandler(), .init(msgID: 1000))
        produced["mass/get"] = keys(MassGetHandler(), .init(msgID: 1000, msgStatus: "SEND_SUCCESS"))
        produced["mass/wait"] = keys(
            MassWaitHandler(),
            .init(
                status: "send success", msgStatus: "SEND_SUCCESS", totalCount: 10, filterCount: 9, sentCount: 8,
                errorCount: 1, copyrightCheckState: 0, articles: articles))
        produced["mass/delete"] = keys(MassDeleteHandler(), .init(deleted: true))
        produced["mass/speed"] = keys(MassSpeedHandler(), .init(speed: 0, realspeed: 15))
        #expect(Set(produced.keys) == Set(Catalog.names), "a kind without a fully populated value here")
        for kind in Catalog.names {
            #expect(produced[kind] == declared(kind), "\(kind): produces \(produced[kind] ?? []), declares \(declared(kind))")
        }
    }

    @Test("an output without a value is encoded as null, never left out")
    func absentOutputsAreNull() {
        let wait = MassWaitHandler().encode(.init(status: "unknown", msgStatus: "SENDING"))
        #expect(Set(wait.keys) == declared("mass/wait"))
        #expect(wait["sent_count"] == .null && wait["articles"] == .null && wait["copyright_check_state"] == .null)
        #expect(wait["msg_status"] == .string("SENDING"))
        let sendAll = SendAllHandler().encode(.init(msgID: 7, msgDataID: nil))
        #expect(sendAll == ["msg_id": .integer(7), "msg_data_id": .null])
        #expect(PreviewHandler().encode(.init(msgID: nil)) == ["msg_id": .null])
        let send = SendHandler().encode(.init(msgIDs: [5, 6], batches: 2, recipients: 4))
        #expect(send["msg_ids"] == .list([.integer(5), .integer(6)]))
    }

    // MARK: typed failures

    @Test("a step's failure stays typed (code, errcode, cause) until the record renders it, with the same text")
    func failuresStayTyped() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("typed.yaml", """
                version: 1
                name: typed-failures
                account: brand-main
                inputs:
                  nothing: { type: string, required: false }
                steps:
                  - id: status
                    uses: mass/get
                    with: { msg_id: 4242424242 }
                  - id: bad
                    uses: mass/get
                    with: { msg_id: "not an id" }
                  - id: nulls
                    uses: mass/get
                    with: { msg_id: "${{ inputs.nothing }}" }
                """)
            let executor = try executor(rig, path, inputs: [], transport: rig.transport)
            let pipeline = try rig.load(path)
            let context = await executor.evaluationContext()
            let wechat = await executor.perform(pipeline.steps[0], context: context)
            guard case .ended(let end) = wechat, let failure = end.failure else {
                Issue.record("expected a failed step, got \(wechat)")
                return
            }
            #expect(failure.code == .wechat)
            #expect(failure.errcode != nil && end.errcode == failure.errcode)
            #expect(failure.cause is WeChatError)
            #expect(end.message == failure.message && end.outcome == .failure)
            let input = await executor.perform(pipeline.steps[1], context: context)
            guard case .ended(let bad) = input else { Issue.record("\(input)"); return }
            #expect(bad.failure?.code == .invalidInput)
            #expect(bad.message == "with.msg_id must be a message id")
            #expect(bad.errcode == nil)
            let nulls = await executor.perform(pipeline.steps[2], context: context)
            guard case .ended(let null) = nulls else { Issue.record("\(nulls)"); return }
            #expect(null.failure?.code == .invalidInput)
            let cause = try #require(null.failure?.cause as? StepInputError)
            #expect(cause.code == .expression || cause.code == .nullValue)
            #expect(cause.path == "msg_id" && null.message == cause.description)
        }
    }

    @Test("InputError and StepInputError carry a code, what they concern and their unchanged text")
    func inputErrorShapes() throws {
        let loaded = try #require(PipelineLoader().load(path: Rig.example("text-to-tag")).pipeline)
        func error(_ given: [String]) -> InputError? {
            do {
                _ = try Inputs.resolve(given, pipeline: loaded)
                return nil
            } catch {
                return error
            }
        }
        #expect(error([])?.code == .missing)
        #expect(error([])?.input == "tag_id")
        #expect(error([])?.description == "input tag_id is required: pass --input tag_id=…")
        #expect(error(["tag_id=x"])?.code == .invalidValue)
        #expect(error(["tag_id=x"])?.description == "--input tag_id=x: expected an integer")
        #expect(error(["nope=1"])?.code == .undeclared)
        #expect(error(["nope=1"])?.input == "nope")
        #expect(error(["tag_id"])?.code == .malformed)
        #expect(error(["tag_id"])?.description == "--input tag_id: expected name=value")
        #expect(error(["tag_id=7"]) == nil)
        // The same input twice is refused, not silently the last one.
        #expect(error(["tag_id=7", "tag_id=8"])?.code == .repeated)
        #expect(error(["tag_id=7", "tag_id=8"])?.description.contains("--input tag_id is given more than once") == true)

        let reader = InputReader(baseDirectory: "/nonexistent-dir", root: "/nonexistent-dir")
        #expect(throws: StepInputError.self) { try reader.readFile("a.txt", field: "file", limit: 10) }
        do {
            _ = try reader.readFile("a.txt", field: "file", limit: 10)
        } catch {
            #expect(error.code == .file && error.path == "file")
            #expect(error.description == "with.file: no file a.txt (looked at /nonexistent-dir/a.txt)")
        }
        do {
            _ = try reader.decodeRequest(UploadVideoRequest.self, [:])
        } catch {
            #expect(error.code == .request && error.cause is DecodingError)
            #expect(error.description.hasPrefix("the request cannot be built: missing "))
        }
    }

    // MARK: describe

    /// The endpoints each kind's plan names for the example pipelines' `with`.
    static let endpoints: [String: [String]] = [
        "media/upload": ["media/upload"], "media/uploadimg": ["media/uploadimg"],
        "media/uploadnews": ["media/uploadnews"], "media/uploadvideo": ["media/uploadvideo"],
        "mass/sendall": ["message/mass/sendall"], "mass/send": ["message/mass/send"],
        "mass/preview": ["message/mass/preview"], "mass/get": ["message/mass/get"],
        "mass/wait": ["message/mass/get"], "mass/delete": ["message/mass/delete"],
    ]

    @Test("describe over every example pipeline: endpoints, audiences and the clientmsgids the run then uses; no call, no write")
    func describeExamples() async throws {
        try await Rig.with(time: .virtual) { rig in
            let cases: [(String, [String])] = [
                ("video-to-tag", []), ("text-to-tag", ["tag_id=101"]), ("image-to-tag", ["tag_id=102"]),
                ("voice-to-tag", ["tag_id=103"]), ("mpnews-with-preview-fallback", ["tag_id=100"]),
                ("openid-list-from-file", []), ("always-cleanup", ["tag_id=104"]),
                ("parallel-branches", ["video_tag_id=101", "image_tag_id=102"]),
            ]
            var videoMsgID: Int?
            for (name, inputs) in cases {
                let (_, steps) = try await describeThenRun(rig, Rig.example(name), inputs: inputs, name: name)
                if name == "video-to-tag", case .integer(let id)? = rig.outputs(steps["send"])["msg_id"] { videoMsgID = id }
            }
            let id = try #require(videoMsgID)
            let (check, _) = try await describeThenRun(
                rig, Rig.example("check-status"), inputs: ["msg_id=\(id)"], name: "check-status")
            #expect(check.map(\.endpoints) == [["message/mass/get"]])
            let (delete, _) = try await describeThenRun(
                rig, Rig.example("delete-article"), inputs: ["msg_id=\(id)"], name: "delete-article")
            #expect(delete.last?.irreversible == .delete && delete.last?.batches.count == 1)
            // The two kinds no example uses.
            // Inside the rig's folder (its repository root): files outside it are not read.
            let image = "winter-menu-1.jpg"
            try FileManager.default.copyItem(
                at: Rig.root.appendingPathComponent("assets/winter-menu-1.jpg"), to: rig.dir.appendingPathComponent(image))
            let path = try rig.write("image-and-speed.yaml", """
                version: 1
                name: image-and-speed
                account: brand-main
                steps:
                  - id: image
                    uses: media/uploadimg
                    with: { file: \(image) }
                  - id: speed
                    uses: mass/speed
                    with: { speed: 2 }
                """)
            let (calls, steps) = try await describeThenRun(rig, path, inputs: [], name: "image-and-speed")
            #expect(calls.map(\.endpoints) == [["media/uploadimg"], ["message/mass/speed/set", "message/mass/speed/get"]])
            let size = try #require(FileManager.default.attributesOfItem(atPath: rig.dir.appendingPathComponent(image).path)[.size] as? Int)
            #expect(calls.first?.files.map(\.bytes) == [size])
            #expect(rig.outputs(steps["speed"])["speed"] == .integer(2))
        }
    }

    @Test("describe a touser_file audience: recipients, balanced batches and one clientmsgid each, as the run sends them; then says they were sent")
    func describeAudienceFile() async throws {
        try await Rig.with(time: .virtual) { rig in
            var lines = (0..<20_001).map { String(format: "o4WmZ0plan%018d", $0) }
            lines.append(lines[3])  // a duplicate
            let file = rig.dir.appendingPathComponent("audience.txt").path
            try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let path = try rig.write("planned.yaml", """
                version: 1
                name: planned-batches
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: audience.txt
                      msgtype: text
                      text: { content: "planned" }
                  - id: wait
                    uses: mass/wait
                    with:
                      msg_ids: ${{ steps.send.outputs.msg_ids }}
                      timeout: 1h
                """)
            let (calls, _) = try await describeThenRun(rig, path, inputs: [], name: "planned-batches")
            let send = try #require(calls.first { $0.stepID == "send" })
            #expect(send.audience?.recipients == 20_001)
            #expect(send.audience?.batchSizes == [6667, 6667, 6667])
            #expect(send.batches.map(\.recipients) == [6667, 6667, 6667])
            #expect(Set(send.batches.compactMap(\.key)).count == 3)
            let size = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            #expect(send.files.map(\.bytes) == [size])
            #expect(send.files.first?.sha256 == Idempotency.digest(try Data(contentsOf: URL(fileURLWithPath: file))))
            let wait = try #require(calls.first { $0.stepID == "wait" })
            #expect(wait.references == [OutputReference(step: "send", output: "msg_ids")])
            #expect(wait.problem == nil)
            // As a plan saves it: every field present, optionals as null.
            let saved = OutputEncoder.object(send)
            #expect(saved["step"] == .string("send") && saved["uses"] == .string("mass/send"))
            #expect(saved["irreversible"] == .string("send") && saved["problem"] == .null)
            #expect(saved["endpoints"] == .list([.string("message/mass/send")]))
            guard case .list(let batches)? = saved["batches"], case .object(let first)? = batches.first else {
                Issue.record("no batches in \(saved)")
                return
            }
            #expect(batches.count == 3)
            #expect(first["key"] == send.batches[0].key.map { .string($0) })
            #expect(first["recipients"] == .integer(6667) && first["journal"] == .null)
            #expect(OutputEncoder.object(wait)["references"] == .list([.string("steps.send.outputs.msg_ids")]))
        }
    }

    @Test("a send's payload view is its digest view without the audience: the audience file is not read and hashed for it")
    func sendPayloadViewLeavesOutAudience() async throws {
        try await Rig.with(time: .virtual) { rig in
            let audience = rig.dir.appendingPathComponent("audience.txt").path
            try "o4WmZ0plan000000000000000001\n".write(toFile: audience, atomically: true, encoding: .utf8)
            let path = try rig.write("view.yaml", """
                version: 1
                name: payload-view
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: audience.txt
                      msgtype: text
                      text: { content: "view" }
                """)
            let executor = try executor(rig, path, inputs: [], transport: rig.transport)
            let step = try #require(try rig.load(path).steps.first)
            let full = await executor.digestView(step)
            let hashed = "sha256:" + Idempotency.digest(try Data(contentsOf: URL(fileURLWithPath: audience)))
            #expect(full["touser_file"] == .string(hashed))
            var expected = full
            for key in ["touser", "touser_file", "touser_column", "clientmsgid"] { expected[key] = nil }
            #expect(await executor.sendPayloadView(step) == expected)
            #expect(await executor.sendPayloadView(step, scheme: .v2)["touser_file"] == nil)
            // Gone, the file changes nothing in the view: it was never read for it.
            try FileManager.default.removeItem(atPath: audience)
            #expect(await executor.sendPayloadView(step) == expected)
        }
    }

    @Test("describe names a step's problem instead of a call: a missing audience file")
    func describeProblem() async throws {
        try await Rig.with(time: .virtual) { rig in
            let path = try rig.write("missing.yaml", """
                version: 1
                name: missing-audience
                account: brand-main
                steps:
                  - id: send
                    uses: mass/send
                    with:
                      touser_file: nowhere.txt
                      msgtype: text
                      text: { content: "x" }
                """)
            let counter = RequestCounter(rig.transport)
            let calls = await (try executor(rig, path, inputs: [], transport: counter)).describeSteps()
            let send = try #require(calls.first)
            #expect(send.problem?.code == .audience)
            #expect(send.batches.isEmpty)
            #expect(counter.count == 0)
        }
    }

    /// Describes the pipeline (asserting that nothing is called or written), runs it, checks
    /// that the run used the described clientmsgids, and that describing again says the
    /// sends were made.
    @discardableResult
    func describeThenRun(
        _ rig: Rig, _ path: String, inputs: [String], name: String
    ) async throws -> (calls: [PlannedCall], steps: [String: StepRecord]) {
        let pipeline = try rig.load(path)
        let counter = RequestCounter(rig.transport)
        let executor = try executor(rig, path, inputs: inputs, transport: counter)
        let before = try await snapshot(rig.store)
        let calls = await executor.describeSteps()
        #expect(counter.count == 0, "\(name): describe made \(counter.count) requests")
        #expect(try await snapshot(rig.store) == before, "\(name): describe wrote to the store")

        #expect(calls.map(\.stepID) == pipeline.steps.map(\.id.value))
        for (call, step) in zip(calls, pipeline.steps) {
            let kind = step.uses.value
            #expect(call.kind == kind)
            #expect(call.problem == nil, "\(name)/\(call.stepID): \(call.problem?.message ?? "")")
            #expect(call.irreversible == Catalog.kind(kind)?.irreversible)
            if let expected = Self.endpoints[kind] {
                #expect(call.endpoints == expected, "\(name)/\(call.stepID): \(call.endpoints)")
            }
            if Catalog.kind(kind)?.sends == true {
                #expect(!call.batches.isEmpty && call.batches.allSatisfy { $0.key != nil && $0.journal == nil })
            }
            if kind == "mass/sendall" {
                #expect(call.contentDigest?.hasPrefix(Idempotency.contentDigestPrefix) == true)
                #expect(call.audience?.description.hasPrefix("tag ") == true, "\(call.audience?.description ?? "")")
            }
        }

        let result = await executor.start()
        #expect(result == .succeeded(runID: result.runID ?? ""), "\(name): \(result)")
        #expect(counter.count > 0, "\(name): the run made no request through the counted transport")
        let runID = try #require(result.runID)
        let journaled = try await rig.store.journalEntries(runID: runID).filter { JournaledCall.isSendKey($0.key) }
        let described = calls.filter { $0.irreversible == .send }.flatMap { call in
            call.batches.map { "\(call.stepID)#\($0.index) \($0.key ?? "-")" }
        }
        let used = journaled.map { "\($0.stepID)#\($0.batch) \($0.key)" }
        #expect(Set(used) == Set(described), "\(name): described \(described), the run used \(used)")
        let steps = try await rig.steps(result)
        for call in calls where call.kind == "mass/send" {
            let outputs = rig.outputs(steps[call.stepID])
            #expect(outputs["batches"] == .integer(call.batches.count))
            #expect(outputs["recipients"] == call.audience?.recipients.map { .integer($0) })
        }

        // Described again, the sends are journaled as sent, with their msg_ids.
        let again = await (try self.executor(rig, path, inputs: inputs, transport: counter)).describeSteps()
        let requests = counter.count
        for call in again where call.irreversible == .send {
            #expect(call.alreadyDone, "\(name)/\(call.stepID): \(call.batches.map { $0.journal.map(\.rawValue) ?? "none" })")
            let msgIDs = journaled.filter { $0.stepID == call.stepID }.sorted { $0.batch < $1.batch }.map(\.msgID)
            #expect(call.batches.map(\.msgID) == msgIDs)
        }
        #expect(counter.count == requests)
        return (calls, steps)
    }

    func executor(_ rig: Rig, _ path: String, inputs: [String], transport: any WeChatTransport) throws -> RunExecutor {
        let pipeline = try rig.load(path)
        var options = rig.baseOptions()
        options.inputs = try Inputs.resolve(inputs, pipeline: pipeline)
        options.sandbox = true
        options.enforceSchedule = false
        options.waitGrace = .milliseconds(300)
        options.firstPollDelay = .milliseconds(300)
        let digest = Idempotency.digest(FileManager.default.contents(atPath: path) ?? Data())
        return RunExecutor(
            pipeline: pipeline, pipelineFile: path, pipelineDigest: digest, account: rig.account(), store: rig.store,
            transport: transport, logger: Logger(label: "describe", factory: { _ in SwiftLogNoOpLogHandler() }),
            options: options)
    }

    /// Everything the store holds about runs: runs, their steps and journal entries.
    func snapshot(_ store: any StateStore) async throws -> [String] {
        var out: [String] = []
        for run in try await store.runs(limit: 10_000) {
            out.append("\(run)")
            out += try await store.steps(runID: run.id).map { "\($0)" }
            out += try await store.journalEntries(runID: run.id).map { "\($0)" }
            out += try await store.attempts(runID: run.id).map { "\($0)" }
        }
        return out
    }
}

/// A transport that counts the requests it passes on.
final class RequestCounter: WeChatTransport, @unchecked Sendable {
    private let inner: any WeChatTransport
    private let lock = NSLock()
    private var requests = 0

    init(_ inner: any WeChatTransport) { self.inner = inner }

    var count: Int { lock.withLock { requests } }

    func send(_ request: TransportRequest) async throws(TransportFailure) -> TransportResponse {
        lock.withLock { requests += 1 }
        return try await inner.send(request)
    }
}
