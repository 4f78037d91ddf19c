import ExampleFunctions
import Foundation
import Logging
import RQTesting
import Testing

@testable import RQ

@Suite struct OutageTests {
    /// The acceptance check: redis-server is SIGKILLed under busy workers — one with horses, one in process with a
    /// scheduler — and restarted from its append-only file seconds later. No worker exits, every job ends finished
    /// with its result, including the jobs that ended while Redis was away.
    /// A worker started while Redis loads its data after a restart (every command answered `LOADING`) waits and
    /// registers once Redis serves, rather than exiting — the chaos test restarts killed workers at any moment.
    @Test func aWorkerStartedWhileRedisLoadsItsDataWaitsAndRegisters() async throws {
        // A slow load that costs no CPU: 4,000 keys, 200 µs of sleep each (more on a busy machine: the restart must
        // end within RedisServer's 10 s), and the server answering (LOADING) meanwhile.
        let server = try await RedisServer.start(arguments: [
            "--enable-debug-command", "yes", "--key-load-delay", "200", "--loading-process-events-interval-bytes",
            "1024",
        ])
        let redis = try server.makeClient()
        try await redis.send("DEBUG", "POPULATE", 4_000)
        try await redis.send("SAVE")
        await server.stop()
        let restarting = Task { try await server.restart() }
        let probe = try server.makeClient()
        let loading = try await eventually(timeout: .seconds(30), every: .milliseconds(5)) {
            do {
                _ = try await probe.send("PING")
                return false
            } catch let error as RedisError {
                return error.message.contains("LOADING")
            }
        }
        #expect(loading, "the server was seen loading its data")
        let queue = Queue(uniqueName(), redis: try server.makeClient())
        let worker = RunningWorker.start(queues: [queue.name], redis: try server.makeClient(), inProcess: true)
        try await restarting.value
        let job = try await queue.enqueue(ExampleFunctions.add, 2, 3)
        #expect(try await job.result(timeout: .seconds(30)) == 5)
        try await worker.stop()
    }

    @Test func workersRideOutARedisCrashAndRestartFromItsAOF() async throws {
        let server = try await RedisServer.start(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let jobs = try await queue.enqueueMany(
            (0..<300).map { EnqueueRequest("examples.sleep", args: [.double(0.02 + Double($0 % 5) * 0.01)]) })
        let horses = RunningWorker.start(queues: [queue.name], redis: try server.makeClient(), concurrency: 2)
        let inProcess = RunningWorker.start(
            queues: [queue.name], redis: try server.makeClient(), inProcess: true, concurrency: 3
        ) { $0.withScheduler = true }

        // A task awaits the last job's result across the outage, on a client of its own.
        let waiter = try server.makeClient()
        let lastJob = jobs.last!
        let awaited = Task {
            try await Job.fetch(id: lastJob.id, redis: waiter).result(timeout: .seconds(120))
        }

        // Kill Redis mid-run, while jobs run on both workers (on a loaded machine the first jobs can take a while): the
        // moment at least three are started, so some are still running when it dies — with every slot between a job
        // and its next dequeue, none would end in the outage.
        #expect(
            try await eventually(timeout: .seconds(120), every: .milliseconds(5)) {
                let finished = try await queue.finishedJobRegistry.count()
                guard finished >= 30 else { return false }
                return try await queue.startedJobRegistry.count() >= 3
            })
        server.signal(SIGKILL)
        let outageStarted = Date()
        try await Task.sleep(for: .seconds(2))  // the outage: Redis is down this long
        try await server.restart()
        let outageEnded = Date()

        // Both workers carry on until the queue is drained; neither exits.
        let drained = try await eventually(timeout: .seconds(180), every: .milliseconds(200)) {
            try await queue.finishedJobRegistry.count() == jobs.count
        }
        let finished = try await queue.finishedJobRegistry.count()
        #expect(drained, "finished: \(finished) of \(jobs.count)")
        for job in jobs {
            let result = try await job.latestResult()
            #expect(result?.kind == .successful, "\(job.id): \(String(describing: result))")
        }
        // Some jobs ended while Redis was away; their results were written when it came back.
        var endedInOutage = 0
        for job in try await Job.fetchMany(ids: jobs.map(\.id), redis: redis) {
            if let ended = job?.endedAt, ended > outageStarted, ended < outageEnded { endedInOutage += 1 }
        }
        #expect(endedInOutage > 0)
        // The wait rode the outage out and got the result.
        #expect(try await awaited.value == .double(0.02 + Double((jobs.count - 1) % 5) * 0.01))
        // Still running: a warm shutdown ends each normally (a worker that had exited with an error would throw).
        try await horses.stop()
        try await inProcess.stop()
    }
}

