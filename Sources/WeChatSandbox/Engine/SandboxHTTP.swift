import Foundation
import PipelineCore

/// A request to the sandbox, as the HTTP server (or an in-process caller) hands it over.
public struct SandboxRequest: Sendable {
    /// `GET`, `POST`, `DELETE`, … (compared case-insensitively).
    public var method: String
    /// The path without the query, e.g. `/cgi-bin/message/mass/sendall`.
    public var path: String
    /// The query parameters, percent-decoded.
    public var query: SandboxQuery
    /// The `Content-Type` header, the one header the engine reads (a multipart upload's
    /// boundary).
    public var contentType: String?
    /// The body.
    public var body: Data

    /// Creates a request from a query dictionary and headers (any case; only `content-type`
    /// is kept).
    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                body: Data = Data()) {
        var contentType: String?
        for (name, value) in headers where name.lowercased() == "content-type" { contentType = value }
        self.init(method: method, path: path, query: SandboxQuery(query), contentType: contentType, body: body)
    }

    /// Creates a request.
    public init(method: String, path: String, query: SandboxQuery, contentType: String?, body: Data) {
        self.method = method
        self.path = path
        self.query = query
        self.contentType = contentType
        self.body = body
    }

    /// A `POST` with a JSON body and `?access_token=` (the shape of nearly every WeChat call).
    public static func post(_ path: String, accessToken: String?, json: String,
                            query: [String: String] = [:]) -> SandboxRequest {
        var query = query
        if let accessToken { query["access_token"] = accessToken }
        return SandboxRequest(method: "POST", path: path, query: SandboxQuery(query),
                              contentType: "application/json", body: Data(json.utf8))
    }
}

/// A request's query parameters, percent-decoded. The HTTP server passes the query text as
/// it came (``init(encoded:)``) and a parameter is found in it when the engine asks for it,
/// so no dictionary is built per request; in-process callers pass a dictionary.
///
/// Read as `URI.queryParameters` reads a query: `&` separates the parameters, the name is
/// everything before the first `=` (not decoded), the value everything after it,
/// percent-decoded (kept as written when a `%` is not followed by two hex digits), and a
/// parameter without `=` has the value `""`. When a name appears more than once, the last
/// one counts.
public struct SandboxQuery: Sendable, ExpressibleByDictionaryLiteral {
    private let encoded: String?
    private let values: [String: String]

    /// The parameters of `values`, as given.
    public init(_ values: [String: String]) {
        encoded = nil
        self.values = values
    }

    /// The parameters of a dictionary literal (the last of a repeated name counts).
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// The parameters of a query as it appears in a URL after `?` (without a `#` fragment).
    public init(encoded: String) {
        self.encoded = encoded
        values = [:]
    }

    /// The value of the parameter `name`, or `nil` when the query has none.
    public subscript(name: String) -> String? {
        guard let encoded else { return values[name] }
        var found: Substring?
        var rest = encoded[...]
        while !rest.isEmpty {
            let end = rest.utf8.firstIndex(of: UInt8(ascii: "&")) ?? rest.endIndex
            let pair = rest[..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.utf8.index(after: end)...]
            if let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                if pair[..<equals] == name { found = pair[pair.utf8.index(after: equals)...] }
            } else if pair == name {
                found = pair[pair.endIndex...]
            }
        }
        return found.map(PercentDecoding.decode)
    }
}

/// How the server ends a connection instead of answering (an injected fault).
public enum DropMode: String, Sendable, Hashable, Codable {
    /// The request was not processed: nothing happened.
    case beforeProcessing = "before_processing"
    /// The request took effect (a send may have been accepted), but no answer is sent.
    case afterProcessing = "after_processing"
}

/// The sandbox's answer.
public struct SandboxResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// The body.
    public var body: Data
    /// The `Content-Type`.
    public var contentType: String
    /// When set, the server closes the connection without sending anything.
    public var dropConnection: DropMode?
    /// When set, the server waits this long before answering (or dropping).
    public var delay: Duration?

    /// Creates a response.
    public init(status: Int, body: Data, contentType: String, dropConnection: DropMode? = nil,
                delay: Duration? = nil) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.dropConnection = dropConnection
        self.delay = delay
    }

    /// The `Content-Type` WeChat answers JSON with.
    public static let jsonContentType = "application/json; encoding=utf-8"

    static func json(_ text: String, status: Int = 200) -> SandboxResponse {
        SandboxResponse(status: status, body: Data(text.utf8), contentType: jsonContentType)
    }

    static func json(_ data: Data, status: Int = 200) -> SandboxResponse {
        SandboxResponse(status: status, body: data, contentType: "application/json; charset=utf-8")
    }

    /// The body as UTF-8 text (for tests and logs).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Where the sandbox reads wall time: tokens, quotas, clientmsgid windows and push
/// timestamps follow it; job progress and push timing follow it times the time scale.
public protocol SandboxClock: Sendable {
    /// The current wall time.
    func now() -> Date
}

/// The system clock.
public struct WallClock: SandboxClock {
    /// Creates the clock.
    public init() {}

    /// `Date()`.
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to: for tests.
public final class ManualClock: SandboxClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    /// Creates the clock at `start` (default: 2025-03-10 10:00:00 +08:00, a Monday morning).
    public init(start: Date = Date(timeIntervalSince1970: 1_741_572_000)) {
        current = start
    }

    /// The clock's time.
    public func now() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        lock.lock()
        defer { lock.unlock() }
        current = current.addingTimeInterval(duration.seconds)
    }

    /// Sets the clock.
    public func set(_ date: Date) {
        lock.lock()
        defer { lock.unlock() }
        current = date
    }
}

/// Sends MASSSENDJOBFINISH pushes to callback URLs. The engine never opens a connection
/// itself: the server passes one that speaks HTTP, tests a fake.
public protocol PushSender: Sendable {
    /// POSTs `body` to `url` and waits at most `timeout`.
    /// - Returns: `true` when the server answered 2xx with `success` or an empty body
    ///   (WeChat's rule); `false` for anything else, including a timeout.
    func post(url: String, body: Data, contentType: String, timeout: Duration) async -> Bool
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
