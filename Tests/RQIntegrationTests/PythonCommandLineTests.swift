import Foundation
import RQ
import RQTesting
import Testing

/// Python RQ's own command lines, run verbatim against swift-rq: only the program changes, from `rq` to `swift-rq`
/// (or, for worker lines, to the runner `example-jobs`, which hosts the same commands and knows the job functions).
/// Each line's effect is checked as a user would check it, and where Python's `rq` can run the same line, its
/// effect on the same Redis is compared.
@Suite struct PythonCommandLineTests {
    /// Runs a Python `rq` line (program word included) as swift-rq, with `RQ_REDIS_URL` set as a Python user would.
    private func swift(_ line: [String], url: String) async throws -> (Int32, String) {
        let program = ["worker", "worker-pool"].contains(line[1]) ? exampleJobsPath : rqPath
        let process = try CommandProcess(program, Array(line.dropFirst()), environment: ["RQ_REDIS_URL": url])
        guard let status = await process.waitForExit(timeout: .seconds(60)) else {
            process.signal(SIGKILL)
            Issue.record("\(line) did not finish: \(process.log)")
            return (-1, process.log)
        }
        return (status, process.log)
    }

    /// Runs the same line with Python RQ 2.12.
    private func python(_ line: [String], url: String) async throws -> String {
        try await Python.execute(
            ["env", "RQ_REDIS_URL=\(url)", "COLUMNS=80", "python3", "-m", "rq.cli"] + line.dropFirst(), url: url)
    }

    private func words(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }

