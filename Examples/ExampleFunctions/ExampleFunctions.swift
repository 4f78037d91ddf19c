import FoundationEssentials
import Glibc
public import RQ

/// The example job functions that the docs, tests and benchmarks use, with the names of their Python twins.
public enum ExampleFunctions {
    /// `examples.add(x, y)` → `x + y`.
    public static let add = JobFunction<Int, Int, Int>("examples.add")
    /// `examples.sleep(seconds)` → `seconds`, sleeping cooperatively (a timeout cancels it).
    public static let sleep = JobFunction<Double, Double>("examples.sleep")
    /// `examples.chaos(x)` → `x + 1`, counting its runs in Redis (the chaos test's job).
    public static let chaos = JobFunction<Int, Int>("examples.chaos")
    /// `examples.busy_loop(seconds)` → `seconds`, spinning without checking for cancellation.
    public static let busyLoop = JobFunction<Double, Double>("examples.busy_loop")
    /// `examples.fail(message)` throws an error with the message.
    public static let fail = JobFunction<JSONValue, String>("examples.fail")
    /// `examples.progress(steps)` → `steps`, writing `meta["progress"]` after each step.
    public static let progress = JobFunction<Int, Int>("examples.progress")
    /// `examples.count_words_at_url(url)` → the number of words at a `file://` (or other) URL.
    public static let countWordsAtURL = JobFunction<Int, String>("examples.count_words_at_url")

    /// The Redis list where `examples.record_outcome` appends, one JSON entry per callback call.
    public static func outcomeLogKey(jobID: String) -> String { "examples:callbacks:\(jobID)" }

    /// The Redis list where the `examples.log_failure` exception handler appends the last line of each failure.
    public static func exceptionLogKey(jobID: String) -> String { "examples:exceptions:\(jobID)" }

    /// Exception handlers for `worker --exception-handler NAME`: `examples.log_failure` appends the failure's last
    /// line to ``exceptionLogKey(jobID:)`` and lets the next handler run.
    public static var exceptionHandlers: [String: ExceptionHandler] {
        [
            "examples.log_failure": ExceptionHandler { job, text in
                let line = text.split(separator: "\n").last.map(String.init) ?? text
                _ = try? await job.redis.send("RPUSH", exceptionLogKey(jobID: job.id), line)
                return .continue
            }
        ]
    }

    /// The error `examples.fail` throws.
    public struct ExampleFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A registry holding every example function.
    public static var registry: JobFunctionRegistry {
        var functions = JobFunctionRegistry()
        register(into: &functions)
        return functions
    }

    /// Registers every example function.
    public static func register(into functions: inout JobFunctionRegistry) {
        functions.register(add) { x, y in x + y }
        functions.register("examples.noop") { _ in .null }
        functions.register("examples.echo") { call in ["args": .array(call.args), "kwargs": .object(call.kwargs)] }
        functions.register(sleep) { seconds in
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return seconds
        }
        functions.register(busyLoop) { seconds in
            let end = Date().addingTimeInterval(seconds)
            var spins = 0
            while Date() < end { spins &+= 1 }
            return seconds
        }
        functions.register(fail) { message in throw ExampleFailure(description: message) }
        functions.register("examples.crash") { _ in abort() }
        // Which process ran the job, and which build of the runner (`RQ_EXAMPLE_VERSION`, default "1"): for the
        // tests of reused horses.
        functions.register("examples.pid") { _ in .int(Int(getpid())) }
        // The chaos test's job: counts its runs in Redis (`chaos:runs:<job id>`), works 10–40 ms, returns x + 1.
        functions.register(chaos) { x in
            if let context = JobContext.current {
                try await context.redis.send("INCR", "chaos:runs:\(context.jobID)")
            }
            try await Task.sleep(for: .milliseconds(10 + (x % 4) * 10))
            return x + 1
        }
        functions.register("examples.runner_version") { _ in
            .string(ProcessInfo.processInfo.environment["RQ_EXAMPLE_VERSION"] ?? "1")
        }
        functions.register(progress) { steps in
            for step in 1...max(steps, 1) {
                try await Task.sleep(for: .milliseconds(200))
                try await JobContext.current?.saveMeta(["progress": .int(step)])
            }
            return steps
        }
        // Callbacks: `examples.record_outcome` appends how the job ended to a list (see `outcomeLogKey`);
        // `examples.failing_callback` throws; `examples.slow_callback` sleeps for a minute.
        functions.registerCallback("examples.record_outcome") { job, outcome in
            let entry: JSONValue
            switch outcome {
            case .finished(let value): entry = ["kind": "finished", "value": value]
            case .failed(let text): entry = ["kind": "failed", "error": .string(text)]
            case .stopped: entry = ["kind": "stopped"]
            }
            try await job.redis.send("RPUSH", outcomeLogKey(jobID: job.id), entry.serialized())
        }
        functions.registerCallback("examples.failing_callback") { _, _ in
            throw ExampleFailure(description: "the callback failed on purpose")
        }
        functions.registerCallback("examples.slow_callback") { _, _ in try await Task.sleep(for: .seconds(60)) }
        functions.register(countWordsAtURL) { address in
            guard let url = URL(string: address), url.scheme != nil else {
                throw ExampleFailure(description: "not a URL: '\(address)'")
            }
            let data = try Data(contentsOf: url)
            return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).count
        }
    }
}
