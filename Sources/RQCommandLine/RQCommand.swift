import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import RQ

/// The root command: `swift-rq <subcommand>`, or `my-jobs <subcommand>` in a runner — usage text names the
/// executable that runs it.
struct RQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "rq") } ?? "rq",
        abstract: "Run and inspect RQ workers and queues (Python RQ 2.12 compatible).",
        version: "swift-rq \(SwiftRQ.version) (Python RQ 2.12's Redis layout and commands)",
        subcommands: [
            WorkerCommand.self, WorkerPoolCommand.self, InfoCommand.self, EnqueueCommand.self, RequeueCommand.self,
            EmptyCommand.self, SuspendCommand.self, ResumeCommand.self, CronCommand.self,
        ]
    )
}

/// The options Python RQ's commands share: the Redis connection, the settings (`-c`), the import path (`-P`) and
/// RQ's class options. swift-rq has one job class, one queue class and one Redis client, so `-j`,
/// `--queue-class` and `--connection-class` (and their `RQ_JOB_CLASS`, `RQ_QUEUE_CLASS`, `RQ_CONNECTION_CLASS`
/// environment variables) accept RQ's own classes, which is what they name unless a Python app brings its own.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: [.short, .long],
        help: "Redis URL, e.g. redis://:password@host:6379/0 or unix:///path.sock?db=0 (env: RQ_REDIS_URL).")
    var url: String?

    @Option(
        name: [.short, .long],
        help: """
            Settings: a module name (settings, myapp.settings: a file of NAME = literal lines found on the -P \
            paths), a .py file, or a JSON file; command-line options win over it (env: RQ_CONFIG).
            """)
    var config: String?

    @Option(
        name: [.customShort("P"), .long],
        help: "Where -c looks for a settings module (repeatable; default: the current directory).")
    var path: [String] = []

    @Option(name: [.customShort("j"), .customLong("job-class")], help: "RQ's job class: rq.job.Job.")
    var jobClass: String?

    @Option(help: "RQ's queue class: rq.Queue.")
    var queueClass: String?

    @Option(help: "The Redis client class: redis.Redis (or redis.StrictRedis).")
    var connectionClass: String?

    /// The class names swift-rq is: what `-j`, `--queue-class` and `--connection-class` may name.
    static let ownClasses: [(option: String, environment: String, names: Set<String>, what: String)] = [
        ("--job-class", "RQ_JOB_CLASS", ["rq.job.Job", "rq.Job"], "rq.job.Job"),
        ("--queue-class", "RQ_QUEUE_CLASS", ["rq.Queue", "rq.queue.Queue"], "rq.Queue"),
        (
            "--connection-class", "RQ_CONNECTION_CLASS",
            ["redis.Redis", "redis.StrictRedis", "redis.client.Redis", "redis.client.StrictRedis"], "redis.Redis"
        ),
    ]

    func validate() throws {
        let environment = ProcessInfo.processInfo.environment
        for ((option, variable, names, what), given) in zip(Self.ownClasses, [jobClass, queueClass, connectionClass]) {
            guard let name = given ?? environment[variable], !names.contains(name) else { continue }
            throw ValidationError(
                "\(option) \(name): swift-rq has one, \(what); a class of your own is Python code that swift-rq cannot "
                    + "run" + (given == nil ? " (from \(variable))" : ""))
        }
    }

    /// The settings, if `-c` or `RQ_CONFIG` names them.
    func settings() throws -> SettingsFile? {
        guard let reference = config ?? ProcessInfo.processInfo.environment["RQ_CONFIG"] else { return nil }
        return try SettingsFile.load(reference: reference, searchPaths: path.isEmpty ? ["."] : path)
    }

    /// The Redis URL: `--url`, else `RQ_REDIS_URL` (Python's `--url` reads it, so it wins over `-c` there too), else
    /// the settings, else `REDIS_HOST`…, else the local default.
    func resolvedURL() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let url = url ?? environment["RQ_REDIS_URL"] { return url }
        if let fromFile = try settings()?.redisURL() { return fromFile }
        return SettingsFile.url(
            host: environment["REDIS_HOST"], port: environment["REDIS_PORT"], db: environment["REDIS_DB"],
            password: environment["REDIS_PASSWORD"]) ?? "redis://127.0.0.1:6379/0"
    }

    /// A client for the resolved URL; a bad URL is an error like any other (one line, exit status 1), not a usage
    /// error.
    func makeRedis() throws -> Redis {
        do {
            return try Redis(url: resolvedURL())
        } catch let error as RedisError {
            fail(error.message)
        }
    }
}

