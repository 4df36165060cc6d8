import Foundation
import PipelineCore
import WeChatMP

/// One part of a `multipart/form-data` body.
struct MultipartPart {
    var name: String
    var fileName: String?
    var contentType: String?
    var data: Data
}

enum Multipart {
    /// The parts of a `multipart/form-data` body, or `nil` when the body is not one.
    static func parse(body: Data, contentType: String?) -> [MultipartPart]? {
        guard let contentType, contentType.lowercased().contains("multipart/form-data"),
              let boundary = parameter("boundary", in: contentType), !boundary.isEmpty else { return nil }
        let bytes = [UInt8](body)
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [MultipartPart] = []
        guard var position = find(delimiter, in: bytes, from: 0) else { return nil }
        position += delimiter.count
        while position + 2 <= bytes.count {
            // "--" after a delimiter ends the body.
            if bytes[position] == 0x2D, bytes[position + 1] == 0x2D { break }
            // Skip the CRLF after the delimiter.
            if bytes[position] == 0x0D, bytes[position + 1] == 0x0A { position += 2 }
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: bytes, from: position) else { return nil }
            let headerText = String(decoding: bytes[position..<headerEnd], as: UTF8.self)
            let dataStart = headerEnd + 4
            guard let next = find(Array("\r\n".utf8) + delimiter, in: bytes, from: dataStart) else { return nil }
            var part = MultipartPart(name: "", fileName: nil, contentType: nil, data: Data(bytes[dataStart..<next]))
            for line in headerText.components(separatedBy: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    part.name = parameter("name", in: line) ?? ""
                    part.fileName = parameter("filename", in: line)
                } else if lower.hasPrefix("content-type:") {
                    part.contentType = line.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces)
                }
            }
            parts.append(part)
            position = next + 2 + delimiter.count
        }
        return parts
    }

    /// A `key=value` or `key="value"` parameter of a header value (case-insensitive key).
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            guard name == key else { continue }
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        let first = needle[0]
        while index <= last {
            if haystack[index] == first {
                var match = true
                for k in 1..<needle.count where haystack[index + k] != needle[k] {
                    match = false
                    break
                }
                if match { return index }
            }
            index += 1
        }
        return nil
    }

    /// The extension a file's first bytes say it has (`jpg`, `png`, `gif`, `mp3`, `amr`, `mp4`).
    static func sniffExtension(_ data: Data) -> String? {
        let b = [UInt8](data.prefix(12))
        if b.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpg" }
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if b.starts(with: Array("GIF8".utf8)) { return "gif" }
        if b.starts(with: Array("#!AMR".utf8)) { return "amr" }
        if b.starts(with: Array("ID3".utf8)) || (b.count >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) { return "mp3" }
        if b.count >= 8, Array(b[4..<8]) == Array("ftyp".utf8) { return "mp4" }
        return nil
    }
}

extension EngineCore {
    /// `media/upload?type=image|voice|video|thumb`, multipart field `media`: type (40004),
    /// file present (41005), format by extension or content (40005), size (40009…40012).
    /// A thumb's answer names its id `thumb_media_id`, as WeChat's does.
    func mediaUpload(_ account: AccountState, _ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        guard let typeName = request.query["type"], let type = MediaType(rawValue: typeName) else { throw APIError(40004) }
        let part = try mediaPart(request)
        let fileName = uploadFileName(part)
        do throws(RequestValidationError) {
            try type.check(fileName: fileName, byteCount: part.data.count)
        } catch {
            throw APIError(error.errcode ?? 40006)
        }
        let kind: SandboxMediaKind
        switch type {
        case .image: kind = .image
        case .voice: kind = .voice
        case .video: kind = .video
        case .thumb: kind = .thumb
        }
        let record = storeMedia(account, kind: kind, size: part.data.count, articles: 0, now: now)
        var writer = JSONWriter()
        writer.add("type", typeName)
        writer.add(type == .thumb ? "thumb_media_id" : "media_id", record.id)
        writer.add("created_at", Int64(now.timeIntervalSince1970))
        return .json(writer.text)
    }

    /// `media/uploadimg`: jpg/png under 1 MB → `{"url":…}` (not a media id).
    func mediaUploadImage(_ account: AccountState, _ request: SandboxRequest) throws(APIError) -> SandboxResponse {
        let part = try mediaPart(request)
        let fileName = uploadFileName(part)
        do throws(RequestValidationError) {
            try MediaLimit.articleImage.check(fileName: fileName, byteCount: part.data.count)
        } catch {
            throw APIError(error.errcode ?? 40006)
        }
        let ext = MediaLimit.fileExtension(of: fileName) == "png" ? "png" : "jpg"
        var writer = JSONWriter()
        writer.add("url", "http://mmbiz.qpic.cn/mmbiz_\(ext)/\(rng.token(54))/0")
        return .json(writer.text)
    }

