import Foundation
import MasscastTesting
import Testing
import WeChatSandbox

/// Many real `masscast` processes on one PostgreSQL database (issue 13, item 7): the built
/// binary, the test server of `MASSCAST_TEST_POSTGRES_URL` (a new database per test; skipped
/// without it, failed under `MASSCAST_REQUIRE_TOOLS=1`) and a sandbox HTTP server on a free
/// loopback port. The sandbox's records (accepted sends, calls) are the witness. Every
/// process is bounded and killed at the end of its test.
///
/// The tests that start many processes at once run one after another (this suite); the two
/// takeover tests, which spend most of their time waiting for a lease to lapse, are suites of
/// their own (below) so that their waits overlap with the rest of the run.
@Suite("many masscast processes on one PostgreSQL database", .serialized)
struct MultiProcessTests {
    /// The bound on one process here: these tests start many processes at once on a
    /// machine that may be busy.
    static let processTimeout: Duration = .seconds(240)

    static func withDatabase(_ body: (String) async throws -> Void) async throws {
        if let reason = TestPostgres.skipReason {
            if TestPostgres.required { Issue.record("a PostgreSQL server is required (MASSCAST_REQUIRE_TOOLS=1): \(reason)") }
            return
        }
        try await TestPostgres.withDatabase { location in try await body(location.description) }
    }

