public import FoundationEssentials
import Glibc

/// A named RQ queue: `rq:queue:{name}` and its registries.
///
/// ```swift
/// let queue = Queue("default", redis: redis)
/// let job = try await queue.enqueue("mymod.myfunc", args: [1, "a"], kwargs: ["k": 2])
/// ```
///
/// A queue holds only immutable configuration, so it is a plain `Sendable` class: many tasks can encode and send
/// enqueues through one queue in parallel, and the ``Redis`` client pipelines them.
public final class Queue: Sendable {
    /// The queue name, e.g. `default`.
    public let name: String
    /// The client.
    public let redis: Redis
    /// The timeout stored for jobs enqueued without one. Defaults to 180 seconds.
    public let defaultTimeout: JobTimeout
    /// The serializer new jobs are stored in: ``JobSerializer/json`` (the default) or ``JobSerializer/pickle`` (Python
    /// RQ's default), for Python workers started without `-S json`. Swift workers read both.
    public let serializer: JobSerializer
    /// Whether jobs go to workers (`true`, the default) or run at once in this process (RQ's `is_async=False`).
    public let isAsync: Bool
    /// The functions a synchronous queue runs.
    let functions: JobFunctionRegistry?
    /// Joins concurrent enqueues of new jobs through this handle into shared transactions.
    private let combiner = EnqueueCombiner()

    /// The `rq:queue:{name}` key: the Redis list of the queue's job ids, for code that reads it in a pipeline of
    /// its own (a dashboard counting many queues in one round trip).
    public var key: String { RQKeys.queue(name) }

    /// Creates a handle on a queue; nothing is written until the first enqueue.
    ///
    /// - Parameters:
    ///   - name: the queue name; its list is `rq:queue:{name}`.
    ///   - redis: the client jobs are written and read through.
    ///   - defaultTimeout: the timeout stored for jobs enqueued without one (RQ's `default_timeout`, 180 s).
    ///   - serializer: how new jobs' calls, `meta` and results are stored. Defaults to ``JobSerializer/json``, which
    ///     Python workers read with `-S json`; ``JobSerializer/pickle`` is Python RQ's default serializer.
    public init(
        _ name: String = "default", redis: Redis, defaultTimeout: JobTimeout = .default,
        serializer: JobSerializer = .json
    ) {
        self.name = name
        self.redis = redis
        self.defaultTimeout = defaultTimeout
        self.serializer = serializer
        self.isAsync = true
        self.functions = nil
    }

    /// Creates a synchronous queue (RQ's `is_async=False`): each enqueue runs the job at once, in this process,
    /// with `functions`, and records its status and result in Redis as a worker named `sync` would.
    ///
    /// - Parameters:
    ///   - name: the queue's name. Defaults to `default`.
    ///   - redis: the client.
    ///   - defaultTimeout: the timeout stored for jobs enqueued without one. Defaults to 180 seconds.
    ///   - serializer: how new jobs' calls, `meta` and results are stored. Defaults to ``JobSerializer/json``.
    ///   - functions: the functions the jobs are run with.
    public init(
        _ name: String = "default", redis: Redis, defaultTimeout: JobTimeout = .default,
        serializer: JobSerializer = .json, runningSynchronouslyWith functions: JobFunctionRegistry
    ) {
        self.name = name
        self.redis = redis
        self.defaultTimeout = defaultTimeout
        self.serializer = serializer
        self.isAsync = false
        self.functions = functions
    }

    // MARK: Enqueueing

