import ArgumentParser
import Foundation
import Hummingbird
import MasscastApp
import WeChatSandbox

struct Sandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sandbox",
        abstract: "Run the WeChat API sandbox: a local emulator of the mass-send API and its pushes.",
        discussion: HelpText.sandbox
    )

    @Option(help: "Port to listen on (0: any free port).")
    var port: Int = 8085

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Fixture YAML with accounts, followers, tags, windows and faults (default: the built-in fixture).")
    var fixture: String?

    func run() async throws {
        if let fixture, FileManager.default.contents(atPath: fixture) == nil {
            throw ValidationError("cannot read the fixture '\(fixture)'")
        }
        let loaded: SandboxFixture
        do {
            loaded = try Rehearsal.loadFixture(fixture).fixture
        } catch {
            writeStderr("\(error)\n")
            throw Exit.invalid
        }
        let engine = SandboxEngine(fixture: loaded, pushSender: HTTPPushSender())
        let host = self.host
        let app = SandboxServer.application(engine: engine, host: host, port: port) { bound in
            writeStderr("masscast sandbox: listening on http://\(host):\(bound) (Ctrl-C to stop)\n")
        }
        try await runServer(port: port, what: "masscast sandbox") { try await app.runService() }
    }
}

/// Runs a server; a port already in use is said plainly ("port 8085 is in use (another
/// masscast sandbox?); pass --port 0 for any free port", exit 1) instead of NIO's bind error.
func runServer(port: Int, what: String, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        guard isAddressInUse(error) else { throw error }
        writeStderr("masscast: port \(port) is in use (another \(what)?); pass --port 0 for any free port\n")
        throw ExitCode(1)
    }
}

