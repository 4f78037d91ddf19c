import ExampleFunctions
import Foundation
import Logging
import RQ
import RQTesting
import Testing

/// The built `example-jobs` runner, next to the test bundle (`swift build --build-tests` builds it).
let exampleJobsPath = builtExecutable("example-jobs")

/// An executable product of this package, found next to the test bundle.
func builtExecutable(_ name: String) -> String {
    let testBinary =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return name
}

/// A worker pool running in a task of the test, stopped (warm) at the end.
struct RunningWorker {
    let pool: WorkerPool
    let task: Task<Void, any Error>

    static func start(
        queues: [String], redis: Redis, inProcess: Bool = false, concurrency: Int = 1, burst: Bool = false,
        configure: (inout WorkerPoolConfiguration) -> Void = { _ in }
    ) -> RunningWorker {
        var configuration = WorkerPoolConfiguration(
            queues: queues,
            execution: inProcess ? .inProcess(ExampleFunctions.registry) : .horse(runner: exampleJobsPath))
        configuration.concurrency = concurrency
        configuration.burst = burst
        configuration.dequeuePollInterval = .milliseconds(200)
        configure(&configuration)
        // Expected job failures would flood the test output; the assertions check what happened.
        var logger = Logger(label: "rq.worker.test")
        logger.logLevel = .critical
        let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
        return RunningWorker(pool: pool, task: Task { try await pool.run() })
    }

    /// Warm shutdown, then waits for `run()` to return.
    func stop() async throws {
        pool.triggerGracefulShutdown()
        try await task.value
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
///
/// The default timeout is generous: it is what a test waits only when something is wrong, and the whole suite runs
/// in parallel on a 2-core CI machine, where a worker process's start can take seconds.
func eventually(
    timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Whether a worker's console log (swift-log's stream handler: `… label: key=value … [source] message`) has a line
/// with `message` and every one of `metadata`.
func logHasLine(_ log: String, _ message: String, metadata: [String: String]) -> Bool {
    log.split(separator: "\n").contains { line in
        line.hasSuffix("] \(message)") && metadata.allSatisfy { line.contains(" \($0.key)=\($0.value) ") }
    }
}
