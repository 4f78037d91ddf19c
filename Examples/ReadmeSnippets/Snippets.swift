// swift-format-ignore-file
// The README's Swift code blocks outside "Getting started", verbatim, so that the build compiles them:
// `ReadmeTests` checks that every block stands here line for line (imports at the top of this file), and
// `scripts/check-getting-started.sh` builds the getting-started package from the README itself. Nothing here runs;
// each block is the body of a function, after the names it uses, and before lines that mark its values used.
import FoundationEssentials
import Logging
import RQ
import RQCommandLine
import ServiceLifecycle
import Tracing
import UnixSignals

/// Stands for the rest of an application (an HTTP server, say).
struct Application: Service {
    func run() async throws { try? await gracefulShutdown() }
}

func readmeUse() async throws {
    let redis = try Redis(url: "redis://127.0.0.1:6379/0")
    let queue = Queue("default", redis: redis)

    // By name, with RQ's positional args and keyword kwargs — a Python worker can run this too.
    let job = try await queue.enqueue("examples.add", args: [2, 3])
    let sum = try await job.result(as: Int.self, timeout: .seconds(30))   // waits with XREAD BLOCK, no polling

    // Typed: arguments and result are checked at compile time.
    let add = JobFunction<Int, Int, Int>("examples.add")                  // (Int, Int) -> Int
    let typed = try await queue.enqueue(add, 2, 3)
    let five: Int = try await typed.result()

    // RQ's @job decorator: bind a function to a queue, then .delay(...)
    let addLater = add.bound(to: queue, options: EnqueueOptions(timeout: 30))
    try await addLater.delay(3, 4)

    // Every RQ enqueue option.
    try await queue.enqueue(
        "reports.build", args: ["2026-11"], kwargs: ["format": "pdf"],
        options: EnqueueOptions(
            timeout: try JobTimeout(parsing: "1h3m10s"),   // or 90, or .none, or JobTimeout(.seconds(90))
            resultTTL: 3600, ttl: 600, failureTTL: 86400,
            dependsOn: JobDependency(jobIDs: [job.id], allowFailure: true),
            jobID: "report-2026-11", atFront: true, meta: ["owner": "billing"]))
    _ = (sum, five)
}

func readmeManaging(redis: Redis, queue: Queue) async throws {
    let report = try await queue.enqueue("reports.build", args: ["2026-11"])
    let mail = try await queue.enqueue("mail.send", options: EnqueueOptions(dependsOn: [report.id]))   // deferred
    try await report.cancel(enqueueDependents: true)      // RQ's cancel_job(…, enqueue_dependents=True): mail is queued
    try await mail.delete(deleteDependents: true)         // RQ's job.delete(delete_dependents=True)
    for id in try await queue.failedJobRegistry.jobIDs(length: 10, descending: true) {   // latest first
        try await queue.failedJobRegistry.requeue(id)     // from any registry but the started one
    }
    try await queue.startedJobRegistry.cleanup()          // abandoned jobs failed, as RQ's cleanup()

    for worker in try await Worker.all(redis: redis, queue: "default") {   // RQ's Worker.all(queue=…)
        print(worker.name, worker.state, worker.currentJobID ?? "-", worker.successfulJobCount)
    }
    try await Worker.sendStopJobCommand(jobID: report.id, redis: redis)   // also sendShutdownCommand, sendKillHorseCommand
    try await Worker.suspend(redis: redis, for: .seconds(300))           // rq suspend; Worker.resume(redis:), isSuspended
}

func readmeRegistry() {
    let add = JobFunction<Int, Int, Int>("examples.add")
    var functions = JobFunctionRegistry()
    functions.register(add) { x, y in x + y }
    functions.register("examples.echo") { call in ["args": .array(call.args), "kwargs": .object(call.kwargs)] }
    _ = functions
}

func readmeEmbedding(functions: JobFunctionRegistry) async throws {
    let app = Application()
    // First thing in main: a horse runs its job and exits here.
    await JobRunner(functions: functions).runHorseIfRequested()

    let logger = Logger(label: "my-service")
    let redis = try Redis(url: "redis://127.0.0.1:6379/0")
    var configuration = WorkerPoolConfiguration(queues: ["default"], execution: .horse(runner: JobRunner.executablePath))
    configuration.concurrency = 4
    let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: app), .init(service: pool)], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

func readmeMetrics() throws {
    let metrics = try PrometheusEndpoint.bootstrap(port: 9200)   // once per process, before the pool runs
    defer { metrics.close() }
    _ = metrics.port
}

func readmeTracing(queue: Queue) async throws {
    let mail = try await withSpan("checkout") { _ in
        try await queue.enqueue("mail.send", args: ["receipt"])   // its "publish default" span is a child of checkout
    }
    _ = mail
}

func readmeScheduling(queue: Queue, job: Job, tomorrowMorning: Date, tonight: Date) async throws {
    try await queue.enqueue(in: .seconds(30), "reports.build", args: ["2026-11"])           // RQ's enqueue_in
    try await queue.enqueue(at: tomorrowMorning, "mail.digest")                              // RQ's enqueue_at
    try await queue.schedule(job, at: tonight)                                               // RQ's schedule_job
    try await queue.enqueue("mail.send", args: ["alice"], options: EnqueueOptions(retry: Retry(max: 3, intervals: [10, 60, 300])))
}

func readmeSerializers(redis: Redis) async throws {
    let pickled = Queue("default", redis: redis, serializer: .pickle)   // for Python workers started without -S json
    try await pickled.enqueue("examples.add", args: [2, .bigInt("18446744073709551616")])
}

func readmeCallbacks(queue: Queue) async throws {
    var functions = JobFunctionRegistry()
    functions.registerCallback("reports.notify") { job, outcome in
        switch outcome {
        case .finished(let value): print("\(job.id) made \(value)")
        case .failed(let error): print("\(job.id) failed: \(error)")
        case .stopped: print("\(job.id) was stopped")
        }
    }
    let notify = JobCallback("reports.notify", timeout: 30)       // 60 s by default, as RQ
    try await queue.enqueue("reports.build", args: ["2026-11"],
                            options: EnqueueOptions(onSuccess: notify, onFailure: notify, onStopped: notify))
    try await queue.enqueue("feeds.poll", options: EnqueueOptions(repeat: Repeat(times: 3, intervals: [60])))
    _ = functions
}

func readmeWebhooks(queue: Queue) async throws {
    try await queue.enqueue("reports.build", args: ["2026-11"], options: EnqueueOptions(webhooks: [
        Webhook(url: "https://hooks.example.com/rq", jobStatus: .finished, method: .post,
                headers: ["Authorization": "Bearer …"]),
        Webhook(url: "https://hooks.example.com/rq-failed", jobStatus: .failed, timeout: 5),   // GET, 10 s by default
    ]))
}

func readmeCron(redis: Redis, logger: Logger) throws {
    let cron = try CronScheduler(redis: redis, jobs: [
        CronJob("reports.daily", args: ["eu"], queue: "reports", schedule: try .cron("0 6 * * mon-fri")),
        CronJob("health.ping", queue: "default", schedule: .every(seconds: 30), resultTTL: 60),
    ])
    let group = ServiceGroup(configuration: .init(services: [cron], logger: logger))   // or: try await cron.run()
    _ = group
}
