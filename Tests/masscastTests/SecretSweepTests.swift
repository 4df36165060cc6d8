import Foundation
import MasscastTesting
import Testing
import WeChatSandbox

/// The secret sweep: every command a team runs on a broadcast, with distinctive secret values
/// in the environment; no secret appears in any output, log, report, plan file, approval or
/// in the state store (the access token only in its token cache).
@Suite("Secret sweep over every command")
struct SecretSweepTests {
    @Test("validate, plan (all formats, saved), show, approve, run, runs list/show, apply, leases, state migrate: no secret anywhere but the token cache")
    func sweep() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let extra = "sweep-extra-secret-7f3a91c2e4"
            let env: [String: String?] = ["MASSCAST_SECRET_EXTRA": extra]
            let pipeline = try ws.write("pipelines/sweep.yaml", """
                version: 1
                name: sweep
                account: brand-main
                steps:
                  - id: send
                    uses: mass/sendall
                    with:
                      filter: { is_to_all: false, tag_id: 101 }
                      msgtype: text
                      text: { content: "周末营业时间调整" }
                  - id: status
                    uses: mass/get
                    with:
                      msg_id: ${{ steps.send.outputs.msg_id }}
                """)
            let folder = ws.dir.appendingPathComponent("pipelines").path
            let planFile = ws.dir.appendingPathComponent("sweep.plan.json").path
            let report = ws.dir.appendingPathComponent("report.json").path
            let common = ["--state", ws.statePath, "--config", ws.configPath]
            var results: [BinaryResult] = []
            results.append(try await ws.masscast(["validate", folder, "--config", ws.configPath], env: env))
            for format in ["text", "json", "markdown"] {
                results.append(try await ws.masscast(["plan", pipeline, "--format", format] + common, env: env))
            }
            results.append(try await ws.masscast(["plan", pipeline, "--out", planFile] + common, env: env))
            results.append(try await ws.masscast(["show", planFile, "--format", "json"], env: env))
            results.append(try await ws.masscast(["approve", "sweep", "--by", "ops@example.com", "--config", ws.configPath], env: env))
            let run = try await ws.run(pipeline, ["--report", report, "--verbose"], env: env)
            #expect(run.exited(0), "\(run)")
            results.append(run)
            results.append(try await ws.masscast(["runs", "list", "--state", ws.statePath, "--format", "json"], env: env))
            if let runID = run.runID {
                results.append(try await ws.masscast(["runs", "show", runID, "--state", ws.statePath, "--format", "json"], env: env))
            }
            results.append(try await ws.masscast(["apply", folder, "--format", "json"] + common, env: env))
            results.append(try await ws.masscast(["plan", folder] + common, env: env))
            results.append(try await ws.masscast(["leases", "--state", ws.statePath], env: env))
            results.append(try await ws.masscast(["leases", "--state", ws.statePath, "--format", "json"], env: env))
            // With a PostgreSQL server (CI): the store carried over by `state migrate` and read
            // back, with a distinctive PGPASSWORD in the environment (the test cluster trusts
            // loopback, so the password is offered and must still never be shown).
            let pgPassword = "sweep-pg-password-5d81e0a7"
            if TestPostgres.skipReason == nil {
                try await TestPostgres.withDatabase { location in
                    let url = location.description
                    var pgEnv = env
                    pgEnv["PGPASSWORD"] = pgPassword
                    results.append(try await ws.masscast(["state", "migrate", "--from", ws.statePath, "--to", url], env: pgEnv))
                    results.append(try await ws.masscast(["runs", "list", "--state", url, "--format", "json"], env: pgEnv))
                    results.append(try await ws.masscast(["leases", "--state", url], env: pgEnv))
                }
            }

            let token = await sandbox.engine.accessToken(appID: RunTestEnv.appID)
            let secrets = [RunTestEnv.secret, extra, pgPassword]
            // Every command did its work (a sweep of error messages alone would prove little).
            for r in results { #expect(r.exited(0), "\(r)") }
            // Every command's output.
            for r in results {
                for secret in secrets + [token].compactMap({ $0 }) {
                    #expect(!r.out.contains(secret) && !r.err.contains(secret), "a secret in \(r.arguments.prefix(2))")
                }
            }
            // Every file the commands left: plan files, approvals, reports, spools, the store.
            let files = FileManager.default.enumerator(atPath: ws.dir.path)?.compactMap { $0 as? String } ?? []
            var storeFiles = 0
            for file in files {
                let path = ws.dir.appendingPathComponent(file).path
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    let data = FileManager.default.contents(atPath: path)
                else { continue }
                let isStore = file.hasPrefix("state/state.sqlite")
                if isStore { storeFiles += 1 }
                for secret in secrets where data.range(of: Data(secret.utf8)) != nil {
                    Issue.record("the secret \(secret.prefix(6))… is in \(file)")
                }
                // The access token may be only in the store (its token cache).
                if let token, !isStore, data.range(of: Data(token.utf8)) != nil {
                    Issue.record("the access token is in \(file)")
                }
            }
            #expect(storeFiles >= 1)
            #expect(FileManager.default.fileExists(atPath: planFile))
            await ws.expectNoSecrets([extra])
        }
    }
}
