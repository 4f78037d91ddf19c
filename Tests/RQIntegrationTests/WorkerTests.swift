import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct WorkerTests {
    @Test func swiftWorkerRunsPythonJobsAndPythonReadsTheResults() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let ids = try await Python.run(
            """
            q = Queue('\(name)', connection=r, serializer=JSONSerializer)
            a = q.enqueue('examples.add', 2, 3)
            b = q.enqueue('examples.echo', 1, 'é', k={'a': [1]})
            print(json.dumps([a.id, b.id]))
            """, url: server.url)
        let worker = RunningWorker.start(queues: [name], redis: redis, burst: true) { $0.name = "swift-\(name)" }
        try await worker.task.value

        let python = try await Python.run(
            """
            from rq.worker import Worker
            a = Job.fetch('\(ids.arrayValue![0].stringValue!)', connection=r, serializer=JSONSerializer)
            b = Job.fetch('\(ids.arrayValue![1].stringValue!)', connection=r, serializer=JSONSerializer)
            q = Queue('\(name)', connection=r, serializer=JSONSerializer)
            w = r.hgetall('rq:worker:swift-\(name)')
            print(json.dumps({'a': a.return_value(), 'b': b.return_value(), 'statuses': [a.get_status(), b.get_status()],
                              'finished': sorted(q.finished_job_registry.get_job_ids()),
                              'worker_name': a.worker_name,
                              'successful': int(w.get(b'successful_job_count', b'0'))}))
            """, url: server.url)
        #expect(python["a"] == 5)
        #expect(python["b"] == ["args": [1, "é"], "kwargs": ["k": ["a": [1]]]])
        #expect(python["statuses"] == ["finished", "finished"])
        #expect(python["finished"]?.arrayValue?.count == 2)
        #expect(python["worker_name"] == .string("swift-\(name)"))
        #expect(python["successful"] == 2)
    }

    @Test func pythonAndSwiftWorkersDrainOneQueueRunningEachJobOnce() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let jobs = try await queue.enqueueMany((0..<200).map { EnqueueRequest("examples.add", args: [.int($0), 1]) })
        let swift = RunningWorker.start(
            queues: [queue.name], redis: redis, inProcess: true, concurrency: 2, burst: true)
        try await Python.burstWorker(queues: [queue.name], url: server.url, extra: ["-w", "rq.worker.SimpleWorker"])
        try await swift.task.value
        #expect(try await queue.finishedJobRegistry.count() == 200)
        let counts = try await redis.pipeline(jobs.map { RedisCommand("XLEN", "rq:results:\($0.id)") })
        #expect(counts.allSatisfy { $0 == .integer(1) }, "every job has exactly one result")
        for (index, job) in jobs.enumerated().prefix(5) {
            #expect(try await job.result(as: Int.self, timeout: .seconds(1)) == index + 1)
        }
        let swiftRan = await swift.pool.successfulJobCount
        #expect(swiftRan > 0 && swiftRan <= 200)
    }

    @Test func pythonRQInfoListsARunningSwiftWorker() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let queue = Queue(name, redis: redis)
        let worker = RunningWorker.start(queues: [name, "\(name)-low"], redis: redis, inProcess: true) {
            $0.name = "info-\(name)"
        }
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        _ = try await job.result(timeout: .seconds(30))
        let output = try await Python.execute(
            ["python3", "-m", "rq.cli", "info", "-u", server.url, name], url: server.url)
        try await worker.stop()
        #expect(output.contains("info-\(name)"), "\(output)")
        #expect(output.contains("idle"), "\(output)")
        #expect(output.contains("\(name), \(name)-low") || output.contains("\(name),"), "\(output)")
        #expect(output.contains("1 finished"), "\(output)")
    }

    @Test func timeoutsKillJobsThatIgnoreCancellationAndCrashesFailWithTheTerminatedText() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        let clock = ContinuousClock()
        let start = clock.now
        let spinning = try await queue.enqueue(ExampleFunctions.busyLoop, 60, options: EnqueueOptions(timeout: 2))
        let crashing = try await queue.enqueue("examples.crash")
        let after = try await queue.enqueue(ExampleFunctions.add, 20, 22)

        await #expect(throws: JobFailure.self) { _ = try await spinning.result(timeout: .seconds(30)) }
        // Killed at its 2 s timeout plus the grace periods (about 5 s), long before its 60 s loop would end (the
        // bound allows for a loaded CI machine).
        #expect(clock.now - start < .seconds(30))
        let timeoutText = try #require(try await spinning.job.latestResult()?.excString)
        #expect(timeoutText.contains("Task exceeded maximum timeout value (2 seconds)"))

        await #expect(throws: JobFailure.self) { _ = try await crashing.result(timeout: .seconds(30)) }
        let crashText = try #require(try await crashing.latestResult()?.excString)
        #expect(crashText.hasPrefix("Work-horse terminated unexpectedly; waitpid returned"), "\(crashText)")
        #expect(crashText.contains("(signal 6)"))

        #expect(try await after.result(timeout: .seconds(30)) == 42)
        try await worker.stop()
    }

    @Test func concurrencyFourRunsFourSleepsAtOnce() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, concurrency: 4)
        // Let the warm horses spawn so the measurement is of the jobs, not of start-up.
        try await Task.sleep(for: .milliseconds(300))
        let jobs = try await queue.enqueueMany((0..<4).map { _ in EnqueueRequest("examples.sleep", args: [1]) })
        var results: [JobResult] = []
        for job in jobs { results.append(try await job.waitForResult(timeout: .seconds(30))) }
        try await worker.stop()
        #expect(results.allSatisfy { $0.kind == .successful && $0.returnValue == 1 })
        // The worker's own records of when each job started and ended (not the test's enqueue and wait round
        // trips). Each sleeps at least 1 s, so four starts within 0.9 s of the first mean all four ran at once; the
        // ends are not compared, since a busy machine (the whole suite on two cores) delays the horses' wake-ups.
        let starts = results.compactMap { $0.executionStartedAt?.timeIntervalSince1970 }
        let ends = results.compactMap { $0.executionEndedAt?.timeIntervalSince1970 }
        #expect(starts.count == 4 && ends.count == 4)
        let first = starts.min() ?? 0
        let offsets = zip(starts, ends).map { String(format: "%.2f–%.2f", $0 - first, $1 - first) }
        #expect((starts.max() ?? .infinity) - first < 0.9, "the four jobs ran at \(offsets) s")
        #expect(zip(starts, ends).allSatisfy { $1 - $0 >= 1 }, "the four jobs ran at \(offsets) s")
    }

    @Test func progressIsVisibleToPythonWhileTheJobRuns() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        // Python enqueues and then polls, so it is ready before the job starts.
        let seen = try await Python.run(
            """
            import time
            job = Queue('\(queue.name)', connection=r, serializer=JSONSerializer).enqueue('examples.progress', 5)
            seen = []
            deadline = time.time() + 10
            while time.time() < deadline:
                p = job.get_meta(refresh=True).get('progress')
                if p is not None and p not in seen:
                    seen.append(p)
                if job.get_status() == 'finished':
                    break
                time.sleep(0.05)
            print(json.dumps(seen))
            """, url: server.url)
        try await worker.stop()
        let values = seen.arrayValue?.compactMap(\.intValue) ?? []
        #expect(values.count >= 3, "Python saw \(values)")
        #expect(values == values.sorted())
        #expect(values.last == 5)
    }

    @Test func badJobsFailClearlyAndTheWorkerKeepsRunning() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        // An id whose hash is gone is skipped.
        try await redis.send("RPUSH", queue.key, "ghost-job")
        // Undecodable data fails that job with the reason.
        let garbled = try await queue.enqueue("examples.add", args: [1, 1])
        try await redis.send("HSET", "rq:job:\(garbled.id)", "data", "not zlib")
        let unknown = try await queue.enqueue("no.such.function")
        let good = try await queue.enqueue(ExampleFunctions.add, 2, 2)
        #expect(try await good.result(timeout: .seconds(30)) == 4)
        let garbledText = try #require(try await garbled.waitForResult(timeout: .seconds(30)).excString)
        #expect(garbledText.contains("field 'data'"), "\(garbledText)")
        let unknownText = try #require(try await unknown.waitForResult(timeout: .seconds(30)).excString)
        #expect(unknownText.contains("no job function is registered as 'no.such.function'"))
        #expect(try await queue.failedJobRegistry.count() == 2)
        #expect(try await !Job.exists(id: "ghost-job", redis: redis))
        #expect(try await redis.send("LLEN", "rq:queue:\(queue.name):intermediate").int == 0)
        try await worker.stop()
    }
}
