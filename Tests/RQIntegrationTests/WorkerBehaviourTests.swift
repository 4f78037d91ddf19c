import ExampleFunctions
import Foundation
import RQTesting
import Testing

@testable import RQ

@Suite struct WorkerBehaviourTests {
    /// The outcome of one job must not mark the worker idle when its next job has started meanwhile (the write is
    /// built before it is sent): rq-dashboard and `rq info` would show a busy worker as idle.
    @Test func aJobsOutcomeLeavesTheStateOfAJobStartedSinceAlone() async throws {
        let redis = try await SharedRedis.client()
        let worker = RQKeys.worker(uniqueName("w"))
        func state() async throws -> [String?] {
            try await redis.send("HMGET", worker, "state", "current_job").array?.map(\.string) ?? []
        }
        try await redis.send("HSET", worker, "state", "busy", "current_job", "next")
        func ended(_ id: String, running: String) async throws {
            try await redis.evaluate(
                RQScripts.workerJobEnded, keys: [worker],
                arguments: [id, running, "successful_job_count", 0.25, "finished", "2026-12-04T00:00:00.000000Z"])
        }
        try await ended("ended", running: "")
        #expect(try await state() == ["busy", "next"], "the next job started after the ended one")
        try await ended("next", running: "other")
        #expect(try await state() == ["busy", "other"], "another job still runs")
        try await ended("other", running: "")
        #expect(try await state() == ["idle", nil])
        // The counters are the worker's whatever its state: three jobs ended, each after a quarter of a second.
        let counters = try await redis.send("HMGET", worker, "successful_job_count", "total_working_time")
        #expect(counters.array?.map(\.string) == ["3", "0.75"])
    }

    @Test func aLiveWorkersNameCannotBeTaken() async throws {
        let redis = try await SharedRedis.client()
        let name = uniqueName("w")
        let first = RunningWorker.start(queues: [uniqueName()], redis: redis, inProcess: true) { $0.name = name }
        #expect(try await eventually { try await redis.send("HGET", "rq:worker:\(name)", "state").string != nil })
        let second = RunningWorker.start(queues: [uniqueName()], redis: redis, inProcess: true) { $0.name = name }
        do {
            try await second.task.value
            Issue.record("a second worker took a live worker's name")
        } catch let error as WorkerPoolError {
            #expect(error.code == .nameInUse)
            #expect(error.message.contains(name))
        }
        try await first.stop()
        // After a clean death the name is free again.
        let third = RunningWorker.start(queues: [uniqueName()], redis: redis, inProcess: true, burst: true) {
            $0.name = name
        }
        try await third.task.value
    }

