import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// A horse worker publishes its horses in its hash (`swift_horses`), with each heartbeat; `Worker.horses` reads them.
@Suite struct WorkerHorsesTests {
    @Test func aHorseWorkerPublishesItsBusyAndWarmHorses() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis) {
            $0.maxJobsPerHorse = 5
            $0.jobMonitoringInterval = .milliseconds(200)  // heartbeats, and so the field, every 0.2 s
        }
        let sleeping = try await queue.enqueue(ExampleFunctions.sleep, 60)

        // One slot: the sleeping job's horse, and concurrency + 1 warm horses spawned beside it.
        var snapshot: Worker?
        let published = try await eventually(timeout: .seconds(30)) {
            snapshot = try await Worker.fetch(name: worker.pool.name, redis: redis)
            let horses = snapshot?.horses ?? []
            return horses.contains { $0.jobID == sleeping.id } && horses.filter(\.isWarm).count == 2
        }
        #expect(published, "\(snapshot?.horses ?? [])")
        let horses = try #require(snapshot?.horses)
        let busy = try #require(horses.first)
        #expect(busy.jobID == sleeping.id, "busy horses come first")
        #expect(!busy.isWarm)
        #expect(busy.pid != Int(getpid()), "the job runs in a horse, not in the worker")
        #expect(kill(pid_t(busy.pid), 0) == 0, "the busy horse is a live process")
        #expect(busy.jobsServed == 1)
        #expect(busy.maxJobs == 5)
        #expect(busy.since <= Date() && busy.since > Date().addingTimeInterval(-60))
        #expect(busy.runner.path == exampleJobsPath)
        #expect(busy.runner.inode != nil && busy.runner.size ?? 0 > 0 && busy.runner.modified != nil)
        for warm in horses.dropFirst() {
            #expect(warm.isWarm && warm.jobID == nil)
            #expect(kill(pid_t(warm.pid), 0) == 0, "a warm horse is a live process")
            #expect(warm.jobsServed == 0 && warm.maxJobs == 5)
            #expect(warm.runner == busy.runner, "spawned from the same binary")
        }
        #expect(Set(horses.map(\.pid)).count == 3)

        // Stopped, the job leaves the list with the next heartbeat; its horse is not reused (it was killed).
        _ = try await Worker.sendStopJobCommand(jobID: sleeping.id, redis: redis)
        #expect(
            try await eventually(timeout: .seconds(30)) {
                let horses = try await Worker.fetch(name: worker.pool.name, redis: redis)?.horses ?? []
                return !horses.isEmpty && horses.allSatisfy(\.isWarm) && !horses.contains { $0.pid == busy.pid }
            })
        try await worker.stop()
    }

    @Test func anInProcessWorkerPublishesNoHorses() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true) {
            $0.jobMonitoringInterval = .milliseconds(200)
        }
        let sleeping = try await queue.enqueue(ExampleFunctions.sleep, 60)
        var snapshot: Worker?
        #expect(
            try await eventually(timeout: .seconds(30)) {
                snapshot = try await Worker.fetch(name: worker.pool.name, redis: redis)
                return snapshot?.currentJobWorkingTime ?? 0 > 0  // a heartbeat came while the job ran
            })
        #expect(snapshot?.currentJobID == sleeping.id)
        #expect(snapshot?.horses == [])
        #expect(try await redis.send("HEXISTS", "rq:worker:\(worker.pool.name)", "swift_horses").int == 0)
        _ = try await Worker.sendStopJobCommand(jobID: sleeping.id, redis: redis)
        try await worker.stop()
    }
}
