import ExampleFunctions
import Foundation
@_spi(Processes) import RQ
import RQTesting
import Testing

/// Workers that are killed, horses that are killed, and a Redis that is killed and restarted from its append-only
/// file, all while two thousand jobs run: every job still ends finished with its right result, exactly one success
/// is recorded per job, and no worker exits on its own.
@Suite struct ChaosTests {
    /// A worker process the test starts, kills and starts again.
    final class Worker: @unchecked Sendable {
        let arguments: [String]
        var process: CommandProcess
        /// The test killed this process: its exit is expected.
        var killed = false

        init(_ arguments: [String]) throws {
            self.arguments = arguments
            process = try CommandProcess(exampleJobsPath, arguments)
        }

        func kill() {
            killed = true
            process.signal(SIGKILL)
        }

        /// A worker started while Redis is down stops at once with a clear error (it never ran: a typo in a URL is
        /// reported at once rather than retried); its supervisor starts it again.
        var refusedToStart: Bool {
            !killed && !process.process.isRunning && process.log.contains("could not connect to Redis")
        }

        /// After a kill, or a start refused during the outage, a new process takes its place (a supervisor's
        /// restart, as systemd's `Restart=always`).
        func restartIfNeeded() async throws -> Bool {
            guard killed || refusedToStart else { return false }
            _ = await process.waitForExit(timeout: .seconds(5))
            process = try CommandProcess(exampleJobsPath, arguments)
            killed = false
            return true
        }

        /// Whether the process exited on its own once running: what must never happen.
        var exitedUnasked: Bool { !killed && !process.process.isRunning && !refusedToStart }
    }

    @Test(.timeLimit(.minutes(5))) func everyJobFinishesOnceThroughKilledWorkersHorsesAndRedis() async throws {
        let server = try await RedisServer.start(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let redis = try server.makeClient()
        let queue = Queue(uniqueName("chaos"), redis: redis)
        let count = 2_000
        let jobs = try await queue.enqueueMany(
            (0..<count).map {
                EnqueueRequest("examples.chaos", args: [.int($0)], options: EnqueueOptions(retry: Retry(max: 10)))
            })
        let common = [
            "worker", "-u", server.url, "--with-scheduler", "--job-monitoring-interval", "1", "--maintenance-interval",
            "5", "--logging_level", "WARNING", queue.name,
        ]
        let workers = [
            try Worker(common + ["--concurrency", "2"]),  // horses
            try Worker(common + ["--concurrency", "2", "--max-jobs-per-horse", "20"]),  // reused horses
            try Worker(common + ["--in-process", "--concurrency", "3"]),
        ]
        var generator = SystemRandomNumberGenerator()
        var workerKills = 0
        var horseKills = 0
        var redisRestarts = 0
        var unaskedExits: [String] = []
        var refusedStarts = 0
        let clock = ContinuousClock()
        let start = clock.now

        // Forty seconds of chaos: every 1.5 s a horse or a worker is SIGKILLed; once, Redis.
        for round in 0..<26 {
            try await Task.sleep(for: .milliseconds(1500))
            for worker in workers where worker.exitedUnasked { unaskedExits.append(worker.process.log) }
            for worker in workers {
                if worker.refusedToStart { refusedStarts += 1 }
                _ = try await worker.restartIfNeeded()
            }
            if round == 8 {
                server.signal(SIGKILL)
                try await Task.sleep(for: .seconds(2))
                try await server.restart()
                redisRestarts += 1
                continue
            }
            if Int.random(in: 0..<3, using: &generator) == 0 {
                workers.randomElement(using: &generator)!.kill()
                workerKills += 1
            } else if let horse = Self.horses(of: workers[Int.random(in: 0..<2, using: &generator)].process.pid)
                .randomElement(using: &generator)
            {
                Glibc.kill(horse, SIGKILL)
                horseKills += 1
            }
        }
        for worker in workers where worker.exitedUnasked { unaskedExits.append(worker.process.log) }
        for worker in workers {
            if worker.refusedToStart { refusedStarts += 1 }
            _ = try await worker.restartIfNeeded()
        }

        // Jobs of killed workers are found abandoned once their heartbeat (61 s) expires, and retried.
        let drained = try await eventually(timeout: .seconds(170), every: .milliseconds(500)) {
            try await queue.finishedJobRegistry.count() == count
        }
        let drainTime = clock.now - start
        for worker in workers where worker.exitedUnasked { unaskedExits.append(worker.process.log) }

        let fetched = try await Job.fetchMany(ids: jobs.map(\.id), redis: redis)
        var wrong: [String] = []
        var twiceRecorded: [String] = []
        for (index, job) in jobs.enumerated() {
            guard fetched[index]?.status == .finished else {
                wrong.append("\(job.id): \(fetched[index]?.status.rawValue ?? "gone")")
                continue
            }
            let results = try await job.results()
            if results.filter({ $0.kind == .successful }).count != 1 { twiceRecorded.append(job.id) }
            if results.first(where: { $0.kind == .successful })?.returnValue != .int(index + 1) {
                wrong.append("\(job.id): result \(String(describing: results.first?.returnValue))")
            }
        }
        let runs = try await redis.pipeline(jobs.map { RedisCommand("GET", "chaos:runs:\($0.id)") })
        let ranMoreThanOnce = runs.filter { ($0.string.flatMap(Int.init) ?? 0) > 1 }.count
        print(
            "chaos: jobs \(count), worker kills \(workerKills), horse kills \(horseKills), redis restarts "
                + "\(redisRestarts), starts refused while Redis was down \(refusedStarts), recorded twice \(twiceRecorded.count), ran more than once \(ranMoreThanOnce) "
                + "(at-least-once: killed mid-run), time to drain \(drainTime)")

        let finished = try await queue.finishedJobRegistry.count()
        #expect(drained, "finished: \(finished) of \(count)")
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(twiceRecorded.isEmpty, "\(twiceRecorded.prefix(10))")
        #expect(unaskedExits.isEmpty, "a worker exited on its own:\n\(unaskedExits.joined(separator: "\n---\n"))")
        #expect(redisRestarts == 1 && workerKills + horseKills >= 10)
        // Every worker is still running: a warm shutdown ends each normally.
        for worker in workers { worker.process.signal(SIGTERM) }
        for worker in workers {
            #expect(await worker.process.waitForExit(timeout: .seconds(30)) == 0, "\(worker.process.log.suffix(2000))")
        }
        await server.stop()
    }

    /// The horses of a worker: its child processes started with `--rq-horse`.
    static func horses(of worker: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == worker,
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                command.contains("--rq-horse")
            else { return nil }
            return pid
        }
    }
}
