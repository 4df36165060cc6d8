import Foundation
import PipelineCore

extension EngineCore {
    /// The calls the call log keeps at least; older ones are dropped (their
    /// ``SandboxCallRecord/seq`` numbers are not reused, so a gap shows).
    static let callLogLimit = 100_000

    /// The endpoints that change nothing on the platform. Everything else (the classic
    /// `/token`, which replaces the account's token; `stable_token` with `force_refresh`,
    /// which invalidates it; sends, previews, deletes, uploads, `speed/set`, and endpoints the
    /// sandbox does not serve) counts as mutating.
    static let readOnlyEndpoints: Set<String> = [
        "tags/get", "user/tag/get", "message/mass/get", "message/mass/speed/get",
    ]

    /// The AppID a `/cgi-bin/` call acts for, when it names a known account: the credentials
    /// of a token call, else the account of its `access_token` (`accessToken`, the query's).
    func callerAppID(endpoint: String, request: SandboxRequest, accessToken: String?) -> String? {
        let appID: String?
        switch endpoint {
        case "token": appID = request.query["appid"]
        case "stable_token": appID = Value.parse(request.body)?["appid"]?.lenientString
        default: appID = accessToken.flatMap { tokens[$0]?.appID }
        }
        guard let appID, accounts[appID] != nil else { return nil }
        return appID
    }

    /// Appends one call to the log. The access token, the secret and the body are not kept.
    func logCall(endpoint: String, request: SandboxRequest, appID: String?, response: SandboxResponse, now: Date) {
        callSerial += 1
        var readOnly = Self.readOnlyEndpoints.contains(endpoint)
        if endpoint == "stable_token" {
            let force = Value.parse(request.body)?["force_refresh"]?.lenientBool ?? false
            readOnly = !force
        }
        // The answer's errcode is read when the log is listed (``resolvedCallLog()``), not on
        // the request path: a small answer is kept (shared, not copied) until then.
        var errcode: Int?
        var answer: Data?
        if response.dropConnection == nil, response.status == 200, response.body.count <= 65_536 {
            if response.body.count <= LoggedCall.keptAnswerBytes {
                answer = response.body
            } else {
                errcode = LoggedCall.errcode(of: response.body)
            }
        }
        let method = request.method
        callLog.append(LoggedCall(record: SandboxCallRecord(
            seq: callSerial, method: method.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7A }) ? method.uppercased() : method,
            endpoint: endpoint,
            account: appID.flatMap { accounts[$0]?.name }, appID: appID, at: (now.timeIntervalSince1970 * 1000).rounded() / 1000,
            readOnly: readOnly, httpStatus: response.dropConnection == nil ? response.status : nil, errcode: errcode,
            dropped: response.dropConnection), answer: answer))
        // Trimmed a tenth at a time, so a long benchmark does not shift the whole log on every call.
        if callLog.count >= Self.callLogLimit + Self.callLogLimit / 10 {
            callLog.removeFirst(callLog.count - Self.callLogLimit)
        }
    }
}

extension EngineCore {
    /// The call log with every errcode read: the kept answers are parsed once, here.
    func resolvedCallLog() -> [SandboxCallRecord] {
        for index in callLog.indices where callLog[index].answer != nil {
            callLog[index].record.errcode = LoggedCall.errcode(of: callLog[index].answer!)
            callLog[index].answer = nil
        }
        return callLog.map(\.record)
    }
}

/// A call in the engine's log: its record, and while its errcode is not read yet, the
/// answer it comes from.
struct LoggedCall: Sendable {
    /// Answers up to this size are kept until the log is listed; larger ones are read at once.
    static let keptAnswerBytes = 4096

    var record: SandboxCallRecord
    var answer: Data?

    /// The errcode of a JSON object answer (0 when it has none); `nil` when it is not one.
    static func errcode(of body: Data) -> Int? {
        guard let answer = Value.parse(body), answer.objectValue != nil else { return nil }
        return answer["errcode"]?.lenientInt.map { Int(clamping: $0) } ?? 0
    }
}

/// One `/cgi-bin/` call, as `GET /sandbox/calls` lists it: enough to prove what a client did
/// (which endpoints, for which account, in which order) without any token, secret or body.
public struct SandboxCallRecord: Sendable, Codable, Hashable {
    /// The call's number, from 1, in the order the sandbox received the calls.
    public var seq: Int
    /// `GET` or `POST` (as sent).
    public var method: String
    /// The endpoint after `/cgi-bin/`, e.g. `tags/get`, `message/mass/sendall`, `stable_token`.
    public var endpoint: String
    /// The account's fixture name, when the call named a known account (by its credentials
    /// or by a token the sandbox issued).
    public var account: String?
    /// The account's AppID, under the same condition.
    public var appID: String?
    /// When the call arrived (wall time, Unix seconds with milliseconds).
    public var at: Double
    /// `true` for calls that change nothing: `tags/get`, `user/tag/get`, `message/mass/get`,
    /// `message/mass/speed/get`, and `stable_token` without `force_refresh`.
    public var readOnly: Bool
    /// The HTTP status answered; `nil` when the connection was dropped (an injected fault).
    public var httpStatus: Int?
    /// The answer's `errcode` (0 for an answer without one); `nil` when the answer was not
    /// JSON or was not sent.
    public var errcode: Int?
    /// Set when an injected fault closed the connection instead of answering.
    public var dropped: DropMode?

    enum CodingKeys: String, CodingKey {
        case seq, method, endpoint, account, appID = "appid", at, readOnly = "read_only"
        case httpStatus = "http_status", errcode, dropped
    }
}
