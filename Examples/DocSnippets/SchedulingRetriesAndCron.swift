// swift-format-ignore-file
// SchedulingRetriesAndCron.md: see Support.swift.
import FoundationEssentials
import Logging
import RQ
import ServiceLifecycle

func schedulingLater(queue: Queue, job: Job, tomorrowMorning: Date, tonight: Date) async throws {
    try await queue.enqueue(in: .seconds(30), "reports.build", args: ["2026-11"])           // RQ's enqueue_in
    try await queue.enqueue(at: tomorrowMorning, "mail.digest")                              // RQ's enqueue_at
    try await queue.schedule(job, at: tonight)                                               // RQ's schedule_job
}

func schedulingRetries(queue: Queue) async throws {
    try await queue.enqueue("mail.send", args: ["alice"], options: EnqueueOptions(retry: Retry(max: 3, intervals: [10, 60, 300])))
    try await queue.enqueue("feeds.fetch", args: ["https://example.com/feed"],
                            options: EnqueueOptions(retry: .exponential(max: 5, base: 2, cap: 600)))   // 2, 4, 8, 16, 32 s
}

func schedulingRepeats(queue: Queue) async throws {
    try await queue.enqueue("feeds.poll", options: EnqueueOptions(repeat: Repeat(times: 3, intervals: [60])))
}

func schedulingDependencies(queue: Queue) async throws {
    let report = try await queue.enqueue("reports.build", args: ["2026-11"])
    let mail = try await queue.enqueue("mail.send", options: EnqueueOptions(dependsOn: [report.id]))   // deferred
    let archive = try await queue.enqueue(
        "reports.archive", options: EnqueueOptions(dependsOn: JobDependency(jobIDs: [report.id], allowFailure: true)))
    _ = (mail, archive)
}

func schedulingUnique(queue: Queue, redis: Redis) async throws {
    do {
        try await queue.enqueue("reports.build", args: ["2026-11"],
                                options: EnqueueOptions(jobID: "report-2026-11", unique: true))
    } catch let error as RQError where error.code == .duplicateJob {
        print("already enqueued")
    }
    let imports = try await queue.enqueueMany(
        (1...100).map { EnqueueRequest("imports.row", args: [.int($0)]) }, groupID: "import-42")
    print(try await JobGroup(name: "import-42", redis: redis).jobIDs().count, imports.count)
}

func schedulingCron(redis: Redis, logger: Logger) throws {
    let cron = try CronScheduler(redis: redis, jobs: [
        CronJob("reports.daily", args: ["eu"], queue: "reports", schedule: try .cron("0 6 * * mon-fri")),
        CronJob("health.ping", queue: "default", schedule: .every(seconds: 30), resultTTL: 60),
    ])
    let group = ServiceGroup(configuration: .init(services: [cron], logger: logger))   // or: try await cron.run()
    _ = group
}
