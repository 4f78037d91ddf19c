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
            Arguments: `value` is a string, `:json` a JSON value, `%literal` a Python literal (numbers, strings, True,
            False, None, lists, tuples, dicts), `key=value` a keyword string, `key:=json` a keyword JSON value,
            `key%=literal` a keyword Python literal; a value `@path` is replaced by the file's contents. Durations
            (--timeout, --result-ttl, --ttl, --failure-ttl, --schedule-in) are seconds or 10s, 5m, 1h, 2d. Example:
              rq enqueue examples.add :2 %3
              rq enqueue mymod.send_mail alice@example.com subject=Hi body=@mail.txt retries%=3 --ttl 1h
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .long], help: "The queue.")
    var queue = "default"

    @Option(help: "Maximum run time before the job is stopped and failed (seconds or 10s, 5m, 1h, 2d).")
    var timeout: String?

    @Option(help: "How long to keep a successful job and its result (0 = none, -1 = forever; 90, 10m, 1h, 2d).")
    var resultTTL: String?

    @Option(help: "How long the job may wait in the queue before it is discarded (90, 10m, 1h, 2d).")
    var ttl: String?

    @Option(help: "How long to keep a failed job (90, 10m, 1h, 2d).")
    var failureTTL: String?

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

    @Option(
        name: [.customShort("w"), .customLong("worker-class")],
        help: "RQ's worker class; accepted for Python RQ's command lines, no effect on enqueueing.")
    var workerClass: String?

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
        if let workerClass = workerClass ?? ProcessInfo.processInfo.environment["RQ_WORKER_CLASS"] {
            _ = try WorkerOptions.runsInProcess(workerClass: workerClass)
        }
        _ = try Self.parseArguments(arguments)
        for (text, option) in [(resultTTL, "--result-ttl"), (ttl, "--ttl"), (failureTTL, "--failure-ttl")] {
            _ = try Self.duration(text, option)
        }
    }

    func run() async throws {
        let parsed = try Self.parseArguments(arguments)
        let args = parsed.filter { $0.keyword == nil }.map(\.json)
        let kwargs = JSONObject(parsed.compactMap { argument in argument.keyword.map { ($0, argument.json) } })
        let callString = Self.callString(function, parsed)
        let redis = try connection.makeRedis()
        try await reportingRedisErrors {
            var options = EnqueueOptions(
                resultTTL: try Self.duration(resultTTL, "--result-ttl"), ttl: try Self.duration(ttl, "--ttl"),
                failureTTL: try Self.duration(failureTTL, "--failure-ttl"), jobID: jobID, atFront: atFront,
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

    /// A duration option as Python's `parse_timeout` reads it: whole seconds, or digits and a unit `d`, `h`, `m`, `s`.
    static func duration(_ text: String?, _ option: String) throws -> Int? {
        guard let text else { return nil }
        do {
            return try JobTimeout.seconds(parsing: text)
        } catch {
            throw ValidationError(
                "\(option) '\(text)': must be an integer or digits and a unit d, h, m or s, such as 1h or 23m")
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

    /// How an argument's value is read: as text, as JSON (`:`) or as a Python literal (`%`).
    private enum ArgumentMode {
        case text, json, literal
    }

    /// RQ's command-line argument syntax, read as Python's `parse_function_args` reads it: `value`, `:json`,
    /// `%literal`, `key=value`, `key:=json`, `key%=literal`; a value `@path` is the file's contents. Literals are
    /// Python's (`ast.literal_eval`), and are stored as the JSON serializer stores them: tuples as lists, sets and
    /// bytes refused with Python's message.
    static func parseArguments(_ arguments: [String]) throws -> [ParsedArgument] {
        var parsedArguments: [ParsedArgument] = []
        var keywords: Set<String> = []
        for argument in arguments {
            let position = parsedArguments.count { $0.keyword == nil } + 1
            var keyword: String?
            var mode = ArgumentMode.text
            var value: String
            if argument.hasPrefix(":") {
                mode = .json
                value = String(argument.dropFirst())
            } else if argument.hasPrefix("%") {
                mode = .literal
                value = String(argument.dropFirst())
            } else if let equals = argument.firstIndex(of: "="), equals > argument.startIndex {
                // As in Python: the first ':' (or '%') must stand right before the first '='.
                let before = argument.index(before: equals)
                if argument.firstIndex(of: ":") == before {
                    mode = .json
                    keyword = String(argument[..<before])
                } else if argument.firstIndex(of: "%") == before {
                    mode = .literal
                    keyword = String(argument[..<before])
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
            let name = keyword ?? "\(position). non keyword argument"
            let literal: PythonLiteral
            switch mode {
            case .text:
                literal = .string(value)
            case .json:
                do {
                    literal = PythonLiteral(try JSONValue(parsing: value))
                } catch {
                    throw ValidationError("Unable to parse \(name) as JSON.")
                }
            case .literal:
                do {
                    // Python's literal_eval strips leading spaces and tabs.
                    literal = try PythonLiteralParser.evaluate(String(value.drop { $0 == " " || $0 == "\t" }))
                } catch {
                    throw ValidationError(
                        "Unable to eval \(name) as Python object (\(error.message)). See "
                            + "https://docs.python.org/3/library/ast.html#ast.literal_eval")
                }
            }
            let json: JSONValue
            do {
                json = try literal.jsonValue()
            } catch {
                throw ValidationError("\(name): \(error.message)")
            }
            if let keyword {
                guard keywords.insert(keyword).inserted else {
                    throw ValidationError("You can't specify multiple values for the same keyword.")
                }
            }
            parsedArguments.append(ParsedArgument(keyword: keyword, literal: literal, json: json))
        }
        return parsedArguments
    }

    /// One job argument from the command line: as Python reads it, and as the JSON serializer writes it.
    struct ParsedArgument {
        var keyword: String?
        var literal: PythonLiteral
        var json: JSONValue
    }

    /// RQ's `get_call_string` of the arguments as Python read them (a tuple shows as a tuple), not cut.
    static func callString(_ function: String, _ arguments: [ParsedArgument]) -> String {
        let positional = arguments.filter { $0.keyword == nil }.map(\.literal.repr)
        let keywords = arguments.compactMap { argument in argument.keyword.map { "\($0)=\(argument.literal.repr)" } }
        let sorted = keywords.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        return "\(function)(\((positional + sorted).joined(separator: ", ")))"
    }
}
