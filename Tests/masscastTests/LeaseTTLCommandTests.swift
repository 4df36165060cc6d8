import Foundation
import MasscastTesting
import RunState
import Testing
import WeChatSandbox

/// `state.lease_ttl` of masscast.yaml and `--lease-ttl` of apply/run/resume, through the binary.
@Suite("lease ttl: masscast.yaml and --lease-ttl")
struct LeaseTTLCommandTests {
    /// Appends `text` to the workspace's masscast.yaml.
    static func appendConfig(_ ws: RunWorkspace, _ text: String) throws {
        let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        try (config + text).write(toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    @Test("a ttl outside 2s…1h is refused: in masscast.yaml at the key's line and column, on the command line naming the flag")
    func bounds() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try ApplyCommandTests.add(ws, "news")
            let pipeline = ws.dir.appendingPathComponent("pipelines/news.yaml").path
            let lines = try String(contentsOfFile: ws.configPath, encoding: .utf8).split(separator: "\n").count
            try Self.appendConfig(ws, "state:\n  lease_ttl: 1s\n")
            let short = try await ws.run(pipeline)
            #expect(short.exited(2), "\(short)")
            #expect(short.err.contains("masscast.yaml:\(lines + 2):14"), "\(short)")
            #expect(short.err.contains("state.lease_ttl is 1s; a lease must last at least 2s") && short.err.contains("MC2008"), "\(short)")

            try Self.appendConfig(ws, "")
            let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
            try config.replacingOccurrences(of: "lease_ttl: 1s", with: "lease_ttl: 2h")
                .write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            let (long, _) = try await ApplyCommandTests.apply(ws)
            #expect(long.exited(2), "\(long)")
            #expect(long.err.contains("state.lease_ttl is 2h; a lease may last at most 1h"), "\(long)")

            try config.replacingOccurrences(of: "lease_ttl: 1s", with: "lease_ttl: 30s")
                .write(toFile: ws.configPath, atomically: true, encoding: .utf8)
            let flag = try await ws.masscast(["apply", "pipelines", "--lease-ttl", "500ms"] + ws.common)
            #expect(flag.exited(2), "\(flag)")
            #expect(flag.err.contains("--lease-ttl is 500ms; a lease must last at least 2s") && flag.err.contains("MC2008"), "\(flag)")
            let word = try await ws.run(pipeline, ["--lease-ttl", "soon"])
            #expect(word.exited(2) && word.err.contains("--lease-ttl 'soon' is not a duration"), "\(word)")
            let resume = try await ws.resume("run-none", ["--lease-ttl", "2d"])
            #expect(resume.exited(2) && resume.err.contains("a lease may last at most 1h"), "\(resume)")
            #expect(try await ws.sends().isEmpty)
        }
    }

    /// Applies `news` until it is killed just before its send call, and returns the lease it left behind.
    static func leaseLeftByCrash(_ ws: RunWorkspace, _ extra: [String]) async throws -> BroadcastLease {
        let crashed = try await ws.masscast(
            ["apply", "pipelines"] + ws.common + extra, env: ["MASSCAST_CRASH_AT": "send.before_call"])
        #expect(crashed.signalled, "\(crashed)")
        let store = try ws.store()
        let identity = try #require(try await store.runs(limit: 1).first?.identity)
        return try #require(try await store.lease(identity), "the killed applier's lease")
    }

    @Test("the lease apply takes lasts the ttl given (flag over masscast.yaml) and is taken over once it lapses; apply waits for a live one elsewhere")
    func honoured() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            try ApplyCommandTests.add(ws, "news")
            try Self.appendConfig(ws, "state: { lease_ttl: 7s }\n")
            // Taken for the ttl, renewed for it: it expires at most a ttl after the applier died.
            let fromConfig = try await Self.leaseLeftByCrash(ws, [])
            #expect(fromConfig.expiresAt.timeIntervalSince(fromConfig.acquiredAt) >= 6.99, "\(fromConfig)")
            #expect(fromConfig.expiresAt.timeIntervalSinceNow <= 7.01, "\(fromConfig)")
            let fromFlag = try await Self.leaseLeftByCrash(ws, ["--lease-ttl", "3s"])
            #expect(fromFlag.expiresAt.timeIntervalSince(fromFlag.acquiredAt) >= 2.99, "\(fromFlag)")
            #expect(fromFlag.expiresAt.timeIntervalSinceNow <= 3.01, "\(fromFlag)")
            #expect(fromFlag.epoch == fromConfig.epoch + 1)

            // The killed applier's 3s lease is held until it lapses, then another owner takes it.
            let store = try ws.store()
            let early = try await store.acquireLease(
                fromFlag.identity, owner: "ci-other:4242", ttl: 2, now: fromFlag.expiresAt.addingTimeInterval(-0.01))
            #expect(early.acquired == nil, "\(early)")
            let theirs = try #require(
                try await store.acquireLease(
                    fromFlag.identity, owner: "ci-other:4242", ttl: 2, now: fromFlag.expiresAt.addingTimeInterval(0.001)
                ).acquired)
            #expect(theirs.epoch == fromFlag.epoch + 1)
            // Another machine's applier holds it (for 10 minutes): apply is refused until it lapses.
            _ = try await store.acquireLease(fromFlag.identity, owner: "ci-other:4242", ttl: 600, now: Date())
            let busy = try await ws.masscast(["apply", "pipelines"] + ws.common)
            #expect(busy.exited(6), "\(busy)")
            #expect(try await ws.sends().isEmpty)
            _ = try await store.acquireLease(fromFlag.identity, owner: "ci-other:4242", ttl: 2, now: Date(timeIntervalSinceNow: -3_600))
            let taken = try await ws.masscast(["apply", "pipelines", "--lease-ttl", "30s"] + ws.common)
            #expect(taken.exited(0), "\(taken)")
            #expect(taken.err.contains("over from ci-other:4242"), "\(taken)")
            #expect(try await ws.sends().count == 1)
        }
    }
}