/// Python RQ's `-w/--worker-class` and `-S/--serializer`, for the commands that neither run jobs nor write them
/// (`info`, `empty`, `requeue`, `suspend`, `resume`): they are accepted when they name what swift-rq knows, and
/// change nothing, as job data is not read.
struct ClientClassOptions: ParsableArguments {
    @Option(
        name: [.customShort("w"), .customLong("worker-class")],
        help: "RQ's worker class (rq.Worker, rq.worker.SpawnWorker, rq.worker.SimpleWorker); accepted, no effect.")
    var workerClass: String?

    @Option(
        name: [.customShort("S"), .long],
        help: "The serializer (json, pickle or RQ's dotted names); accepted, no effect: job data is not read.")
    var serializer: String?

    func validate() throws {
        if let workerClass = workerClass ?? ProcessInfo.processInfo.environment["RQ_WORKER_CLASS"] {
            _ = try WorkerOptions.runsInProcess(workerClass: workerClass)
        }
        if let serializer, !Self.serializerNames.contains(serializer) {
            throw ValidationError(
                "-S \(serializer): unknown serializer; RQ's are json (rq.serializers.JSONSerializer) and pickle "
                    + "(rq.serializers.DefaultSerializer)")
        }
    }

    /// RQ's names for its serializers.
    static let serializerNames: Set<String> = [
        "json", "JSONSerializer", "rq.serializers.JSONSerializer", "pickle", "DefaultSerializer", "PickleSerializer",
        "rq.serializers.DefaultSerializer", "rq.serializers.PickleSerializer",
    ]
}

/// Runs `body`, turning library errors into a one-line message on standard error and exit status 1.
func reportingRedisErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as RedisError {
        fail(error.message)
    } catch let error as RQError {
        fail(error.message)
    } catch let error as WorkerPoolError {
        fail(error.message)
    } catch let error as SettingsFile.Error {
        fail(error.description)
    }
}

func fail(_ message: String) -> Never {
    writeStandardError("Error: \(message)\n")
    exit(1)
}

/// Writes text to standard error at once (unbuffered).
func writeStandardError(_ text: String) { _ = BlockingIO.writeAll(2, Array(text.utf8)) }

/// Writes text to standard output at once.
func writeStandardOutput(_ text: String) { _ = BlockingIO.writeAll(1, Array(text.utf8)) }

/// Python's logging level names (`DEBUG`, `INFO`, `WARNING`/`WARN`, `ERROR`, `CRITICAL`, any case) as swift-log
/// levels, for `--logging-level` and the settings file.
func parseLoggingLevel(_ name: String) throws -> Logger.Level {
    switch name.uppercased() {
    case "INFO": return .info
    case "DEBUG": return .debug
    case "WARNING", "WARN": return .warning
    case "ERROR": return .error
    case "CRITICAL": return .critical
    default: throw ValidationError("unknown logging level '\(name)'")
    }
}

/// Percent-encodes everything but ASCII letters and digits, for a password inside a URL.
func percentEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".utf8)
            result += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }
    }
    return result
}

extension String {
    /// The string padded with spaces on the right to `width` characters (never cut).
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// A number with leading zeros to `width` digits.
    static func zeroPadded(_ number: Int, _ width: Int) -> String {
        let digits = "\(number)"
        return String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}
