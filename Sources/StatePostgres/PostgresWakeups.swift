import Foundation
import Logging
import PostgresNIO
import RunState

/// The channel a stored push is announced on (`NOTIFY`, delivered at commit); the payload is
/// `api` and `original_id` separated by a newline.
let inboxChannel = "masscast_inbox"

extension PostgresStateStore: InboxWakeups {
    /// A watch woken by every push stored for `(api, originalID)` on this database, from any
    /// process, through one `LISTEN` connection per store (opened on the first watch and
    /// reopened after it drops; every reconnection wakes every watch, so readers catch up).
    /// Waits (at most 2 s) for the `LISTEN` to be in place before it returns.
    public func watchInbox(api: String, originalID: String) async -> InboxWatch {
        await inboxListener.watch(key: InboxListener.key(api: api, originalID: originalID))
    }

    static func notifyInbox(_ db: PostgresConnection, _ logger: Logger, api: String, originalID: String) async throws {
        let payload = InboxListener.key(api: api, originalID: originalID)
        try await db.exec("SELECT pg_notify(\(inboxChannel), \(payload))", logger)
    }

    /// The server process id of the listening connection (for tests that cut it).
    func listeningBackendPID() async -> Int32? { await inboxListener.backendPID }
}

/// The dedicated `LISTEN` connection of one store and the watches it wakes.
actor InboxListener {
    private let location: PostgresLocation
    private let logger: Logger
    private var watches: [String: [UUID: WeakWatch]] = [:]
    private var loop: Task<Void, Never>?
    private var listening = false
    private var readyWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var backendPID: Int32?
    /// How many times the connection was (re)established (for tests and the log).
    private(set) var connections = 0

    struct WeakWatch {
        weak var watch: InboxWatch?
    }

    init(location: PostgresLocation, logger: Logger) {
        self.location = location
        self.logger = logger
    }

    static func key(api: String, originalID: String) -> String { "\(api)\n\(originalID)" }

    func watch(key: String) async -> InboxWatch {
        let id = UUID()
        let watch = InboxWatch(onEnd: { [weak self] in
            guard let self else { return }
            Task { await self.forget(key: key, id: id) }
        })
        watches[key, default: [:]][id] = WeakWatch(watch: watch)
        if loop == nil {
            loop = Task { await self.run() }
        }
        if !listening {
            // Until the LISTEN is in place, a push is only found by the reader's re-reads.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.waitUntilListening() }
                group.addTask { try? await Task.sleep(for: .seconds(2)) }
                await group.next()
                group.cancelAll()
            }
        }
        return watch
    }

    func stop() {
        loop?.cancel()
        loop = nil
    }

    private func forget(key: String, id: UUID) {
        watches[key]?[id] = nil
        if watches[key]?.isEmpty == true { watches[key] = nil }
    }

    private func waitUntilListening() async {
        if listening { return }
        await withCheckedContinuation { readyWaiters.append($0) }
    }

    private func setListening(_ value: Bool, pid: Int32?) {
        listening = value
        backendPID = pid
        if value {
            connections += 1
            for waiter in readyWaiters { waiter.resume() }
            readyWaiters = []
        }
    }

    private func wake(key: String?) {
        if let key {
            for entry in (watches[key] ?? [:]).values { entry.watch?.signal() }
        } else {
            for group in watches.values { for entry in group.values { entry.watch?.signal() } }
        }
    }

    /// Listens until cancelled; after a failure, waits (0.2 s doubling to 5 s) and reconnects.
    private func run() async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try location.connectionConfiguration(applicationName: "masscast-listen"),
                    id: 2, logger: logger)
                do {
                    var pid: Int32?
                    for try await value in try await connection.query("SELECT pg_backend_pid()", logger: logger)
                        .decode(Int32.self)
                    {
                        pid = value
                    }
                    try await connection.listen(on: inboxChannel) { notifications in
                        await self.setListening(true, pid: pid)
                        // Catch-up: whatever was stored while no connection listened.
                        await self.wake(key: nil)
                        backoff = .milliseconds(200)
                        for try await notification in notifications {
                            await self.wake(key: notification.payload)
                        }
                    }
                } catch {
                    logger.debug("the LISTEN connection failed: \(String(describing: type(of: error)))")
                }
                try? await connection.close()
            } catch {
                logger.debug("cannot open the LISTEN connection: \(String(describing: type(of: error)))")
            }
            setListening(false, pid: nil)
            // Notifications may have been missed: every reader re-reads.
            wake(key: nil)
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(.seconds(5), backoff * 2)
        }
    }
}
