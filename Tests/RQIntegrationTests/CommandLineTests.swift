import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// Runs a command to completion and returns its exit status and combined output.
func runCommand(_ path: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (Int32, String)
{
    let process = try CommandProcess(path, arguments)
    guard let status = await process.waitForExit(timeout: timeout) else {
        process.signal(SIGKILL)
        throw PythonError.failed(status: -1, stderr: "\(path) \(arguments) did not finish: \(process.log)")
    }
    return (status, process.log)
}

let rqPath = builtExecutable("swift-rq")

@Suite struct CommandLineTests {
    /// Lines that do not change between two runs: no "Updated:" time, sorted (Python prints workers from a set).
    private func comparable(_ output: String) -> [String] {
        output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.hasPrefix("Updated: ") }.sorted()
    }

    @Test func infoPrintsWhatPythonPrintsInEveryMode() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let high = uniqueName("high")
        let low = uniqueName("low")
        for index in 0..<7 { try await Queue(high, redis: redis).enqueue("examples.add", args: [.int(index), 1]) }
        try await Queue(low, redis: redis).enqueue("examples.noop")
        let failing = try await Queue(low, redis: redis).enqueue("examples.fail", args: ["x"])
        try await Python.burstWorker(queues: [low], url: server.url)
        _ = failing
        // A Python worker on the low queue (now empty), then suspension, then a Swift worker that must not take the
        // queued jobs either.
        let python = try Python.startWorker(queues: [low], url: server.url, extra: ["-n", "python-worker"])
        #expect(
            try await eventually { try await redis.send("EXISTS", "rq:worker:python-worker").int == 1 }, "\(python.log)"
        )
        try await redis.send("SET", "rq:suspended", "1")
        let swift = RunningWorker.start(queues: [high, low], redis: redis, inProcess: true) { $0.name = "swift-worker" }
        #expect(
            try await eventually {
                try await redis.send("HGET", "rq:worker:swift-worker", "state").string == "suspended"
            })

        for mode in [[], ["-Q"], ["-W"], ["-R"], ["-r"], ["-r", "-W"], ["-R", high]] {
            let pythonOutput = try await Python.execute(
                ["env", "COLUMNS=80", "python3", "-m", "rq.cli", "info", "-u", server.url] + mode, url: server.url)
            let (status, swiftOutput) = try await runCommand(rqPath, ["info", "-u", server.url] + mode)
            #expect(status == 0)
            #expect(
                comparable(swiftOutput) == comparable(pythonOutput),
                "mode \(mode):\n\(swiftOutput)\n--- python:\n\(pythonOutput)")
        }
        python.signal(SIGTERM)
        _ = await python.waitForExit(timeout: .seconds(10))
        try await redis.send("DEL", "rq:suspended")
        try await swift.stop()
        await server.stop()
    }

    @Test func infoWithAnIntervalRefreshesInPlaceOnATerminal() async throws {
        // Its own server: what is drawn must not depend on how many queues other tests have left behind.
        let server = try await RedisServer.start()
        // Python's pty module gives the command a real terminal; we read what it draws until three screens have
        // been drawn (or 30 s pass on a very slow machine), then look at those three screens.
        let counts = try await Python.run(
            """
            import pty, time, select, signal
            pid, fd = pty.fork()
            if pid == 0:
                os.execv('\(rqPath)', ['rq', 'info', '-u', os.environ['REDIS_URL'], '-i', '1'])
            data = b''
            end = time.time() + 30
            while time.time() < end and data.count(b'Updated:') < 3:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    try:
                        data += os.read(fd, 65536)
                    except OSError:
                        break
            os.kill(pid, signal.SIGTERM)
            text = data.decode('utf-8', 'replace')
            cut = 0
            for _ in range(3):
                found = text.find('Updated:', cut)
                if found < 0:
                    break
                cut = found + len('Updated:')
            text = text[:cut]
            print(json.dumps({'clears': text.count('\\x1b[2J'), 'updates': text.count('Updated:')}))
            """, url: server.url)
        #expect(counts["updates"]?.intValue == 3, "three screens drawn: \(counts)")
        #expect(counts["clears"] == counts["updates"], "each refresh clears the screen first: \(counts)")
        await server.stop()
    }

    /// Options after the function and its arguments are options, as in Python's `rq enqueue` (they were once
    /// taken for job arguments); `--` ends them.
    @Test func enqueueTakesOptionsAnywhereAsPythonDoes() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = uniqueName()
        let after = ["examples.add", ":2", ":3", "-u", server.url, "-q", queue, "--job-id"]
        var (status, output) = try await runCommand(rqPath, ["enqueue"] + after + ["swift_\(queue)"])
        #expect(status == 0, "\(output)")
        _ = try await Python.execute(
            ["python3", "-m", "rq.cli", "enqueue", "-S", "json"] + after + ["python_\(queue)"], url: server.url)
        for id in ["swift_\(queue)", "python_\(queue)"] {
            let job = try await Job.fetch(id: id, redis: redis)
            #expect(job.origin == queue && job.functionName == "examples.add" && job.args == [2, 3], "\(id)")
        }
        (status, output) = try await runCommand(
            rqPath,
            ["enqueue", "-u", server.url, "-q", queue, "--job-id", "dash_\(queue)", "examples.echo", "--", "-x"])
        #expect(status == 0, "\(output)")
        #expect(try await Job.fetch(id: "dash_\(queue)", redis: redis).args == ["-x"])
    }

    /// A worker line written for Python RQ (a Procfile, a systemd unit) runs a Swift worker with Python's meanings:
    /// -S json, -w SimpleWorker, -ds, --logging_level, -s, -d.
    @Test func pythonsWorkerOptionsMeanWhatTheyMeanInPython() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let (high, low) = (Queue(uniqueName("high"), redis: redis), Queue(uniqueName("low"), redis: redis))
        let added = try await low.enqueue("examples.add", args: [1, 2])
        let failing = try await high.enqueue("examples.fail", args: ["no registry"])
        let scheduled = try await high.enqueue(in: .milliseconds(200), "examples.add", args: [3, 4])
        let line = [
            "worker", "-S", "rq.serializers.JSONSerializer", "-w", "rq.worker.SimpleWorker", "-ds", "round_robin",
            "--logging_level", "INFO", "-s", "-d", "-u", server.url, high.name, low.name,
        ]
        let process = try CommandProcess(exampleJobsPath, line)
        #expect(try await eventually { try await scheduled.currentStatus() == .finished }, "\(process.log)")
        #expect(try await added.result(timeout: .seconds(30)) == 3)
        #expect(try await failing.currentStatus() == .failed)
        #expect(try await !high.failedJobRegistry.contains(failing.id))  // -d: no default exception handler
        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: .seconds(10)) == 0, "\(process.log)")

        for (option, message) in [
            (["-S", "myapp.MySerializer"], "unknown serializer"),
            (["-w", "myapp.MyWorker"], "a worker class of your own"),
        ] {
            let (status, output) = try await runCommand(exampleJobsPath, ["worker", "-b", "-u", server.url] + option)
            #expect(status == 64 && output.contains(message), "\(output)")
        }
        let (status, output) = try await runCommand(rqPath, ["--version"])
        #expect(status == 0 && output.hasPrefix("swift-rq "), "\(output)")
    }

    @Test func enqueueWritesWhatPythonsEnqueueWritesAndBothWorkersRunIt() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = uniqueName()
        let parent = try await Queue(queue, redis: redis).enqueue("examples.noop")
        let options = [
            "-q", queue, "--timeout", "1h", "--result-ttl", "77", "--ttl", "600", "--failure-ttl", "99",
            "--depends-on", parent.id, "--retry-max", "2", "--retry-interval", "3", "--retry-interval", "5",
            "--description", "custom",
        ]
        let arguments = ["mymod.func", "text", ":[1, {\"a\": null}]", "k=v", "n:=2.5"]
        let (status, output) = try await runCommand(
            rqPath, ["enqueue", "-u", server.url, "--job-id", "swift_cli"] + options + arguments)
        #expect(status == 0, "\(output)")
        #expect(output.contains("with job-id 'swift_cli'"))
        _ = try await Python.execute(
            ["python3", "-m", "rq.cli", "enqueue", "-S", "json", "-u", server.url, "--job-id", "python_cli"] + options
                + arguments, url: server.url)
        let hashes = try await redis.pipeline([
            RedisCommand("HGETALL", "rq:job:swift_cli"), RedisCommand("HGETALL", "rq:job:python_cli"),
        ])
        // `data` holds the same call: compressed by Python, plain JSON (short) from Swift; both read back alike.
        let volatile: Set<String> = ["created_at", "enqueued_at", "data"]
        let swiftFields = hashes[0].fieldPairs.filter { !volatile.contains($0.key) }
        let pythonFields = hashes[1].fieldPairs.filter { !volatile.contains($0.key) }
        #expect(Set(hashes[0].fieldPairs.keys) == Set(hashes[1].fieldPairs.keys))
        let (swiftJob, pythonJob) = (
            try await Job.fetch(id: "swift_cli", redis: redis), try await Job.fetch(id: "python_cli", redis: redis)
        )
        #expect(swiftJob.functionName == pythonJob.functionName)
        #expect(swiftJob.args == pythonJob.args && swiftJob.kwargs == pythonJob.kwargs)
        for (field, value) in pythonFields {
            #expect(
                swiftFields[field] == value,
                "field \(field): \(String(decoding: swiftFields[field] ?? [], as: UTF8.self)) vs \(String(decoding: value, as: UTF8.self))"
            )
        }

        // The same command line runs on a Python and on a Swift worker, with the same result.
        let forPython = try await runCommand(
            rqPath, ["enqueue", "-u", server.url, "-q", queue, "--job-id", "add_py", "examples.add", ":2", ":3"])
        #expect(forPython.0 == 0)
        try await redis.send("DEL", "rq:queue:\(queue)")
        try await redis.send("RPUSH", "rq:queue:\(queue)", "add_py")
        try await Python.burstWorker(queues: [queue], url: server.url)
        _ = try await runCommand(
            rqPath, ["enqueue", "-u", server.url, "-q", queue, "--job-id", "add_swift", "examples.add", ":2", ":3"])
        let worker = RunningWorker.start(queues: [queue], redis: redis, inProcess: true, burst: true)
        try await worker.task.value
        #expect(try await Job.fetch(id: "add_py", redis: redis).result(timeout: .seconds(1)) == 5)
        #expect(try await Job.fetch(id: "add_swift", redis: redis).result(timeout: .seconds(1)) == 5)
    }

    @Test func requeueEmptySuspendAndResumeBehaveAsPythons() async throws {
        // rq:suspended is global to a Redis: this test gets a server of its own.
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let name = uniqueName()
        let queue = Queue(name, redis: redis)
        // One failure written by Python's worker, one by Swift's.
        let pythonFailed = try await queue.enqueue("examples.fail", args: ["py"])
        try await Python.burstWorker(queues: [name], url: server.url)
        let swiftFailed = try await queue.enqueue("examples.fail", args: ["swift"])
        try await RunningWorker.start(queues: [name], redis: redis, inProcess: true, burst: true).task.value
        #expect(try await queue.failedJobRegistry.count() == 2)

        var (status, output) = try await runCommand(rqPath, ["requeue", "-u", server.url, "--queue", name, "--all"])
        #expect(status == 0)
        #expect(output.contains("Requeueing 2 jobs from failed queue"))
        #expect(Set(try await queue.jobIDs()) == [pythonFailed.id, swiftFailed.id])
        #expect(try await queue.failedJobRegistry.count() == 0)
        (status, output) = try await runCommand(rqPath, ["requeue", "-u", server.url, "--queue", name, "no-such-job"])
        #expect(status != 0)
        #expect(output.contains("Unable to requeue 1 jobs"), "\(output)")

        (status, output) = try await runCommand(rqPath, ["empty", "-u", server.url, name])
        #expect(status == 0)
        #expect(output.contains("2 jobs removed from \(name) queue"))
        #expect(try await queue.count() == 0)

        (status, output) = try await runCommand(rqPath, ["suspend", "-u", server.url])
        #expect(output.contains("Suspending workers."))
        #expect(try await redis.send("EXISTS", "rq:suspended").int == 1)
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 1)
        let worker = RunningWorker.start(queues: [name], redis: redis, inProcess: true)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await job.currentStatus() == .queued, "a suspended worker takes no job")
        (status, output) = try await runCommand(
            rqPath, ["worker", "-u", server.url, "--runner", exampleJobsPath, "-b", name])
        #expect(status == 1)
        #expect(output.contains("RQ is currently suspended"))
        (status, output) = try await runCommand(rqPath, ["resume", "-u", server.url])
        #expect(output.contains("Resuming workers."))
        #expect(try await job.result(timeout: .seconds(30)) == 2)
        try await worker.stop()
        (status, _) = try await runCommand(rqPath, ["suspend", "-u", server.url, "--duration", "30"])
        #expect(try await redis.send("TTL", "rq:suspended").int ?? 0 > 25)
        await server.stop()
    }

    @Test func workerTakesSettingsFromAFileAndOptionsOverrideIt() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let fromFile = uniqueName("file")
        let fromOption = uniqueName("option")
        let settings = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("settings")).json")
        try """
        {"REDIS_URL": "\(server.url)", "QUEUES": ["\(fromFile)"], "NAME": "configured-\(fromFile)",
         "runner": "\(exampleJobsPath)", "results_ttl": 42}
        """.write(to: settings, atomically: true, encoding: .utf8)
        let first = try await Queue(fromFile, redis: redis).enqueue(ExampleFunctions.add, 1, 2)
        var (status, output) = try await runCommand(rqPath, ["worker", "-c", settings.path, "-b"])
        #expect(status == 0, "\(output)")
        #expect(try await first.result(timeout: .seconds(1)) == 3)
        #expect(
            logHasLine(output, "Result kept", metadata: ["rq.job_id": first.id, "rq.result_ttl": "42"]), "\(output)")
        #expect(try await redis.send("TTL", "rq:job:\(first.id)").int ?? 0 <= 42)
        #expect(try await redis.send("HGET", "rq:worker:configured-\(fromFile)", "queues").string == fromFile)

        let second = try await Queue(fromOption, redis: redis).enqueue(ExampleFunctions.add, 2, 2)
        (status, output) = try await runCommand(
            rqPath, ["worker", "-c", settings.path, "-b", "--results-ttl", "7", fromOption])
        #expect(status == 0, "\(output)")
        #expect(try await second.result(timeout: .seconds(1)) == 4)
        #expect(
            logHasLine(output, "Result kept", metadata: ["rq.job_id": second.id, "rq.result_ttl": "7"]), "\(output)")
    }

    @Test func everyCommandExplainsItsOptionsAndErrorsAreOneLine() async throws {
        for command in ["worker", "worker-pool", "info", "enqueue", "requeue", "empty", "suspend", "resume"] {
            let (status, output) = try await runCommand(rqPath, [command, "--help"])
            #expect(status == 0)
            #expect(output.contains("-u, --url <url>"), "\(command): \(output)")
            #expect(output.contains("Redis URL"))
        }
        let (_, workerHelp) = try await runCommand(rqPath, ["worker", "--help"])
        for option in [
            "--burst", "--name", "--results-ttl", "--worker-ttl", "--job-monitoring-interval", "--max-jobs",
            "--dequeue-strategy", "--logging-level", "--pid", "--runner", "--concurrency",
        ] {
            #expect(workerHelp.contains(option), "worker --help lacks \(option)")
        }
        let port = try RedisServer.freePort()
        // A refused first connection is reported at once, not after the 5 s of a reconnect's backoff. The time is
        // measured against a run that never connects, so a loaded machine's slow process start cancels out.
        let clock = ContinuousClock()
        var started = clock.now
        _ = try await runCommand(rqPath, ["--version"])
        let startupTime = clock.now - started
        started = clock.now
        var (status, output) = try await runCommand(rqPath, ["info", "-u", "redis://127.0.0.1:\(port)/0"])
        #expect(clock.now - started - startupTime < .seconds(4), "a refused connection was retried")
        #expect(status == 1)
        #expect(
            output.trimmingCharacters(in: .newlines)
                == "Error: could not connect to Redis at 127.0.0.1:\(port): Connection refused")
        (status, output) = try await runCommand(rqPath, ["info", "-u", "redis://localhost:nope/0"])
        #expect(status == 1)
        #expect(
            output.trimmingCharacters(in: .newlines)
                == "Error: invalid Redis URL 'redis://localhost:nope/0': invalid port 'nope'")
        #expect(!output.contains("Fatal error") && !output.contains("Stack"))
        (status, output) = try await runCommand(rqPath, ["enqueue", "f", ":{bad json"])
        #expect(status != 0)
        #expect(output.contains("Unable to parse 1. non keyword argument as JSON."))
    }
}
