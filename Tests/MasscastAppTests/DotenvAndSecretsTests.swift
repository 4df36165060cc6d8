import Foundation
import MasscastApp
import PipelineCore
import Testing

@Suite("Dotenv and secrets")
struct DotenvAndSecretsTests {
    @Test func parsesNamesValuesQuotesExportAndComments() throws {
        let text = """
            # a comment
            A=1
              B = two words  
            export C=3
            D="quoted # not a comment"
            E='single'
            F=
            G="unbalanced'

            A=later
            """
        let values = try Dotenv.parse(text, file: "s.env")
        #expect(values == [
            "A": "later", "B": "two words", "C": "3", "D": "quoted # not a comment", "E": "single", "F": "",
            "G": "\"unbalanced'",
        ])
    }

    @Test func aLineWithoutEqualsNamesItsNumberNotItsText() {
        do {
            _ = try Dotenv.parse("A=1\nsupersecretvalue\n", file: "s.env")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .secrets)
            #expect(error.message == "s.env:2: expected NAME=value")
            #expect(!error.message.contains("supersecretvalue"))
        }
    }

    @Test func environmentThenFileWhichWins() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mc-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "X=from-file\n".write(to: dir.appendingPathComponent("s.env"), atomically: true, encoding: .utf8)
        let environment = AppEnvironment(
            variables: ["MASSCAST_SECRET_X": "from-env", "MASSCAST_SECRET_Y": "y", "OTHER": "o"],
            workingDirectory: dir.path)
        let secrets = try Secrets.load(file: "s.env", environment: environment)
        #expect(secrets.values == ["X": "from-file", "Y": "y"])
        let none = try Secrets.load(file: nil, environment: environment)
        #expect(none.values == ["X": "from-env", "Y": "y"])
    }

    @Test func anUnreadableFileIsAnError() {
        let environment = AppEnvironment(workingDirectory: "/nonexistent-\(UUID().uuidString)")
        #expect(throws: SetupError.self) { try Secrets.load(file: "missing.env", environment: environment) }
        do {
            _ = try Secrets.load(file: "missing.env", environment: environment)
        } catch {
            #expect(error.message == "cannot read the secrets file missing.env")
        }
    }

    @Test func resolvesSecretsAndEnvironmentVariables() throws {
        let environment = AppEnvironment(variables: ["APP_SECRET": "env-value"], workingDirectory: "/")
        let secrets = Secrets(["MAIN": "secret-value"])
        #expect(try secrets.resolve("${{ secrets.MAIN }}", what: "w", environment: environment) == "secret-value")
        #expect(try secrets.resolve("${{ env.APP_SECRET }}", what: "w", environment: environment) == "env-value")
    }

    @Test(arguments: [
        ("${{ env.MISSING_VAR }}", "account a app_secret: the environment variable MISSING_VAR is not set"),
        ("${{ secrets.NOPE }}",
         "account a app_secret: the secret NOPE (environment variable MASSCAST_SECRET_NOPE or --secrets FILE) is not set"),
        ("${{ secrets.EMPTY }}",
         "account a app_secret: the secret EMPTY (environment variable MASSCAST_SECRET_EMPTY or --secrets FILE) is not set"),
    ])
    func anUnsetSecretNamesItsSource(expression: String, message: String) {
        let secrets = Secrets(["EMPTY": "", "OTHER": "other-secret"])
        do {
            _ = try secrets.resolve(expression, what: "account a app_secret", environment: AppEnvironment(workingDirectory: "/"))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .secrets)
            #expect(error.message == message)
            #expect(!error.message.contains("other-secret"))
        }
    }

    @Test func appIDLiteralOrExpressionOverInputsEnvAndSecrets() throws {
        let environment = AppEnvironment(variables: ["APP": "wx0000000000000001"], workingDirectory: "/")
        let secrets = Secrets(["APP": "wx0000000000000002"])
        #expect(try secrets.resolveAppID("wx0000000000000009", inputs: [:], environment: environment) == "wx0000000000000009")
        #expect(try secrets.resolveAppID("${{ env.APP }}", inputs: [:], environment: environment) == "wx0000000000000001")
        #expect(try secrets.resolveAppID("${{ secrets.APP }}", inputs: [:], environment: environment) == "wx0000000000000002")
        #expect(
            try secrets.resolveAppID("${{ inputs.app }}", inputs: ["app": .string("wx0000000000000003")], environment: environment)
                == "wx0000000000000003")
    }

    @Test(arguments: [
        ("${{ env.NOT_SET }}", "account app_id: the environment variable NOT_SET is not set"),
        ("${{ secrets.NOT_SET }}",
         "account app_id: the secret NOT_SET (environment variable MASSCAST_SECRET_NOT_SET or --secrets FILE) is not set"),
        ("${{ inputs.app }}", "account app_id: the input app has no value"),
        ("${{ inputs.blank }}", "account app_id: ${{ inputs.blank }} does not give an AppID (a non-empty string)"),
    ])
    func anAppIDThatDoesNotResolveSaysWhy(text: String, message: String) {
        do {
            _ = try Secrets().resolveAppID(text, inputs: ["blank": .string(" ")], environment: AppEnvironment(workingDirectory: "/"))
            Issue.record("expected an error")
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func secretsNeverShowTheirValues() {
        let secrets = Secrets(["MAIN": "hunter2-value"])
        var dumped = ""
        dump(secrets, to: &dumped)
        for text in [secrets.description, secrets.debugDescription, "\(secrets)", String(reflecting: secrets), dumped] {
            #expect(!text.contains("hunter2-value"), "\(text)")
            #expect(text.contains("MAIN"))
        }
    }
}
