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
