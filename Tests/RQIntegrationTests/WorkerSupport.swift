import ExampleFunctions
import Foundation
import Logging
import RQ
import RQTesting
import Testing

/// The built `example-jobs` runner, next to the test bundle (`swift build --build-tests` builds it).
let exampleJobsPath = builtExecutable("example-jobs")

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

/// Whether a worker's console log (swift-log's stream handler: `… label: key=value … [source] message`) has a line
/// with `message` and every one of `metadata`.
func logHasLine(_ log: String, _ message: String, metadata: [String: String]) -> Bool {
    log.split(separator: "\n").contains { line in
        line.hasSuffix("] \(message)") && metadata.allSatisfy { line.contains(" \($0.key)=\($0.value) ") }
    }
}
