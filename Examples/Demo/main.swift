// The swift-rq demo: starts a throwaway Redis, enqueues jobs, runs them on a worker pool whose horses are
// separate processes, and prints the results.
import ExampleFunctions
import Foundation
import Logging
import RQ
import RQTesting

// Horses are this same executable started again: when it is one, it runs its job and exits here.
await JobRunner(functions: ExampleFunctions.registry).runHorseIfRequested()

let server = try await RedisServer.start()
print("Redis started on \(server.url)")
let redis = try server.makeClient()
let queue = Queue("default", redis: redis)

// Enqueue: by name with RQ's args/kwargs, and typed.
let sum = try await queue.enqueue(ExampleFunctions.add, 2, 3)
let echo = try await queue.enqueue("examples.echo", args: [1, "é"], kwargs: ["k": ["a": [1]]])
let failing = try await queue.enqueue(ExampleFunctions.fail, "boom")
let slow = try await queue.enqueue(ExampleFunctions.busyLoop, 30, options: EnqueueOptions(timeout: 1))
print("Enqueued \(try await queue.count()) jobs")

// Work: a pool of two horses, each job in a fresh process.
var logger = Logger(label: "demo.worker")
logger.logLevel = .critical  // the demo prints outcomes itself
var configuration = WorkerPoolConfiguration(queues: ["default"], execution: .horse(runner: JobRunner.executablePath))
configuration.concurrency = 2
let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
let worker = Task { try await pool.run() }

// Results: each await returns as soon as the worker writes the result.
print("examples.add(2, 3) = \(try await sum.result(timeout: .seconds(30)))")
print("examples.echo(1, 'é', k={'a': [1]}) = \(try await echo.result(timeout: .seconds(30)))")
for (name, job) in [("examples.fail('boom')", failing.job), ("examples.busy_loop(30), timeout 1 s", slow.job)] {
    do {
        _ = try await job.result(timeout: .seconds(30))
    } catch let failure as JobFailure {
        print("\(name) failed: \(failure.excString.trimmingCharacters(in: .newlines))")
    }
}

pool.triggerGracefulShutdown()
try await worker.value
print(
    "Worker \(pool.name): \(await pool.successfulJobCount) succeeded, \(await pool.failedJobCount) failed; "
        + "finished registry \(try await queue.finishedJobRegistry.count()), failed registry \(try await queue.failedJobRegistry.count())"
)
await server.stop()
