import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct WorkerControlTests {
    @Test func pythonStopJobCommandStopsASwiftJobAndShutdownIsWarm() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis)
        let long = try await queue.enqueue(ExampleFunctions.sleep, 30)
        #expect(try await eventually { try await long.currentStatus() == .started })
        _ = try await Python.run(
            """
            from rq.command import send_stop_job_command
            send_stop_job_command(r, '\(long.id)', serializer=JSONSerializer)
            print('null')
            """, url: server.url)
        let result = try await long.waitForResult(timeout: .seconds(30))
        #expect(result.excString == "Job stopped by user, work-horse terminated.")
        #expect(try await long.currentStatus() == .stopped)
        #expect(try await queue.failedJobRegistry.contains(long.id))

        // A warm shutdown lets the running job finish, then the worker leaves.
        let short = try await queue.enqueue(ExampleFunctions.sleep, 1)
        #expect(try await eventually { try await short.currentStatus() == .started })
        _ = try await Python.run(
            """
            from rq.command import send_shutdown_command
            send_shutdown_command(r, '\(worker.pool.name)')
            print('null')
            """, url: server.url)
        try await worker.task.value
        #expect(try await short.currentStatus() == .finished)
        #expect(try await !redis.send("SMEMBERS", "rq:workers").strings.contains("rq:worker:\(worker.pool.name)"))
    }

    @Test func sigtermIsWarmAndASecondSigtermIsCold() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)

        // First SIGTERM during a job: the job finishes, the worker exits 0. (The job is long enough for the test to see
        // it started on a loaded machine.)
        let first = try await queue.enqueue(ExampleFunctions.sleep, 5)
        let process = try CommandProcess(exampleJobsPath, ["worker", "-u", server.url, queue.name])
        #expect(try await eventually { try await first.currentStatus() == .started }, "\(process.log)")
        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: .seconds(30)) == 0, "\(process.log)")
        #expect(try await first.currentStatus() == .finished)

        // A second SIGTERM stops the running job: it ends failed, not lost.
        let second = try await queue.enqueue(ExampleFunctions.sleep, 30)
        let again = try CommandProcess(exampleJobsPath, ["worker", "-u", server.url, queue.name])
        #expect(try await eventually { try await second.currentStatus() == .started }, "\(again.log)")
        again.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(200))
        again.signal(SIGTERM)
        #expect(await again.waitForExit(timeout: .seconds(15)) != nil, "\(again.log)")
        #expect(try await second.currentStatus() == .failed)
        let text = try #require(try await second.latestResult()?.excString)
        #expect(text.hasPrefix("Job was stopped by a cold shutdown of worker "), "\(text)")
        #expect(again.log.contains("Cold shut down"), "\(again.log)")
        #expect(try await queue.failedJobRegistry.contains(second.id))
    }

    @Test func aRebuiltRunnerRunsTheNextJobWithoutAWorkerRestart() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("runner"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let runner = directory.appendingPathComponent("my-jobs").path
        // Version 1 is the example runner.
        try "#!/bin/sh\nexec '\(exampleJobsPath)' \"$@\"\n".write(toFile: runner, atomically: true, encoding: .utf8)
        chmod(runner, 0o755)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) {
            $0.execution = .horse(runner: runner)
        }
        let before = try await queue.enqueue(ExampleFunctions.add, 1, 1)
        #expect(try await before.result(timeout: .seconds(30)) == 2)

        // "Rebuild" from another process, as a compiler would: version 2 answers every job with "v2" (a horse
        // reads its job on stdin and reports on fd 3).
        let version2 = "#!/bin/sh\ncat > /dev/null\nprintf '{\"ok\": true, \"value\": \"v2\"}' >&3\n"
        let build = try CommandProcess(
            "/bin/sh",
            [
                "-c",
                "printf '%s' \"$0\" > '\(runner).new' && chmod 755 '\(runner).new' && mv '\(runner).new' '\(runner)'",
                version2,
            ])
        #expect(await build.waitForExit(timeout: .seconds(10)) == 0, "\(build.log)")
        let after = try await queue.enqueue("examples.add", args: [1, 1])
        #expect(try await after.result(timeout: .seconds(30)) == "v2")
        try await worker.stop()
    }

    @Test func aKilledWorkersJobIsFailedAsAbandonedByMaintenance() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue(ExampleFunctions.sleep, 300)
        let process = try CommandProcess(
            exampleJobsPath, ["worker", "-u", server.url, "--job-monitoring-interval", "1", queue.name])
        #expect(try await eventually { try await job.currentStatus() == .started }, "\(process.log)")
        process.signal(SIGKILL)
        _ = await process.waitForExit(timeout: .seconds(5))
        // With a 1 s monitoring interval the started-registry entry expires 61 s after the last heartbeat.
        #expect(
            try await eventually(timeout: .seconds(90), every: .seconds(2)) {
                // Python's maintenance (as `rq info` runs it) or ours: use Python's.
                _ = try await Python.execute(
                    ["python3", "-m", "rq.cli", "info", "-u", server.url, queue.name], url: server.url)
                return try await job.currentStatus() == .failed
            })
        let text = try #require(try await job.latestResult()?.excString)
        #expect(text.contains("AbandonedJobError"), "\(text)")
        #expect(try await queue.failedJobRegistry.contains(job.id))
    }

    @Test func aJobLongerThanTheHeartbeatTTLIsNotAbandoned() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) {
            $0.jobMonitoringInterval = .seconds(30)
        }
        let job = try await queue.enqueue(ExampleFunctions.sleep, 100, options: EnqueueOptions(timeout: 200))
        #expect(try await eventually { try await job.currentStatus() == .started })
        // Past the 90 s heartbeat TTL, Python's maintenance (run by rq info) must still see a live job.
        try await Task.sleep(for: .seconds(95))
        _ = try await Python.execute(
            ["python3", "-m", "rq.cli", "info", "-u", server.url, queue.name], url: server.url)
        #expect(try await job.currentStatus() == .started)
        #expect(try await job.result(timeout: .seconds(30)) == 100)
        try await worker.stop()
    }

    /// A service that embeds a pool with itself as the runner but forgets `runHorseIfRequested()`: its horses must
    /// not start the service again. One worker registers; the job fails naming the missing call.
    @Test func aServiceThatForgetsRunHorseIfRequestedFailsTheJobAndNeverMultiplies() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let service = try CommandProcess(
            builtExecutable("ForgetfulService"), [], environment: ["RQ_REDIS_URL": server.url, "RQ_QUEUE": queue.name])
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        #expect(try await eventually { try await job.currentStatus() == .failed }, "\(service.log)")
        let text = try #require(try await job.latestResult()?.excString)
        #expect(text.contains("runHorseIfRequested()"), "\(text)")
        // More jobs go the same way, and still only the one worker exists.
        let more = try await queue.enqueueMany((0..<4).map { _ in EnqueueRequest("examples.noop") })
        for other in more { #expect(try await eventually { try await other.currentStatus() == .failed }) }
        #expect(try await redis.send("SCARD", "rq:workers:\(queue.name)").int == 1)
        service.signal(SIGTERM)
        #expect(await service.waitForExit(timeout: .seconds(15)) == 0, "\(service.log)")
        #expect(try await redis.send("SCARD", "rq:workers:\(queue.name)").int == 0)
    }

    @Test func theServiceGroupExampleShutsDownGracefully() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        // Long enough for the test to see it started on a loaded machine.
        let job = try await queue.enqueue(ExampleFunctions.sleep, 5)
        let service = try CommandProcess(builtExecutable("service-example"), [server.url, queue.name])
        #expect(try await eventually { try await job.currentStatus() == .started }, "\(service.log)")
        service.signal(SIGTERM)
        #expect(await service.waitForExit(timeout: .seconds(15)) == 0, "\(service.log)")
        #expect(try await job.currentStatus() == .finished)
        #expect(service.log.contains("service stopped"))
    }
}
