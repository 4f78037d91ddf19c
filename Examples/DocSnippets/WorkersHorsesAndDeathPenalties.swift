// swift-format-ignore-file
// WorkersHorsesAndDeathPenalties.md: see Support.swift.
import RQ

func workersPool(redis: Redis) async throws {
    var configuration = WorkerPoolConfiguration(
        queues: ["high", "default"], execution: .horse(runner: "/usr/local/bin/my-jobs"))
    configuration.concurrency = 4
    configuration.withScheduler = true            // also move due scheduled jobs (rq worker --with-scheduler)
    configuration.dequeueStrategy = .roundRobin   // rq worker -ds round_robin
    let pool = WorkerPool(configuration: configuration, redis: redis)
    try await pool.run()
}

func workersReusing() {
    var reusing = WorkerPoolConfiguration(queues: ["thumbnails"], execution: .horse(runner: "/usr/local/bin/my-jobs"))
    reusing.concurrency = 2
    reusing.maxJobsPerHorse = 100
    _ = reusing
}

func workersDeathPenalty(configuration: inout WorkerPoolConfiguration) {
    configuration.deathPenalty = KillHorseDeathPenalty(
        cooperativeGracePeriod: .seconds(5),    // time to clean up after the cancellation
        terminationGracePeriod: .seconds(10))   // time between SIGTERM and SIGKILL
}

func workersCommands(redis: Redis, job: Job) async throws {
    for worker in try await Worker.all(redis: redis, queue: "default") {   // RQ's Worker.all(queue=…)
        print(worker.name, worker.state, worker.currentJobID ?? "-")
    }
    try await Worker.sendStopJobCommand(jobID: job.id, redis: redis)       // the job ends "stopped"
    try await Worker.suspend(redis: redis, for: .seconds(300))             // rq suspend: workers take no new jobs
}

func workersExceptionHandlers(configuration: inout WorkerPoolConfiguration) {
    configuration.exceptionHandlers = [
        ExceptionHandler { job, failure in
            print("\(job.id) failed: \(failure.split(separator: "\n").last ?? "")")
            return .continue
        }
    ]
}
