import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// What `examples.record_outcome` recorded for a job, oldest first.
private func recordedOutcomes(_ job: Job) async throws -> [JSONValue] {
    let reply = try await job.redis.send("LRANGE", ExampleFunctions.outcomeLogKey(jobID: job.id), 0, -1)
    return try (reply.array ?? []).compactMap(\.bytes).map { try JSONValue(parsing: $0) }
}

private let record = JobCallback("examples.record_outcome")

@Suite struct CallbackTests {
    @Test(arguments: [false, true])
    func successAndFailureCallbacksRunOnceWithTheResultOrError(inProcess: Bool) async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let options = EnqueueOptions(onSuccess: record, onFailure: record)
        let good = try await queue.enqueue(ExampleFunctions.add, 2, 3, options: options)
        let bad = try await queue.enqueue(ExampleFunctions.fail, "no luck", options: options)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: inProcess, burst: true)
        try await worker.task.value

        #expect(try await good.result(timeout: .seconds(30)) == 5)
        #expect(try await recordedOutcomes(good.job) == [["kind": "finished", "value": 5]])
        #expect(try await bad.currentStatus() == .failed)
        let failure = try await recordedOutcomes(bad.job)
        #expect(failure.count == 1)
        #expect(failure.first?["kind"] == "failed")
        #expect(failure.first?["error"]?.stringValue?.contains("no luck") == true)
        // Python never sees a callback name it would try to import.
        let fields = try await redis.send(
            "HMGET", "rq:job:\(good.job.id)", "success_callback_name", "failure_callback_name", "swift_callbacks")
        #expect(fields.array?[0].string == "")
        #expect(fields.array?[1].string == "")
        #expect(fields.array?[2].string?.contains("examples.record_outcome") == true)
    }

    @Test func aFailingOrSlowSuccessCallbackFailsTheJobAndTheFailureCallbackRuns() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let throwing = try await queue.enqueue(
            ExampleFunctions.add, 1, 1,
            options: EnqueueOptions(onSuccess: JobCallback("examples.failing_callback"), onFailure: record))
        let slow = try await queue.enqueue(
            ExampleFunctions.add, 1, 2,
            options: EnqueueOptions(onSuccess: JobCallback("examples.slow_callback", timeout: 1), onFailure: record))
        let unknown = try await queue.enqueue(
            ExampleFunctions.add, 1, 3, options: EnqueueOptions(onSuccess: JobCallback("examples.not_registered")))
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, burst: true)
        try await worker.task.value

        let thrown = try await throwing.waitForResult(timeout: .seconds(30))
        #expect(thrown.kind == .failed)
        #expect(thrown.excString?.contains("the callback failed on purpose") == true)
        #expect(try await recordedOutcomes(throwing.job).map { $0["kind"] } == ["failed"])
        let timedOut = try await slow.waitForResult(timeout: .seconds(30))
        #expect(timedOut.excString?.contains("exceeded its timeout (1 seconds)") == true)
        #expect(try await recordedOutcomes(slow.job).map { $0["kind"] } == ["failed"])
        let missing = try await unknown.waitForResult(timeout: .seconds(30))
        #expect(missing.excString?.contains("no callback is registered as 'examples.not_registered'") == true)
    }

    /// A job cancelled at its timeout still gets its failure callback, with the timeout as the error — in a horse
    /// (one-job and reusable, where the job runs in the horse's own task, cancelled at the deadline) and in process.
    @Test(arguments: [(false, 1), (false, 5), (true, 1)])
    func aTimedOutJobGetsItsFailureCallback(inProcess: Bool, maxJobsPerHorse: Int) async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: inProcess) {
            $0.maxJobsPerHorse = maxJobsPerHorse
        }
        let slow = try await queue.enqueue(
            ExampleFunctions.sleep, 30, options: EnqueueOptions(timeout: 1, onFailure: record))
        let result = try await slow.waitForResult(timeout: .seconds(30))
        #expect(result.kind == .failed)
        #expect(result.excString?.contains("Task exceeded maximum timeout value (1 seconds)") == true)
        #expect(try await eventually { try await recordedOutcomes(slow.job).count == 1 })
        let recorded = try await recordedOutcomes(slow.job).first
        #expect(recorded?["kind"] == "failed")
        #expect(
            recorded?["error"]?.stringValue?.contains("JobTimeoutException") == true, "\(String(describing: recorded))")
        // The worker goes on with the next job.
        let next = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        #expect(try await next.result(timeout: .seconds(30)) == 3)
        try await worker.stop()
    }

    @Test func aCrashedHorseStillGetsItsFailureCallbackAndAStoppedJobItsStoppedCallback() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        let crash = try await queue.enqueue("examples.crash", options: EnqueueOptions(onFailure: record))
        #expect(try await crash.waitForResult(timeout: .seconds(30)).kind == .failed)
        #expect(try await eventually { try await recordedOutcomes(crash).count == 1 })
        #expect(
            try await recordedOutcomes(crash).first?["error"]?.stringValue?.contains("terminated unexpectedly") == true)

        let long = try await queue.enqueue(
            ExampleFunctions.sleep, 30, options: EnqueueOptions(onFailure: record, onStopped: record))
        #expect(try await eventually { try await long.currentStatus() == .started })
        _ = try await Python.run(
            """
            from rq.command import send_stop_job_command
            send_stop_job_command(r, '\(long.job.id)')
            print('null')
            """, url: server.url)
        #expect(try await eventually { try await long.currentStatus() == .stopped })
        #expect(try await eventually { try await recordedOutcomes(long.job) == [["kind": "stopped"]] })
        try await worker.stop()
    }

    @Test func rqInfoStillWorksOnARedisWithSwiftCallbacks() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let options = EnqueueOptions(onSuccess: record, onFailure: record, onStopped: record)
        let done = try await queue.enqueue(ExampleFunctions.add, 1, 1, options: options)
        let failed = try await queue.enqueue(ExampleFunctions.fail, "x", options: options)
        try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true).task.value
        #expect(try await done.currentStatus() == .finished)
        #expect(try await failed.currentStatus() == .failed)
        // An abandoned job (its worker vanished): `rq info` cleans it up and would import a Python callback name.
        let abandoned = try await queue.enqueue(ExampleFunctions.add, 2, 2, options: options)
        try await redis.send("LREM", "rq:queue:\(queue.name)", 0, abandoned.job.id)
        try await redis.send("HSET", "rq:job:\(abandoned.job.id)", "status", "started")
        try await redis.send("ZADD", "rq:wip:\(queue.name)", 1, "\(abandoned.job.id):0123456789abcdef0123456789abcdef")

        let output = try await Python.execute(
            ["python3", "-m", "rq.cli", "info", "-u", server.url, queue.name], url: server.url)
        #expect(output.contains(queue.name))
        #expect(try await abandoned.currentStatus() == .failed)
        await server.stop()
    }
}

