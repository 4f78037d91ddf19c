import ArgumentParser
import FoundationEssentials
import Glibc
import RQ

/// `rq enqueue FUNCTION [ARGS…]`: enqueue a call from the shell, with RQ's argument syntax.
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue a job from the command line.",
        discussion: """
            Arguments: `value` is a string, `:json` a JSON value, `key=value` a keyword string, `key:=json` a keyword
            JSON value; a value `@path` is replaced by the file's contents. Example:
              rq enqueue examples.add :2 :3
              rq enqueue mymod.send_mail alice@example.com subject=Hi body=@mail.txt retries:=3
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "The queue.")
    var queue = "default"

    @Option(help: "Maximum run time before the job is stopped and failed (seconds or 10s, 5m, 1h, 2d).")
    var timeout: String?

    @Option(help: "Seconds to keep a successful job and its result (0 = none, -1 = forever).")
    var resultTTL: Int?

    @Option(help: "Seconds the job may wait in the queue before it is discarded.")
    var ttl: Int?

    @Option(help: "Seconds to keep a failed job.")
    var failureTTL: Int?

    @Option(help: "A description (default: the call string).")
    var description: String?

    @Option(help: "A job id that must finish first (repeatable).")
    var dependsOn: [String] = []

    @Option(help: "The id of this job.")
    var jobID: String?

    @Flag(help: "Put the job at the front of the queue.")
    var atFront = false

    @Option(help: "How many times to retry a failed job.")
    var retryMax = 0

    @Option(help: "Seconds between retries (repeatable).")
    var retryInterval: [Int] = []

    @Option(help: "Enqueue after a delay (e.g. 10s, 5m, 2d).")
    var scheduleIn: String?

    @Option(help: "Enqueue at a local time, ISO 8601 without time zone (e.g. 2026-05-27T21:45:00).")
    var scheduleAt: String?

    @Option(
        name: [.customShort("S"), .long],
        help: "json (the default) or pickle, Python RQ's default serializer, for Python workers started without -S.")
    var serializer = "json"

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Argument(help: "The function name, e.g. examples.add.")
    var function: String

    /// Options may stand anywhere on the line, before or after the function and its arguments, as with Python's
    /// `rq enqueue`; `--` ends them, for an argument that starts with a dash.
    @Argument(help: "Arguments: value, :json, key=value, key:=json, @file.")
    var arguments: [String] = []

    func validate() throws {
        if scheduleIn != nil && scheduleAt != nil {
            throw ValidationError("You can't specify both --schedule-in and --schedule-at")
        }
        if retryMax < 0 { throw ValidationError("--retry-max must not be negative") }
        if JobSerializer(name: serializer) == nil {
            throw ValidationError("-S \(serializer): unknown serializer; swift-rq writes json or pickle")
        }
    }

    func run() async throws {
        let (args, kwargs) = try Self.parseArguments(arguments)
        let call = JobCall(functionName: function, args: args, kwargs: kwargs)
        let callString = call.callString(maxArgumentLength: nil)
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            var options = EnqueueOptions(
                resultTTL: resultTTL, ttl: ttl, failureTTL: failureTTL, jobID: jobID, atFront: atFront,
                description: description ?? callString)
            if let timeout { options.timeout = try JobTimeout(parsing: timeout) }
            if !dependsOn.isEmpty { options.dependsOn = JobDependency(jobIDs: dependsOn) }
            if retryMax > 0 {
                options.retry = Retry(max: retryMax, intervals: retryInterval.isEmpty ? [0] : retryInterval)
            }
            let queue = Queue(self.queue, redis: redis, serializer: JobSerializer(name: serializer) ?? .json)
            let job: Job
            if let date = try scheduledDate() {
                job = try await queue.enqueue(at: date, function, args: args, kwargs: kwargs, options: options)
            } else {
                job = try await queue.enqueue(function, args: args, kwargs: kwargs, options: options)
            }
            if !quiet {
                let style = TerminalStyle(enabled: isatty(STDOUT_FILENO) == 1)
                print("Enqueued \(style.color(callString, 34)) with job-id '\(job.id)'.")
            }
        }
    }

    private func scheduledDate() throws -> Date? {
        if let scheduleIn {
            return Date().addingTimeInterval(Double(try JobTimeout.seconds(parsing: scheduleIn)))
        }
        guard let scheduleAt else { return nil }
        let fields = scheduleAt.split(whereSeparator: { "-T:".contains($0) }).map { Int32($0) }
        guard fields.count == 6, fields.allSatisfy({ $0 != nil }), scheduleAt.count == 19 else {
            throw ValidationError("--schedule-at '\(scheduleAt)' is not of the form 2026-05-27T21:45:00")
        }
        var parts = tm()
        parts.tm_year = fields[0]! - 1900
        parts.tm_mon = fields[1]! - 1
        parts.tm_mday = fields[2]!
        parts.tm_hour = fields[3]!
        parts.tm_min = fields[4]!
        parts.tm_sec = fields[5]!
        parts.tm_isdst = -1
        return Date(timeIntervalSince1970: Double(mktime(&parts)))
    }

    /// RQ's command-line argument syntax.
    static func parseArguments(_ arguments: [String]) throws -> ([JSONValue], JSONObject) {
        var args: [JSONValue] = []
        var kwargs = JSONObject()
        for argument in arguments {
            let position = args.count + 1
            var keyword: String?
            var json = false
            var value: String
            if argument.hasPrefix(":") {
                json = true
                value = String(argument.dropFirst())
            } else if argument.hasPrefix("%") {
                throw ValidationError(
                    "%-arguments are Python literals, which only Python RQ can read; use :json instead")
            } else if let equals = argument.firstIndex(of: "="), equals > argument.startIndex {
                let before = argument.index(before: equals)
                if argument[before] == ":" {
                    json = true
                    keyword = String(argument[..<before])
                } else if argument[before] == "%" {
                    throw ValidationError("%=-arguments are Python literals; use key:=json instead")
                } else {
                    keyword = String(argument[..<equals])
                }
                value = String(argument[argument.index(after: equals)...])
            } else {
                value = argument
            }
            if value.hasPrefix("@") {
                let path = String(value.dropFirst())
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("Could not open file '\(path)': Not found")
                }
                value = String(decoding: data, as: UTF8.self)
            }
            var parsed = JSONValue.string(value)
            if json {
                do {
                    parsed = try JSONValue(parsing: value)
                } catch {
                    throw ValidationError("Unable to parse \(keyword ?? "\(position). non keyword argument") as JSON.")
                }
            }
            if let keyword {
                guard kwargs[keyword] == nil else {
                    throw ValidationError("You can't specify multiple values for the same keyword.")
                }
                kwargs[keyword] = parsed
            } else {
                args.append(parsed)
            }
        }
        return (args, kwargs)
    }
}
