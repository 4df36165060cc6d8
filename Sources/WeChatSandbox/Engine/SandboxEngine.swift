import Foundation
import PipelineCore
import Synchronization
import WeChatMP

/// The WeChat Official Account mass-send API, emulated: every `/cgi-bin/` endpoint of the
/// reference with its documented checks and errcodes, mass-send jobs that progress over
/// (scaled) time, MASSSENDJOBFINISH pushes, injected faults, and the `/sandbox/`
/// inspection and admin endpoints.
///
/// The engine does no I/O: the HTTP server hands it requests through ``handle(_:)`` and
/// calls ``tick()`` every ~50 ms; wall time comes from the injected ``SandboxClock``, and
/// pushes leave through the injected ``PushSender``.
///
/// Its state is behind one lock (`Mutex`): a request is answered on the caller's thread,
/// one at a time, with no hop to another executor. Pushes are sent with the lock released,
/// so a slow callback server holds up no request.
public final class SandboxEngine: Sendable {
    private let core: Mutex<EngineCore>
    /// The fixture the engine started from.
    public let startingFixture: SandboxFixture

    /// Creates an engine in the state the fixture describes.
    /// - Parameters:
    ///   - fixture: accounts, windows, quotas, time scale and faults.
    ///   - clock: wall time (``WallClock`` by default; tests pass a ``ManualClock``).
    ///   - pushSender: how MASSSENDJOBFINISH pushes are POSTed; `nil` records them without
    ///     sending (status `no_sender`).
    public init(fixture: SandboxFixture, clock: any SandboxClock = WallClock(), pushSender: (any PushSender)? = nil) {
        core = Mutex(EngineCore(fixture: fixture, clock: clock, pushSender: pushSender))
        startingFixture = fixture
    }

    // MARK: Entry points

    /// Answers one request: every `/cgi-bin/` endpoint of the reference, and the `/sandbox/`
    /// inspection and admin endpoints (`GET /sandbox/sends|calls|jobs|pushes|previews|accounts|faults|health`,
    /// `POST /sandbox/faults`, `DELETE /sandbox/faults`, `POST /sandbox/callback`).
    ///
    /// Injected faults show in the response: ``SandboxResponse/dropConnection`` (close
    /// without answering) and ``SandboxResponse/delay`` (wait before answering).
    public func handle(_ request: SandboxRequest) async -> SandboxResponse {
        respond(request)
    }

    /// ``handle(_:)`` without suspending: the answer is made on the caller's thread while it
    /// holds the engine's lock (what the HTTP server calls).
    public func respond(_ request: SandboxRequest) -> SandboxResponse {
        core.withLock { $0.handle(request) }
    }

    /// Moves jobs forward by the wall time since the last call times the time scale, then
    /// makes every push that is due (concurrently) and waits for their answers.
    ///
    /// Safe to call while an earlier call still waits for a slow callback server: a push
    /// in flight is not sent twice.
    public func tick() async {
        guard let batch = core.withLock({ $0.tickStart() }) else { return }
        let results = await batch.send()
        core.withLock { $0.recordPushResults(batch, results: results) }
    }

    // MARK: Conveniences (tests, `run --sandbox`)

    /// The accounts, in fixture order (no secrets).
    public func accountInfos() async -> [SandboxAccountInfo] { core.withLock { $0.accountInfos() } }

    /// A valid access token for the account (its `stable_token`), issued as `stable_token`
    /// would issue it; `nil` for an unknown AppID.
    public func accessToken(appID: String) async -> String? { core.withLock { $0.accessToken(appID: appID) } }

    /// Every accepted mass send, oldest first.
    public func sends() async -> [SandboxSendRecord] { core.withLock { $0.sends() } }

    /// Every job with its progress, oldest first.
    public func jobInfos() async -> [SandboxJobInfo] { core.withLock { $0.jobInfos() } }

    /// Every push with its tries, oldest first.
    public func pushRecords() async -> [SandboxPushRecord] { core.withLock { $0.pushRecords() } }

    /// Every accepted preview, oldest first.
    public func previewRecords() async -> [SandboxPreviewRecord] { core.withLock { $0.previewRecords() } }

    /// Every `/cgi-bin/` call the sandbox answered (or dropped), oldest first: what
    /// `GET /sandbox/calls` lists.
    public func calls() async -> [SandboxCallRecord] { core.withLock { $0.calls() } }

    /// How many media (temporary media, uploadnews articles, uploadvideo results) the account
    /// `appID` has had uploaded: what tests check to prove an upload was not repeated.
    public func uploadedMediaCount(appID: String) async -> Int { core.withLock { $0.uploadedMediaCount(appID: appID) } }

    /// The followers of an account, in fixture order.
    public func followers(appID: String) async -> [String] { core.withLock { $0.followers(appID: appID) } }

    /// The members of a tag.
    public func tagMembers(appID: String, tagID: Int) async -> [String] {
        core.withLock { $0.tagMembers(appID: appID, tagID: tagID) }
    }

    /// Adds fault rules (as `POST /sandbox/faults` does).
    public func addFaults(_ rules: [SandboxFault]) async { core.withLock { $0.addFaults(rules) } }

    /// Removes every fault rule.
    public func clearFaults() async { core.withLock { $0.clearFaults() } }

    /// Points an account's pushes at another URL (and, optionally, mode).
    /// - Returns: `false` when no account has that fixture name or AppID, or the account has
    ///   no callback settings and no token was given.
    @discardableResult
    public func setCallback(
        account: String, url: String, mode: SandboxFixture.Callback.Mode? = nil, token: String? = nil
    ) async -> Bool {
        core.withLock { $0.setCallback(account: account, url: url, mode: mode, token: token) }
    }
}

/// The pushes one tick sends: what each try posts, taken from the engine under its lock and
/// sent without it.
struct PushBatch: Sendable {
    struct Item: Sendable {
        var pushID: Int
        var url: String
        var body: Data
        var timestamp: String
        var nonce: String
    }

    var items: [Item]
    var sender: any PushSender
    var timeout: Duration
    /// When the tick took them (each try's time).
    var now: Date

    /// Posts every item concurrently; `true` at `i` when item `i` was answered `success`.
    func send() async -> [Bool] {
        let sender = self.sender
        let timeout = self.timeout
        return await withTaskGroup(of: (Int, Bool).self) { group in
            for (index, item) in items.enumerated() {
                let url = item.url
                let body = item.body
                group.addTask {
                    (index, await sender.post(url: url, body: body, contentType: "text/xml", timeout: timeout))
                }
            }
            var results = [Bool](repeating: false, count: items.count)
            for await (index, ok) in group { results[index] = ok }
            return results
        }
    }
}