    /// `media/uploadnews`: 1...8 articles (45008), each with title (45003 when too long),
    /// thumb_media_id of a thumb or image of this account (40007), content (44004 empty,
    /// 45002 too long), digest (45004); 10 a day (45009).
    func mediaUploadNews(_ account: AccountState, _ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        guard let items = body["articles"]?.listValue else { throw APIError(44003) }
        guard MassLimits.articlesPerNews.contains(items.count) else { throw APIError(items.isEmpty ? 44003 : 45008) }
        let limits = fixture.payload
        for item in items {
            guard item.objectValue != nil else { throw APIError(47001) }
            guard let title = item["title"]?.stringValue, !title.isEmpty else { throw APIError(47001) }
            if title.count > limits.titleMaxChars { throw APIError(45003) }
            guard let thumb = item["thumb_media_id"]?.lenientString, let media = account.media[thumb],
                  media.kind == .thumb || media.kind == .image, now < media.expiresAt else { throw APIError(40007) }
            guard let content = item["content"]?.stringValue, !content.isEmpty else { throw APIError(44004) }
            if content.count > limits.contentMaxChars { throw APIError(45002) }
            if let digest = item["digest"]?.stringValue, digest.count > limits.digestMaxChars { throw APIError(45004) }
        }
        let day = QuotaPeriod.day(now)
        guard hasRoom(account, "uploadnews", bucket: day, limit: fixture.quotas.uploadNewsPerDay) else { throw APIError(45009) }
        if fixture.limitsEnabled { account.increment("uploadnews", bucket: day) }
        let record = storeMedia(account, kind: .news, size: request.body.count, articles: items.count, now: now)
        var writer = JSONWriter()
        writer.add("type", "news")
        writer.add("media_id", record.id)
        writer.add("created_at", Int64(now.timeIntervalSince1970))
        return .json(writer.text)
    }

    /// `media/uploadvideo`: the media id of an uploaded, unexpired video (40007) → the id
    /// `mpvideo` takes.
    func mediaUploadVideo(_ account: AccountState, _ request: SandboxRequest, now: Date) throws(APIError) -> SandboxResponse {
        let body = try jsonBody(request)
        guard let id = body["media_id"]?.lenientString, let media = account.media[id], media.kind == .video,
              now < media.expiresAt else { throw APIError(40007) }
        let record = storeMedia(account, kind: .mpvideo, size: media.size, articles: 0, now: now)
        var writer = JSONWriter()
        writer.add("type", "video")
        writer.add("media_id", record.id)
        writer.add("created_at", Int64(now.timeIntervalSince1970))
        return .json(writer.text)
    }

    func mediaPart(_ request: SandboxRequest) throws(APIError) -> MultipartPart {
        guard let parts = Multipart.parse(body: request.body, contentType: request.contentType),
              let part = parts.first(where: { $0.name == "media" }) ?? parts.first(where: { $0.fileName != nil }),
              !part.data.isEmpty else { throw APIError(41005) }
        return part
    }

    /// The part's file name, with the extension its content shows when it has none.
    func uploadFileName(_ part: MultipartPart) -> String {
        let name = part.fileName ?? "media"
        if !MediaLimit.fileExtension(of: name).isEmpty { return name }
        return Multipart.sniffExtension(part.data).map { "\(name).\($0)" } ?? name
    }

    func storeMedia(_ account: AccountState, kind: SandboxMediaKind, size: Int, articles: Int, now: Date) -> MediaRecord {
        var id: String
        repeat { id = rng.token(64) } while account.media[id] != nil
        let record = MediaRecord(id: id, kind: kind, size: size, createdAt: now,
                                 expiresAt: now.addingTimeInterval(fixture.windows.mediaTTL.seconds), articles: articles)
        account.media[id] = record
        pruneMedia(account, now: now)
        return record
    }

    private func pruneMedia(_ account: AccountState, now: Date) {
        guard account.media.count > 20_000 else { return }
        let horizon = now.addingTimeInterval(-fixture.windows.mediaTTL.seconds)
        account.media = account.media.filter { $0.value.expiresAt > horizon }
    }
}
