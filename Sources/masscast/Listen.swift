import ArgumentParser
import CallbackServer
import Foundation
import Hummingbird
import Logging
import MasscastApp
import PipelineCore
import RunLog

struct Listen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive WeChat pushes (MASSSENDJOBFINISH) into the state store, where mass/wait reads them.",
        discussion: """
            Serves GET/POST <path> and <path>/<account> (URL verification and pushes in plain, \
            compatible and safe mode), GET /healthz and GET /metrics (Prometheus). Every push is \
            checked (signature or msg_signature, timestamp window, no repeated timestamp and nonce, \
            AppID), MASSSENDJOBFINISH is stored before the answer `success`, and a repeat is stored \
            once. See docs/listen.md.

            Accounts come from masscast.yaml (--config, or found from the current folder upward): \
            every account with an original_id and callback settings (its own `callback:`, else the \
            project-wide one). Or, for one account without a config: --account-original-id and \
            --app-id, with the token and keys in the environment variables MASSCAST_CALLBACK_TOKEN, \
            MASSCAST_CALLBACK_AES_KEY and MASSCAST_CALLBACK_PREVIOUS_AES_KEY.

            Examples:
              masscast listen                                   # accounts of masscast.yaml, 127.0.0.1:8081
              masscast listen --host 0.0.0.0 --port 8081 --log-format json
              MASSCAST_CALLBACK_TOKEN=… masscast listen --account-original-id gh_5d1c0e8f7a93 --app-id wx8a3f2c71d905be46

            Put it behind a TLS reverse proxy and set the account's server URL (服务器配置) to \
            https://your.host/wechat/callback/<account>. Stop with Ctrl-C or SIGTERM (graceful).
            """
    )

    @Option(help: "Port to listen on (0: any free port).")
    var port: Int = 8081

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("The project config.", discussion: "Default: masscast.yaml found from the current folder upward.", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The state file (SQLite).", discussion: "Default: state.path of masscast.yaml, else .masscast/state.sqlite.", valueName: "path"))
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

    func validate() throws {
        guard DurationText.parse(timestampWindow).map({ $0 > .zero }) == true else {
            throw ValidationError("--timestamp-window must be a duration such as 5m, 300s or 1m30s")
        }
        if maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if port < 0 || port > 65535 { throw ValidationError("--port must be 0…65535") }
        if appID != nil && accountOriginalID == nil {
            throw ValidationError("--app-id goes with --account-original-id")
        }
    }

    func run() async throws {
        let setup: ListenerSetup
        let logger: Logger
        let handler: CallbackHandler
        do {
            setup = try ListenerSetup.prepare(
                ListenRequest(
                    config: config, state: state, secrets: secrets,
                    timestampWindow: DurationText.parse(timestampWindow) ?? .seconds(300), maxBodyBytes: maxBodyBytes,
                    path: path, accountOriginalID: accountOriginalID, appID: appID, accountName: accountName),
                environment: .process)
            logger = Console.current.runLogging(format: logFormat, verbose: verbose, scrub: setup.scrubbed).0
            for note in setup.notes { logger.warning("\(note)", metadata: ["event": "listen.account_skipped"]) }
            handler = try setup.handler(logger: logger)
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
        let host = self.host
        let app = ListenerServer.application(handler: handler, host: host, port: port, logger: logger) { bound in
            setup.logStarted(host: host, port: bound, logger: logger)
        }
        try await runServer(port: port, what: "masscast listen") { try await app.runService() }
        logger.info("stopped", metadata: ["event": "listen.stopped"])
    }
}
