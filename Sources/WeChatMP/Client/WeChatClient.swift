import Foundation

/// The typed client for the mass-send API and the media it points at.
///
/// Every call carries the current access token; a token error (40001, 40014, 42001, 41001)
/// gets the current token from the provider and repeats the call once, never recursively.
/// Other failures are thrown as `WeChatError`, classed by the errcode table, with whether
/// the request may have been received.
public struct WeChatClient: Sendable {
    public struct Configuration: Sendable {
        /// `https://api.weixin.qq.com`, or a sandbox.
        public var baseURL: String
        /// Bound on one call attempt.
        public var timeout: Duration
        /// Secrets no request body may hold (token requests aside).
        public var fence: SecretFence

        public init(
            baseURL: String = "https://api.weixin.qq.com", timeout: Duration = .seconds(30), fence: SecretFence = SecretFence()
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.timeout = timeout
            self.fence = fence
        }
    }

    public let configuration: Configuration
    public let tokens: TokenProvider
    private let transport: any WeChatTransport

    public init(configuration: Configuration, tokens: TokenProvider, transport: any WeChatTransport) {
        self.configuration = configuration
        self.tokens = tokens
        self.transport = transport
    }

    // MARK: Mass messages

    /// `message/mass/sendall`: send to a tag or to every follower.
    public func sendAll(_ request: SendAllRequest) async throws(WeChatError) -> SendResponse {
        try await post("message/mass/sendall", request)
    }

    /// `message/mass/send`: send to 2–10,000 OpenIDs.
    public func send(_ request: SendRequest) async throws(WeChatError) -> SendResponse {
        try await send(try EncodedSendRequest(request))
    }

    /// `message/mass/send` of a request encoded beforehand (a large send encodes its next
    /// batch while the current one is in flight).
    public func send(_ encoded: EncodedSendRequest) async throws(WeChatError) -> SendResponse {
        try await call("message/mass/send", query: [], body: encoded.body, contentType: "application/json; charset=utf-8")
    }

    /// `message/mass/preview`: send to one person.
    public func preview(_ request: PreviewRequest) async throws(WeChatError) -> PreviewResponse {
        try await post("message/mass/preview", request)
    }

    /// `message/mass/delete`.
    public func delete(_ request: DeleteRequest) async throws(WeChatError) {
        let _: APIStatus = try await post("message/mass/delete", request)
    }

    /// `message/mass/get`: a job's status.
    public func get(msgID: Int64) async throws(WeChatError) -> GetResponse {
        try await post("message/mass/get", GetRequest(msgID: msgID))
    }

    /// `message/mass/speed/get`.
    public func getSpeed() async throws(WeChatError) -> SpeedGetResponse {
        try await post("message/mass/speed/get", EmptyBody())
    }

    /// `message/mass/speed/set` (0…4).
    public func setSpeed(_ speed: Int) async throws(WeChatError) {
        let _: APIStatus = try await post("message/mass/speed/set", SpeedSetRequest(speed: speed))
    }

    // MARK: Tags (read-only)

    /// `GET tags/get`: every user tag of the account with its follower count (the reserved
    /// ones, such as 2 星标组, included).
    public func getTags() async throws(WeChatError) -> [UserTag] {
        let answer: TagsResponse = try await call("tags/get", method: .get, query: [], body: nil, contentType: nil)
        return answer.tags
    }

    /// `user/tag/get`: one page (up to 10,000) of a tag's members. Start with `nextOpenID`
    /// empty and pass each page's ``TagMembersPage/nextOpenID`` until a page ``TagMembersPage/isLast``.
    /// An unknown tag is `45159`; a `nextOpenID` that is not a member is `40003`.
    public func getTagMembers(tagID: Int, nextOpenID: String = "") async throws(WeChatError) -> TagMembersPage {
        try await post("user/tag/get", TagMembersRequest(tagID: tagID, nextOpenID: nextOpenID))
    }

    // MARK: Media

    /// `media/upload?type=`: multipart, field `media`. Checks WeChat's size limit first.
    public func uploadMedia(type: MediaType, fileName: String, data: Data) async throws(WeChatError) -> UploadMediaResponse {
        if data.count > type.maxBytes {
            throw WeChatError.invalidRequest(
                "\(fileName) is \(data.count) bytes; WeChat takes \(type.rawValue) files up to \(type.maxBytes) bytes",
                endpoint: "media/upload")
        }
        let form = Multipart(field: "media", fileName: fileName, contentType: type.contentType(for: fileName), data: data)
        return try await call("media/upload", query: [("type", type.rawValue)], body: form.body, contentType: form.contentType)
    }