/// The cron scheduler rides out an outage too: it keeps running, and enqueues again once Redis is back.
@Suite struct CronOutageTests {
    @Test func cronRidesOutARedisCrashAndEnqueuesAgainAfterIt() async throws {
        let server = try await RedisServer.start(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let redis = try server.makeClient()
        let queue = uniqueName()
        let cron = try CronScheduler(
            redis: try server.makeClient(),
            jobs: [CronJob("examples.add", args: [1, 2], queue: queue, schedule: .every(seconds: 1), name: "tick")],
            name: uniqueName("cron"), logger: Logger(label: "rq.cron.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let running = Task { try await cron.run() }
        func enqueued() async throws -> Int { try await redis.send("LLEN", "rq:queue:\(queue)").int ?? 0 }
        #expect(try await eventually { try await enqueued() >= 1 })

        server.signal(SIGKILL)
        try await Task.sleep(for: .seconds(3))  // the outage: Redis is down this long, three ticks
        try await server.restart()
        let afterRestart = try await eventually { (try? await enqueued()) != nil }
        #expect(afterRestart)
        let before = try await enqueued()
        // Ticks come again after the restart, and the scheduler is still running (it did not end with an error).
        #expect(try await eventually(timeout: .seconds(30)) { try await enqueued() > before })
        cron.triggerGracefulShutdown()
        try await running.value
    }
}

/// The script a worker runs after an outage, on its own: a job the worker started in Redis but never heard of goes
/// back to the front of its queue; jobs it knows it runs, and other workers' jobs, stay started.
@Suite struct LostStartTests {
    @Test func jobsStartedButNeverHeardOfGoBackToTheirQueue() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let lost = try await queue.enqueue("examples.noop")
        let known = try await queue.enqueue("examples.noop")
        let others = try await queue.enqueue("examples.noop")
        let waiting = try await queue.enqueue("examples.noop")
        // Started as the dequeue script starts jobs: off the queue, in the started registry, an execution record.
        for (job, worker) in [(lost, "w1"), (known, "w1"), (others, "w2")] {
            try await redis.transaction([
                RedisCommand("LREM", "rq:queue:\(queue.name)", 1, job.id),
                RedisCommand("ZADD", "rq:wip:\(queue.name)", Int(Date().timeIntervalSince1970) + 90, "\(job.id):e1"),
                RedisCommand("HSET", "rq:execution:\(job.id):e1", "id", "e1", "worker_name", worker),
                RedisCommand("ZADD", "rq:executions:\(job.id)", 1, "e1"),
                RedisCommand("HSET", "rq:job:\(job.id)", "status", "started", "worker_name", worker),
            ])
        }
        let requeued = try await redis.evaluate(
            RQScripts.requeueLostStarts, keys: ["rq:wip:\(queue.name)"],
            arguments: ["w1", "2026-12-03T10:00:00.000000Z", known.id]
        ).strings
        #expect(requeued == [lost.id])
        #expect(try await queue.jobIDs() == [lost.id, waiting.id])
        #expect(try await lost.currentStatus() == .queued)
        #expect(try await redis.send("EXISTS", "rq:execution:\(lost.id):e1").int == 0)
        #expect(try await queue.startedJobRegistry.jobIDs().sorted() == [known.id, others.id].sorted())
        #expect(try await known.currentStatus() == .started)
        #expect(try await others.currentStatus() == .started)
    }
}

/// A worker that died between `BLMOVE` and the start script leaves the id in the intermediate list: the job never
/// started, so after the grace period maintenance puts it back on its queue instead of failing it.
@Suite struct IntermediateListTests {
    @Test func aJobLeftBetweenDequeueAndStartGoesBackToItsQueue() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        // What the blocking dequeue does before its start script runs.
        try await redis.send("LMOVE", RQKeys.queue(queue.name), RQKeys.intermediate(queue.name), "LEFT", "RIGHT")
        var maintenance = RegistryMaintenance(redis: redis, logger: Logger(label: "test"))
        _ = await maintenance.clean(queue: queue.name)
        #expect(try await redis.send("LLEN", RQKeys.intermediate(queue.name)).int == 1, "still in its grace period")
        maintenance.intermediateGracePeriod = 0
        try await Task.sleep(for: .milliseconds(20))  // past a grace period of zero
        _ = await maintenance.clean(queue: queue.name)
        #expect(try await redis.send("LLEN", RQKeys.intermediate(queue.name)).int == 0)
        #expect(try await queue.jobIDs() == [job.id])
        #expect(try await job.currentStatus() == .queued)
    }
}
