import ArgumentParser
import Foundation

/// The root command: `rq <subcommand>`.
struct RQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rq",
        abstract: "Run and inspect RQ workers and queues (Python RQ 2.12 compatible).",
        subcommands: [WorkerCommand.self]
    )
}

/// Options every command shares.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: [.short, .long],
        help:
            "Redis URL (redis://[[user]:password@]host:port/db or unix:///path). Default: $RQ_REDIS_URL or redis://127.0.0.1:6379/0."
    )
    var url: String?

    func resolvedURL() -> String {
        url ?? ProcessInfo.processInfo.environment["RQ_REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
    }
}