    /// `media/uploadimg`: an image for article HTML (jpg/png under 1 MB); returns its URL.
    public func uploadImage(fileName: String, data: Data) async throws(WeChatError) -> UploadImageResponse {
        if data.count > MediaLimit.articleImage.maxBytes {
            throw WeChatError.invalidRequest(
                "\(fileName) is \(data.count) bytes; uploadimg takes images up to \(MediaLimit.articleImage.maxBytes) bytes",
                endpoint: "media/uploadimg")
        }
        let form = Multipart(field: "media", fileName: fileName, contentType: MediaType.image.contentType(for: fileName), data: data)
        return try await call("media/uploadimg", query: [], body: form.body, contentType: form.contentType)
    }

    /// `media/uploadnews`: 1–8 articles; the media_id goes into mpnews.
    public func uploadNews(_ request: UploadNewsRequest) async throws(WeChatError) -> UploadMediaResponse {
        try await post("media/uploadnews", request)
    }

    /// `media/uploadvideo`: turns an uploaded video into the media_id mpvideo takes.
    public func uploadVideo(_ request: UploadVideoRequest) async throws(WeChatError) -> UploadMediaResponse {
        try await post("media/uploadvideo", request)
    }

    // MARK: Calls

    private struct EmptyBody: Encodable, Sendable {}

    func post<Body: Encodable & Sendable, Response: Decodable>(_ endpoint: String, _ body: Body) async throws(WeChatError)
        -> Response
    {
        let data: Data
        do {
            data = try WeChatJSON.encode(body)
        } catch {
            throw WeChatError.invalidRequest("could not encode the request", endpoint: endpoint)
        }
        return try await call(endpoint, query: [], body: data, contentType: "application/json; charset=utf-8")
    }

    /// One call with the current token; on a token error, once more with the replaced token.
    func call<Response: Decodable>(
        _ endpoint: String, method: TransportRequest.Method = .post, query: [(String, String)], body: Data?,
        contentType: String?
    ) async throws(WeChatError) -> Response {
        if let body, let name = configuration.fence.violation(in: body) {
            throw WeChatError.invalidRequest(
                "the request holds the value of \(name), a secret; nothing was sent. Check what the step's with and the files it reads contain",
                endpoint: endpoint)
        }
        var token = try await tokens.token()
        var repeated = false
        while true {
            do {
                return try await attempt(
                    endpoint, method: method, token: token, query: query, body: body, contentType: contentType)
            } catch let error where error.errorClass == .token && !repeated {
                repeated = true
                token = try await tokens.token(replacing: token)
            }
        }
    }

    private func attempt<Response: Decodable>(
        _ endpoint: String, method: TransportRequest.Method, token: String, query: [(String, String)], body: Data?,
        contentType: String?
    ) async throws(WeChatError) -> Response {
        var components = URLComponents(string: "\(configuration.baseURL)/cgi-bin/\(endpoint)")
        components?.queryItems = [URLQueryItem(name: "access_token", value: token)]
            + query.map { URLQueryItem(name: $0.0, value: $0.1) }
        guard let url = components?.string else {
            throw WeChatError.invalidRequest("bad base URL", endpoint: endpoint, errorClass: .permanent, delivery: .notSent)
        }
        let request = TransportRequest(method: method, url: url, headers: contentType.map { [("Content-Type", $0)] } ?? [],
                                       body: body, timeout: configuration.timeout)
        let response: TransportResponse
        do {
            response = try await transport.send(request)
        } catch {
            throw WeChatError.transport(error, endpoint: endpoint)
        }
        guard response.status == 200 else {
            // A 5xx came from something between us and WeChat, or WeChat itself: it may have acted.
            throw WeChatError.http(
                status: response.status, endpoint: endpoint, errorClass: response.status >= 500 ? .transient : .permanent,
                delivery: response.status >= 500 ? .maybeReceived : .received)
        }
        let redactor = Redactor(secrets: [token, tokens.credentials.secret.value])
        let answer: DecodedAnswer<Response>
        do {
            answer = try DecodedAnswer<Response>.decode(from: response.body)
        } catch {
            throw WeChatError.invalidResponse(
                "the answer is not JSON", endpoint: endpoint, errorClass: .transient, delivery: .maybeReceived)
        }
        let status = answer.status
        if status.errcode != 0 {
            var error = WeChatError.api(
                errcode: status.errcode, errmsg: redactor.scrub(status.errmsg), endpoint: endpoint,
                errorClass: Errcodes.classify(status.errcode))
            if status.errcode == 45065 {
                if let earlier = answer.earlierSend {
                    error.earlierMsgID = earlier.msgID
                } else if Self.sendEndpoints.contains(endpoint) {
                    // "Already sent" without a readable msg_id is no refusal: the send happened,
                    // and which job it is stays unknown.
                    error.delivery = .maybeReceived
                }
            }
            throw error
        }
        do {
            guard let decoded = answer.response else { throw DecodedAnswer<Response>.NoResponse() }
            return try decoded.get()
        } catch {
            let detail = redactor.scrub(String(describing: error).prefix(200).description)
            if Self.sendEndpoints.contains(endpoint) {
                // errcode 0 (or none) but no usable msg_id: WeChat did not refuse, so the send may
                // have been accepted. Unknown, like a lost answer: repeated only with the same key.
                throw WeChatError.invalidResponse(
                    "no usable msg_id in the answer: \(detail)", endpoint: endpoint, errorClass: .transient,
                    delivery: .maybeReceived)
            }
            throw WeChatError.invalidResponse(
                "unexpected fields: \(detail)", endpoint: endpoint, errorClass: .permanent, delivery: .received)
        }
    }

