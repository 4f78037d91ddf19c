import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// `maxJobsPerHorse` above 1: a horse runs several jobs one after another, and is still isolated and killable.
@Suite struct HorseReuseTests {
    private func pid(of queue: Queue) async throws -> Int? {
        try await queue.enqueue("examples.pid").result(timeout: .seconds(30)).intValue
    }

    @Test func aHorseRunsUpToItsNumberOfJobsThenAFreshOneTakesOver() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) { $0.maxJobsPerHorse = 3 }
        var pids: [Int] = []
        for _ in 0..<7 { pids.append(try #require(try await pid(of: queue))) }
        try await worker.stop()
        // One job at a time: each horse serves three jobs in a row, then retires.
        #expect(pids[0] == pids[1] && pids[1] == pids[2], "\(pids)")
        #expect(pids[3] == pids[4] && pids[4] == pids[5], "\(pids)")
        #expect(Set([pids[0], pids[3], pids[6]]).count == 3, "\(pids)")
        #expect(!pids.contains(Int(getpid())), "jobs ran in horses, not in the worker")
    }

    @Test func aCrashOrATimeoutInAReusedHorseCostsOnlyItsJob() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) { $0.maxJobsPerHorse = 100 }
        let first = try #require(try await pid(of: queue))
        #expect(try await pid(of: queue) == first, "the horse was reused")

        // A crash fails its job only; the next job runs in a new horse.
        let crashing = try await queue.enqueue("examples.crash")
        await #expect(throws: JobFailure.self) { _ = try await crashing.result(timeout: .seconds(30)) }
        let crashText = try #require(try await crashing.latestResult()?.excString)
        #expect(crashText.hasPrefix("Work-horse terminated unexpectedly"), "\(crashText)")
        let afterCrash = try #require(try await pid(of: queue))
        #expect(afterCrash != first)

        // A job that ignores its cancellation is killed at its timeout; the next job runs in a new horse.
        let spinning = try await queue.enqueue(ExampleFunctions.busyLoop, 60, options: EnqueueOptions(timeout: 1))
        await #expect(throws: JobFailure.self) { _ = try await spinning.result(timeout: .seconds(30)) }
        #expect(try await spinning.job.latestResult()?.excString?.contains("maximum timeout value (1 seconds)") == true)
        let afterKill = try #require(try await pid(of: queue))
        #expect(afterKill != afterCrash)

        // A job that stops at its timeout cooperatively fails with it, and its horse is not reused either (the job
        // might have left work running).
        let sleeping = try await queue.enqueue(ExampleFunctions.sleep, 30, options: EnqueueOptions(timeout: 1))
        await #expect(throws: JobFailure.self) { _ = try await sleeping.result(timeout: .seconds(30)) }
        let afterTimeout = try #require(try await pid(of: queue))
        #expect(afterTimeout != afterKill)
        #expect(try await pid(of: queue) == afterTimeout, "a new horse is reused in turn")
        try await worker.stop()
        #expect(await worker.pool.failedJobCount == 3)
    }

    @Test func aRebuiltRunnerRunsTheNextJobEvenWithReusedHorses() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("runner"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let runner = directory.appendingPathComponent("my-jobs").path
        try "#!/bin/sh\nexec '\(exampleJobsPath)' \"$@\"\n".write(toFile: runner, atomically: true, encoding: .utf8)
        chmod(runner, 0o755)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) {
            $0.execution = .horse(runner: runner)
            $0.maxJobsPerHorse = 100
        }
        func version() async throws -> String? {
            try await queue.enqueue("examples.runner_version").result(timeout: .seconds(30)).stringValue
        }
        #expect(try await version() == "1")
        #expect(try await version() == "1")
        // "Rebuild" in place, as a compiler would: the new build reports version 2.
        let build = try CommandProcess(
            "/bin/sh",
            [
                "-c",
                "printf '%s' \"$0\" > '\(runner).new' && chmod 755 '\(runner).new' && mv '\(runner).new' '\(runner)'",
                "#!/bin/sh\nRQ_EXAMPLE_VERSION=2 exec '\(exampleJobsPath)' \"$@\"\n",
            ])
        #expect(await build.waitForExit(timeout: .seconds(10)) == 0, "\(build.log)")
        #expect(try await version() == "2", "the horse of the old build was not used again")
        try await worker.stop()
    }
}
