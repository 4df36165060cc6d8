import ArgumentParser
import CallbackServer
import Foundation
import Logging
import MasscastApp
import PipelineCore
import RunLog

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listen",
        abstract: "Receive WeChat pushes (MASSSENDJOBFINISH) into the state store, where mass/wait reads them.",
        discussion: HelpText.listen
    )

    @Option(help: "Port to listen on (0: any free port).")
    var port: Int = 8081

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("The project config.", discussion: "Default: masscast.yaml found from the current folder upward.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The state store: a SQLite file, or a postgres:// URL without a password.", discussion: "Default: MASSCAST_STATE_URL, else state: of masscast.yaml, else .masscast/state.sqlite.", valueName: "path|url"))
    var state: String?

    @Option(help: ArgumentHelp("A dotenv file of secrets (NAME=value lines) for ${{ secrets.NAME }}.", valueName: "file"))
    var secrets: String?

    @Option(help: ArgumentHelp("How far a push's timestamp may be from this clock, either way.", valueName: "duration"))
    var timestampWindow: String = "5m"

    @Option(help: "The largest request body accepted, in bytes (larger: 413).")
    var maxBodyBytes: Int = 64 * 1024

    @Option(help: "The callback path.")
    var path: String = "/wechat/callback"

    @Option(name: .customLong("account-original-id"),
            help: ArgumentHelp("Serve one account without a config: its original id (gh_…).", valueName: "gh_id"))
    var accountOriginalID: String?

    @Option(name: .customLong("app-id"), help: ArgumentHelp("With --account-original-id: the account's AppID (needed for encrypted pushes).", valueName: "wx_id"))
    var appID: String?

    @Option(help: ArgumentHelp("With --account-original-id: the account's name in its path and in logs.", valueName: "name"))
    var accountName: String = "default"

    @Option(help: "Log format: text or json (JSON lines). Default: text on a terminal, json otherwise.")
    var logFormat: LogFormat?

    @Flag(help: "Log at debug level; text lines also show their metadata (event=, ids).")
    var verbose = false

    var request: ListenRequest {
        get throws(ListenRequest.UsageError) {
            try ListenRequest(
                flags: port, timestampWindow: timestampWindow, maxBodyBytes: maxBodyBytes, path: path, config: config,
                state: state, secrets: secrets, accountOriginalID: accountOriginalID, appID: appID,
                accountName: accountName)
        }
    }

    func validate() throws {
        do { _ = try request } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        let setup: ListenerSetup
        let logger: Logger
        let handler: CallbackHandler
        do {
            setup = try ListenerSetup.prepare(try request, environment: .process)
            logger = Console.current.runLogging(format: logFormat, verbose: verbose, scrub: setup.scrubbed).0
            handler = try setup.handler(loggingNotesTo: logger)
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
        // A line per push: lines are written in batches, at most 50 ms after they are
        // logged (not on a terminal), and all of them when the listener stops or exits.
        LogSink.standardError.startBatching()
        defer { LogSink.standardError.stopBatching() }
        if let warning = await StoreChecks.poolerWarning(setup.store) {
            logger.warning("\(warning)", metadata: ["event": "state.pooler"])
        }
        let host = self.host
        let server = ListenerServer(handler: handler, host: host, port: port, logger: logger) { bound in
            setup.logStarted(host: host, port: bound, logger: logger)
        }
        try await runServer(port: port, what: "masscast listen") { try await server.runService() }
        setup.logStopped(logger: logger)
    }
}