    /// The calls that send messages (not idempotent): any answer to them that is not a clear
    /// refusal (an errcode) is an unknown outcome (`maybeReceived`).
    public static let sendEndpoints: Set<String> = ["message/mass/sendall", "message/mass/send", "message/mass/preview"]
}

/// A `message/mass/send` request with its body, checked and encoded
/// (``SendRequest/encodedBody()``).
public struct EncodedSendRequest: Sendable {
    /// The request the body was made from.
    public let request: SendRequest
    let body: Data

    /// Checks the number of OpenIDs (2 to 10,000) and encodes the body.
    public init(_ request: SendRequest) throws(WeChatError) {
        guard (2...10_000).contains(request.toUser.count) else {
            throw WeChatError.invalidRequest(
                "mass/send takes 2 to 10,000 OpenIDs, not \(request.toUser.count)", endpoint: "message/mass/send")
        }
        do {
            body = try request.encodedBody()
        } catch {
            throw WeChatError.invalidRequest("could not encode the request", endpoint: "message/mass/send")
        }
        self.request = request
    }
}

/// An answer's body parsed once: its `errcode`/`errmsg`, then (from the same parse) the
/// response type when the errcode is 0, or the earlier send's msg_id with errcode 45065.
struct DecodedAnswer<Response: Decodable>: Decodable {
    struct NoResponse: Error {}

    let status: APIStatus
    /// The response, or why it could not be read; `nil` when the errcode is not 0.
    let response: Result<Response, any Error>?
    /// With errcode 45065: the msg_id of the send made earlier under the same clientmsgid.
    let earlierSend: SendResponse?

    /// The answer in `body`, read straight from its bytes when it is a flat object that decodes
    /// completely (`FlatAnswerDecoder`); otherwise, and whenever the response could not be read
    /// (so that the error kept is `JSONDecoder`'s), by ``WeChatJSON/decoder()``.
    static func decode(from body: Data) throws -> DecodedAnswer {
        if let answer = FlatAnswerDecoder.decode(DecodedAnswer.self, from: body) {
            if case .failure = answer.response {} else { return answer }
        }
        return try WeChatJSON.decoder().decode(DecodedAnswer.self, from: body)
    }

    /// Throws only when the body is no JSON object (`APIStatus` cannot be read).
    init(from decoder: any Decoder) throws {
        status = try APIStatus(from: decoder)
        if status.errcode == 0 {
            response = Result { try Response(from: decoder) }
            earlierSend = nil
        } else {
            response = nil
            earlierSend = status.errcode == 45065 ? try? SendResponse(from: decoder) : nil
        }
    }
}

/// A `multipart/form-data` body with one file field.
struct Multipart: Sendable {
    let boundary: String
    let body: Data
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    init(field: String, fileName: String, contentType: String, data: Data) {
        boundary = "masscast-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let safeName = fileName.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_")
            .replacingOccurrences(of: "\n", with: "_")
        var body = Data()
        body.append(Data("--\(boundary)\r\n".utf8))
        body.append(Data("Content-Disposition: form-data; name=\"\(field)\"; filename=\"\(safeName)\"\r\n".utf8))
        body.append(Data("Content-Type: \(contentType)\r\n\r\n".utf8))
        body.append(data)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        self.body = body
    }
}
