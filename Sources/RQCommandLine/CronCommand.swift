import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import RQ

/// `rq cron CONFIG.json`: runs a cron scheduler for the jobs a JSON file lists.
///
/// Python's `rq cron` takes a Python module; this one takes JSON:
///
/// ```json
/// {"jobs": [
///   {"function": "reports.daily", "queue": "reports", "cron": "0 6 * * *", "args": ["eu"]},
///   {"function": "health.ping", "interval": 30, "name": "ping", "timeout": 10, "result_ttl": 60}
/// ]}
/// ```
///
/// Fields: `function` (required), `interval` (seconds) or `cron` (one of them), `queue` (default `default`),
/// `args`, `kwargs`, `name` (default: the function), `timeout`, `result_ttl` (default 500), `ttl`, `failure_ttl`,
/// `meta`.
struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron", abstract: "Run a cron scheduler for the jobs in a JSON configuration file.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "The scheduler name (default: host:pid:random).")
    var name: String?

    @Option(name: [.short, .customLong("logging-level")], help: "DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    var loggingLevel = "INFO"

    @Argument(help: "The JSON file listing the cron jobs.")
    var configPath: String

    func run() async throws {
        let jobs = try Self.loadJobs(path: configPath)
        var logger = Logger(label: "rq.cron")
        logger.logLevel = try parseLoggingLevel(loggingLevel)
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            let scheduler: CronScheduler
            do {
                scheduler = try CronScheduler(
                    redis: redis, jobs: jobs, name: name, configFile: configPath, logger: logger)
            } catch {
                throw ValidationError("\(configPath): \(error)")
            }
            try await WorkerCommand.runHandlingSignals(
                { try await scheduler.run() }, gracefulShutdown: { scheduler.triggerGracefulShutdown() })
        }
    }

    /// Reads the cron jobs of a configuration file, naming the entry and field of any mistake.
    static func loadJobs(path: String) throws -> [CronJob] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read cron configuration \(path)")
        }
        let document: JSONValue
        do { document = try JSONValue(parsing: Array(data)) } catch {
            throw ValidationError("\(path) is not JSON: \(error)")
        }
        guard let entries = document["jobs"]?.arrayValue ?? document.arrayValue else {
            throw ValidationError("\(path): expected {\"jobs\": [...]} or a list of cron jobs")
        }
        return try entries.enumerated().map { index, entry in
            func problem(_ why: String) -> ValidationError { ValidationError("\(path): cron job \(index + 1): \(why)") }
            guard let function = entry["function"]?.stringValue, !function.isEmpty else {
                throw problem("'function' is missing")
            }
            let schedule: CronJob.Schedule
            switch (entry["interval"]?.intValue, entry["cron"]?.stringValue) {
            case (let seconds?, nil): schedule = .every(seconds: seconds)
            case (nil, let expression?):
                do { schedule = try .cron(expression) } catch { throw problem("\(error)") }
            case (nil, nil): throw problem("give 'interval' (seconds) or 'cron'")
            case (_?, _?): throw problem("give 'interval' or 'cron', not both")
            }
            var timeout: JobTimeout?
            if let seconds = entry["timeout"]?.intValue {
                do { timeout = try JobTimeout(seconds: seconds) } catch { throw problem("\(error)") }
            }
            return CronJob(
                function, args: entry["args"]?.arrayValue ?? [], kwargs: entry["kwargs"]?.objectValue ?? [:],
                queue: entry["queue"]?.stringValue ?? "default", schedule: schedule, name: entry["name"]?.stringValue,
                timeout: timeout, resultTTL: entry["result_ttl"]?.intValue ?? 500, ttl: entry["ttl"]?.intValue,
                failureTTL: entry["failure_ttl"]?.intValue, meta: entry["meta"]?.objectValue ?? [:])
        }
    }
}
