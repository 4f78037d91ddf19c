import FoundationEssentials
import Glibc
public import Logging
public import ServiceLifecycle

/// A function call to enqueue on a schedule — RQ's `CronJob`.
///
/// ```swift
/// let cleanup = CronJob("reports.cleanup", queue: "maintenance", schedule: try .cron("0 3 * * *"))
/// let ping = CronJob("health.ping", queue: "default", schedule: .every(seconds: 30))
/// ```
public struct CronJob: Sendable {
    /// When the job is enqueued.
    public enum Schedule: Sendable, Hashable {
        /// Every `seconds`, on ticks at whole multiples of `seconds` since the Unix epoch — so every scheduler, on any
        /// machine, agrees on the ticks (`every(seconds: 3600)` runs on the hour).
        case every(seconds: Int)
        /// Whenever the cron expression matches, in UTC (as RQ's cron does).
        case cron(CronExpression)

        /// Parses a cron expression; see ``CronExpression``.
        ///
        /// - Parameter text: a five-field cron expression or a shortcut such as `@daily`.
        /// - Throws: ``RQError`` `invalidArgument` naming the field and the value that is wrong.
        public static func cron(_ text: String) throws(RQError) -> Schedule { .cron(try CronExpression(text)) }
    }

    /// The cron job's name, which identifies it in Redis (`rq:cron_job:{name}:jobs`) and across schedulers.
    /// Defaults to the function name.
    public var name: String
    /// The function each tick enqueues a call of, e.g. `reports.cleanup`: a name registered in a Swift runner's
    /// ``JobFunctionRegistry``, or a dotted Python path for Python workers.
    public var functionName: String
    /// The queue the calls are enqueued on. Defaults to `default`.
    public var queue: String
    /// The positional arguments of every enqueued call (RQ's `args`).
    public var args: [JSONValue]
    /// The keyword arguments of every enqueued call (RQ's `kwargs`).
    public var kwargs: JSONObject
    /// When a call is enqueued: every so many seconds, or whenever a cron expression matches.
    public var schedule: Schedule
    /// The enqueued jobs' timeout; the queue default (180 s) when nil.
    public var timeout: JobTimeout?
    /// Seconds the enqueued jobs' results are kept. Defaults to 500, which RQ's cron writes explicitly.
    public var resultTTL: Int
    /// Seconds an enqueued job may wait in its queue before it expires unrun; nil (the default) for no limit.
    public var ttl: Int?
    /// Seconds a failed job is kept (`-1` = forever); nil (the default) for RQ's one year.
    public var failureTTL: Int?
    /// The metadata every enqueued job starts with (its `meta`).
    public var meta: JSONObject

    /// A call of `functionName` to enqueue on `schedule`. The options are those of ``EnqueueOptions``; they are
    /// checked when a ``CronScheduler`` is created with the job.
    ///
    /// - Parameters:
    ///   - functionName: the function each tick enqueues a call of.
    ///   - args: the call's positional arguments.
    ///   - kwargs: the call's keyword arguments.
    ///   - queue: the queue to enqueue on. Defaults to `default`.
    ///   - schedule: when to enqueue.
    ///   - name: the cron job's name, unique among a scheduler's jobs; defaults to `functionName`.
    ///   - timeout: the jobs' timeout; nil for the queue default (180 s).
    ///   - resultTTL: seconds a successful job's result is kept. Defaults to 500.
    ///   - ttl: seconds a job may wait in its queue before it expires; nil for no limit.
    ///   - failureTTL: seconds a failed job is kept; nil for one year.
    ///   - meta: the jobs' initial metadata.
    public init(
        _ functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:], queue: String = "default",
        schedule: Schedule, name: String? = nil, timeout: JobTimeout? = nil, resultTTL: Int = 500, ttl: Int? = nil,
        failureTTL: Int? = nil, meta: JSONObject = [:]
    ) {
        self.name = name ?? functionName
        self.functionName = functionName
        self.queue = queue
        self.args = args
        self.kwargs = kwargs
        self.schedule = schedule
        self.timeout = timeout
        self.resultTTL = resultTTL
        self.ttl = ttl
        self.failureTTL = failureTTL
        self.meta = meta
    }

    /// The first tick strictly after `date`.
    func tick(after date: Date) -> Date? {
        switch schedule {
        case .every(let seconds):
            let now = date.timeIntervalSince1970
            return Date(timeIntervalSince1970: ((now / Double(seconds)).rounded(.down) + 1) * Double(seconds))
        case .cron(let expression):
            return expression.next(after: date)
        }
    }

    var options: EnqueueOptions {
        EnqueueOptions(timeout: timeout, resultTTL: resultTTL, ttl: ttl, failureTTL: failureTTL, meta: meta)
    }

    /// The entry of `cron_jobs` in the scheduler hash, as Python's `CronJob.to_dict` writes it.
    func monitoringEntry(latest: Date?, next: Date?) -> JSONValue {
        var entry: JSONObject = [
            "func_name": .string(functionName), "name": .string(name), "queue_name": .string(queue),
            "args": args.isEmpty ? .null : .string(JSONValue.array(args).serializedText),
            "kwargs": kwargs.isEmpty ? .null : .string(JSONValue.object(kwargs).serializedText),
            "latest_enqueue_time": latest.map { .string(RQTimestamp.format($0)) } ?? .null,
            "next_enqueue_time": next.map { .string(RQTimestamp.format($0)) } ?? .null,
            "result_ttl": .int(resultTTL),
        ]
        switch schedule {
        case .every(let seconds):
            entry["interval"] = .int(seconds)
            entry["cron"] = .null
        case .cron(let expression):
            entry["interval"] = .null
            entry["cron"] = .string(expression.description)
        }
        if let timeout { entry["job_timeout"] = .int(timeout.seconds) }
        if let ttl { entry["ttl"] = .int(ttl) }
        if let failureTTL { entry["failure_ttl"] = .int(failureTTL) }
        if !meta.isEmpty { entry["meta"] = .string(JSONValue.object(meta).serializedText) }
        return .object(entry)
    }
}