    @Test func pythonCommandLinesRunVerbatim() async throws {
        // rq:suspended is global to a Redis: a server of its own.
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let url = server.url
        let queue = Queue(uniqueName("verbatim"), redis: redis)
        let q = queue.name

        // rq enqueue with options after the function, -S json, TTL strings: the same hash as Python's.
        for (line, idPrefix) in [
            (
                "rq enqueue examples.add :2 :3 -q \(q) -S json --ttl 1h --result-ttl 2d --failure-ttl 30m --timeout 10m",
                "add"
            ),
            (
                "rq enqueue examples.echo %(1,2) k%={'a':(None,True),2:1.5} x=y n:=[1.5] -q \(q) -S json --ttl 90s",
                "echo"
            ),
        ] {
            let (status, output) = try await swift(words(line) + ["--job-id", "swift_\(idPrefix)"], url: url)
            #expect(status == 0, "\(line): \(output)")
            _ = try await python(words(line) + ["--job-id", "python_\(idPrefix)"], url: url)
            let hashes = try await redis.pipeline([
                RedisCommand("HGETALL", "rq:job:swift_\(idPrefix)"),
                RedisCommand("HGETALL", "rq:job:python_\(idPrefix)"),
            ])
            let volatile: Set<String> = ["created_at", "enqueued_at", "data"]
            let swiftFields = hashes[0].fieldPairs.filter { !volatile.contains($0.key) }
            let pythonFields = hashes[1].fieldPairs.filter { !volatile.contains($0.key) }
            #expect(!swiftFields.isEmpty && swiftFields == pythonFields, "\(line)")
            let (swiftJob, pythonJob) = (
                try await Job.fetch(id: "swift_\(idPrefix)", redis: redis),
                try await Job.fetch(id: "python_\(idPrefix)", redis: redis)
            )
            #expect(swiftJob.args == pythonJob.args && swiftJob.kwargs == pythonJob.kwargs, "\(line)")
            #expect(swiftJob.origin == q)
        }
        let add = try await Job.fetch(id: "swift_add", redis: redis)
        #expect(add.ttl == 3600 && add.resultTTL == 172_800 && add.failureTTL == 1800 && add.timeout?.seconds == 600)
        #expect(try await redis.send("TTL", "rq:job:swift_add").int ?? 0 > 3500)
        let echo = try await Job.fetch(id: "swift_echo", redis: redis)
        #expect(echo.args == [[1, 2]] && echo.kwargs == ["k": ["a": [nil, true], "2": 1.5], "x": "y", "n": [1.5]])
        #expect(echo.description == "examples.echo((1, 2), k={'a': (None, True), 2: 1.5}, n=[1.5], x='y')")

        // rq info -S json -R, and plain rq info -S json: what Python prints.
        for line in ["rq info -S json -R \(q)", "rq info -S json -r", "rq info -S json \(q)"] {
            let (status, swiftOutput) = try await swift(words(line), url: url)
            let pythonOutput = try await python(words(line), url: url)
            let comparable: (String) -> [String] = { text in
                text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Updated: ") }.sorted()
            }
            #expect(status == 0 && comparable(swiftOutput) == comparable(pythonOutput), "\(line):\n\(swiftOutput)")
        }

        // rq worker -S json -s -ds round_robin --logging_level WARNING -b: the four jobs run, Python's and Swift's.
        let workerLine = "rq worker -S json -s -ds round_robin --logging_level WARNING -b \(q)"
        var (status, output) = try await swift(words(workerLine), url: url)
        #expect(status == 0, "\(output)")
        for id in ["swift_add", "python_add"] {
            #expect(try await Job.fetch(id: id, redis: redis).result(timeout: .seconds(30)) == 5)
        }
        #expect(try await Job.fetch(id: "python_echo", redis: redis).currentStatus() == .finished)
        #expect(try await queue.count() == 0)
        #expect(!output.contains(" info "), "--logging_level WARNING hides the info lines: \(output)")
        // The same line on Python's worker runs a job the Swift enqueue line wrote.
        _ = try await swift(words("rq enqueue examples.add :20 %22 -q \(q) -S json --job-id for_python"), url: url)
        _ = try await python(words(workerLine), url: url)
        #expect(try await Job.fetch(id: "for_python", redis: redis).result(timeout: .seconds(30)) == 42)

        // rq requeue --queue Q --all -S json; rq empty -S json Q.
        _ = try await swift(words("rq enqueue examples.fail oops -q \(q) -S json --job-id failing"), url: url)
        _ = try await swift(words(workerLine), url: url)
        #expect(try await queue.failedJobRegistry.contains("failing"))
        (status, output) = try await swift(words("rq requeue --queue \(q) --all -S json"), url: url)
        #expect(status == 0 && output.contains("Requeueing 1 jobs from failed queue"), "\(output)")
        #expect(try await queue.jobIDs() == ["failing"])
        (status, output) = try await swift(words("rq requeue --all"), url: url)
        #expect(status != 0 && output.contains("--queue"), "Python requires --queue: \(output)")
        (status, output) = try await swift(words("rq empty -S json \(q)"), url: url)
        #expect(status == 0 && output.contains("1 jobs removed from \(q) queue"), "\(output)")
        #expect(try await queue.count() == 0)

        // rq suspend / rq resume, each checked by Python's own is_suspended.
        let isSuspended = "from rq.suspension import is_suspended; print(json.dumps(bool(is_suspended(r))))"
        (status, _) = try await swift(words("rq suspend -S json"), url: url)
        #expect(status == 0)
        #expect(try await Python.run(isSuspended, url: url) == true)
        (status, _) = try await swift(words("rq resume -S json"), url: url)
        #expect(try await Python.run(isSuspended, url: url) == false)
        (status, _) = try await swift(words("rq suspend --duration 60"), url: url)
        #expect((1...60).contains(try await redis.send("TTL", "rq:suspended").int ?? 0))
        _ = try await swift(words("rq resume"), url: url)

        // rq worker-pool -n 2 -b -S json: two workers share the queue and leave when it is empty.
        for index in 0..<6 {
            _ = try await swift(
                words("rq enqueue examples.add %\(index) :1 -q \(q) -S json --job-id pool_\(index)"), url: url)
        }
        (status, output) = try await swift(words("rq worker-pool -n 2 -b -S json \(q)"), url: url)
        #expect(status == 0, "\(output)")
        for index in 0..<6 {
            #expect(
                try await Job.fetch(id: "pool_\(index)", redis: redis).result(timeout: .seconds(30)) == .int(index + 1))
        }
        #expect(try await redis.send("SCARD", "rq:workers").int == 0)
        await server.stop()
    }

    /// Python's `WorkerPool` starts a new worker when one dies; so does swift-rq's.
    @Test func workerPoolReplacesAWorkerThatDies() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName("pool"), redis: redis)
        let pool = try CommandProcess(exampleJobsPath, ["worker-pool", "-n", "2", "-u", server.url, queue.name])
        func workers() async throws -> [String: Int32] {
            var result: [String: Int32] = [:]
            for key in try await redis.send("SMEMBERS", "rq:workers:\(queue.name)").strings {
                if let pid = try await redis.send("HGET", key, "pid").string.flatMap(Int32.init) { result[key] = pid }
            }
            return result
        }
        #expect(try await eventually(timeout: .seconds(30)) { try await workers().count == 2 }, "\(pool.log)")
        let first = try await workers()
        let victim = try #require(first.values.first)
        kill(victim, SIGKILL)
        // A third worker registers (the killed one's hash stays until its TTL, as with Python's pool).
        #expect(
            try await eventually(timeout: .seconds(30)) {
                let now = try await workers()
                return now.count == 3 && now.values.filter { kill($0, 0) == 0 }.count == 2
            }, "\(pool.log)")
        let jobs = try await (0..<4).asyncMap { try await queue.enqueue("examples.add", args: [.int($0), 1]) }
        for (index, job) in jobs.enumerated() {
            #expect(try await job.result(timeout: .seconds(30)) == .int(index + 1))
        }
        pool.signal(SIGTERM)
        #expect(await pool.waitForExit(timeout: .seconds(20)) == 0, "\(pool.log)")
        let alive = try await workers().values.filter { $0 != victim && kill($0, 0) == 0 }
        #expect(alive.isEmpty, "the pool's workers stop with it")
    }

    /// `-c settings`: Python RQ's settings module, found by module name on the -P path; both CLIs read the same one.
    @Test func settingsModulesAreReadAsPythonReadsThem() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName("settings"), redis: redis)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("settings"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let module = uniqueName("rqsettings").replacingOccurrences(of: "-", with: "_")
        let port = try #require(server.url.split(separator: ":").last?.split(separator: "/").first)
        try """
        \"\"\"Settings for the workers.\"\"\"
        # Python RQ builds the connection from these when REDIS_URL is absent.
        REDIS_HOST = '127.0.0.1'
        REDIS_PORT = \(port)
        REDIS_DB = 0
        QUEUES = [
            '\(queue.name)',  # the only one
        ]
        NAME = 'from-settings-\(queue.name)'
        lower = 'not a setting'
        """.write(to: directory.appendingPathComponent("\(module).py"), atomically: true, encoding: .utf8)
        let job = try await queue.enqueue("examples.add", args: [2, 2])
        let (status, output) = try await runCommand(
            exampleJobsPath, ["worker", "-c", module, "-P", directory.path, "-b", "-S", "json"])
        #expect(status == 0, "\(output)")
        #expect(try await job.result(timeout: .seconds(30)) == 4)
        #expect(output.contains("from-settings-\(queue.name)"))
        // Python's rq info reads the same module and sees the same queue.
        let line = ["info", "-c", module, "-P", directory.path, "-Q", queue.name]
        let (infoStatus, swiftInfo) = try await runCommand(rqPath, line)
        let pythonInfo = try await Python.execute(["env", "COLUMNS=80", "python3", "-m", "rq.cli"] + line, url: "")
        #expect(infoStatus == 0 && swiftInfo == pythonInfo, "\(swiftInfo)\n--- python:\n\(pythonInfo)")

        // Code is not read: the error names the file, the line and what is wrong.
        try "REDIS_URL = 'redis://x'\nimport os\nQUEUES = os.environ['Q']\n".write(
            to: directory.appendingPathComponent("bad.py"), atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try await runCommand(rqPath, ["info", "-c", "bad", "-P", directory.path])
        #expect(badStatus == 1 && badOutput.contains("bad.py, line 2: import os"), "\(badOutput)")
    }

    /// `--exception-handler NAME` runs a handler the runner registered; `-d` keeps the job out of the failed
    /// registry, as in Python.
    @Test func exceptionHandlersByName() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName("handlers"), redis: redis)
        let job = try await queue.enqueue("examples.fail", args: ["handled"])
        let (status, output) = try await runCommand(
            exampleJobsPath,
            [
                "worker", "-u", server.url, "-b", "--exception-handler", "examples.log_failure", "-d",
                "--disable-job-desc-logging", queue.name,
            ])
        #expect(status == 0, "\(output)")
        #expect(try await job.currentStatus() == .failed)
        #expect(try await !queue.failedJobRegistry.contains(job.id))
        let logged = try await redis.send("LRANGE", "examples:exceptions:\(job.id)", 0, -1).strings
        #expect(logged.count == 1 && logged[0].contains("handled"), "\(logged)")
        #expect(!output.contains("examples.fail("), "--disable-job-desc-logging: \(output)")
        let (unknownStatus, unknown) = try await runCommand(
            rqPath, ["worker", "-u", server.url, "-b", "--runner", exampleJobsPath, "--exception-handler", "x.y"])
        #expect(unknownStatus == 64 && unknown.contains("registers no exception handlers"), "\(unknown)")
        let (classStatus, classError) = try await runCommand(rqPath, ["info", "-u", server.url, "-j", "myapp.MyJob"])
        #expect(classStatus == 64 && classError.contains("a class of your own is Python code"), "\(classError)")
    }
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
