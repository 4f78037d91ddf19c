// The swift-rq demo: starts a throwaway Redis, enqueues jobs, runs them, prints their results.
import ExampleFunctions
import Foundation
import RQ
import RQTesting

let server = try await RedisServer.start()
print("Redis started on \(server.url)")
let redis = try server.makeClient()

// A synchronous queue runs each job in this process as soon as it is enqueued, recording it in Redis as a
// worker would.
let queue = Queue("default", redis: redis, runningSynchronouslyWith: ExampleFunctions.registry)

let sum = try await queue.enqueue(ExampleFunctions.add, 2, 3)
print("examples.add(2, 3) = \(try await sum.result())  [job \(sum.id), \(try await sum.job.currentStatus())]")

let echo = try await queue.enqueue("examples.echo", args: [1, "é"], kwargs: ["k": ["a": [1]]])
print("examples.echo(...) = \(try await echo.result())")

let failing = try await queue.enqueue("examples.fail", args: ["boom"])
do {
    _ = try await failing.result()
} catch let failure as JobFailure {
    print("examples.fail('boom') failed: \(failure.excString.trimmingCharacters(in: .newlines))")
}

print(
    "finished registry: \(try await queue.finishedJobRegistry.count()) jobs, failed: \(try await queue.failedJobRegistry.count())"
)
await server.stop()
