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

    private enum State {
        case initial
        case running
        case draining
        case stopped
    }
    private var state: State = .initial
    private var running: [String: RunningJob] = [:]
    /// The jobs whose outcomes are being written (see `perform`), and who waits for them all.
    private var unrecorded: Set<String> = []
    /// Every job this worker has dequeued whose outcome is not written yet: loading, running or being recorded.
    private var taken: Set<String> = []
    /// A dequeue failed: its script may have started jobs in Redis whose reply never came.
    private var startsMayBeLost = false
    private var recordWaiters: [CheckedContinuation<Void, Never>] = []
    private var warmHorses: [Horse] = []
    private var queueOrder: [String]
    private var subscriber: RedisSubscriber?
    private var lastMaintenance: ContinuousClock.Instant?
    private var lastActivity = ContinuousClock.now
    private var lastSuspensionCheck: ContinuousClock.Instant?
    /// Since when Redis has been unreachable, and the backoff of the tries; nil while it answers.
    private var outage: (since: ContinuousClock.Instant, backoff: Backoff)?
    private var wasSuspended = false

    /// Jobs this worker has finished: successful and failed.
    public private(set) var successfulJobCount = 0
    public private(set) var failedJobCount = 0

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

    private func beginDraining() async {
        guard case .running = state else { return }
        state = .draining
        logger.info("Warm shut down requested")
        if !running.isEmpty {
            _ = try? await redis.send("HSET", workerKey, "shutdown_requested_date", RQTimestamp.format(Date()))
        }
    }

    // MARK: Birth and death

    private func birth() async throws {
        let existing = try await redis.pipeline([
            RedisCommand("EXISTS", workerKey), RedisCommand("HEXISTS", workerKey, "death"),
        ])
        if existing[0].int == 1 && existing[1].int == 0 {
            throw WorkerPoolError(.nameInUse, "there exists an active worker named '\(name)' already")
        }
        try await redis.transaction(registrationCommands(address: await ipAddress()))
        subscriber = RedisSubscriber(
            configuration: redis.configuration, channel: RQKeys.pubsub(name), logger: logger)
        logger.info(
            "Worker started",
            metadata: [
                "rq.queues": "\(configuration.queues.joined(separator: ","))",
                "rq.concurrency": "\(configuration.concurrency)",
            ])
    }

    /// The worker hash, written anew, and the worker sets.
    private func registrationCommands(address: String) -> [RedisCommand] {
        let now = RQTimestamp.format(Date())
        var commands = [
            RedisCommand("DEL", workerKey),
            RedisCommand(
                "HSET", workerKey, "birth", now, "last_heartbeat", now, "queues",
                configuration.queues.joined(separator: ","), "pid", Int(getpid()), "hostname", Self.hostname,
                "ip_address", address, "version", RQVersion.workerVersion, "python_version", RQVersion.runtime,
                "state", "started"),
            RedisCommand("SADD", RQKeys.workers, workerKey),
        ]
        for queue in configuration.queues {
            commands.append(RedisCommand("SADD", RQKeys.queueWorkers(queue), workerKey))
        }
        commands.append(RedisCommand("EXPIRE", workerKey, configuration.workerTTL + 60))
        return commands
    }

    private func death() async {
        await waitForRecords()
        state = .stopped
        subscriber?.stop()
        for horse in warmHorses { horse.discard() }
        warmHorses.removeAll()
        var commands = [RedisCommand("SREM", RQKeys.workers, workerKey)]
        for queue in configuration.queues {
            commands.append(RedisCommand("SREM", RQKeys.queueWorkers(queue), workerKey))
        }
        commands += [
            RedisCommand("HSET", workerKey, "death", RQTimestamp.format(Date()), "state", "dead"),
            RedisCommand("EXPIRE", workerKey, 60),
        ]
        // Unregister even if the caller was cancelled: a worker left registered looks alive until its key expires.
        let redis = self.redis
        _ = await Task { try? await redis.transaction(commands) }.value
        logger.info(
            "Worker stopped", metadata: ["rq.successful": "\(successfulJobCount)", "rq.failed": "\(failedJobCount)"])
        // Webhooks hook (issue 13): the last jobs' webhooks go out before a burst worker's process exits.
        await WebhookSender.shared.waitUntilSent()
    }

    private func ipAddress() async -> String {
        guard let info = try? await redis.send("CLIENT", "INFO").string,
            let field = info.split(separator: " ").first(where: { $0.hasPrefix("addr=") })
        else { return "unknown" }
        return String(field.dropFirst(5))
    }

    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    // MARK: The work loop

    private func work() async throws {
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

    private func dequeueLoop() async throws {
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
    private func isSuspended() async throws -> Bool {
        if let last = lastSuspensionCheck, ContinuousClock.now - last < .seconds(1), !wasSuspended { return false }
        lastSuspensionCheck = .now
        wasSuspended = try await redis.send("EXISTS", RQKeys.suspended).int == 1
        guard wasSuspended else { return false }
        try await redis.send("HSET", workerKey, "state", "suspended")
        return true
    }

    /// A dequeued job, already marked started (the script wrote the start records), or an id whose hash is gone.
    struct Dequeued {
        let queue: String
        let id: String
        let fields: RedisValue
        let executionID: String
        let startedAt: Date
    }

    /// Takes the next job and marks it started: first without blocking, in one script; if the queues are empty,
    /// blocking for at most the poll interval (`BLMOVE` through the intermediate list for one queue, `BLPOP` for
    /// several, as RQ does), then the same script fetches and starts the job — sent by the blocking connection's
    /// thread the moment the pop returns, so an idle worker starts a job with one thread wake-up less.
    private func dequeue(upTo limit: Int) async throws -> [Dequeued] {
        let queues = queueOrder
        defer { rotateQueues() }
        let single = queues.count == 1
        let found = try await dequeueAndStart(queues: queues, single: single, fetching: nil, limit: limit)
        if !found.isEmpty || configuration.burst { return found }
        let seconds = configuration.dequeuePollInterval.inSeconds
        let command =
            single
            ? RedisCommand(
                "BLMOVE", RQKeys.queue(queues[0]), RQKeys.intermediate(queues[0]), "LEFT", "RIGHT", seconds)
            : RedisCommand("BLPOP", arguments: queues.map(RQKeys.queue) + [seconds])
        let sha = try await redis.scriptHash(RQScripts.dequeueAndStart)
        let start = startArguments
        let startedAt = StartTime()
        let replies = try await redis.sendBlocking(command, blockingFor: configuration.dequeuePollInterval) { reply in
            guard let (queue, id) = Self.popped(reply, single: single, queues: queues) else { return [] }
            let now = Date()
            startedAt.date.withLock { $0 = now }
            let (keys, arguments) = start.make(queues: [queue], single: single, fetching: id, limit: 1, now: now)
            return [RedisCommand("EVALSHA", arguments: [sha, keys.count] + keys + arguments)]
        }
        guard let (queue, id) = Self.popped(replies[0], single: single, queues: queues) else { return [] }
        if replies.count == 2, let now = startedAt.date.withLock({ $0 }) {
            if case .error(let message) = replies[1] {
                // NOSCRIPT (the server lost its scripts): the script did not run; load it and start the job below.
                guard message.hasPrefix("NOSCRIPT") else {
                    throw RedisError(.server, "script \(RQScripts.dequeueAndStart.name): \(message)")
                }
            } else {
                return Self.started(replies[1], now: now)
            }
        }
        return try await dequeueAndStart(queues: [queue], single: single, fetching: id, limit: 1)
    }

    /// The queue and job id a `BLMOVE` (one queue) or `BLPOP` (several) returned, or nil after a timeout.
    private static func popped(_ reply: RedisValue, single: Bool, queues: [String]) -> (queue: String, id: String)? {
        if single {
            guard let id = reply.string else { return nil }
            return (queues[0], id)
        }
        guard let parts = reply.array, parts.count == 2, let key = parts[0].string, let id = parts[1].string
        else { return nil }
        return (String(key.dropFirst(RQKeys.queuePrefix.count)), id)
    }

    private var startArguments: StartArguments {
        StartArguments(
            workerKey: workerKey, name: name,
            monitoringInterval: max(1, Int(configuration.jobMonitoringInterval.inSeconds.rounded(.up))))
    }

    /// When the blocking connection's thread built the start script's arguments.
    private final class StartTime: Sendable {
        let date = Mutex<Date?>(nil)
    }

    /// The arguments of the dequeue-and-start script, which do not depend on the actor's state once made.
    struct StartArguments: Sendable {
        let workerKey: String
        let name: String
        let monitoringInterval: Int

        func make(queues: [String], single: Bool, fetching id: String?, limit: Int, now: Date)
            -> (keys: [String], arguments: [any RedisArgument])
        {
            let executionIDs = (0..<limit).map { _ in RandomID.hex32() }
            let arguments: [any RedisArgument] =
                [
                    id == nil ? "pop" : "fetch", single ? "1" : "0", id ?? "", workerKey, name, "",
                    RQTimestamp.format(now), RQTimestamp.epochString(now), RQTimestamp.epochSeconds(now),
                    monitoringInterval, limit,
                ] + executionIDs
            return (queues.map(RQKeys.queue), arguments)
        }
    }

    private func dequeueAndStart(queues: [String], single: Bool, fetching id: String?, limit: Int) async throws
        -> [Dequeued]
    {
        let now = Date()
        let start = startArguments
        let (keys, arguments) = start.make(queues: queues, single: single, fetching: id, limit: limit, now: now)
        let reply = try await redis.evaluate(RQScripts.dequeueAndStart, keys: keys, arguments: arguments)
        return Self.started(reply, now: now)
    }

    /// The jobs the dequeue-and-start script returned.
    private static func started(_ reply: RedisValue, now: Date) -> [Dequeued] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 4, let key = parts[0].string, let found = parts[1].string,
                let executionID = parts[3].string
            else { return nil }
            return Dequeued(
                queue: String(key.dropFirst(RQKeys.queuePrefix.count)), id: found, fields: parts[2],
                executionID: executionID, startedAt: now)
        }
    }

    private func rotateQueues() {
        switch configuration.dequeueStrategy.base {
        case .priority: break
        case .roundRobin: if queueOrder.count > 1 { queueOrder.append(queueOrder.removeFirst()) }
        case .random: queueOrder.shuffle()
        }
    }

    /// Reads a dequeued job. An id whose hash is gone is dropped, as RQ does; a hash that cannot be read fails
    /// the job with the reason, so it is accounted for.
    private func loadJob(_ dequeued: Dequeued) async -> Job? {
        if case .array(let values) = dequeued.fields, values.isEmpty {
            logger.debug("Skipping job whose hash is gone", metadata: ["rq.job_id": "\(dequeued.id)"])
            return nil
        }
        do {
            return try Job(id: dequeued.id, redis: redis, hash: dequeued.fields)
        } catch {
            logger.error("Job cannot be read", metadata: ["rq.job_id": "\(dequeued.id)", "error": "\(error)"])
            await failUnreadableJob(dequeued, reason: "\(error)")
            return nil
        }
    }

    private func failUnreadableJob(_ dequeued: Dequeued, reason: String) async {
        let id = dequeued.id
        let queue = dequeued.queue
        let now = Date()
        let result = JobResult(
            kind: .failed, returnValue: nil, excString: "\(reason)\n", workerName: name, executionID: "",
            startedAt: now, endedAt: now)
        let commands =
            [
                RedisCommand(
                    "HSET", RQKeys.job(id), "status", "failed", "ended_at", RQTimestamp.format(now), "origin", queue),
                RedisCommand("EXPIRE", RQKeys.job(id), JobLifecycle.defaultFailureTTL),
                RedisCommand(
                    "ZADD", RQKeys.failed(queue), RQTimestamp.epochSeconds(now) + JobLifecycle.defaultFailureTTL, id),
                RedisCommand(
                    "XADD",
                    arguments: [RQKeys.results(id), "MAXLEN", "~", 10, "*"] + result.streamFields(serializer: .json)),
                RedisCommand("LREM", RQKeys.intermediate(queue), 1, id),
                RedisCommand("HINCRBY", workerKey, "failed_job_count", 1),
                RedisCommand("ZREM", RQKeys.started(queue), "\(id):\(dequeued.executionID)"),
                RedisCommand("DEL", RQKeys.execution(id, dequeued.executionID)),
                RedisCommand("ZREM", RQKeys.executions(id), dequeued.executionID),
            ] + workerStateCommands()
        _ = try? await redis.transaction(commands)
        failedJobCount += 1
    }

    // MARK: Running one job

    private func heartbeatTTL(_ timeout: JobTimeout) -> Int {
        let interval = max(1, Int(configuration.jobMonitoringInterval.inSeconds.rounded(.up)))
        guard timeout.seconds > 0 else { return interval + 60 }
        return min(timeout.seconds, interval) + 60
    }

    /// Runs a started job (the dequeue script wrote its start records) and records the outcome.
    private func perform(_ execution: JobExecution, queue: String) async {
        let job = execution.job
        let timeout = job.timeout ?? .default
        if configuration.logJobDescription {
            logger.info("\(queue): \(job.description) (\(job.id))")
        } else {
            logger.info("\(queue): \(job.id)")
        }
        let outcome: JobExecutor.Outcome
        let handle: RunningJob
        switch configuration.execution.mode {
        case .horse(let runner):
            let horse: Horse
            do {
                horse = try await takeHorse(runner: runner)
            } catch {
                handle = RunningJob(execution: execution, horse: nil)
                outcome = .failure("could not start the job runner \(runner): \(error)\n")
                await record(outcome, handle: handle)
                taken.remove(job.id)
                return
            }
            handle = RunningJob(execution: execution, horse: horse)
            running[job.id] = handle
            outcome = await runInHorse(horse, handle: handle, timeout: timeout)
        case .inProcess(let functions):
            handle = RunningJob(execution: execution, horse: nil)
            running[job.id] = handle
            outcome = await runInProcess(functions, handle: handle, timeout: timeout)
        }
        running[job.id] = nil
        // The slot is free once the job has run; its outcome is written meanwhile, in an unstructured task so a cold
        // shutdown (cancellation) still writes it — a job must not be left "started". The worker waits for every
        // pending write before it takes a burst's "queue empty" for an answer and before it unregisters.
        unrecorded.insert(job.id)
        Task {
            await self.record(outcome, handle: handle)
            self.recordWritten(job.id)
        }
    }

    private func recordWritten(_ jobID: String) {
        unrecorded.remove(jobID)
        taken.remove(jobID)
        guard unrecorded.isEmpty else { return }
        let waiters = recordWaiters
        recordWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once every outcome handed to `record` is written.
    private func waitForRecords() async {
        guard !unrecorded.isEmpty else { return }
        await withCheckedContinuation { recordWaiters.append($0) }
    }

    private func takeHorse(runner: String) async throws -> Horse {
        let current = FileIdentity(path: runner)
        if let index = warmHorses.firstIndex(where: { $0.binary == current && $0.process.isRunning }) {
            let horse = warmHorses.remove(at: index)
            // The runner was rebuilt if any warm horse is from another binary: let those go.
            let stale = warmHorses.filter { $0.binary != current || !$0.process.isRunning }
            for old in stale { old.discard() }
            warmHorses.removeAll { $0.binary != current || !$0.process.isRunning }
            scheduleRefill()
            return horse
        }
        for old in warmHorses { old.discard() }
        warmHorses.removeAll()
        scheduleRefill()
        // A runner being rebuilt in place is briefly open for writing (ETXTBSY): wait for the build to finish.
        for attempt in 1...40 {
            do {
                return try Horse(runner: runner, environment: horseEnvironment)
            } catch let error where error.isTextFileBusy && attempt < 40 {
                try? await Task.sleep(for: .milliseconds(50))
            } catch {
                throw WorkerPoolError(.runnerUnavailable, "\(error)")
            }
        }
        throw WorkerPoolError(.runnerUnavailable, "\(runner) stayed busy (being written) for 2 seconds")
    }

    private func scheduleRefill() {
        guard configuration.warmHorses else { return }
        Task { self.refillWarmHorses() }
    }

    private func refillWarmHorses() {
        guard configuration.warmHorses, case .horse(let runner) = configuration.execution.mode, case .running = state
        else { return }
        // One spare beyond the concurrency: a horse takes longer to start than a no-op job takes to run, so with one
        // horse per slot the next job would wait for the start-up of a horse spawned when the last one began.
        while warmHorses.count + running.count < 2 * configuration.concurrency + 1,
            warmHorses.count < configuration.concurrency + 1
        {
            guard let horse = try? Horse(runner: runner, environment: horseEnvironment) else { return }
            warmHorses.append(horse)
        }
    }

    private func runInHorse(_ horse: Horse, handle: RunningJob, timeout: JobTimeout) async -> JobExecutor.Outcome {
        let job = handle.execution.job
        let assignment = HorseProtocol.Assignment(
            job: job, executionID: handle.execution.id, workerName: name, timeout: timeout.seconds,
            redis: redis.configuration)
        let penalty = deathPenalty
        // The horse runs the success or failure callback after the job: give it their time before stopping it. The
        // watchdog is a deadline on the shared clock, not a `Task.sleep`: a cancelled sleep leaves its dispatch
        // timer (and sleep task, ~0.7 KB) behind until the deadline, 180 s by default — memory growing with the
        // job rate.
        let deadline = timeout.seconds + job.callbacks.longestRunInJob
        let watchdog: UInt64? =
            timeout.seconds > 0
            ? Deadlines.shared.schedule(after: .seconds(deadline)) {
                guard !handle.hasEnded else { return }
                handle.markStopping(.timeout)
                Task { await penalty.stop(handle) }
            } : nil
        let (reported, status) = await horse.run(assignment.encoded())
        handle.markEnded()
        if let watchdog { Deadlines.shared.cancel(watchdog) }
        let outcome: JobExecutor.Outcome
        switch handle.stopReason {
        case .stopCommand?:
            await runLateCallback(job.callbacks.stopped, job: job, outcome: .stopped)
            return .failure(Self.stoppedText)
        case .timeout? where reported == nil:
            outcome = .failure(JobExecutor.timeoutText(timeout))
        case .coldShutdown? where reported == nil:
            return .failure(coldShutdownText)
        default:
            if let reported { return reported }
            outcome = .failure(
                "Work-horse terminated unexpectedly; waitpid returned \(SpawnedProcess.describe(status ?? 0)); ")
        }
        // The horse died before it could run the failure callback: run it in a horse of its own (not while the
        // worker is being shut down cold).
        if case .failure(let text) = outcome, handle.stopReason != .coldShutdown {
            await runLateCallback(job.callbacks.failure, job: job, outcome: .failed(text))
        }
        return outcome
    }

    private func runInProcess(_ functions: JobFunctionRegistry, handle: RunningJob, timeout: JobTimeout) async
        -> JobExecutor.Outcome
    {
        let executor = JobExecutor(redis: redis, functions: functions, workerName: name)
        let job = handle.execution.job
        let executionID = handle.execution.id
        let work = Task { await executor.perform(job, executionID: executionID, enforceTimeout: true) }
        handle.attach(work)
        let outcome = await work.value
        handle.markEnded()
        switch handle.stopReason {
        case .stopCommand?:
            await runLateCallback(job.callbacks.stopped, job: job, outcome: .stopped)
            return .failure(Self.stoppedText)
        case .coldShutdown?: return .failure(coldShutdownText)
        default: return outcome
        }
    }

    /// Runs a failure or stopped callback outside the job's own run — in a fresh horse, or in process — under its
    /// timeout. A failing callback is logged; the job's outcome stays as it is.
    private func runLateCallback(_ callback: JobCallback?, job: Job, outcome: JobCallbackOutcome) async {
        guard let callback else { return }
        let problem: String?
        switch configuration.execution.mode {
        case .inProcess(let functions):
            let executor = JobExecutor(redis: redis, functions: functions, workerName: name)
            problem = await executor.runCallback(callback, job: job, outcome: outcome)
        case .horse(let runner):
            var assignment = HorseProtocol.Assignment(
                job: job, executionID: "", workerName: name, timeout: job.timeout?.seconds ?? -1,
                redis: redis.configuration)
            if case .failed(let text) = outcome {
                assignment.callbackOnly = .init(callback: callback, stopped: false, failureText: text)
            } else {
                assignment.callbackOnly = .init(callback: callback, stopped: true, failureText: "")
            }
            do {
                let horse = try await takeHorse(runner: runner)
                let limit = callback.timeout.seconds > 0 ? callback.timeout.seconds + 1 : Int.max / 2
                let guardian = Deadlines.shared.schedule(after: .seconds(limit)) { horse.kill(SIGKILL) }
                let (reported, status) = await horse.run(assignment.encoded())
                Deadlines.shared.cancel(guardian)
                switch reported {
                case .success?: problem = nil
                case .failure(let text)?: problem = text
                case nil:
                    problem =
                        "callback \(callback.name) ended without a report; waitpid returned "
                        + SpawnedProcess.describe(status ?? 0)
                }
            } catch {
                problem = "could not start a horse for callback \(callback.name): \(error)"
            }
        }
        if let problem {
            logger.error(
                "\(job.origin): callback failed (\(job.id))",
                metadata: ["rq.job_id": "\(job.id)", "rq.callback": "\(callback.name)", "error": "\(problem)"])
        }
    }

    static let stoppedText = "Job stopped by user, work-horse terminated."
    private var coldShutdownText: String { "Job was stopped by a cold shutdown of worker \(name).\n" }

    /// Writes the outcome: success or failure records, counters, worker state, dependents.
    private func record(_ outcome: JobExecutor.Outcome, handle: RunningJob) async {
        let execution = handle.execution
        let job = execution.job
        let endedAt = Date()
        var commands: [RedisCommand]
        let status: JobStatus
        switch outcome {
        case .success(let value):
            status = .finished
            successfulJobCount += 1
            commands = JobLifecycle.success(
                execution, returnValue: value, endedAt: endedAt, defaultResultTTL: configuration.defaultResultTTL)
            let ttl = job.resultTTL ?? configuration.defaultResultTTL
            logger.info("\(job.origin): Job OK (\(job.id))")
            logger.info(ttl < 0 ? "Result will never expire" : "Result is kept for \(ttl) seconds")
        case .failure(let text):
            status = handle.stopReason == .stopCommand ? .stopped : .failed
            failedJobCount += 1
            if status == .failed, let retriesLeft = job.retriesLeft, retriesLeft > 0 {
                let writes = JobLifecycle.retry(execution, endedAt: endedAt) + workerStateCommands()
                logger.info(
                    "\(job.origin): Job failed, retrying (\(job.id))",
                    metadata: ["rq.retries_left": "\(retriesLeft - 1)"])
                await withRetries("record retry", jobID: job.id) { try await self.redis.transaction(writes) }
                return
            }
            if await runExceptionHandlers(job, text) {
                commands = JobLifecycle.failure(execution, excString: text, endedAt: endedAt, status: status)
            } else {
                commands = JobLifecycle.failureWithoutRegistry(execution, endedAt: endedAt, status: status)
            }
            logger.error(
                "\(job.origin): Job failed (\(job.id))",
                metadata: ["rq.job_id": "\(job.id)", "error": "\(text.split(separator: "\n").last ?? "")"])
        }
        commands += workerStateCommands()
        // Dependents are released in the same transaction (one round trip); if the server lost the script
        // (NOSCRIPT, e.g. after a restart) the release is run again on its own.
        let releases = status == .finished || status == .failed
        let sha = releases ? try? await redis.scriptHash(RQScripts.releaseDependents) : nil
        if let sha {
            commands.append(
                RedisCommand("EVALSHA", sha, 0, job.id, status.rawValue, RQTimestamp.format(Date())))
        }
        let writes = commands
        let redis = self.redis
        await withRetries("record job outcome", jobID: job.id) {
            let results = try await redis.transactionResults(writes)
            for (index, result) in results.enumerated() {
                guard case .error(let message) = result else { continue }
                if sha != nil, index == results.count - 1 {
                    try await JobLifecycle.releaseDependents(of: job.id, status: status, redis: redis)
                } else {
                    self.logger.error(
                        "Job outcome write failed", metadata: ["rq.job_id": "\(job.id)", "error": "\(message)"])
                }
            }
        }
        if releases, sha == nil {
            await withRetries("release dependents", jobID: job.id) {
                try await JobLifecycle.releaseDependents(of: job.id, status: status, redis: redis)
            }
        }
        // Webhooks hook (issue 13): queued once the outcome is written, sent off the worker's path (WebhookSender).
        WebhookSender.shared.jobEnded(job, status: status, endedAt: endedAt, outcome: outcome, logger: logger)
    }

    /// The worker's state after a job ended: idle when nothing else runs, else busy with another job.
    private func workerStateCommands() -> [RedisCommand] {
        if running.isEmpty {
            return [RedisCommand("HSET", workerKey, "state", "idle"), RedisCommand("HDEL", workerKey, "current_job")]
        }
        return running.keys.first.map { [RedisCommand("HSET", workerKey, "current_job", $0)] } ?? []
    }

    /// Runs the handler chain; returns whether the default handler (failed registry) should run.
    private func runExceptionHandlers(_ job: Job, _ text: String) async -> Bool {
        for handler in configuration.exceptionHandlers {
            if await handler.body(job, text) == .stop { return false }
        }
        return !configuration.disableDefaultExceptionHandler
    }

    /// Runs a write until it succeeds: through an outage of any length (up to `maximumOutage`), and five times for
    /// other errors. An outcome is never dropped because Redis was away when the job ended.
    private func withRetries(_ what: String, jobID: String, _ body: @Sendable () async throws -> Void) async {
        var backoff = Backoff.outage
        var attempt = 0
        while true {
            do {
                try await body()
                await outageEnded()
                return
            } catch let error as RedisError where error.isTransient {
                do { try await rideOut(error) } catch {
                    logger.error(
                        "Redis write given up: Redis unreachable for longer than the maximum outage",
                        metadata: ["rq.job_id": "\(jobID)", "what": "\(what)", "error": "\(error)"])
                    return
                }
            } catch {
                attempt += 1
                logger.warning(
                    "Redis write failed",
                    metadata: [
                        "rq.job_id": "\(jobID)", "what": "\(what)", "attempt": "\(attempt)", "error": "\(error)",
                    ])
                if attempt == 5 { return }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    // MARK: Outages

    /// Rides out one failed Redis call: logs once when Redis goes away, then waits the next step of a capped
    /// exponential backoff (0.1 s doubling to 5 s).
    ///
    /// - Throws: the error itself if it is not one that passes (``RedisError/isTransient``) or the outage has
    ///   lasted longer than `maximumOutage`; `CancellationError` if the worker is cancelled meanwhile.
    private func rideOut(_ error: any Error) async throws {
        guard let redisError = error as? RedisError, redisError.isTransient else { throw error }
        let now = ContinuousClock.now
        let since = outage?.since ?? now
        if outage == nil {
            logger.warning(
                "Redis is unreachable; the worker keeps trying",
                metadata: ["rq.redis": "\(redis.configuration.endpoint)", "error": "\(redisError.message)"])
        }
        if let limit = configuration.maximumOutage, now - since > limit {
            logger.error(
                "Redis unreachable for longer than the maximum outage", metadata: ["rq.max_outage": "\(limit)"])
            throw error
        }
        var backoff = outage?.backoff ?? .outage
        let delay = backoff.next()
        outage = (since, backoff)
        try await Task.sleep(for: delay)
    }

    /// After a successful Redis call: if Redis had been away, logs that it is back and registers the worker again if
    /// its hash is gone (a failover to a replica that had not seen it). (The dequeue loop takes back the jobs whose
    /// start the outage swallowed.)
    private func outageEnded() async {
        guard let since = outage?.since else { return }
        outage = nil
        let seconds = (ContinuousClock.now - since).inSeconds
        logger.info("Redis is back", metadata: ["rq.outage_seconds": "\((seconds * 10).rounded() / 10)"])
        do {
            if try await redis.send("HEXISTS", workerKey, "birth").int == 0 {
                logger.info("Worker hash gone after the outage; registering again")
                try await redis.transaction(registrationCommands(address: await ipAddress()) + workerStateCommands())
            }
        } catch {
            logger.warning("Checks after the outage failed", metadata: ["error": "\(error)"])
        }
    }

    /// Jobs this worker started in Redis but never heard of — the reply of the script that started them was lost
    /// with the connection — go back to the front of their queue: they never ran. Every job it did hear of
    /// (`taken`: loading, running or being recorded) stays as it is.
    private func requeueLostStarts() async throws {
        let known = Array(taken)
        for queue in configuration.queues {
            let requeued = try await redis.evaluate(
                RQScripts.requeueLostStarts, keys: [RQKeys.started(queue), RQKeys.queue(queue)],
                arguments: [name] + known
            ).strings
            if !requeued.isEmpty {
                logger.warning(
                    "Requeued jobs whose start was lost in the outage",
                    metadata: ["rq.queue": "\(queue)", "rq.job_ids": "\(requeued)"])
            }
        }
    }

    // MARK: Heartbeats, commands, shutdown

    private func monitorHeartbeats() async throws {
        while !Task.isCancelled {
            try await Task.sleep(
                for: min(configuration.jobMonitoringInterval, .seconds(Double(configuration.workerTTL) / 2)))
            await heartbeat()
        }
    }

    private func heartbeat() async {
        let now = Date()
        let stamp = RQTimestamp.format(now)
        var commands = [RedisCommand("HSET", workerKey, "last_heartbeat", stamp)]
        if running.isEmpty {
            commands.append(RedisCommand("EXPIRE", workerKey, configuration.workerTTL + 60))
        } else {
            let nowEpoch = RQTimestamp.epochSeconds(now)
            var longest = 0
            for handle in running.values {
                let execution = handle.execution
                let job = execution.job
                let ttl = heartbeatTTL(job.timeout ?? .default)
                longest = max(longest, ttl)
                commands += [
                    RedisCommand(
                        "HSET", RQKeys.execution(job.id, execution.id), "last_heartbeat", RQTimestamp.epochString(now)),
                    RedisCommand("EXPIRE", RQKeys.execution(job.id, execution.id), ttl),
                    RedisCommand("ZADD", RQKeys.started(job.origin), "XX", nowEpoch + ttl, execution.wipMember),
                    RedisCommand("ZADD", RQKeys.executions(job.id), nowEpoch + ttl + 60, execution.id),
                    RedisCommand("EXPIRE", RQKeys.executions(job.id), ttl + 60),
                    RedisCommand("HSET", RQKeys.job(job.id), "last_heartbeat", stamp),
                    RedisCommand(
                        "HSET", workerKey, "current_job_working_time", now.timeIntervalSince(execution.startedAt)),
                ]
            }
            commands.append(RedisCommand("EXPIRE", workerKey, longest))
        }
        do {
            // A worker hash that vanished (a failover to a replica that had not seen it, a flush) is written anew.
            let results = try await redis.transactionResults([RedisCommand("HEXISTS", workerKey, "birth")] + commands)
            if results.first?.int == 0 {
                logger.info("Worker hash gone; registering again")
                try await redis.transaction(registrationCommands(address: await ipAddress()) + workerStateCommands())
            }
            await outageEnded()
        } catch let error as RedisError where error.isTransient {
            // Redis is away: the dequeue loop says so once, and the next heartbeat tries again.
        } catch {
            logger.warning("Heartbeat failed", metadata: ["error": "\(error)"])
        }
    }

    private func listenForCommands() async {
        guard let subscriber else { return }
        for await payload in subscriber.messages {
            guard let command = try? JSONValue(parsing: payload), let name = command["command"]?.stringValue else {
                logger.warning(
                    "Ignoring malformed worker command",
                    metadata: ["payload": "\(String(decoding: payload, as: UTF8.self))"])
                continue
            }
            await handle(command: name, jobID: command["job_id"]?.stringValue)
        }
    }

    private func handle(command: String, jobID: String?) async {
        logger.info("Received command", metadata: ["rq.command": "\(command)"])
        switch command {
        case "shutdown":
            await beginDraining()
        case "kill-horse":
            for handle in running.values { handle.stopNow(.killCommand) }
        case "stop-job":
            guard let jobID, let handle = running[jobID] else {
                logger.info("stop-job for a job not running here", metadata: ["rq.job_id": "\(jobID ?? "")"])
                return
            }
            handle.stopNow(.stopCommand)
        default:
            logger.warning("Unknown worker command", metadata: ["rq.command": "\(command)"])
        }
    }

    private func stopAllRunningJobs(_ reason: StopReason) {
        state = .stopped
        if reason == .coldShutdown, !running.isEmpty {
            logger.warning(
                "Cold shut down: stopping running jobs", metadata: ["rq.job_ids": "\(running.keys.sorted())"])
        }
        for handle in running.values { handle.stopNow(reason) }
    }

    // MARK: Maintenance

    private func maintainIfDue() async {
        if let last = lastMaintenance, ContinuousClock.now - last < configuration.maintenanceInterval { return }
        lastMaintenance = .now
        let maintenance = RegistryMaintenance(redis: redis, logger: logger)
        for queue in configuration.queues {
            for (job, failure) in await maintenance.clean(queue: queue) {
                await runLateCallback(job.callbacks.failure, job: job, outcome: .failed(failure))
            }
        }
    }
}

/// The version strings a worker writes to its hash.
/// swift-rq itself.
public enum SwiftRQ {
    /// The library's version, as `swift-rq --version` prints it and workers write it to their hash.
    public static let version = RQVersion.library
}

enum RQVersion {
    static let library = "0.1.0"
    /// The `version` field; `rq info` and rq-dashboard show it verbatim.
    static let workerVersion = "swift-rq \(library)"
    /// The `python_version` field names the runtime.
    static let runtime: String = {
        #if swift(>=6.3)
            "Swift 6.3 (swift-rq \(library))"
        #else
            "Swift 6 (swift-rq \(library))"
        #endif
    }()
}
