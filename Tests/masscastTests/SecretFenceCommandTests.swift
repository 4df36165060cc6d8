import Foundation
import Testing
import WeChatSandbox

/// No value that is, or is read from, a credential reaches a request body: `validate`
/// refuses `env.` of a secret variable in `with` (MC3009), and at run time a body that
/// holds a secret is refused before it is sent, whatever the source.
@Suite("Secrets never become message content")
struct SecretFenceCommandTests {
    static func pipeline(content: String, name: String = "secret-leak") -> String {
        """
        version: 1
        name: \(name)
        account: brand-main
        steps:
          - id: send
            uses: mass/sendall
            with:
              filter: { is_to_all: false, tag_id: 101 }
              msgtype: text
              text: \(content)
        """
    }

    @Test("validate and run refuse env. of the app secret's variable or of MASSCAST_SECRET_* in with (MC3009); nothing is sent")
    func environmentSecretRefused() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let appSecret = try ws.write(
                "pipelines/app-secret.yaml", Self.pipeline(content: "{ content: \"key: ${{ env.\(RunTestEnv.secretVariable) }}\" }"))
            let named = try ws.write(
                "pipelines/named.yaml", Self.pipeline(content: "{ content: \"${{ env.MASSCAST_SECRET_SIGNING }}\" }"))
            let validated = try await ws.masscast(["validate", appSecret, named, "--config", ws.configPath])
            #expect(validated.exited(2), "\(validated)")  // invalid input
            #expect(validated.out.contains("env.\(RunTestEnv.secretVariable) holds a secret"), "\(validated)")
            #expect(validated.out.contains("env.MASSCAST_SECRET_SIGNING holds a secret"), "\(validated)")
            #expect(validated.out.components(separatedBy: "[MC3009]").count == 3, "\(validated)")

            let run = try await ws.run(appSecret)
            #expect(run.exited(2), "\(run)")
            #expect(run.err.contains("MC3009"), "\(run)")
            #expect(!run.out.contains(RunTestEnv.secret) && !run.err.contains(RunTestEnv.secret))
            #expect(try await ws.sends().isEmpty)
        }
    }

    @Test("a content_file that holds a secret (the environment, a key file) is refused before the call, naming the secret, not its value")
    func fileWithSecretRefused() async throws {
        try await withSandbox { sandbox in
            let ws = try RunWorkspace(sandbox)
            defer { ws.cleanUp() }
            let signing = "sk-live-4f7d2c9e81b3a6d0"
            try ws.write("pipelines/leak.txt", "export APP=\(RunTestEnv.secret)\nexport OTHER=1\n")
            try ws.write("pipelines/signing.txt", "signing key \(signing)")
            let leak = try ws.write("pipelines/leak.yaml", Self.pipeline(content: "{ content_file: leak.txt }"))
            let keyFile = try ws.write("pipelines/key.yaml", Self.pipeline(content: "{ content_file: signing.txt }", name: "key-leak"))

            let first = try await ws.run(leak)
            #expect(first.exited(1), "\(first)")
            // The app secret's value (read from env.\(RunTestEnv.secretVariable)) is named by what it is.
            #expect(first.err.contains("holds the value of account brand-main's app_secret, a secret; nothing was sent"), "\(first)")
            let second = try await ws.run(keyFile, env: ["MASSCAST_SECRET_SIGNING": signing])
            #expect(second.exited(1), "\(second)")
            #expect(second.err.contains("holds the value of env.MASSCAST_SECRET_SIGNING, a secret"), "\(second)")
            for result in [first, second] {
                for secret in [RunTestEnv.secret, signing] {
                    #expect(!result.out.contains(secret) && !result.err.contains(secret), "a secret was printed")
                }
            }
            #expect(try await ws.sends().isEmpty)
            let calls = await sandbox.engine.sends()
            #expect(calls.isEmpty)
            await ws.expectNoSecrets()
        }
    }
}
