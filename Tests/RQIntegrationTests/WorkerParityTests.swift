import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct WorkerParityTests {
    @Test func workersAreListedAcrossLanguages() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let swiftQueue = uniqueName()
        let pythonQueue = uniqueName()
        let swift = RunningWorker.start(queues: [swiftQueue, "\(swiftQueue)-low"], redis: redis, inProcess: true)
        let job = try await Queue(swiftQueue, redis: redis).enqueue("examples.add", args: [1, 2])
        #expect(try await job.result(timeout: .seconds(30)) == 3)
        let python = try Python.startWorker(queues: [pythonQueue], url: server.url)
        defer { python.signal(SIGKILL) }
        #expect(
            try await eventually(timeout: .seconds(20)) {
                try await Worker.all(redis: redis, queue: pythonQueue).count == 1
            }, "\(python.log)")

        // Swift reads the Python worker as Python does.
        let pythonWorker = try #require(try await Worker.all(redis: redis, queue: pythonQueue).first)
        #expect(pythonWorker.queues == [pythonQueue])
        #expect(pythonWorker.pid == Int(python.pid))
        #expect(pythonWorker.version == "2.12.0")
        #expect(pythonWorker.birth != nil && pythonWorker.lastHeartbeat != nil)
        #expect(pythonWorker.pythonVersion?.hasPrefix("3.") == true)
        let everyone = try await Worker.all(redis: redis).map(\.name)
        #expect(everyone.contains(pythonWorker.name) && everyone.contains(swift.pool.name))
        #expect(try await Worker.count(redis: redis, queue: pythonQueue) == 1)

        let swiftWorker = try #require(try await Worker.fetch(name: swift.pool.name, redis: redis))
        #expect(swiftWorker.queues == [swiftQueue, "\(swiftQueue)-low"])
        #expect(swiftWorker.successfulJobCount == 1)
        #expect(swiftWorker.pid == Int(getpid()))

        // Python reads both, and sees what Swift sees.
        let read = try await Python.run(
            """
            from rq.worker import Worker
            def fields(w):
                return {'name': w.name, 'queues': [q.name for q in w.queues], 'state': w.get_state(), 'pid': w.pid,
                        'successful': w.successful_job_count, 'failed': w.failed_job_count,
                        'version': w.version}
            listed = Worker.all(connection=r, queue=Queue('\(swiftQueue)', connection=r))
            print(json.dumps({
                'listed': [w.name for w in listed],
                'swift': fields(Worker.find_by_key('rq:worker:\(swift.pool.name)', connection=r)),
                'python': fields(Worker.find_by_key('rq:worker:\(pythonWorker.name)', connection=r)),
            }))
            """, url: server.url)
        #expect(read["listed"] == [.string(swift.pool.name)])
        for (worker, fields) in [(swiftWorker, read["swift"]), (pythonWorker, read["python"])] {
            #expect(fields?["name"] == .string(worker.name))
            #expect(fields?["queues"] == .array(worker.queues.map(JSONValue.string)))
            #expect(fields?["pid"] == worker.pid.map(JSONValue.int))
            #expect(fields?["successful"] == .int(worker.successfulJobCount))
            #expect(fields?["failed"] == .int(worker.failedJobCount))
            #expect(fields?["version"] == worker.version.map(JSONValue.string))
        }
        #expect(read["swift"]?["state"] == .string(swiftWorker.state))
        #expect(swiftWorker.state == "idle")
        try await swift.stop()
        #expect(try await Worker.fetch(name: swift.pool.name, redis: redis)?.death != nil)
        #expect(try await Worker.all(redis: redis, queue: swiftQueue).isEmpty)
    }

    @Test func swiftSendsCommandsThatPythonAndSwiftWorkersObey() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let python = try Python.startWorker(queues: [queue.name], url: server.url)
        defer { python.signal(SIGKILL) }
        #expect(
            try await eventually(timeout: .seconds(20)) { try await Worker.count(redis: redis, queue: queue.name) == 1 }
        )
        let pythonName = try #require(try await Worker.all(redis: redis, queue: queue.name).first?.name)

        // stop-job: the Python worker stops the job as it stops one for Python's send_stop_job_command.
        let stopped = try await queue.enqueue("examples.sleep", args: [30])
        #expect(try await eventually(timeout: .seconds(20)) { try await stopped.currentStatus() == .started })
        #expect(try await Worker.sendStopJobCommand(jobID: stopped.id, redis: redis) == 1)
        #expect(try await eventually(timeout: .seconds(20)) { try await stopped.currentStatus() == .stopped })
        #expect(try await queue.failedJobRegistry.contains(stopped.id))

        // kill-horse: the job fails, the worker goes on.
        let killed = try await queue.enqueue("examples.sleep", args: [30])
        #expect(try await eventually(timeout: .seconds(20)) { try await killed.currentStatus() == .started })
        #expect(try await Worker.sendKillHorseCommand(to: pythonName, redis: redis) == 1)
        #expect(try await eventually(timeout: .seconds(20)) { try await killed.currentStatus() == .failed })
        let text = try #require(try await killed.latestResult()?.excString)
        #expect(text.contains("Work-horse terminated unexpectedly"), "\(text)")

        // shutdown: the Python worker leaves.
        #expect(try await Worker.sendShutdownCommand(to: pythonName, redis: redis) == 1)
        #expect(await python.waitForExit(timeout: .seconds(20)) == 0, "\(python.log)")
        #expect(try await Worker.count(redis: redis, queue: queue.name) == 0)

        // A job that never started has no worker to tell, as in Python.
        let waiting = try await queue.enqueue("examples.noop")
        await #expect(throws: RQError.self) { try await Worker.sendStopJobCommand(jobID: waiting.id, redis: redis) }
        await #expect(throws: RQError.self) { try await Worker.sendStopJobCommand(jobID: uniqueName(), redis: redis) }

        // The same commands reach a Swift worker.
        let swiftQueue = Queue(uniqueName(), redis: redis)
        let swift = RunningWorker.start(queues: [swiftQueue.name], redis: redis)
        let swiftJob = try await swiftQueue.enqueue(ExampleFunctions.sleep, 30)
        #expect(try await eventually { try await swiftJob.currentStatus() == .started })
        try await Worker.sendStopJobCommand(jobID: swiftJob.id, redis: redis)
        #expect(try await eventually { try await swiftJob.currentStatus() == .stopped })
        let swiftKilled = try await swiftQueue.enqueue(ExampleFunctions.sleep, 30)
        #expect(try await eventually { try await swiftKilled.currentStatus() == .started })
        try await Worker.sendKillHorseCommand(to: swift.pool.name, redis: redis)
        #expect(try await eventually { try await swiftKilled.currentStatus() == .failed })
        try await Worker.sendShutdownCommand(to: swift.pool.name, redis: redis)
        try await swift.task.value
    }

    @Test func suspendAndResumeAsPythonDoes() async throws {
        // Suspension stops every worker of a server: a server of its own.
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let check =
            "from rq.suspension import is_suspended\nprint(json.dumps([bool(is_suspended(r)), r.ttl('rq:suspended')]))"

        try await Worker.suspend(redis: redis, for: .seconds(100))
        let timed = try await Python.run(check, url: server.url)
        #expect(timed.arrayValue?[0] == true)
        #expect((1...100).contains(timed.arrayValue?[1].intValue ?? 0))
        _ = try await Python.run("from rq.suspension import resume\nresume(r)\nprint('null')", url: server.url)
        #expect(try await !Worker.isSuspended(redis: redis))
        _ = try await Python.run("from rq.suspension import suspend\nsuspend(r)\nprint('null')", url: server.url)
        #expect(try await Worker.isSuspended(redis: redis))

        // A suspended burst worker takes nothing and stops, as Python's does.
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue("examples.noop")
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true)
        try await worker.task.value
        #expect(try await job.currentStatus() == .queued)

        try await Worker.resume(redis: redis)
        #expect(try await Python.run(check, url: server.url) == [false, -2])

        // The command line goes through the same calls.
        let suspend = try CommandProcess(
            builtExecutable("swift-rq"), ["suspend", "-u", server.url, "--duration", "50"])
        #expect(await suspend.waitForExit(timeout: .seconds(20)) == 0, "\(suspend.log)")
        let byCommandLine = try await Python.run(check, url: server.url)
        #expect(byCommandLine.arrayValue?[0] == true)
        #expect((1...50).contains(byCommandLine.arrayValue?[1].intValue ?? 0))
        let resume = try CommandProcess(builtExecutable("swift-rq"), ["resume", "-u", server.url])
        #expect(await resume.waitForExit(timeout: .seconds(20)) == 0, "\(resume.log)")
        #expect(try await !Worker.isSuspended(redis: redis))
        await server.stop()
    }

    @Test func roundRobinRotatesPastTheServingQueueAsPythonDoes() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        /// Queues A (empty), B (three jobs) and C (one); returns the roles in the order the jobs started.
        func run(_ work: ([String]) async throws -> Void) async throws -> [String] {
            let queues = ["a", "b", "c"].map { uniqueName($0) }
            var roles: [String: String] = [:]
            for (queue, names) in zip(queues, [[], ["b1", "b2", "b3"], ["c1"]]) {
                for name in names {
                    roles[try await Queue(queue, redis: redis).enqueue("examples.noop").id] = name
                }
            }
            try await work(queues)
            let jobs = try await Job.fetchMany(ids: Array(roles.keys), redis: redis).compactMap { $0 }
            #expect(jobs.allSatisfy { $0.status == .finished })
            return jobs.sorted { ($0.startedAt ?? .distantFuture) < ($1.startedAt ?? .distantFuture) }.map {
                roles[$0.id]!
            }
        }
        let python = try await run { queues in
            try await Python.burstWorker(queues: queues, url: server.url, extra: ["-ds", "round_robin"])
        }
        let swift = try await run { queues in
            let worker = RunningWorker.start(queues: queues, redis: redis, inProcess: true, burst: true) {
                $0.dequeueStrategy = .roundRobin
            }
            try await worker.task.value
        }
        // After B serves b1 the order is C, A, B: C serves c1, then B the rest.
        #expect(python == ["b1", "c1", "b2", "b3"])
        #expect(swift == python)
    }
}