    @Test("four apply processes on one folder of broadcasts at once: each broadcast sent exactly once")
    func fourAppliers() async throws {
        try await Self.withDatabase { url in
            try await withSandbox { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                let names = ["autumn", "winter", "spring", "summer", "harvest"]
                for name in names { try ApplyCommandTests.add(ws, name, text: "Hello \(name)") }
                let arguments = ["apply", "pipelines", "--format", "json", "--state", url, "--config", ws.configPath, "--log-format", "json"]
                let processes = try (0..<4).map { _ in try ws.start(arguments) }
                var results: [BinaryResult] = []
                for process in processes { results.append(await ws.finish(process, timeout: Self.processTimeout)) }
                for r in results { #expect(r.exited(0) || r.exited(6), "\(r)") }

                let sends = try await ws.sends()
                #expect(sends.count == names.count, "\(sends)")
                let keys = sends.compactMap(\.clientMsgID)
                #expect(Set(keys).count == names.count && keys.count == names.count, "\(keys)")
                // Every broadcast was sent by one of them, and is done for all.
                let (again, summary) = try await ApplyCommandTests.apply(ws, state: url)
                #expect(again.exited(0), "\(again)")
                #expect(names.allSatisfy { summary.action($0) == "noop" }, "\(summary.rows)")
                #expect(try await ws.sends().count == names.count)
                await ws.expectNoSecrets()
            }
        }
    }

    @Test("20 processes needing an access token at once make one token fetch (the sandbox's call log)")
    func twentyProcessesOneToken() async throws {
        try await Self.withDatabase { url in
            try await withSandbox { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                // 20 broadcasts (one process each), each reading the account's send speed.
                var paths: [String] = []
                for i in 1...20 {
                    paths.append(try ws.write("pipelines/speed-\(i).yaml", """
                        version: 1
                        name: speed-\(i)
                        account: brand-main
                        steps:
                          - id: speed
                            uses: mass/speed

                        """))
                }
                let before = await sandbox.engine.calls().filter { $0.endpoint.hasSuffix("token") }.count
                #expect(before == 0)
                let processes = try paths.map { path in
                    try ws.start(["run", path, "--state", url, "--config", ws.configPath, "--log-format", "json"])
                }
                var results: [BinaryResult] = []
                for process in processes { results.append(await ws.finish(process, timeout: Self.processTimeout)) }
                for r in results { #expect(r.exited(0), "\(r)") }
                let calls = await sandbox.engine.calls()
                let fetches = calls.filter { $0.endpoint.hasSuffix("token") }
                #expect(fetches.count == 1, "\(fetches.count) token fetches: \(fetches.map(\.endpoint))")
                #expect(calls.filter { $0.endpoint.hasPrefix("message/mass/speed") }.count == 20)
                await ws.expectNoSecrets()
            }
        }
    }

    @Test("a listener process storing a push wakes a mass/wait in another process within 1 s (their log timestamps)")
    func listenerWakesWait() async throws {
        try await Self.withDatabase { url in
            // Jobs review for 20 s of sandbox time (2 s of wall time): the run is waiting
            // before the push comes.
            try await withSandbox([("review: 1s", "review: 20s")]) { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                try Self.addCallbackSecrets(ws)
                let env = Self.callbackEnvironment
                let listener = try ws.start(
                    ["listen", "--port", "0", "--state", url, "--config", ws.configPath, "--log-format", "json"], env: env)
                let started = await listener.waitUntil(timeout: .seconds(60)) { listener.stderrSoFar.contains("\"listen.started\"") }
                #expect(started, "the listener did not start\n\(listener.stderrSoFar)")
                let port = try #require(
                    Self.events(listener.stderrSoFar).first { $0["event"] as? String == "listen.started" }?["listen.port"].map { "\($0)" },
                    "\(listener.stderrSoFar)")
                #expect(!listener.stderrSoFar.contains("state.pooler"), "\(listener.stderrSoFar)")
                #expect(await sandbox.engine.setCallback(
                    account: "brand-main", url: "http://127.0.0.1:\(port)/wechat/callback/brand-main", mode: .safe))

                let pipeline = try ws.write("pipelines/wake.yaml", """
                    version: 1
                    name: wake
                    account: brand-main
                    steps:
                      - id: send
                        uses: mass/sendall
                        with:
                          filter: { is_to_all: false, tag_id: 101 }
                          msgtype: text
                          text: { content: "woken by another process" }
                      - id: finish
                        uses: mass/wait
                        with:
                          msg_id: ${{ steps.send.outputs.msg_id }}
                          source: callback
                          timeout: 2m

                    """)
                let run = try await ws.masscast(
                    ["run", pipeline, "--state", url, "--config", ws.configPath, "--log-format", "json"], env: env)
                #expect(run.exited(0), "\(run)")
                listener.signal(SIGTERM)
                let heard = await ws.finish(listener, timeout: .seconds(30))
                #expect(heard.exited(0), "\(heard)")

                let msgID = try #require(try await ws.sends().first?.msgID)
                let stored = try #require(
                    heard.events.first { $0["event"] as? String == "push.stored" && $0["push.msg_id"].map { "\($0)" } == "\(msgID)" },
                    "the listener stored no push for \(msgID)\n\(heard)")
                func stepEvent(_ name: String) -> [String: any Sendable]? {
                    run.events.first { $0["event"] as? String == name && $0["step.id"] as? String == "finish" }
                }
                let waitStarted = try #require(stepEvent("step.started").flatMap(Self.time))
                let waitEnded = try #require(stepEvent("step.finished").flatMap(Self.time))
                let pushStored = try #require(Self.time(stored))
                #expect(waitStarted < pushStored, "the wait began after the push was stored: it measured nothing")
                let latency = waitEnded.timeIntervalSince(pushStored)
                #expect(latency < 1, "the wait ended \(latency) s after the listener stored the push (its re-read interval is 5 s)")
                await ws.expectNoSecrets([Self.callbackToken, Self.callbackAESKey])
            }
        }
    }

    // MARK: - Helpers

    /// Every `message/mass/send` answered 1.5 s late: an applier spends most of its time
    /// between a batch's call and the next.
    static let slowSends = [("faults: []", "faults: [{ on: message/mass/send, latency: 1500ms }]")]
    /// The batches of `addBatches`' broadcast (10,000 OpenIDs at most per batch).
    static let batches = 4
    static let recipients = 30_004

    /// `pipelines/batches.yaml`: one mass/send to `recipients` distinct well-formed OpenIDs.
    static func addBatches(_ ws: RunWorkspace) throws {
        let ids = (0..<recipients).map { "o4WmZ0" + String(format: "%022d", $0) }
        try ws.write("pipelines/people.txt", ids.joined(separator: "\n") + "\n")
        try ws.write("pipelines/batches.yaml", """
            version: 1
            name: batches
            account: brand-main
            steps:
              - id: send
                uses: mass/send
                with:
                  touser_file: people.txt
                  msgtype: text
                  text: { content: "one send per batch, whoever sends it" }

            """)
    }

    /// The set-up of the takeover tests: a database, a sandbox answering sends 1.5 s late,
    /// the `addBatches` broadcast, and an applier (5 s leases) started and waited for until
    /// its first batch was accepted; `body` gets the workspace, the sandbox, the apply
    /// arguments and that applier.
    static func withApplierMidSend(
        _ body: @escaping (RunWorkspace, RunningSandbox, [String], BinaryProcess) async throws -> Void
    ) async throws {
        try await withDatabase { url in
            try await withSandbox(slowSends) { sandbox in
                let ws = try RunWorkspace(sandbox)
                defer { ws.cleanUp() }
                try addBatches(ws)
                let arguments = applyArguments(ws, url)
                let applier = try ws.start(arguments)
                let midSend = await applier.waitUntil(timeout: .seconds(120)) { ((try? await ws.sends().count) ?? 0) >= 1 }
                #expect(midSend, "the applier sent nothing\n\(applier.stderrSoFar)")
                try await body(ws, sandbox, arguments, applier)
            }
        }
    }

    /// `masscast apply pipelines` on the database with 5 s leases.
    static func applyArguments(_ ws: RunWorkspace, _ url: String) -> [String] {
        ["apply", "pipelines", "--format", "json", "--state", url, "--config", ws.configPath, "--log-format", "json", "--lease-ttl", "5s"]
    }

    /// The sandbox accepted each batch exactly once: `batches` sends, distinct clientmsgids,
    /// every recipient once.
    static func expectOneSendPerBatch(_ ws: RunWorkspace) async throws {
        let sends = try await ws.sends()
        let keys = sends.compactMap(\.clientMsgID)
        #expect(sends.count == batches && Set(keys).count == batches && keys.count == batches, "\(sends)")
        #expect(sends.map(\.audience).reduce(0, +) == recipients, "\(sends.map(\.audience))")
    }

    /// brand-main's callback secrets in the default fixture.
    static let callbackToken = "sandbox-callback-token"
    static let callbackAESKey = "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4"
    static let callbackEnvironment: [String: String?] = [
        "MC_TEST_CALLBACK_TOKEN": callbackToken, "MC_TEST_CALLBACK_AES_KEY": callbackAESKey,
    ]

    /// Gives brand-main its callback secrets (from the environment) in the workspace's masscast.yaml.
    static func addCallbackSecrets(_ ws: RunWorkspace) throws {
        let config = try String(contentsOfFile: ws.configPath, encoding: .utf8)
        let anchor = "    kind: service\n"
        #expect(config.contains(anchor))
        let added = anchor
            + "    callback:\n      token: ${{ env.MC_TEST_CALLBACK_TOKEN }}\n      aes_key: ${{ env.MC_TEST_CALLBACK_AES_KEY }}\n"
        try config.replacingOccurrences(of: anchor, with: added).write(toFile: ws.configPath, atomically: true, encoding: .utf8)
    }

    /// The JSON log lines of `text`.
    static func events(_ text: String) -> [[String: any Sendable]] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: any Sendable]
        }
    }

    /// A JSON log line's time (`ts`, ISO 8601 with milliseconds).
    static func time(_ event: [String: any Sendable]) -> Date? {
        guard let text = event["ts"] as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

/// An applier killed -9 mid-send, taken over (a suite of its own: see `MultiProcessTests`).
@Suite("many masscast processes: a killed applier taken over")
struct MultiProcessKillTests {
    @Test("an applier killed -9 between batches: another takes over once its 5 s lease lapsed (run.taken_over), one accepted send per batch")
    func killedApplierTakenOver() async throws {
        try await MultiProcessTests.withApplierMidSend { ws, _, arguments, victim in
            victim.signal(SIGKILL)
            let killed = await ws.finish(victim)
            #expect(killed.signalled, "\(killed)")
            #expect(try await ws.sends().count < MultiProcessTests.batches, "the applier finished before it was killed")

            // Its lease lapses 5 s after its last renewal at the latest.
            try await Task.sleep(for: .seconds(6))
            let taker = await ws.finish(try ws.start(arguments), timeout: MultiProcessTests.processTimeout)
            #expect(taker.exited(0), "\(taker)")
            let takeover = taker.events.first { $0["event"] as? String == "run.taken_over" }
            #expect(takeover != nil, "no run.taken_over\n\(taker)")
            #expect((takeover?["lease.previous_owner"] as? String)?.hasSuffix(":\(victim.pid ?? -1)") == true, "\(takeover ?? [:])")
            try await MultiProcessTests.expectOneSendPerBatch(ws)
        }
    }
}

/// An applier paused past its lease, fenced off (a suite of its own: see `MultiProcessTests`).
@Suite("many masscast processes: a paused applier fenced off")
struct MultiProcessPauseTests {
    @Test("an applier paused (SIGSTOP) past its lease while another takes over: continued, its next write is refused (lease lost), it exits non-zero without calling WeChat")
    func pausedApplierFencedOff() async throws {
        try await MultiProcessTests.withApplierMidSend { ws, sandbox, arguments, paused in
            paused.signal(SIGSTOP)
            #expect(try await ws.sends().count < MultiProcessTests.batches, "the applier finished before it was paused")

            try await Task.sleep(for: .seconds(6))
            let taker = await ws.finish(try ws.start(arguments), timeout: MultiProcessTests.processTimeout)
            #expect(taker.exited(0), "\(taker)")
            let takeover = taker.events.first { $0["event"] as? String == "run.taken_over" }
            #expect((takeover?["lease.previous_owner"] as? String)?.hasSuffix(":\(paused.pid ?? -1)") == true, "\(taker)")
            try await MultiProcessTests.expectOneSendPerBatch(ws)
            let sendCalls = await sandbox.engine.calls().filter { $0.endpoint == "message/mass/send" }.count

            paused.signal(SIGCONT)
            let resumed = await ws.finish(paused, timeout: MultiProcessTests.processTimeout)
            #expect(!resumed.signalled && !resumed.timedOut && resumed.status != 0, "\(resumed)")
            #expect(resumed.err.contains("lease lost"), "\(resumed)")
            let after = await sandbox.engine.calls().filter { $0.endpoint == "message/mass/send" }.count
            #expect(after == sendCalls, "the paused applier called message/mass/send \(after - sendCalls) more times after it was continued")
            try await MultiProcessTests.expectOneSendPerBatch(ws)
        }
    }
}