    @Test func aSuspendedWorkerTakesNoJobsUntilResumed() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        try await redis.send("SET", "rq:suspended", "1")
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true)
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        #expect(
            try await eventually {
                try await redis.send("HGET", "rq:worker:\(worker.pool.name)", "state").string == "suspended"
            })
        #expect(try await job.currentStatus() == .queued)
        try await redis.send("DEL", "rq:suspended")
        #expect(try await job.result(timeout: .seconds(30)) == 3)
        try await worker.stop()
        await server.stop()
    }

    @Test func killHorseFailsTheRunningJobAndTheWorkerGoesOn() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        let long = try await queue.enqueue(ExampleFunctions.sleep, 30)
        #expect(try await eventually { try await long.currentStatus() == .started })
        _ = try await Python.run(
            """
            from rq.command import send_kill_horse_command
            send_kill_horse_command(r, '\(worker.pool.name)')
            print('null')
            """, url: server.url)
        let result = try await long.waitForResult(timeout: .seconds(30))
        #expect(result.excString == "Work-horse terminated unexpectedly; waitpid returned 9 (signal 9); ")
        #expect(try await long.currentStatus() == .failed)
        let next = try await queue.enqueue(ExampleFunctions.add, 1, 1)
        #expect(try await next.result(timeout: .seconds(30)) == 2)
        try await worker.stop()
    }

    @Test func exceptionHandlersRunInOrderAndCanStopTheChain() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let seen = SeenFailures()
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) {
            $0.exceptionHandlers = [
                ExceptionHandler { job, text in
                    await seen.add("first: \(job.functionName): \(text.contains("nope"))")
                    return .continue
                },
                ExceptionHandler { job, _ in
                    await seen.add("second: \(job.id)")
                    return job.args.first == "stop" ? .stop : .continue
                },
            ]
        }
        let ordinary = try await queue.enqueue(ExampleFunctions.fail, "nope")
        let stopped = try await queue.enqueue(ExampleFunctions.fail, "stop")
        _ = try await ordinary.waitForResult(timeout: .seconds(30))
        #expect(try await eventually { try await stopped.currentStatus() == .failed })
        try await worker.stop()
        #expect(await seen.all.prefix(2) == ["first: examples.fail: true", "second: \(ordinary.id)"])
        #expect(try await queue.failedJobRegistry.contains(ordinary.id))
        // The chain stopped before the default handler: no failed-registry entry, no result.
        #expect(try await !queue.failedJobRegistry.contains(stopped.id))
        #expect(try await stopped.latestResult() == nil)
        #expect(try await queue.startedJobRegistry.count() == 0)
    }

    @Test func rqWorkerRunsJobsInHorsesOfTheGivenRunner() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(ExampleFunctions.add, 20, 1)
        let process = try CommandProcess(
            builtExecutable("swift-rq"), ["worker", "-u", server.url, "--runner", exampleJobsPath, "-b", queue.name])
        #expect(await process.waitForExit(timeout: .seconds(20)) == 0, "\(process.log)")
        #expect(try await job.result(timeout: .seconds(1)) == 21)
        // Python RQ's lines ("q: examples.add(20, 1) (id)", "q: Job OK (id)", "Result is kept for 500 seconds") as
        // constant messages with the data in metadata.
        let started = ["rq.queue": queue.name, "rq.job_id": job.id, "rq.job_description": "examples.add(20, 1)"]
        #expect(logHasLine(process.log, "Job started", metadata: started), "\(process.log)")
        #expect(logHasLine(process.log, "Job OK", metadata: ["rq.queue": queue.name, "rq.job_id": job.id]))
        #expect(logHasLine(process.log, "Result kept", metadata: ["rq.job_id": job.id, "rq.result_ttl": "500"]))

        let missing = try CommandProcess(builtExecutable("swift-rq"), ["worker", "-u", server.url, "-b", queue.name])
        #expect(await missing.waitForExit(timeout: .seconds(10)) != 0)
        #expect(missing.log.contains("--runner PATH is required"), "\(missing.log)")
        let noRedis = try CommandProcess(
            exampleJobsPath, ["worker", "-u", "redis://127.0.0.1:\(try RedisServer.freePort())/0", "-b"])
        #expect(await noRedis.waitForExit(timeout: .seconds(20)) == 1)
        #expect(noRedis.log.contains("could not connect to Redis at 127.0.0.1:"), "\(noRedis.log)")
    }
}

actor SeenFailures {
    private(set) var all: [String] = []
    func add(_ entry: String) { all.append(entry) }
}

@Suite struct WorkerRetryTests {
    @Test func retriesRunUntilExhaustedThenTheJobFails() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(
            "examples.fail", args: ["again"], options: EnqueueOptions(retry: Retry(max: 2, intervals: [0])))
        #expect(try await Job.fetch(id: job.id, redis: redis).retriesLeft == 2)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true)
        try await worker.task.value
        let final = try await Job.fetch(id: job.id, redis: redis)
        #expect(final.status == .failed)
        #expect(final.retriesLeft == 0)
        #expect(await worker.pool.failedJobCount == 3, "three attempts")
        #expect(try await job.results().count == 1, "retried attempts write no result, as in RQ")
        #expect(try await queue.failedJobRegistry.contains(job.id))
        // The hash still reads in full after the partial end writes.
        #expect(final.functionName == "examples.fail" && final.args == ["again"])
    }

    @Test func exponentialBackoffIntervals() {
        #expect(Retry.exponential(max: 5, base: 2, factor: 3, cap: 60).intervals == [2, 6, 18, 54, 60])
    }
}
