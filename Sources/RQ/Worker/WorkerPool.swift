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
    /// A client of the worker's own, with `redis`'s configuration, for outcome writes: the dequeue, which free slots
    /// wait for, never waits on the wire behind the outcome transactions of the jobs that just ended (one connection
    /// has one batch on the wire at a time). Opened by the first outcome, closed when the worker stops.
    nonisolated let outcomeWrites: Redis
    nonisolated let logger: Logger
    nonisolated let workerKey: String
    nonisolated let deathPenalty: any DeathPenalty
    nonisolated let horseEnvironment: [String: String]

    /// What the worker knows of its own work — phase, slots, outcomes being written, outages — and decides from it.
    var machine: WorkerStateMachine
    /// The jobs running now, by id: what stop commands, the watchdog and heartbeats act on.
    var running: [String: RunningJob] = [:]
    /// Who waits for every outcome being written to be written.
    var recordWaiters: [CheckedContinuation<Void, Never>] = []
    /// Who waits for a job to end or a dequeue to return (the dequeue loop, when it has nothing to do).
    var loopWaiters: [CheckedContinuation<Void, Never>] = []
    /// Jobs a dequeue took that the loop has yet to start.
    var arrivals: [Dequeued] = []
    /// Stop and kill commands for jobs taken but not running yet (a dequeue's jobs wait for the loop to start them):
    /// each is carried out the moment its job's handle exists.
    var stopsBeforeStart: [String: StopReason] = [:]
    /// Why the loop must end: a dequeue beside it met an outage longer than the maximum.
    var loopFailure: (any Error)?
    var warmHorses: [Horse] = [] {
        didSet { WorkerMetrics.warmHorsesChanged(from: oldValue.count, to: warmHorses.count) }
    }
    var queueOrder: [String]
    var subscriber: RedisSubscriber?
    var lastMaintenance: ContinuousClock.Instant?
    var lastSuspensionCheck: ContinuousClock.Instant?
    var wasSuspended = false

    /// How many jobs finished successfully in this worker since it started (its hash's `successful_job_count`).
    public internal(set) var successfulJobCount = 0
    /// How many jobs failed or were stopped in this worker since it started, each failed attempt of a job that was
    /// retried included (its hash's `failed_job_count`).
    public internal(set) var failedJobCount = 0

    /// Creates a worker; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: the queues, execution, concurrency and other settings.
    ///   - redis: the client the worker dequeues, registers and reports through.
    ///   - logger: where the worker logs; it adds the worker's name as `rq.worker` metadata. Defaults to a logger
    ///     labelled `rq.worker`.
    public init(configuration: WorkerPoolConfiguration, redis: Redis, logger: Logger = Logger(label: "rq.worker")) {
        self.configuration = configuration
        self.redis = redis
        self.outcomeWrites = Redis(configuration: redis.configuration, logger: redis.logger)
        self.name = configuration.name ?? RandomID.hex32()
        self.workerKey = RQKeys.worker(name)
        var logger = logger
        logger[metadataKey: "rq.worker"] = "\(name)"
        self.logger = logger
        self.queueOrder = configuration.queues
        self.machine = WorkerStateMachine(
            settings: .init(
                concurrency: configuration.concurrency, maxJobs: configuration.maxJobs, burst: configuration.burst,
                maxIdleTime: configuration.maxIdleTime, maximumOutage: configuration.maximumOutage),
            now: .now)
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
        guard machine.phase == .initial else {
            throw WorkerPoolError(.invalidConfiguration, "a WorkerPool runs once; create a new one")
        }
        guard configuration.concurrency >= 1, !configuration.queues.isEmpty, configuration.maxJobsPerHorse >= 1 else {
            throw WorkerPoolError(
                .invalidConfiguration, "concurrency and maxJobsPerHorse must be at least 1, and queues not empty")
        }
        // As CPython does at start-up, a worker ignores SIGPIPE: writing to a horse that died before reading its
        // assignment, or to a Redis connection closed under it, must be an error, not the end of the worker. (Horses
        // start with the default disposition again.)
        signal(SIGPIPE, SIG_IGN)
        try await birth()
        machine.start()
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
        Task { await self.beginDraining() }  // a synchronous request; the actor handles it as soon as it can
    }

    /// The ids of the jobs running now.
    public var runningJobIDs: [String] { Array(running.keys) }

    func beginDraining() async {
        guard machine.phase == .running else { return }
        let busy = machine.warmShutdown()
        logger.info("Warm shut down requested")
        if busy {
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
                // The cancellation handler is synchronous; the loop also checks `Task.isCancelled` at each step.
                Task { await self.stopAllRunningJobs(.coldShutdown) }
            }
        }
    }

    /// Carries out the state machine's steps until it says to finish: every job ended, every outcome written.
    func dequeueLoop() async throws {
        if configuration.warmHorses { refillWarmHorses() }
        // A discarding group: a job's task leaves nothing behind when it ends (a plain group keeps every finished
        // child until `next()` takes it — memory growing with the job count, as the in-process soak showed).
        try await withThrowingDiscardingTaskGroup { tasks in
            while true {
                if let failure = loopFailure { throw failure }
                if Task.isCancelled, machine.phase == .running || machine.phase == .draining {
                    stopAllRunningJobs(.coldShutdown)
                }
                if !arrivals.isEmpty {
                    let batch = arrivals
                    arrivals.removeAll()
                    for dequeued in batch {
                        guard let job = await loadJob(dequeued) else {
                            stopsBeforeStart[dequeued.id] = nil
                            machine.jobDropped(dequeued.id)
                            continue
                        }
                        let execution = JobExecution(
                            job: job, workerName: name, hasWorkerHash: true, startedAt: dequeued.startedAt,
                            id: dequeued.executionID)
                        let queue = dequeued.queue
                        tasks.addTask { await self.perform(execution, queue: queue) }
                    }
                    continue
                }
                switch machine.nextStep(now: .now) {
                case .finish:
                    return
                case .waitForAJobOrADequeue:
                    // Each job's task, and each dequeue, resumes this wait before it returns.
                    await withCheckedContinuation { loopWaiters.append($0) }
                case .waitForOutcomeWrites:
                    await waitForRecords()
                case .pauseWhileSuspended:
                    try await Task.sleep(for: .seconds(1))
                case .requeueLostStarts(let known):
                    do {
                        try await requeueLostStarts(known: known)
                        machine.lostStartsRequeued()
                        await redisAnswered()
                    } catch {
                        try await rideOut(error, duringDequeue: false)
                    }
                case .dequeue(let limit, let mayBlock):
                    // Redis unreachable (restarting, failing over): wait with backoff and try again, unless the
                    // outage outlasts `maximumOutage`. Running jobs go on meanwhile; their outcomes wait to be written.
                    do {
                        if try await isSuspended() {
                            machine.suspended()
                            machine.dequeueAbandoned(limit: limit)
                            continue
                        }
                    } catch {
                        machine.dequeueAbandoned(limit: limit)
                        try await rideOut(error, duringDequeue: false)
                        continue
                    }
                    await maintainIfDue()
                    tasks.addTask { await self.dequeueBesideTheLoop(limit: limit, mayBlock: mayBlock) }
                }
            }
        }
    }

    /// One dequeue, run beside the loop so that jobs go on ending (and a second dequeue may go out) while it is on
    /// its way: the jobs it takes wait in `arrivals` for the loop to start them. A failure is ridden out here, with
    /// the dequeue still counted as on its way, so no other goes out meanwhile.
    func dequeueBesideTheLoop(limit: Int, mayBlock: Bool) async {
        defer { wakeTheLoop() }
        let batch: [Dequeued]
        do {
            batch = try await dequeue(upTo: limit, mayBlock: mayBlock)
        } catch {
            do { try await rideOut(error, duringDequeue: true) } catch { loopFailure = error }
            machine.dequeueAbandoned(limit: limit)
            return
        }
        machine.dequeued(batch.map(\.id), limit: limit, now: .now)
        if let last = batch.last {
            queueOrder = configuration.dequeueStrategy.reordered(queueOrder, servedBy: last.queue)
        }
        arrivals.append(contentsOf: batch)
        wakeTheLoop()
        await redisAnswered()
    }

    /// Resumes the loop if it waits for a job to end or a dequeue to return.
    func wakeTheLoop() {
        let waiters = loopWaiters
        loopWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }
}
