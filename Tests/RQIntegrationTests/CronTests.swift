import ExampleFunctions
import Foundation
import Logging
import RQ
import RQTesting
import Testing

@Suite struct CronTests {
    private func quietLogger() -> Logger {
        var logger = Logger(label: "rq.cron.test")
        logger.logLevel = .critical
        return logger
    }

    /// The acceptance check: a job every 2 s, a scheduler in this process and an `rq cron` process running side by
    /// side for 10 s, enqueue one job per tick — 5 (±1) — and never a tick twice.
    @Test func twoCronSchedulersEnqueueEachTickOnce() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = uniqueName()
        let cronName = uniqueName("cron")
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("\(cronName).json")
        try Data(
            #"{"jobs": [{"function": "examples.add", "args": [1, 2], "queue": "\#(queue)", "interval": 2, "name": "\#(cronName)"}]}"#
                .utf8
        ).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }

        let process = try CommandProcess(rqPath, ["cron", "-u", server.url, "--name", "\(cronName)-cli", config.path])
        let inProcess = try CronScheduler(
            redis: redis,
            jobs: [CronJob("examples.add", args: [1, 2], queue: queue, schedule: .every(seconds: 2), name: cronName)],
            name: "\(cronName)-swift", logger: quietLogger())
        let started = Date()
        let running = Task { try await inProcess.run() }
        let stopAt = ContinuousClock.now + .seconds(10)
        try await Task.sleep(for: .seconds(5))

        // While both run, Python's monitoring sees both schedulers and the cron job's history.
        let seen = try await Python.run(
            """
            from rq.cron import CronScheduler, get_cron_job_ids
            names = sorted(s.name for s in CronScheduler.all(r) if s.name.startswith('\(cronName)'))
            jobs = [j.name for s in CronScheduler.all(r) if s.name == '\(cronName)-swift' for j in s.get_jobs()]
            print(json.dumps({'schedulers': names, 'jobs': jobs, 'ids': get_cron_job_ids('\(cronName)', r)}))
            """, url: server.url)
        try await Task.sleep(until: stopAt)
        process.signal(SIGTERM)
        inProcess.triggerGracefulShutdown()
        try await running.value
        #expect(await process.waitForExit(timeout: .seconds(10)) == 0, "\(process.log)")

        let ids = try await redis.send("LRANGE", "rq:queue:\(queue)", 0, -1).array?.compactMap(\.string) ?? []
        #expect(Set(ids).count == ids.count)
        let jobs = try await Job.fetchMany(ids: ids, redis: redis).compactMap { $0 }
        let times = jobs.compactMap(\.enqueuedAt).sorted()
        // Each job belongs to the 2 s tick it was enqueued for: no tick may appear twice.
        let ticks = times.map { Int(($0.timeIntervalSince1970 / 2).rounded(.down)) }
        #expect(Set(ticks).count == ticks.count, "a tick was enqueued twice: \(times)")
        // A busy machine can stretch the test; count the ticks of the first 10 s.
        let inWindow = times.filter { $0 < started.addingTimeInterval(10) }.count
        #expect((4...6).contains(inWindow), "\(inWindow) jobs in 10 s at one every 2 s")
        #expect(jobs.allSatisfy { $0.resultTTL == 500 && $0.functionName == "examples.add" })

        #expect(seen["schedulers"] == .array([.string("\(cronName)-cli"), .string("\(cronName)-swift")]))
        #expect(seen["jobs"] == [.string(cronName)])
        let historyIDs = Set(seen["ids"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(!historyIDs.isEmpty && historyIDs.isSubset(of: Set(ids)))
        #expect(try await redis.send("ZSCORE", "rq:cron_jobs", cronName).string != nil)
        // Both unregistered on shutdown.
        let left = try await redis.send("ZRANGE", "rq:cron_schedulers", 0, -1).array?.compactMap(\.string) ?? []
        #expect(!left.contains { $0.hasPrefix(cronName) })

        // And the jobs run.
        try await RunningWorker.start(queues: [queue], redis: redis, inProcess: true, burst: true).task.value
        #expect(try await jobs.first?.result(timeout: .seconds(30)) == 3)
    }

    /// The README's `rq cron Examples/cron.json`, run as shipped: the `rq` binary links FoundationEssentials only, so
    /// its cron job's next tick is computed without a time-zone database. It registers, shows the next tick of the
    /// cron-expression job, enqueues the interval job, and exits 0 on SIGTERM.
    @Test func rqCronRunsTheExampleConfiguration() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/cron.json").path
        let name = uniqueName("cron")
        let started = Date()
        let process = try CommandProcess(rqPath, ["cron", "-u", server.url, "--name", name, example])
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await redis.send("LLEN", "rq:queue:default").int ?? 0 > 0
            }, "\(process.log)")
        #expect(try await redis.send("ZSCORE", "rq:cron_schedulers", name).string != nil)

        let entries = try await redis.send("HGET", "rq:cron_scheduler:\(name)", "cron_jobs").string ?? "[]"
        let hourly = try JSONValue(parsing: Array(entries.utf8)).arrayValue?.first {
            $0["cron"] == .string("0 * * * *")
        }
        // The next whole hour after the scheduler started (it started between `started` and now).
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:00:00.000000'Z'"
        let nextHours = [started, Date()].map { formatter.string(from: $0.addingTimeInterval(3600)) }
        #expect(nextHours.contains(hourly?["next_enqueue_time"]?.stringValue ?? ""), "\(entries)")

        let id = try await redis.send("LINDEX", "rq:queue:default", 0).string ?? ""
        let job = try await Job.fetch(id: id, redis: redis)
        #expect(job.functionName == "examples.add" && job.args == [2, 3])

        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: .seconds(10)) == 0, "\(process.log)")
        #expect(try await redis.send("ZSCORE", "rq:cron_schedulers", name).string == nil)
    }

    @Test func cronExpressionsAgreeWithCroniter() async throws {
        let server = try await SharedRedis.server()
        let expressions = [
            "*/5 * * * *", "0 6 * * *", "30 7 * * mon-fri", "0 0 1 * *", "15 14 1 * *", "0 22 * * 1-5",
            "23 0-20/2 * * *", "5 4 * * sun", "0 0,12 1 */2 *", "0 9 1-7 * 1", "@hourly", "@weekly",
            "0 0 29 2 *", "59 23 31 12 *", "0 12 * 2 sun", "*/7 3 1,31 * *",
        ]
        let start = Date(timeIntervalSince1970: 1_795_861_050)  // 2026-11-28T10:17:30Z
        let python = try await Python.run(
            """
            from datetime import datetime, timezone
            from croniter import croniter
            start = datetime(2026, 11, 28, 10, 17, 30, tzinfo=timezone.utc)
            out = []
            for e in \(JSONValue.array(expressions.map(JSONValue.string))):
                it = croniter(e, start)
                out.append([it.get_next(datetime).timestamp() for _ in range(5)])
            print(json.dumps(out))
            """, url: server.url)
        for (index, text) in expressions.enumerated() {
            let expression = try CronExpression(text)
            var swift: [Double] = []
            var date = start
            for _ in 0..<5 {
                date = expression.next(after: date)!
                swift.append(date.timeIntervalSince1970)
            }
            let expected = python.arrayValue?[index].arrayValue?.compactMap(\.doubleValue) ?? []
            #expect(swift == expected, "\(text)")
        }
    }

    @Test func badCronConfigurationsAreRefusedWithTheReason() async throws {
        let redis = try await SharedRedis.client()
        #expect(throws: RQError.self) { try CronScheduler(redis: redis, jobs: []) }
        let twice = [
            CronJob("examples.noop", schedule: .every(seconds: 5)),
            CronJob("examples.noop", schedule: .every(seconds: 9)),
        ]
        #expect {
            try CronScheduler(redis: redis, jobs: twice)
        } throws: { ($0 as? RQError)?.message.contains("two cron jobs are named 'examples.noop'") == true }

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(uniqueName("cron")).json")
        try Data(#"{"jobs": [{"function": "examples.noop", "cron": "61 * * * *"}]}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, output) = try await runCommand(rqPath, ["cron", "-u", "redis://127.0.0.1:1", file.path])
        #expect(status != 0)
        #expect(output.contains("cron job 1: invalid cron expression '61 * * * *': minute field '61'"), "\(output)")
    }
}