extension CallbackTests {
    @Test func maintenanceRunsTheFailureCallbackOfAnAbandonedJobAndRetriesOneWithRetriesLeft() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        func abandon(_ job: Job) async throws {
            try await redis.send("LREM", "rq:queue:\(queue.name)", 0, job.id)
            try await redis.send("HSET", "rq:job:\(job.id)", "status", "started")
            try await redis.send("ZADD", "rq:wip:\(queue.name)", 1, "\(job.id):0123456789abcdef0123456789abcdef")
        }
        let lost = try await queue.enqueue(ExampleFunctions.add, 1, 1, options: EnqueueOptions(onFailure: record))
        let retried = try await queue.enqueue(
            ExampleFunctions.add, 2, 2, options: EnqueueOptions(retry: Retry(max: 1), onFailure: record))
        try await abandon(lost.job)
        try await abandon(retried.job)
        try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true).task.value

        #expect(try await lost.currentStatus() == .failed)
        let outcome = try await recordedOutcomes(lost.job)
        #expect(outcome.count == 1)
        #expect(outcome.first?["error"]?.stringValue?.contains("AbandonedJobError") == true)
        #expect(try await retried.result(timeout: .seconds(30)) == 4)
        #expect(try await recordedOutcomes(retried.job).map { $0["kind"] } == ["failed"])
    }
}

@Suite struct RepeatTests {
    @Test func aRepeatedJobRunsTimesPlusOneAndEndsFinished() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(
            ExampleFunctions.add, 20, 1, options: EnqueueOptions(repeat: Repeat(times: 2), onSuccess: record))
        #expect(try await redis.send("HGET", "rq:job:\(job.job.id)", "repeats_left").string == "2")
        try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true).task.value

        #expect(try await job.job.results().count == 3)
        #expect(try await recordedOutcomes(job.job).count == 3)
        let fields = try await redis.send("HMGET", "rq:job:\(job.job.id)", "status", "repeats_left")
        #expect(fields.array?.map(\.string) == ["finished", "0"])
        #expect(try await redis.send("TTL", "rq:job:\(job.job.id)").int ?? 0 > 0)
    }

    @Test func swiftAndPythonWorkersRepeatAJobTheSameWay() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        // intervals [0, 1]: Python counts from the end, so the first repeat waits 1 s (scheduled), the second none.
        func runOnce(python: Bool) async throws -> [String?] {
            let queue = Queue(uniqueName(), redis: redis)
            let job = try await queue.enqueue(
                ExampleFunctions.add, 1, 1, options: EnqueueOptions(repeat: Repeat(times: 2, intervals: [0, 1])))
            if python {
                try await Python.burstWorker(queues: [queue.name], url: server.url)
            } else {
                try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true).task.value
            }
            let fields = try await redis.send(
                "HMGET", "rq:job:\(job.job.id)", "status", "repeats_left", "repeat_intervals")
            let scheduled = try await redis.send("ZSCORE", "rq:scheduled:\(queue.name)", job.job.id).string
            let finished = try await redis.send("ZSCORE", "rq:finished:\(queue.name)", job.job.id).string
            let results = try await job.job.results().count
            return (fields.array ?? []).map(\.string) + [
                scheduled == nil ? "not scheduled" : "scheduled", finished == nil ? "not finished" : "in finished",
                "\(results) results",
            ]
        }
        let swift = try await runOnce(python: false)
        let python = try await runOnce(python: true)
        #expect(swift == ["scheduled", "1", "[0, 1]", "scheduled", "in finished", "1 results"])
        #expect(swift == python)
    }
}