/// Enqueues ``CronJob``s on their schedules — RQ's `CronScheduler` (`rq cron`), writing RQ's cron keys so
/// `CronScheduler.all()`, `rq info` and dashboards see it.
///
/// Unlike RQ 2.12, any number of cron schedulers can run the same jobs at once (for availability) without
/// enqueuing a tick twice: ticks are fixed points in time every scheduler computes alike, and each tick is claimed
/// and enqueued in one atomic script that skips ticks already claimed (`rq:cron_job:{name}:last_tick`).
///
/// `CronScheduler` is a swift-service-lifecycle `Service`; graceful shutdown stops it between ticks.
public actor CronScheduler: Service {
    /// The scheduler's name: `{hostname}:{pid}:{6 hex}` by default, as RQ's.
    public nonisolated let name: String
    /// The cron jobs this scheduler enqueues, in the order given.
    public nonisolated let jobs: [CronJob]
    private let redis: Redis
    private let logger: Logger
    private let configFile: String
    private let createdAt = Date()
    private var latest: [Date?]
    private var due: [Date?]
    private var stopping = false
    private var sleeper: Task<Void, Never>?

    static let schedulerTTL = 120
    static let historyTTL = 31_536_000

    /// Creates a scheduler for `jobs`; nothing is written until ``run()``.
    ///
    /// - Parameters:
    ///   - redis: the client the scheduler registers and enqueues through.
    ///   - jobs: the cron jobs, each with a name of its own.
    ///   - name: the scheduler's name in `rq:cron_schedulers`; defaults to `{hostname}:{pid}:{6 hex}`, as RQ's.
    ///   - configFile: shown to monitoring tools as the scheduler's configuration.
    ///   - logger: where enqueued ticks and errors are logged.
    /// - Throws: ``RQError`` `invalidArgument` for an empty job list, two jobs with one name, a non-positive
    ///   interval or bad options.
    public init(
        redis: Redis, jobs: [CronJob], name: String? = nil, configFile: String = "",
        logger: Logger = Logger(label: "rq.cron")
    ) throws(RQError) {
        guard !jobs.isEmpty else { throw RQError(.invalidArgument, "a cron scheduler needs at least one cron job") }
        var names = Set<String>()
        for job in jobs {
            guard names.insert(job.name).inserted else {
                throw RQError(.invalidArgument, "two cron jobs are named '\(job.name)'; give each its own name")
            }
            if case .every(let seconds) = job.schedule, seconds <= 0 {
                throw RQError(.invalidArgument, "cron job '\(job.name)': the interval must be positive, not \(seconds)")
            }
            guard !job.functionName.isEmpty, !job.queue.isEmpty else {
                throw RQError(.invalidArgument, "cron job '\(job.name)' needs a function name and a queue")
            }
            try job.options.validate()
        }
        self.redis = redis
        self.jobs = jobs
        self.logger = logger
        self.configFile = configFile
        self.name = name ?? "\(WorkerPool.hostname):\(getpid()):\(RandomID.hex32().prefix(6))"
        latest = Array(repeating: nil, count: jobs.count)
        due = Array(repeating: nil, count: jobs.count)
    }

    /// Registers the scheduler, enqueues jobs on their ticks until a graceful shutdown or cancellation, then
    /// unregisters.
    ///
    /// - Throws: ``RQError`` `invalidState` if a live scheduler already has this name; ``RedisError`` if Redis cannot
    ///   be reached at start.
    public func run() async throws {
        // The first ticks are known before the scheduler registers, so monitoring shows them from the start.
        let start = Date()
        for index in jobs.indices { due[index] = jobs[index].tick(after: start.addingTimeInterval(-0.001)) }
        try await birth()
        for job in jobs { logger.info("Registered cron job", metadata: cronMetadata(job)) }
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.triggerGracefulShutdown()
        }
        await Task { await self.death() }.value
    }

    /// Stops the scheduler before its next tick.
    public nonisolated func triggerGracefulShutdown() {
        Task { await self.stop() }
    }

    private func stop() {
        stopping = true
        sleeper?.cancel()
    }

    private func loop() async {
        while !stopping, !Task.isCancelled {
            do {
                if try await enqueueDueJobs() { try await save() }
                try await heartbeat()
            } catch {
                logger.warning("Cron round failed", metadata: ["rq.cron_scheduler": "\(name)", "error": "\(error)"])
                await sleep(for: 1)
                continue
            }
            let next = due.compactMap { $0 }.min() ?? Date().addingTimeInterval(60)
            await sleep(for: min(max(next.timeIntervalSinceNow, 0), 60))
        }
    }

    private func sleep(for seconds: Double) async {
        guard seconds > 0, !stopping else { return }
        let nap = Task { _ = try? await Task.sleep(for: .seconds(seconds)) }
        sleeper = nap
        await withTaskCancellationHandler {
            await nap.value
        } onCancel: {
            nap.cancel()
        }
        sleeper = nil
    }

    /// Enqueues every job whose tick has come; returns whether any was enqueued by this scheduler.
    private func enqueueDueJobs() async throws -> Bool {
        var enqueued = false
        for index in jobs.indices {
            guard let tick = due[index], tick <= Date() else { continue }
            let job = jobs[index]
            if let id = try await claimAndEnqueue(job, tick: tick) {
                latest[index] = Date()
                enqueued = true
                logger.info("Cron job enqueued", metadata: cronMetadata(job).merging(["rq.job_id": "\(id)"]) { $1 })
            } else {
                logger.debug("Cron tick already enqueued by another scheduler", metadata: cronMetadata(job))
            }
            // Ticks missed while Redis was unreachable or this process stalled are skipped, not caught up.
            due[index] = job.tick(after: max(tick, Date()))
        }
        return enqueued
    }

    /// Enqueues the job for `tick` unless a scheduler already did; returns the new job's id.
    private func claimAndEnqueue(_ cronJob: CronJob, tick: Date) async throws -> String? {
        let queue = Queue(cronJob.queue, redis: redis)
        let now = Date()
        var job = try queue.makeJob(
            EnqueueRequest(cronJob.functionName, args: cronJob.args, kwargs: cronJob.kwargs, options: cronJob.options),
            now: now)
        job.enqueuedAt = now
        let arguments: [any RedisArgument] =
            [
                cronJob.name, Int(tick.timeIntervalSince1970.rounded()), job.id, cronJob.queue,
                RQTimestamp.epochString(now), job.ttl.map(String.init) ?? "", Self.historyTTL,
            ] + job.fieldMapping()
        let claimed = try await redis.evaluate(
            RQScripts.enqueueCronTick,
            keys: [RQKeys.cronJobLastTick(cronJob.name), RQKeys.cronJobHistory(cronJob.name), RQKeys.cronJobs],
            arguments: arguments)
        return claimed.int == 1 ? job.id : nil
    }

    private func birth() async throws {
        let added = try await redis.send(
            "ZADD", RQKeys.cronSchedulers, "NX", Date().timeIntervalSince1970, name)
        guard added.int == 1 else {
            throw RQError(.invalidState, "a cron scheduler named '\(name)' is already registered")
        }
        try await save()
        logger.info("Cron scheduler started", metadata: ["rq.cron_scheduler": "\(name)", "rq.jobs": "\(jobs.count)"])
    }

    private func death() async {
        _ = try? await redis.send("ZREM", RQKeys.cronSchedulers, name)
        logger.info("Cron scheduler stopped", metadata: ["rq.cron_scheduler": "\(name)"])
    }

    /// Writes the scheduler hash that Python's `CronScheduler.fetch` reads.
    private func save() async throws {
        let entries = jobs.indices.map { jobs[$0].monitoringEntry(latest: latest[$0], next: due[$0]) }
        let key = RQKeys.cronScheduler(name)
        try await redis.transaction([
            RedisCommand(
                "HSET", key, "hostname", WorkerPool.hostname, "pid", Int(getpid()), "name", name, "created_at",
                RQTimestamp.format(createdAt), "config_file", configFile, "cron_jobs",
                JSONValue.array(entries).serialized()),
            RedisCommand("EXPIRE", key, Self.schedulerTTL),
        ])
    }

    /// Refreshes the registry score and the hash's TTL, re-creating both if they vanished.
    private func heartbeat() async throws {
        let replies = try await redis.pipeline([
            RedisCommand("ZADD", RQKeys.cronSchedulers, Date().timeIntervalSince1970, name),
            RedisCommand("EXPIRE", RQKeys.cronScheduler(name), Self.schedulerTTL),
        ])
        if replies.count == 2, replies[1].int == 0 { try await save() }
    }

    private func cronMetadata(_ job: CronJob) -> Logger.Metadata {
        let schedule: String
        switch job.schedule {
        case .every(let seconds): schedule = "every \(seconds)s"
        case .cron(let expression): schedule = expression.description
        }
        return ["rq.cron_job": "\(job.name)", "rq.queue": "\(job.queue)", "rq.schedule": "\(schedule)"]
    }
}

extension JSONValue {
    /// The JSON text, for fields that hold JSON as a string.
    fileprivate var serializedText: String { String(decoding: serialized(), as: UTF8.self) }
}
