import Foundation
import RunState
import StateSQLite
import Testing

/// What any store's leases and serials must do (`BroadcastLeases`), seen as `masscast apply`
/// and saved plans see them.
@Suite("BroadcastLeases conformance")
struct BroadcastLeasesConformanceTests {
    @Test("a second applier sees the lease held until it expires or is released; the holder renews it", arguments: StoreKind.allCases)
    func leaseExcludesOthers(_ kind: StoreKind) async throws {
        try await withBroadcastLeases(kind) { store in
            let spring = identity()
            let first = try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(0))
            #expect(first.acquired?.owner == "ci:1")
            #expect(first.acquired?.expiresAt == at(60_000))
            #expect(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(1_000)) == .held(owner: "ci:1", until: at(60_000)))
            // Another broadcast (other inputs) is not held.
            #expect(try await store.acquireLease(identity(inputs: #"{"week":13}"#), owner: "ci:2", ttl: 60, now: at(1_000)).acquired != nil)
            // The holder takes it again and renews it.
            #expect(try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(2_000)).acquired != nil)
            #expect(try await store.renewLease(spring, owner: "ci:1", ttl: 120, now: at(30_000)) == true)
            #expect(try await store.lease(spring)?.expiresAt == at(150_000))
            #expect(try await store.renewLease(spring, owner: "ci:2", ttl: 120, now: at(30_000)) == false)
            #expect(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(149_999)) == .held(owner: "ci:1", until: at(150_000)))
            // Expired: another applier takes it, and the old holder can no longer renew.
            #expect(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(150_001)).acquired?.owner == "ci:2")
            #expect(try await store.renewLease(spring, owner: "ci:1", ttl: 60, now: at(150_002)) == false)
            // Released only by its holder.
            try await store.releaseLease(spring, owner: "ci:1")
            #expect(try await store.lease(spring)?.owner == "ci:2")
            try await store.releaseLease(spring, owner: "ci:2")
            #expect(try await store.lease(spring) == nil)
            #expect(try await store.acquireLease(spring, owner: "ci:3", ttl: 60, now: at(150_003)).acquired != nil)
        }
    }

    @Test("a takeover names the holder it replaced, read by the acquire itself; a free, released or own lease names none", arguments: StoreKind.allCases)
    func takeoverNamesPrevious(_ kind: StoreKind) async throws {
        try await withBroadcastLeases(kind) { store in
            let spring = identity()
            let first = try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(0))
            #expect(first.acquired != nil && first.takenFrom == nil)
            #expect(try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(1_000)).takenFrom == nil)
            // ci:1 let it expire: ci:2 takes it over from ci:1 at epoch 1.
            let second = try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(61_001))
            #expect(second.acquired?.epoch == 2)
            #expect(second.takenFrom?.owner == "ci:1" && second.takenFrom?.epoch == 1, "\(second)")
            // Released: the next holder replaces nobody.
            try await store.releaseLease(spring, owner: "ci:2")
            let third = try await store.acquireLease(spring, owner: "ci:3", ttl: 60, now: at(62_000))
            #expect(third.acquired?.epoch == 3 && third.takenFrom == nil, "\(third)")
            // Eight racing for it once it expired: one takes it over, and only that one names ci:3.
            let results = try await withThrowingTaskGroup(of: LeaseResult.self) { group in
                for n in 10..<18 {
                    group.addTask { try await store.acquireLease(spring, owner: "ci:\(n)", ttl: 60, now: at(200_000)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.compactMap(\.acquired).count == 1)
            #expect(results.compactMap(\.takenFrom).map(\.owner) == ["ci:3"], "\(results)")
        }
    }

    @Test("two appliers racing for one lease: exactly one gets it", arguments: StoreKind.allCases)
    func racingAppliers(_ kind: StoreKind) async throws {
        try await withBroadcastLeases(kind) { store in
            let results = try await withThrowingTaskGroup(of: LeaseResult.self) { group in
                for n in 0..<8 {
                    group.addTask { try await store.acquireLease(identity(), owner: "ci:\(n)", ttl: 60, now: at(0)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.compactMap(\.acquired).count == 1)
        }
    }

    @Test("the serial is 0 before the first run and moves with every change of the broadcast's state", arguments: StoreKind.allCases)
    func serialMoves(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let spring = identity()
            #expect(try await store.serial(spring) == 0)
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
            let started = try await store.serial(spring)
            #expect(started > 0)
            try await store.journal(journalEntry("mc1-a", runID: "run-1", state: .intent))
            let intent = try await store.serial(spring)
            #expect(intent > started)
            try await store.journal(journalEntry("mc1-a", runID: "run-1", state: .sent))
            let sent = try await store.serial(spring)
            #expect(sent > intent)
            try await store.finishRun("run-1", status: .stopped, message: nil, at: at(1_000))
            let stopped = try await store.serial(spring)
            #expect(stopped > sent)
            _ = try await store.claimRun("run-1", owner: "alive:2", now: at(2_000), isOwnerAlive: nobodyIsAlive)
            let claimed = try await store.serial(spring)
            #expect(claimed > stopped)
            // Reading, leasing and asking again change nothing.
            _ = try await store.beginRun(runTemplate("run-x"), nextGeneration: false, isOwnerAlive: ownerIsAlive)
            _ = try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(0))
            _ = try await store.runs(limit: 10)
            #expect(try await store.serial(spring) == claimed)
            // Another broadcast's changes do not move it.
            _ = try await store.beginRun(
                runTemplate("run-9", identity: identity(name: "other")), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
            #expect(try await store.serial(spring) == claimed)
            #expect(try await store.serial(identity(name: "other")) > 0)
        }
    }

    @Test("the epoch: 1 for the first holder, kept when it takes its own lease again, one more at every takeover", arguments: StoreKind.allCases)
    func epochs(_ kind: StoreKind) async throws {
        try await withBroadcastLeases(kind) { store in
            let spring = identity()
            #expect(try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(0)).acquired?.epoch == 1)
            #expect(try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(1_000)).acquired?.epoch == 1)
            #expect(try await store.lease(spring)?.epoch == 1)
            // Expired and taken by another: the epoch moves on.
            #expect(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(61_001)).acquired?.epoch == 2)
            // Released, then taken again (even by the same owner): it never goes back.
            try await store.releaseLease(spring, owner: "ci:2")
            #expect(try await store.leases().isEmpty)
            #expect(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(62_000)).acquired?.epoch == 3)
            let other = identity(name: "autumn")
            _ = try await store.acquireLease(other, owner: "ci:9", ttl: 60, now: at(62_000))
            let listed = try await store.leases()
            #expect(listed.map(\.identity.name) == ["autumn", "spring-sale"])
            #expect(listed.map(\.epoch) == [1, 3] && listed.map(\.owner) == ["ci:9", "ci:2"])
        }
    }

    @Test("a fenced journal write of a holder whose lease was taken over is refused (lease lost) and writes nothing", arguments: StoreKind.allCases)
    func fencedJournalWrite(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let spring = identity()
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
            let first = try #require(try await store.acquireLease(spring, owner: "ci:1", ttl: 60, now: at(0)).acquired)
            try await store.journal(journalEntry("mc1-a", runID: "run-1"), fence: LeaseFence(first))
            #expect(try await store.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "mc1-a") != nil)
            // ci:1 pauses past its expiry; ci:2 takes the broadcast over.
            let second = try #require(try await store.acquireLease(spring, owner: "ci:2", ttl: 60, now: at(61_000)).acquired)
            #expect(second.epoch == first.epoch + 1)
            let serial = try await store.serial(spring)
            let error = await #expect(throws: StateStoreError.self) {
                try await store.journal(journalEntry("mc1-b", runID: "run-1"), fence: LeaseFence(first))
            }
            #expect(error?.code == .leaseLost)
            #expect(error?.description.contains("lease lost") == true && error?.description.contains("ci:2") == true)
            #expect(try await store.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "mc1-b") == nil)
            #expect(try await store.serial(spring) == serial)
            // The new holder writes.
            try await store.journal(journalEntry("mc1-b", runID: "run-1"), fence: LeaseFence(second))
            #expect(try await store.journalEntry(api: testAPI, appID: "wx0000000000000001", key: "mc1-b") != nil)
            // Released: no fenced write passes, not even the last holder's.
            try await store.releaseLease(spring, owner: "ci:2")
            let released = await #expect(throws: StateStoreError.self) {
                try await store.journal(journalEntry("mc1-c", runID: "run-1"), fence: LeaseFence(second))
            }
            #expect(released?.code == .leaseLost)
        }
    }

    @Test("force-unlock takes the lease only at the epoch given; the previous holder is fenced off", arguments: StoreKind.allCases)
    func forceTake(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let spring = identity()
            #expect(try await store.forceTakeLease(spring, epoch: 1, owner: "ops", ttl: 60, now: at(0)) == .notHeld)
            _ = try await store.beginRun(runTemplate("run-1"), nextGeneration: false, isOwnerAlive: nobodyIsAlive)
            let held = try #require(try await store.acquireLease(spring, owner: "ci:1", ttl: 600, now: at(0)).acquired)
            let moved = try await store.forceTakeLease(spring, epoch: held.epoch + 5, owner: "ops", ttl: 60, now: at(1_000))
            #expect(moved == .epochMoved(current: held))
            #expect(try await store.lease(spring) == held)
            let forced = try await store.forceTakeLease(spring, epoch: held.epoch, owner: "ops", ttl: 60, now: at(1_000))
            guard case .taken(let taken) = forced else {
                Issue.record("expected taken, got \(forced)")
                return
            }
            #expect(taken.owner == "ops" && taken.epoch == held.epoch + 1 && taken.expiresAt == at(61_000))
            let error = await #expect(throws: StateStoreError.self) {
                try await store.journal(journalEntry("mc1-a", runID: "run-1"), fence: LeaseFence(held))
            }
            #expect(error?.code == .leaseLost)
            #expect(try await store.renewLease(spring, owner: "ci:1", ttl: 60, now: at(2_000)) == false)
        }
    }

    @Test("eight appliers racing after an expiry: one takes over, at one epoch", arguments: StoreKind.allCases)
    func racingTakeover(_ kind: StoreKind) async throws {
        try await withBroadcastLeases(kind) { store in
            _ = try await store.acquireLease(identity(), owner: "ci:old", ttl: 60, now: at(0))
            let results = try await withThrowingTaskGroup(of: LeaseResult.self) { group in
                for n in 0..<8 {
                    group.addTask { try await store.acquireLease(identity(), owner: "ci:\(n)", ttl: 60, now: at(70_000)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let taken = results.compactMap(\.acquired)
            #expect(taken.count == 1 && taken.first?.epoch == 2)
        }
    }

    @Test("the store has one id, the same for every process that opens it, another for another store")
    func storeIdentity() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let one = try SQLiteStateStore(path: scratch.file("one.sqlite"))
        let again = try SQLiteStateStore(path: scratch.file("one.sqlite"))
        let two = try SQLiteStateStore(path: scratch.file("two.sqlite"))
        let id = try await one.storeIdentity()
        #expect(id.count == 36)
        #expect(try await again.storeIdentity() == id)
        #expect(try await two.storeIdentity() != id)
        for store in [one, again, two] { try store.close() }
    }
}
