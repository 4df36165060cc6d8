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

// MARK: - Pooler detection

extension PostgresStateStore {
    /// Why this store is reached through a transaction-mode pooler (PgBouncer's `pool_mode =
    /// transaction`, and the like), if it seems to be: successive statements of one connection
    /// run in different server sessions, or a `LISTEN` hears no `NOTIFY` sent from another
    /// connection within 2 s. `LISTEN` and session state break behind such a pooler: runs in
    /// `mass/wait` then find pushes only by re-reading the inbox. `nil` when the session
    /// behaves (or the server cannot be reached: the store's first call reports that).
    public func poolerProblem() async -> String? {
        let location = self.location
        let logger = self.logger
        let reason: String? = try? await Self.withDeadline(.seconds(Int64(location.connectTimeout) + 10), location: location, action: "cannot check") {
            let connection = try await PostgresConnection.connect(
                configuration: try location.connectionConfiguration(applicationName: "masscast-check"), id: 3, logger: logger)
            do {
                var pids = Set<Int32>()
                for _ in 0..<3 {
                    for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) {
                        pids.insert(pid)
                    }
                }
                if pids.count > 1 {
                    try? await connection.close()
                    return "successive statements of one connection ran in \(pids.count) different server sessions"
                }
                let channel = "masscast_probe_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
                let heard = try await connection.listen(on: channel) { notifications in
                    try await self.transaction("cannot send a test notification through") { db, logger in
                        try await db.exec("SELECT pg_notify(\(channel), 'probe')", logger)
                    }
                    return try await withThrowingTaskGroup(of: Bool.self) { group in
                        group.addTask {
                            for try await _ in notifications { return true }
                            return false
                        }
                        group.addTask {
                            try await Task.sleep(for: .seconds(2))
                            return false
                        }
                        let first = try await group.next() ?? false
                        group.cancelAll()
                        return first
                    }
                }
                try? await connection.close()
                return heard ? nil : "a LISTEN heard no NOTIFY sent from another connection within 2 s"
            } catch {
                try? await connection.close()
                throw error
            }
        }
        guard let reason else { return nil }
        return "the PostgreSQL state store \(location) seems to be reached through a transaction-mode pooler (such as PgBouncer with pool_mode = transaction): \(reason). LISTEN wake-ups and session state do not work through it, so a run in mass/wait finds pushes only by re-reading the inbox (every few seconds); connect masscast to the server directly, or through a pooler in session mode"
    }
}
