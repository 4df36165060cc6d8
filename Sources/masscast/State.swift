import ArgumentParser
import Foundation
import MasscastApp

/// `masscast state …`: the state store itself.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Manage the state store.",
        subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "migrate",
            abstract: "Copy a SQLite state file into a PostgreSQL state store.",
            discussion: """
                Carries runs, generations, steps, attempts, the send journal, the push inbox, leases, \
                serials, cached tokens and the store's identity, so that clientmsgids and "already sent" \
                stay true and saved plans stay bound. One transaction: interrupted, the target is left as \
                it was; run again, only missing rows are written. The target must be empty or hold this \
                very store. The URL carries no password: set PGPASSWORD.
                """)

        @Option(help: ArgumentHelp("The SQLite state file.", valueName: "file"))
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL store (default: MASSCAST_STATE_URL).", valueName: "postgres://…"))
        var to: String?

        func run() async throws {
            do {
                let summary = try await StateMigration.run(from: from, to: to, environment: .process)
                writeStdout(StateMigration.render(summary, from: from, to: to ?? "MASSCAST_STATE_URL"))
            } catch {
                writeStderr("masscast: \(error)\n")
                throw Exit.invalid
            }
        }
    }
}
