import FoundationEssentials
import Glibc
public import Logging
public import ServiceLifecycle
import Synchronization

/// A worker that takes jobs from RQ queues and runs up to `concurrency` of them at once, each in a horse process
/// (or, if so configured, as a Task in this process).
///
/// It registers itself in Redis exactly as a Python RQ 2.12 worker does — worker hash, heartbeats, started
/// registry, execution records, results, counters — so `rq info`, rq-dashboard and Python workers' maintenance see
/// an ordinary RQ worker.
///
/// `WorkerPool` is a swift-service-lifecycle `Service`: run it in a `ServiceGroup`. Graceful shutdown is a warm
/// shutdown (take no more jobs, let running ones finish); cancelling `run()` is a cold shutdown (stop running jobs
/// at once; they end failed, never lost).
///
/// ```swift
/// let pool = WorkerPool(
///     configuration: WorkerPoolConfiguration(queues: ["high", "default"], execution: .horse(runner: "/usr/local/bin/my-jobs")),
///     redis: redis)
/// try await pool.run()
/// ```
public actor WorkerPool: Service {
    /// The worker name, as it appears in `rq info`.
    public nonisolated let name: String
    /// The settings.
    public nonisolated let configuration: WorkerPoolConfiguration
    nonisolated let redis: Redis
    nonisolated let logger: Logger
    nonisolated let workerKey: String
    nonisolated let deathPenalty: any DeathPenalty
    nonisolated let horseEnvironment: [String: String]

    enum State {
        case initial
        case running
        case draining
        case stopped
    }
    var state: State = .initial
    var running: [String: RunningJob] = [:]
    /// The jobs whose outcomes are being written (see `perform`), and who waits for them all.
    var unrecorded: Set<String> = []
    /// Every job this worker has dequeued whose outcome is not written yet: loading, running or being recorded.
    var taken: Set<String> = []
    /// A dequeue failed: its script may have started jobs in Redis whose reply never came.
    var startsMayBeLost = false
    var recordWaiters: [CheckedContinuation<Void, Never>] = []
    var warmHorses: [Horse] = []
    var queueOrder: [String]
    var subscriber: RedisSubscriber?
    var lastMaintenance: ContinuousClock.Instant?
    var lastActivity = ContinuousClock.now
    var lastSuspensionCheck: ContinuousClock.Instant?
    /// Since when Redis has been unreachable, and the backoff of the tries; nil while it answers.
    var outage: (since: ContinuousClock.Instant, backoff: Backoff)?
    var wasSuspended = false

    /// Jobs this worker has finished: successful and failed.
    public internal(set) var successfulJobCount = 0
    public internal(set) var failedJobCount = 0

    /// Creates a worker; nothing happens until ``run()``.
    public init(configuration: WorkerPoolConfiguration, redis: Redis, logger: Logger = Logger(label: "rq.worker")) {
        self.configuration = configuration
        self.redis = redis
        self.name = configuration.name ?? RandomID.hex32()
        self.workerKey = RQKeys.worker(name)
        var logger = logger
        logger[metadataKey: "rq.worker"] = "\(name)"
        self.logger = logger
        self.queueOrder = configuration.queues
        self.horseEnvironment = Horse.environment(workerName: name)
        switch configuration.execution.mode {
        case .horse: self.deathPenalty = configuration.deathPenalty ?? KillHorseDeathPenalty()
        case .inProcess: self.deathPenalty = configuration.deathPenalty ?? CancellationDeathPenalty()
        }
    }

    // MARK: Service

    /// Registers the worker, works until a shutdown or (in burst mode) until the queues are empty, then
    /// unregisters.
    ///
    /// A pool never runs inside a horse. A program that embeds a pool with itself as the runner
    /// (`.horse(runner: JobRunner.executablePath)`) must call `await JobRunner(functions:).runHorseIfRequested()`
    /// first thing in `main`; if it forgets, each horse would start the whole program again, pool included. Instead
    /// the pool in the horse reports the job failed with a message naming the missing call, and the horse exits.
    ///
    /// - Throws: ``WorkerPoolError`` if the name is taken by a live worker or a setting is invalid; ``RedisError``
    ///   if Redis cannot be reached at start.
    public func run() async throws {
        if JobRunner.isHorse { JobRunner.refuseWorkerPoolInHorse(logger: logger) }
        guard case .initial = state else {
            throw WorkerPoolError(.invalidConfiguration, "a WorkerPool runs once; create a new one")
        }
        guard configuration.concurrency >= 1, !configuration.queues.isEmpty else {
            throw WorkerPoolError(.invalidConfiguration, "concurrency must be at least 1 and queues not empty")
        }
        // As CPython does at start-up, a worker ignores SIGPIPE: writing to a horse that died before reading its
        // assignment, or to a Redis connection closed under it, must be an error, not the end of the worker. (Horses
        // start with the default disposition again.)
        signal(SIGPIPE, SIG_IGN)
        try await birth()
        state = .running
        do {
            try await withGracefulShutdownHandler {
                try await self.work()
            } onGracefulShutdown: {
                self.triggerGracefulShutdown()
            }
        } catch {
            await death()
            throw error
        }
        await death()
    }

    /// Asks for a warm shutdown: take no new jobs, finish the running ones, then return from ``run()``.
    public nonisolated func triggerGracefulShutdown() {
        Task { await self.beginDraining() }
    }

    /// The ids of the jobs running now.
    public var runningJobIDs: [String] { Array(running.keys) }

    func beginDraining() async {
        guard case .running = state else { return }
        state = .draining
        logger.info("Warm shut down requested")
        if !running.isEmpty {
            _ = try? await redis.send("HSET", workerKey, "shutdown_requested_date", RQTimestamp.format(Date()))
        }
    }

    // MARK: The work loop

    func work() async throws {
        try await withThrowingTaskGroup(of: Void.self) { services in
            services.addTask { await self.listenForCommands() }
            services.addTask { try await self.monitorHeartbeats() }
            if configuration.withScheduler {
                let scheduler = JobScheduler(redis: redis, queues: configuration.queues, logger: logger)
                services.addTask { await scheduler.run() }
            }
            defer { services.cancelAll() }
            try await withTaskCancellationHandler {
                try await self.dequeueLoop()
            } onCancel: {
                Task { await self.stopAllRunningJobs(.coldShutdown) }
            }
        }
    }

    func dequeueLoop() async throws {
        if configuration.warmHorses { refillWarmHorses() }
        var processed = 0
        try await withThrowingTaskGroup(of: Void.self) { jobs in
            var active = 0
            while true {
                if Task.isCancelled { break }
                guard case .running = state else { break }
                if let maxJobs = configuration.maxJobs, processed >= maxJobs { break }
                // Refill when at least half the slots are free, so that one dequeue round trip starts several jobs.
                if active > 0, active > configuration.concurrency - max(1, configuration.concurrency / 2) {
                    _ = try await jobs.next()
                    active -= 1
                    continue
                }
                // Redis unreachable (restarting, failing over): wait with backoff and try again, unless the outage
                // outlasts `maximumOutage`. Running jobs go on meanwhile, and their outcomes wait to be written.
                let suspended: Bool
                do { suspended = try await isSuspended() } catch {
                    try await rideOut(error)
                    continue
                }
                if suspended {
                    if configuration.burst { break }
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                await maintainIfDue()
                var limit = configuration.concurrency - active
                if let maxJobs = configuration.maxJobs { limit = min(limit, maxJobs - processed) }
                let batch: [Dequeued]
                do { batch = try await dequeue(upTo: limit) } catch {
                    startsMayBeLost = true
                    try await rideOut(error)
                    continue
                }
                for dequeued in batch { taken.insert(dequeued.id) }
                await outageEnded()
                // Only here, between dequeues, is every job this worker started in Redis known to it (a dequeue in
                // flight elsewhere could have started jobs whose reply is still on its way).
                if startsMayBeLost {
                    do {
                        try await requeueLostStarts()
                        startsMayBeLost = false
                    } catch {
                        try await rideOut(error)
                        continue
                    }
                }
                if batch.isEmpty {
                    if configuration.burst {
                        if active == 0 {
                            // A retry or repeat being written may queue the job again: look once more after it.
                            if !unrecorded.isEmpty {
                                await waitForRecords()
                                continue
                            }
                            break
                        }
                        _ = try await jobs.next()
                        active -= 1
                        continue
                    }
                    if let maxIdle = configuration.maxIdleTime, active == 0,
                        ContinuousClock.now - lastActivity > maxIdle
                    {
                        break
                    }
                    continue
                }
                lastActivity = .now
                for dequeued in batch {
                    guard let job = await loadJob(dequeued) else {
                        taken.remove(dequeued.id)
                        continue
                    }
                    processed += 1
                    active += 1
                    let execution = JobExecution(
                        job: job, workerName: name, hasWorkerHash: true, startedAt: dequeued.startedAt,
                        id: dequeued.executionID)
                    let queue = dequeued.queue
                    jobs.addTask { await self.perform(execution, queue: queue) }
                }
            }
            // Warm shutdown, burst end, max jobs: let the running jobs finish and their outcomes be written.
            try await jobs.waitForAll()
            await waitForRecords()
        }
    }

    /// Checks `rq:suspended` at most once a second (RQ checks before every dequeue; a busy worker saves a round
    /// trip per job this way, and a suspension still takes effect within a second).
}
