import ArgumentParser
import Foundation
import MasscastApp
import RunLog
import RunState
import Runner

/// `masscast leases`: who holds which broadcast, at which epoch, since when.
struct LeasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leases", abstract: "The broadcasts' leases: holders, epochs, ages, expiries.")

    @OptionGroup var store: StoreOptions

    @Option(help: "text or json.")
    var format: LeaseCommands.Format = .text

    func run() async throws {
        let opened = try store.open()
        do {
            writeStdout(try await LeaseCommands.list(opened, format: format, now: Date()))
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}

/// `masscast force-unlock BROADCAST --epoch N`: takes a broadcast's lease deliberately.
struct ForceUnlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force-unlock",
        abstract: "Take a broadcast's lease from its holder (refused if the epoch moved), then release it.",
        discussion: "The holder's next journal write is refused (lease lost), so it stops without calling WeChat. Give the epoch `masscast leases` shows.")

    @Argument(help: "The broadcast's name.")
    var broadcast: String

    @Option(help: "The lease's epoch as `masscast leases` shows it.")
    var epoch: Int64

    @Option(name: .customLong("app-id"), help: "The account, when broadcasts of several accounts have this name.")
    var appID: String?

    @OptionGroup var store: StoreOptions

    @Option(help: "Log format of the takeover line (stderr): text or json. Default: text on a terminal, json otherwise.")
    var logFormat: LogFormat?

    func run() async throws {
        let opened = try store.open()
        Console.start(logFormat: logFormat)
        let console = Console.current
        do {
            writeStdout(
                try await LeaseCommands.forceUnlock(
                    broadcast, epoch: epoch, appID: appID, store: opened, owner: "force-unlock:" + RunOptions.defaultOwner,
                    now: Date(),
                    log: { line in
                        console.say(
                            line.message, level: line.level, event: "run.taken_over",
                            metadata: line.metadata.filter { $0.key != "event" })
                    }))
        } catch {
            writeStderr("masscast: \(error)\n")
            throw Exit.invalid
        }
    }
}

extension LeaseCommands.Format: ExpressibleByArgument {}
