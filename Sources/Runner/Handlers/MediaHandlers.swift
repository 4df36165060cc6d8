import Foundation
import PipelineCore
import WeChatMP

/// Uploaded media: its id, its type and when WeChat stored it.
struct MediaUploadOutputs: Encodable, Sendable {
    var mediaID: String
    var type: String
    var createdAt: Int

    enum CodingKeys: String, CodingKey {
        case mediaID = "media_id", type, createdAt = "created_at"
    }
}

/// Uploaded news or video: its media id and when WeChat stored it.
struct MediaCreatedOutputs: Encodable, Sendable {
    var mediaID: String
    var createdAt: Int

    enum CodingKeys: String, CodingKey {
        case mediaID = "media_id", createdAt = "created_at"
    }
}

/// A file to upload, read with its type's size limit.
struct UploadFile: Sendable {
    var path: String
    var name: String
    var data: Data

    init(_ with: [String: Value], reader: InputReader, limit: Int) throws(StepFailure) {
        guard let file = with["file"]?.stringValue else { throw .input("with.file is required") }
        do {
            data = try reader.readFile(file, field: "file", limit: limit)
        } catch {
            throw StepFailure(error)
        }
        path = file
        name = (file as NSString).lastPathComponent
    }
}

/// `media/upload`: a temporary image, voice, video or thumbnail.
struct MediaUploadHandler: StepHandler {
    struct Inputs: Sendable {
        var type: MediaType
        var file: UploadFile
    }

    var kind: String { "media/upload" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> Inputs {
        guard let typeName = with["type"]?.stringValue, let type = MediaType(rawValue: typeName) else {
            throw .input("with.type must be image, voice, video or thumb")
        }
        return Inputs(type: type, file: try UploadFile(with, reader: reader, limit: type.maxBytes))
    }

    func describe(_ inputs: Inputs, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["media/upload"])
        call.files = [PlanContext.file(inputs.file.path, inputs.file.data)]
        return call
    }

    func execute(_ inputs: Inputs, context: StepContext) async -> StepExecution<MediaUploadOutputs> {
        let file = inputs.file
        return await context.call("media/upload", isMass: false) { (client: WeChatClient) async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadMedia(type: inputs.type, fileName: file.name, data: file.data)
        }.map { MediaUploadOutputs(mediaID: $0.mediaID, type: $0.type, createdAt: Int($0.createdAt)) }
    }
}

/// `media/uploadimg`: an image for an article's body; WeChat answers its URL.
struct MediaUploadImageHandler: StepHandler {
    struct Outputs: Encodable, Sendable {
        var url: String
    }

    var kind: String { "media/uploadimg" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> UploadFile {
        try UploadFile(with, reader: reader, limit: 1 << 20)
    }

    func describe(_ inputs: UploadFile, context: PlanContext) async -> PlannedCall {
        var call = context.call(endpoints: ["media/uploadimg"])
        call.files = [PlanContext.file(inputs.path, inputs.data)]
        return call
    }

    func execute(_ inputs: UploadFile, context: StepContext) async -> StepExecution<Outputs> {
        await context.call("media/uploadimg", isMass: false) { (client: WeChatClient) async throws(WeChatError) -> UploadImageResponse in
            try await client.uploadImage(fileName: inputs.name, data: inputs.data)
        }.map { Outputs(url: $0.url) }
    }
}

/// `media/uploadnews`: articles (mpnews), `content_file`s read in.
struct MediaUploadNewsHandler: StepHandler {
    var kind: String { "media/uploadnews" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> UploadNewsRequest {
        do {
            var body = with
            if case .list(let articles)? = with["articles"] {
                var out: [Value] = []
                for (i, a) in articles.enumerated() {
                    guard case .object(let o) = a else { out.append(a); continue }
                    out.append(.object(try reader.inlineContentFiles(o, path: "articles[\(i)].")))
                }
                body["articles"] = .list(out)
            }
            return try reader.decodeRequest(UploadNewsRequest.self, body)
        } catch {
            throw StepFailure(error)
        }
    }

    func describe(_ inputs: UploadNewsRequest, context: PlanContext) async -> PlannedCall {
        context.call(endpoints: ["media/uploadnews"])
    }

    func execute(_ inputs: UploadNewsRequest, context: StepContext) async -> StepExecution<MediaCreatedOutputs> {
        await context.call("media/uploadnews", isMass: false) { (client: WeChatClient) async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadNews(inputs)
        }.map { MediaCreatedOutputs(mediaID: $0.mediaID, createdAt: Int($0.createdAt)) }
    }
}

/// `media/uploadvideo`: a video uploaded with `media/upload` made sendable (mpvideo).
struct MediaUploadVideoHandler: StepHandler {
    var kind: String { "media/uploadvideo" }

    func inputs(_ with: [String: Value], reader: InputReader) throws(StepFailure) -> UploadVideoRequest {
        do {
            return try reader.decodeRequest(UploadVideoRequest.self, with)
        } catch {
            throw StepFailure(error)
        }
    }

    func describe(_ inputs: UploadVideoRequest, context: PlanContext) async -> PlannedCall {
        context.call(endpoints: ["media/uploadvideo"])
    }

    func execute(_ inputs: UploadVideoRequest, context: StepContext) async -> StepExecution<MediaCreatedOutputs> {
        await context.call("media/uploadvideo", isMass: false) { (client: WeChatClient) async throws(WeChatError) -> UploadMediaResponse in
            try await client.uploadVideo(inputs)
        }.map { MediaCreatedOutputs(mediaID: $0.mediaID, createdAt: Int($0.createdAt)) }
    }
}