    /// Enqueues a call of a function by name with RQ's positional `args` and keyword `kwargs`.
    ///
    /// Without dependencies this is one `MULTI`/`EXEC` round trip — shared with the enqueues of new jobs that other
    /// tasks make through this `Queue` at the same moment; with dependencies one Lua script that defers the job if a
    /// parent has not finished.
    ///
    /// - Parameters:
    ///   - functionName: the function's dotted name, as the worker resolves it (`mymod.myfunc`).
    ///   - args: the positional arguments.
    ///   - kwargs: the keyword arguments.
    ///   - options: the job's id, timeouts, TTLs, dependencies, retries and other settings.
    /// - Returns: the job as stored: `queued`, or `deferred` if it waits on dependencies (on a synchronous queue, the
    ///   job after it ran).
    /// - Throws: ``RQError`` `invalidArgument` for bad options or an empty function name, `duplicateJob` for a
    ///   unique enqueue whose id exists; ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func enqueue(
        _ functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: EnqueueOptions = .init()
    ) async throws -> Job {
        let request = EnqueueRequest(functionName, args: args, kwargs: kwargs, options: options)
        let job = try await withProducerSpan(.publish, makeJob(request, now: Date())) { job in
            if isAsync || request.options.dependsOn != nil { return try await store(job, options: request.options) }
            var job = job
            job.enqueuedAt = job.createdAt
            try await redis.transaction([RedisCommand("SADD", RQKeys.queues, key)] + storeCommands(job))
            return job
        }
        if job.status == .queued { WorkerMetrics.enqueued(1, queue: name) }
        if !isAsync, job.status == .queued {
            return try await runJob(job)
        }
        return job
    }

    /// Schedules a call to be enqueued at `date` (RQ's `enqueue_at`): the job waits in the scheduled registry with
    /// status `scheduled` until a scheduler (a Swift or Python worker started with a scheduler) moves it to the
    /// queue.
    ///
    /// - Parameters:
    ///   - date: when the job should be moved to the queue.
    ///   - functionName: the function's dotted name, as the worker resolves it (`mymod.myfunc`).
    ///   - args: the positional arguments.
    ///   - kwargs: the keyword arguments.
    ///   - options: the job's id, timeouts, TTLs, dependencies, retries and other settings.
    /// - Returns: the job as stored, with status `scheduled`.
    /// - Throws: ``RQError`` `invalidArgument` for bad options or an empty function name, `duplicateJob` for a
    ///   unique enqueue whose id exists; ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func enqueue(
        at date: Date, _ functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:],
        options: EnqueueOptions = .init()
    ) async throws -> Job {
        let request = EnqueueRequest(functionName, args: args, kwargs: kwargs, options: options)
        var job = try makeJob(request, now: Date())
        job.status = .scheduled
        if options.atFront { job.enqueueAtFront = true }
        return try await withProducerSpan(.schedule, job) { job in
            try await storeScheduled(job, at: date, unique: options.unique)
        }
    }

    /// Writes a new scheduled job: its hash and its entry in the scheduled registry.
    private func storeScheduled(_ job: Job, at date: Date, unique: Bool) async throws -> Job {
        if unique {
            let arguments: [any RedisArgument] =
                [job.id, name, "0", job.ttl.map(String.init) ?? "", RQTimestamp.epochSeconds(date)]
                + job.fieldMapping()
            guard
                try await redis.evaluate(RQScripts.enqueueUnique, keys: [RQKeys.job(job.id)], arguments: arguments).int
                    == 1
            else {
                throw RQError(.duplicateJob, "a job with id \(job.id) already exists", jobID: job.id)
            }
            return job
        }
        try await redis.transaction(
            [RedisCommand("SADD", RQKeys.queues, key)] + storeCommands(job)
                + [RedisCommand("ZADD", RQKeys.scheduled(name), RQTimestamp.epochSeconds(date), job.id)])
        return job
    }

    /// Schedules an existing job to be enqueued on this queue at `date` (RQ's `schedule_job`): the job is saved with
    /// status `scheduled` and added to the scheduled registry. Unlike Python, it is also taken off the queue's list,
    /// so a queued job rescheduled for later does not run twice.
    ///
    /// - Parameters:
    ///   - job: the job to schedule; it is saved with this queue as its origin.
    ///   - date: when the job should be moved to the queue.
    /// - Returns: the job as stored.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func schedule(_ job: Job, at date: Date) async throws -> Job {
        var job = job
        job.status = .scheduled
        job.origin = name
        return try await withProducerSpan(.schedule, job) { job in
            try await redis.transaction([
                RedisCommand("SADD", RQKeys.queues, key),
                RedisCommand("HSET", RQKeys.job(job.id), encoded: job.encodedFields()),
                RedisCommand("LREM", key, 0, job.id),
                RedisCommand("ZADD", RQKeys.scheduled(name), RQTimestamp.epochSeconds(date), job.id),
            ])
            return job
        }
    }

    /// Schedules a call to be enqueued after `delay` (RQ's `enqueue_in`); see ``enqueue(at:_:args:kwargs:options:)``.
    ///
    /// - Parameters:
    ///   - delay: how long from now the job should wait before it is moved to the queue.
    ///   - functionName: the function's dotted name, as the worker resolves it (`mymod.myfunc`).
    ///   - args: the positional arguments.
    ///   - kwargs: the keyword arguments.
    ///   - options: the job's id, timeouts, TTLs, dependencies, retries and other settings.
    /// - Returns: the job as stored, with status `scheduled`.
    /// - Throws: what ``enqueue(at:_:args:kwargs:options:)`` throws.
    @discardableResult
    public func enqueue(
        in delay: Duration, _ functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:],
        options: EnqueueOptions = .init()
    ) async throws -> Job {
        try await enqueue(
            at: Date().addingTimeInterval(delay.inSeconds), functionName, args: args, kwargs: kwargs, options: options)
    }

    /// Enqueues many jobs; those without dependencies go in one `MULTI`/`EXEC` round trip, so a worker sees all of
    /// them or none. With a `groupID` the jobs form an RQ group (`rq:group:{id}`), readable with ``JobGroup``.
    ///
    /// - Parameters:
    ///   - requests: the calls and their options.
    ///   - groupID: the id of the group the jobs form, or nil for none; it must be non-empty and have no `:`.
    /// - Returns: the jobs, in the order given.
    /// - Throws: ``RQError`` `invalidArgument` for bad options, an empty function name or a bad group id (then
    ///   nothing is written), `duplicateJob` for a unique enqueue whose id exists; ``RedisError`` if Redis cannot be
    ///   reached.
    @discardableResult
    public func enqueueMany(_ requests: [EnqueueRequest], groupID: String? = nil) async throws -> [Job] {
        let now = Date()
        var jobs = try requests.map { try makeJob($0, now: now) }
        if let groupID {
            guard !groupID.isEmpty, !groupID.contains(":") else {
                throw RQError(.invalidArgument, "invalid group id '\(groupID)'")
            }
            for index in jobs.indices { jobs[index].groupID = groupID }
        }
        jobs = try await withProducerSpans(.publish, jobs) { jobs in
            try await storeMany(jobs, requests, groupID: groupID, now: now)
        }
        WorkerMetrics.enqueued(jobs.count(where: { $0.status == .queued }), queue: name)
        return jobs
    }

    /// Writes new jobs: those without dependencies in one transaction, then each of the others.
    private func storeMany(
        _ jobs: [Job], _ requests: [EnqueueRequest], groupID: String?, now: Date
    ) async throws -> [Job] {
        var jobs = jobs
        var commands: [RedisCommand] = [RedisCommand("SADD", RQKeys.queues, key)]
        if let groupID, !jobs.isEmpty {
            commands.append(RedisCommand("SADD", arguments: [RQKeys.group(groupID)] + jobs.map(\.id)))
            commands.append(RedisCommand("SADD", RQKeys.groups, groupID))
        }
        var withDependencies: [Int] = []
        var plain: [Int] = []
        for (index, request) in requests.enumerated() {
            if request.options.dependsOn != nil {
                withDependencies.append(index)
            } else {
                jobs[index].enqueuedAt = now
                plain.append(index)
            }
        }
        commands += await encodeConcurrently(plain.map { jobs[$0] }) { self.storeCommands($0) }
        commands += Self.pushCommands(plain.map { (jobs[$0].id, requests[$0].options.atFront) }, queueKey: key)
        if commands.count > 1 { try await redis.transaction(commands) }
        for index in withDependencies {
            jobs[index] = try await store(jobs[index], options: requests[index].options)
        }
        return jobs
    }

    /// Runs a stored job at once in this process, as RQ's `Queue.run_job`; only for synchronous queues.
    ///
    /// The job's own failure is not thrown: it is recorded, and the returned job has status `failed`.
    ///
    /// - Parameter job: the stored job to run.
    /// - Returns: the job as it is afterwards (its last known state if a `result_ttl` of 0 deleted it).
    /// - Throws: ``RQError`` `invalidState` if the queue was not made with
    ///   ``init(_:redis:defaultTimeout:serializer:runningSynchronouslyWith:)``; ``RedisError`` if Redis cannot be
    ///   reached.
    @discardableResult
    public func runJob(_ job: Job) async throws -> Job {
        guard let functions else {
            throw RQError(.invalidState, "queue \(name) is asynchronous; its jobs run on workers", jobID: job.id)
        }
        return try await JobExecutor(redis: redis, functions: functions).runSynchronously(job)
    }

    func makeJob(_ request: EnqueueRequest, now: Date) throws(RQError) -> Job {
        try request.options.validate()
        guard !request.functionName.isEmpty else {
            throw RQError(.invalidArgument, "the function name must not be empty")
        }
        return Job(
            id: request.options.jobID ?? RandomID.uuid4(), redis: redis, origin: name,
            payload: JobPayload(
                functionName: request.functionName, args: request.args, kwargs: request.kwargs, serializer: serializer),
            description: request.options.description, timeout: request.options.timeout ?? defaultTimeout,
            options: request.options, status: .queued, now: now)
    }

    /// Writes a new job: queued at once, or deferred behind unfinished dependencies.
    func store(_ job: Job, options: EnqueueOptions) async throws -> Job {
        var job = job
        let now = Date()
        if options.unique {
            job.enqueuedAt = now
            let arguments: [any RedisArgument] =
                [job.id, name, options.atFront ? "1" : "0", job.ttl.map(String.init) ?? "", ""] + job.fieldMapping()
            guard
                try await redis.evaluate(RQScripts.enqueueUnique, keys: [RQKeys.job(job.id)], arguments: arguments).int
                    == 1
            else {
                throw RQError(.duplicateJob, "a job with id \(job.id) already exists", jobID: job.id)
            }
            return job
        }
        if let dependency = options.dependsOn, !dependency.jobIDs.isEmpty {
            var arguments: [any RedisArgument] = [
                job.id, name, RQTimestamp.epochSeconds(now), options.atFront ? "1" : "0", RQTimestamp.format(now),
                job.ttl.map(String.init) ?? "", dependency.jobIDs.count,
            ]
            arguments += dependency.jobIDs
            arguments += job.fieldMapping()
            let queued = try await redis.evaluate(RQScripts.enqueueWithDependencies, arguments: arguments).int == 1
            job.status = queued ? .queued : .deferred
            job.enqueuedAt = queued ? now : nil
            return job
        }
        job.enqueuedAt = now
        if options.jobID == nil {
            try await combiner.enqueue(
                EnqueueCombiner.Entry(id: job.id, atFront: options.atFront, commands: storeCommands(job)),
                queueKey: key, redis: redis)
        } else {
            try await redis.transaction(
                [RedisCommand("SADD", RQKeys.queues, key)] + enqueueCommands(job, atFront: options.atFront))
        }
        return job
    }

    /// The commands `encode` makes for each job, in order. Large batches are encoded in slices on several cores
    /// (JSON, zlib and RESP per job), so a big `enqueueMany` does not wait on one core while the others idle.
    func encodeConcurrently(
        _ jobs: [Job], _ encode: @escaping @Sendable (Job) -> [RedisCommand]
    ) async -> [RedisCommand] {
        let slices = jobs.count >= 512 ? max(1, min(8, ProcessInfo.processInfo.activeProcessorCount)) : 1
        guard slices > 1 else { return jobs.flatMap(encode) }
        let size = (jobs.count + slices - 1) / slices
        return await withTaskGroup(of: (Int, [RedisCommand]).self) { group in
            for slice in 0..<slices {
                let part = jobs[min(slice * size, jobs.count)..<min((slice + 1) * size, jobs.count)]
                group.addTask { (slice, part.flatMap(encode)) }
            }
            var parts = [[RedisCommand]](repeating: [], count: slices)
            for await (slice, commands) in group { parts[slice] = commands }
            return parts.flatMap { $0 }
        }
    }

    func enqueueCommands(_ job: Job, atFront: Bool) -> [RedisCommand] {
        storeCommands(job) + Self.pushCommands([(job.id, atFront)], queueKey: key)
    }

    /// A new job's hash and, if it has a `ttl`, its expiry.
    func storeCommands(_ job: Job) -> [RedisCommand] {
        [RedisCommand("HSET", RQKeys.job(job.id), encoded: job.encodedFields())] + expiry(job)
    }

    /// Pushes of ids onto a queue: one LPUSH of the front ids and one RPUSH of the rest, which leave the list
    /// exactly as pushing each in turn would. Every push of a job onto its queue written in Swift is this one (the
    /// scripts' is `RQLua`'s `pushJob`).
    static func pushCommands(_ ids: [(id: String, atFront: Bool)], queueKey: String) -> [RedisCommand] {
        let front = ids.filter(\.atFront).map(\.id)
        let back = ids.filter { !$0.atFront }.map(\.id)
        var commands: [RedisCommand] = []
        if !front.isEmpty { commands.append(RedisCommand("LPUSH", arguments: [queueKey] + front)) }
        if !back.isEmpty { commands.append(RedisCommand("RPUSH", arguments: [queueKey] + back)) }
        return commands
    }

    func expiry(_ job: Job) -> [RedisCommand] {
        guard let ttl = job.ttl, ttl > 0 else { return [] }
        return [
            RedisCommand("EXPIRE", RQKeys.job(job.id), ttl),
            RedisCommand("EXPIRE", RQKeys.dependents(job.id), ttl),
            RedisCommand("EXPIRE", RQKeys.dependencies(job.id), ttl),
        ]
    }

    // MARK: Inspection

    /// The number of job ids in the queue (`LLEN`).
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func count() async throws -> Int {
        try await redis.send("LLEN", key).int ?? 0
    }

    /// Whether the queue holds no job ids.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func isEmpty() async throws -> Bool { try await count() == 0 }

    /// Job ids in queue order.
    ///
    /// - Parameters:
    ///   - offset: the first position.
    ///   - length: how many; `-1` for all from `offset`.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func jobIDs(offset: Int = 0, length: Int = -1) async throws -> [String] {
        let end = length < 0 ? -1 : offset + length - 1
        return try await redis.send("LRANGE", key, offset, end).strings
    }

    /// The jobs in queue order; ids whose hash has expired are left out.
    ///
    /// - Parameters:
    ///   - offset: the first position.
    ///   - length: how many; `-1` for all from `offset`.
    /// - Throws: ``RQError`` `invalidJob` for a job hash that cannot be read;
    ///   ``RedisError`` if Redis cannot be reached.
    public func jobs(offset: Int = 0, length: Int = -1) async throws -> [Job] {
        try await Job.fetchMany(ids: jobIDs(offset: offset, length: length), redis: redis).compactMap { $0 }
    }

    /// A job of this queue, or `nil` if there is none with that id or it belongs to another queue.
    ///
    /// - Parameter id: the job's id.
    /// - Throws: ``RQError`` `invalidJob` if the job hash cannot be read; ``RedisError`` if Redis cannot be reached.
    public func fetchJob(_ id: String) async throws -> Job? {
        do {
            let job = try await Job.fetch(id: id, redis: redis)
            return job.origin == name ? job : nil
        } catch let error as RQError where error.code == .noSuchJob {
            return nil
        }
    }

    /// The 0-based position of a job id in the queue, or `nil`.
    ///
    /// - Parameter id: the job's id.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func position(of id: String) async throws -> Int? {
        try await redis.send("LPOS", key, id).int
    }

    /// Takes a job id off the queue (`LREM`, the first occurrence), as Python RQ's `Queue.remove`: the job hash
    /// stays, with its status, so use ``Job/cancel(enqueueDependents:removeFromDependencies:)`` or
    /// ``Job/delete(deleteDependents:)`` to account for the job.
    ///
    /// - Parameter jobID: the id to take off.
    /// - Returns: how many ids were removed (0 or 1).
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func remove(_ jobID: String) async throws -> Int {
        try await redis.send("LREM", key, 1, jobID).int ?? 0
    }

    /// Takes a job off the queue; see the form that takes an id.
    ///
    /// - Parameter job: the job to take off.
    /// - Returns: how many ids were removed (0 or 1).
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func remove(_ job: Job) async throws -> Int { try await remove(job.id) }

    /// Removes every job from the queue and deletes their hashes, as RQ's `Queue.empty()`.
    ///
    /// - Returns: how many jobs were removed.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func empty() async throws -> Int {
        try await redis.evaluate(RQScripts.emptyQueue, keys: [key]).int ?? 0
    }

    /// Deletes the queue: empties it (when `deleteJobs`), removes it from `rq:queues` and deletes its list.
    ///
    /// - Parameter deleteJobs: whether to delete the queued jobs' hashes too, as ``empty()`` does. Defaults to true.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func delete(deleteJobs: Bool = true) async throws {
        if deleteJobs { try await empty() }
        try await redis.transaction([RedisCommand("SREM", RQKeys.queues, key), RedisCommand("DEL", key)])
    }

    /// The names of every queue in `rq:queues`, sorted.
    ///
    /// - Parameter redis: the client.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func allNames(redis: Redis) async throws -> [String] {
        try await redis.send("SMEMBERS", RQKeys.queues).strings.compactMap { member in
            member.hasPrefix(RQKeys.queuePrefix) ? String(member.dropFirst(RQKeys.queuePrefix.count)) : nil
        }.sorted()
    }

    /// How many jobs a queue holds, as `rq info` shows them: waiting in its list, and in its started, finished and
    /// failed registries.
    public struct Counts: Sendable, Hashable {
        /// Jobs waiting in the queue's list.
        public var queued: Int
        /// Entries of the started registry (executions running now).
        public var started: Int
        /// Jobs in the finished registry.
        public var finished: Int
        /// Jobs in the failed registry.
        public var failed: Int
    }

    /// The counts of many queues, read in one round trip.
    ///
    /// - Parameters:
    ///   - names: the queues' names.
    ///   - redis: the client.
    /// - Returns: one ``Counts`` per name, in the order given.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func counts(of names: [String], redis: Redis) async throws -> [Counts] {
        let commands = names.flatMap { name in
            [
                RedisCommand("LLEN", RQKeys.queue(name)), RedisCommand("ZCARD", RQKeys.started(name)),
                RedisCommand("ZCARD", RQKeys.finished(name)), RedisCommand("ZCARD", RQKeys.failed(name)),
            ]
        }
        let replies = try await redis.pipeline(commands).map { $0.int ?? 0 }
        return stride(from: 0, to: replies.count, by: 4).map {
            Counts(queued: replies[$0], started: replies[$0 + 1], finished: replies[$0 + 2], failed: replies[$0 + 3])
        }
    }

    /// Every queue in `rq:queues`.
    ///
    /// - Parameter redis: the client, which the returned queues use.
    /// - Returns: a handle on each queue, sorted by name, with the default timeout and serializer.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func all(redis: Redis) async throws -> [Queue] {
        try await allNames(redis: redis).map { Queue($0, redis: redis) }
    }

    // MARK: Registries

    /// Jobs running now (`rq:wip:{name}`).
    public var startedJobRegistry: JobRegistry { JobRegistry(.started, queue: name, redis: redis) }
    /// Jobs that finished and whose result is kept (`rq:finished:{name}`).
    public var finishedJobRegistry: JobRegistry { JobRegistry(.finished, queue: name, redis: redis) }
    /// Jobs that failed or were stopped (`rq:failed:{name}`).
    public var failedJobRegistry: JobRegistry { JobRegistry(.failed, queue: name, redis: redis) }
    /// Jobs waiting on dependencies (`rq:deferred:{name}`).
    public var deferredJobRegistry: JobRegistry { JobRegistry(.deferred, queue: name, redis: redis) }
    /// Jobs scheduled for later (`rq:scheduled:{name}`).
    public var scheduledJobRegistry: JobRegistry { JobRegistry(.scheduled, queue: name, redis: redis) }
    /// Canceled jobs (`rq:canceled:{name}`).
    public var canceledJobRegistry: JobRegistry { JobRegistry(.canceled, queue: name, redis: redis) }
}