@Suite struct RetryParityTests {
    /// `Retry(max: 2, intervals: [0, 1])` on `examples.fail`: the first retry is immediate, the second waits 1 s in
    /// the scheduled registry, the third attempt fails for good. Each stage is compared with a Python worker's writes.
    @Test func retriesWriteWhatAPythonWorkerWrites() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()

        func snapshot(_ job: Job) async throws -> [String] {
            let id = job.id
            let queue = job.origin
            let fields = try await redis.send("HMGET", "rq:job:\(id)", "status", "retries_left", "retry_intervals")
            let workerName = try await redis.send("HGET", "rq:job:\(id)", "worker_name").string ?? ""
            let replies = try await redis.pipeline([
                RedisCommand("ZSCORE", "rq:scheduled:\(queue)", id), RedisCommand("ZSCORE", "rq:failed:\(queue)", id),
                RedisCommand("LLEN", "rq:queue:\(queue)"), RedisCommand("ZCARD", "rq:wip:\(queue)"),
                RedisCommand("XLEN", "rq:results:\(id)"),
                RedisCommand("HGET", "rq:worker:\(workerName)", "failed_job_count"),
            ])
            let results = try await job.results()
            return (fields.array ?? []).map { $0.string ?? "-" } + [
                "scheduled: \(replies[0].string != nil)", "failed registry: \(replies[1].string != nil)",
                "queued: \(replies[2].int ?? -1)", "started: \(replies[3].int ?? -1)",
                "results: \(replies[4].int ?? -1)",
                "worker failures: \(replies[5].string ?? "-")",
                "last result: \(results.first.map { "\($0.kind)" } ?? "none")",
            ]
        }

        func stages(python: Bool) async throws -> (afterBurst: [String], final: [String], attempts: Int) {
            let queue = Queue(uniqueName(), redis: redis)
            let job = try await queue.enqueue(
                ExampleFunctions.fail, "again", options: EnqueueOptions(retry: Retry(max: 2, intervals: [0, 1])))
            // A burst worker without a scheduler makes attempts 1 and 2 and leaves the job scheduled.
            if python {
                try await Python.burstWorker(queues: [queue.name], url: server.url)
            } else {
                try await RunningWorker.start(queues: [queue.name], redis: redis, burst: true).task.value
            }
            let afterBurst = try await snapshot(job.job)
            let firstWorker = try await redis.send("HGET", "rq:job:\(job.job.id)", "worker_name").string ?? ""
            let firstWorkerFailures =
                Int(
                    try await redis.send("HGET", "rq:worker:\(firstWorker)", "failed_job_count").string ?? "") ?? 0
            // A worker with a scheduler moves it back when due and makes attempt 3.
            if python {
                let worker = try Python.startWorker(queues: [queue.name], url: server.url, extra: ["--with-scheduler"])
                let done = try await eventually(timeout: .seconds(20)) { try await job.currentStatus() == .failed }
                #expect(done, "\(worker.log.suffix(2000))")
                worker.signal(SIGTERM)
                _ = await worker.waitForExit(timeout: .seconds(10))
            } else {
                let worker = RunningWorker.start(queues: [queue.name], redis: redis) { $0.withScheduler = true }
                #expect(try await eventually(timeout: .seconds(20)) { try await job.currentStatus() == .failed })
                try await worker.stop()
            }
            let final = try await snapshot(job.job)
            let lastWorker = try await redis.send("HGET", "rq:job:\(job.job.id)", "worker_name").string ?? ""
            let lastWorkerFailures =
                Int(try await redis.send("HGET", "rq:worker:\(lastWorker)", "failed_job_count").string ?? "") ?? 0
            return (afterBurst, final, firstWorkerFailures + lastWorkerFailures)
        }

        let swift = try await stages(python: false)
        let python = try await stages(python: true)
        #expect(
            swift.afterBurst == [
                "scheduled", "0", "[0, 1]", "scheduled: true", "failed registry: false", "queued: 0", "started: 0",
                "results: 0", "worker failures: 2", "last result: none",
            ])
        #expect(swift.attempts == 3)
        #expect(
            swift.final.prefix(8) == [
                "failed", "0", "[0, 1]", "scheduled: false", "failed registry: true", "queued: 0", "started: 0",
                "results: 1",
            ])
        #expect(swift.afterBurst == python.afterBurst)
        #expect(swift.final == python.final)
        #expect(python.attempts == 3)
    }
}
