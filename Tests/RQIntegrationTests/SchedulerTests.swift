import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct SchedulerTests {
    @Test func pythonEnqueueInRunsOnASwiftWorkerWithAScheduler() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let name = uniqueName()
        let worker = RunningWorker.start(queues: [name], redis: redis, inProcess: true) { $0.withScheduler = true }
        let scheduled = try await Python.run(
            """
            import time
            from datetime import timedelta
            q = Queue('\(name)', connection=r, serializer=JSONSerializer)
            job = q.enqueue_in(timedelta(seconds=2), 'examples.add', 20, 22)
            print(json.dumps({'id': job.id, 'at': time.time() + 2, 'status': job.get_status(refresh=True)}))
            """, url: server.url)
        // Read by Python right after enqueueing: a Swift fetch here could race Python's slow start on a busy machine.
        #expect(scheduled["status"] == "scheduled")
        let job = try await Job.fetch(id: scheduled["id"]!.stringValue!, redis: redis)
        #expect(try await job.result(as: Int.self, timeout: .seconds(10)) == 42)
        let ranAt = try #require(try await job.latestResult()?.executionStartedAt).timeIntervalSince1970
        let due = scheduled["at"]!.doubleValue!
        // RQ schedules in whole seconds (a job can become due up to a second early); the scheduler polls every
        // second. Not before its time, and soon after it: the upper bound allows for the parallel suite on 2 cores,
        // where a poll and the dequeue after it can come seconds late (5.1 s seen once).
        #expect(ranAt > due - 1.5, "ran \(due - ranAt) s before its time")
        #expect(ranAt < due + 10.0, "ran \(ranAt - due) s after its time")
        try await worker.stop()
    }

    @Test func anExistingJobCanBeScheduledAndAUniqueScheduleRefusesAnExistingID() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue("examples.add", args: [4, 5])
        let later = try await queue.schedule(job, at: Date().addingTimeInterval(1))
        #expect(later.status == .scheduled)
        #expect(try await queue.count() == 0, "taken off the queue so it runs once, when due")
        #expect(try await queue.scheduledJobRegistry.jobIDs() == [job.id])
        #expect(try await job.currentStatus() == .scheduled)

        let id = uniqueName("once").replacingOccurrences(of: "-", with: "_")
        let options = EnqueueOptions(jobID: id, unique: true)
        try await queue.enqueue(in: .seconds(1), "examples.add", args: [1, 1], options: options)
        await #expect(throws: RQError.self) {
            try await queue.enqueue(in: .seconds(1), "examples.add", args: [2, 2], options: options)
        }
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) {
            $0.withScheduler = true
        }
        #expect(try await job.result(timeout: .seconds(30)) == 9)
        #expect(try await Job.fetch(id: id, redis: redis).result(timeout: .seconds(30)) == 2)
        try await worker.stop()
        #expect(try await job.results().count == 1)
    }

    @Test func swiftEnqueueInRunsOnAPythonWorkerWithItsScheduler() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(in: .seconds(1), "examples.add", args: [1, 2])
        #expect(try await queue.scheduledJobRegistry.contains(job.id))
        let python = try Python.startWorker(queues: [queue.name], url: server.url, extra: ["--with-scheduler"])
        defer { python.signal(SIGTERM) }
        // (A Python worker takes seconds to start on a loaded machine; its scheduler then looks every second.)
        #expect(try await job.result(timeout: .seconds(45)) == 3, "\(python.log)")
        #expect(try await !queue.scheduledJobRegistry.contains(job.id))
    }

    @Test func retriesWithIntervalsGoThroughTheScheduler() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(
            "examples.fail", args: ["again"], options: EnqueueOptions(retry: Retry(max: 2, intervals: [0, 1])))
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) {
            $0.withScheduler = true
        }
        #expect(try await eventually(timeout: .seconds(30)) { try await job.currentStatus() == .failed })
        try await worker.stop()
        let final = try await Job.fetch(id: job.id, redis: redis)
        #expect(final.retriesLeft == 0)
        #expect(await worker.pool.failedJobCount == 3)
        #expect(try await queue.failedJobRegistry.contains(job.id))
    }

    @Test func schedulersTakeTurnsThroughTheLockAndNoJobRunsTwice() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        var jobs: [Job] = []
        for index in 0..<200 {
            jobs.append(
                try await queue.enqueue(in: .seconds(Double(index % 3)), "examples.add", args: [.int(index), 0]))
        }
        let first = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) { $0.withScheduler = true }
        let second = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) {
            $0.withScheduler = true
        }
        #expect(try await eventually(timeout: .seconds(20)) { try await queue.finishedJobRegistry.count() == 200 })
        try await first.stop()
        try await second.stop()
        let counts = try await redis.pipeline(jobs.map { RedisCommand("XLEN", "rq:results:\($0.id)") })
        #expect(counts.allSatisfy { $0 == .integer(1) }, "every job ran exactly once")
        #expect(try await redis.send("EXISTS", "rq:scheduler-lock:\(queue.name)").int == 0, "locks released on exit")
    }

    @Test func twoSwiftAndOnePythonSchedulerRun500ScheduledJobsEachOnce() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let python = try Python.startWorker(queues: [queue.name], url: server.url, extra: ["--with-scheduler"])
        defer { python.signal(SIGTERM) }
        let first = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) { $0.withScheduler = true }
        let second = RunningWorker.start(queues: [queue.name], redis: redis) { $0.withScheduler = true }
        var requests: [Job] = []
        for index in 0..<500 {
            requests.append(
                try await queue.enqueue(in: .seconds(Double(1 + index % 3)), "examples.add", args: [.int(index), 0]))
        }
        #expect(
            try await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                try await queue.finishedJobRegistry.count() == 500
            }, "\(python.log.suffix(2000))")
        try await first.stop()
        try await second.stop()
        let counts = try await redis.pipeline(requests.map { RedisCommand("XLEN", "rq:results:\($0.id)") })
        #expect(counts.allSatisfy { $0 == .integer(1) }, "every job ran exactly once")
        #expect(try await queue.scheduledJobRegistry.count() == 0)
    }
}
