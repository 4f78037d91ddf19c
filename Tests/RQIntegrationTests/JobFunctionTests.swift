import Foundation
import RQ
import RQTesting
import Testing

let add = JobFunction<Int, Int, Int>("examples.add")
let greet = JobFunction<String, String>("examples.greet")

private func exampleFunctions() -> JobFunctionRegistry {
    var functions = JobFunctionRegistry()
    functions.register(add) { x, y in x + y }
    functions.register(greet) { name in "hello \(name)" }
    functions.register("examples.echo") { call in ["args": .array(call.args), "kwargs": .object(call.kwargs)] }
    functions.register("examples.fail") { call in
        struct Boom: Error, CustomStringConvertible { let description: String }
        throw Boom(description: call.args.first?.stringValue ?? "boom")
    }
    functions.register("examples.progress") { call in
        let steps = try call.argument(0, as: Int.self)
        for step in 1...steps { try await JobContext.current?.saveMeta(["progress": .int(step)]) }
        return .int(steps)
    }
    functions.register("examples.sleep") { call in
        try await Task.sleep(for: .seconds(try call.argument(0, as: Double.self)))
        return call.args[0]
    }
    return functions
}

@Suite struct JobFunctionTests {
    @Test func typedEnqueueAndDelayRunOnASynchronousQueue() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis, runningSynchronouslyWith: exampleFunctions())
        let job = try await queue.enqueue(add, 3, 4)
        #expect(try await job.result(timeout: .seconds(1)) == 7)
        let hello = try await greet.bound(to: queue).delay("swift")
        #expect(try await hello.result() == "hello swift")

        // Recorded as a worker named "sync" would, so Python sees a finished job with its return value.
        let python = try await Python.run(
            """
            job = Job.fetch('\(job.id)', connection=r, serializer=JSONSerializer)
            print(json.dumps({'status': job.get_status(), 'value': job.return_value(), 'worker': job.worker_name,
                              'finished': r.zscore('rq:finished:\(queue.name)', job.id) is not None}))
            """, url: server.url)
        #expect(python == ["status": "finished", "value": 7, "worker": "sync", "finished": true])
    }

    @Test func failuresUnknownNamesAndBadArgumentsEndFailedWithAClearMessage() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis, runningSynchronouslyWith: exampleFunctions())
        let cases: [(String, [JSONValue], String)] = [
            ("examples.fail", ["kaput"], "kaput"),
            ("examples.nope", [], "no job function is registered as 'examples.nope'"),
            ("examples.add", ["x", 1], "examples.add() argument 1 must be Int"),
            ("examples.add", [1], "takes 2 positional arguments but 1 were given"),
        ]
        for (name, args, message) in cases {
            let job = try await queue.enqueue(name, args: args)
            #expect(job.status == .failed)
            do {
                _ = try await job.result()
                Issue.record("\(name) succeeded")
            } catch let failure as JobFailure {
                #expect(failure.excString.contains(message), "\(failure.excString)")
            }
            #expect(try await queue.failedJobRegistry.contains(job.id))
        }
    }

    @Test func jobContextReportsProgressAndTimeoutsCancel() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis, runningSynchronouslyWith: exampleFunctions())
        let job = try await queue.enqueue("examples.progress", args: [3])
        #expect(try await job.currentMeta() == ["progress": 3])
        let slow = try await queue.enqueue("examples.sleep", args: [5], options: EnqueueOptions(timeout: 1))
        #expect(slow.status == .failed)
        let failure = try #require(try await slow.latestResult())
        #expect(failure.excString?.contains("Task exceeded maximum timeout value (1 seconds)") == true)
    }

    @Test func resultTTLZeroDeletesTheJobAndMinusOneKeepsItForever() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis, runningSynchronouslyWith: exampleFunctions())
        let gone = try await queue.enqueue(add, 1, 1, options: EnqueueOptions(resultTTL: 0))
        #expect(try await !Job.exists(id: gone.id, redis: redis))
        #expect(try await !queue.finishedJobRegistry.contains(gone.id))
        let kept = try await queue.enqueue(add, 1, 1, options: EnqueueOptions(resultTTL: -1))
        #expect(try await redis.send("TTL", "rq:job:\(kept.id)").int == -1)
        #expect(try await queue.finishedJobRegistry.score(of: kept.id) == .distantFuture)
        let normal = try await queue.enqueue(add, 1, 1)
        let ttl = try await redis.send("TTL", "rq:job:\(normal.id)").int ?? 0
        #expect(ttl > 490 && ttl <= 500)
    }
}
