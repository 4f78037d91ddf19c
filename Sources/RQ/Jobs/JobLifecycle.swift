import FoundationEssentials
import Glibc

/// One execution of a job by a worker (`rq:execution:{id}:{e}`).
struct JobExecution: Sendable {
    var job: Job
    /// 32 hex characters, like Python's `uuid4().hex`.
    let id: String
    let workerName: String
    /// `rq:worker:{name}`, or nil for the `sync` pseudo-worker, which has no worker hash.
    let workerKey: String?
    let startedAt: Date

    init(job: Job, workerName: String, hasWorkerHash: Bool, startedAt: Date = Date(), id: String? = nil) {
        self.job = job
        self.id = id ?? RandomID.hex32()
        self.workerName = workerName
        self.workerKey = hasWorkerHash ? RQKeys.worker(workerName) : nil
        self.startedAt = startedAt
    }

    var wipMember: String { "\(job.id):\(id)" }
}

/// The Redis writes of a job's life on a worker, exactly as Python RQ 2.12 makes them (reference §2.4–2.6).
/// Each end (success, failure, retry) is one transaction, built here and sent by the caller in one round trip; the
/// start is written by a script (`RQLua`'s `startJob`), as it happens inside the worker's dequeue.
enum JobLifecycle {
    /// RQ's defaults.
    static let defaultResultTTL = 500
    static let defaultFailureTTL = 31_536_000

    /// Marks a job started by the `sync` pseudo-worker of a synchronous queue, through the script that holds the
    /// start transition (`RQScripts.startSynchronousJob`; a worker's start is `RQScripts.dequeueAndStart`, and
    /// both call the same Lua).
    static func startSynchronously(_ execution: JobExecution, redis: Redis) async throws {
        let job = execution.job
        let now = execution.startedAt
        try await redis.evaluate(
            RQScripts.startSynchronousJob,
            arguments: [
                job.id, job.origin, execution.id, execution.workerName, RQTimestamp.format(now),
                RQTimestamp.epochString(now), RQTimestamp.epochSeconds(now), (job.timeout ?? .default).seconds,
            ])
    }

    /// Records success: status finished, result entry, finished registry and TTLs (result_ttl 0 deletes the job,
    /// -1 keeps it forever), execution records removed, worker counters.
    ///
    /// With `workerCounters` false the worker's counters are left to the caller, which writes them with its state
    /// (``RQScripts/workerJobEnded``).
    static func success(
        _ execution: JobExecution, returnValue: JSONValue, endedAt: Date, defaultResultTTL: Int = defaultResultTTL,
        workerCounters: Bool = true
    ) -> [RedisCommand] {
        let job = ended(execution, status: .finished, at: endedAt)
        let id = job.id
        let ttl = job.resultTTL ?? defaultResultTTL
        let repeating = (job.repeatsLeft ?? 0) > 0
        var commands =
            workerCounters ? workerCompletion(execution, counter: "successful_job_count", endedAt: endedAt) : []
        if ttl != 0 {
            commands.append(endFields(job))
            commands.append(
                resultEntry(execution, .successful, returnValue: returnValue, excString: nil, endedAt: endedAt))
            // A repeating job keeps its hash: only the result gets the TTL.
            let keys = repeating ? [RQKeys.results(id)] : [RQKeys.results(id)] + jobKeys(job)
            commands += expire(keys, ttl)
            let score: any RedisArgument = ttl < 0 ? "+inf" : RQTimestamp.epochSeconds(endedAt) + ttl
            commands.append(RedisCommand("ZADD", RQKeys.finished(job.origin), score, id))
        } else if !repeating {
            commands.append(RedisCommand("DEL", RQKeys.job(id), RQKeys.dependents(id), RQKeys.dependencies(id)))
        }
        if repeating { commands += repeatAgain(job, at: endedAt) }
        commands += executionCleanup(execution)
        return commands
    }

    /// Puts a successful job with repeats left back on its queue or in the scheduled registry, with one repeat
    /// fewer (reference §2.5, RQ's `Repeat.schedule`).
    private static func repeatAgain(_ job: Job, at now: Date) -> [RedisCommand] {
        let left = job.repeatsLeft ?? 0
        let interval = Repeat.interval(repeatsLeft: left, intervals: job.repeatIntervals)
        let key = RQKeys.job(job.id)
        if interval <= 0 {
            return [
                RedisCommand("SADD", RQKeys.queues, RQKeys.queue(job.origin)),
                RedisCommand(
                    "HSET", key, "repeats_left", left - 1, "status", JobStatus.queued.rawValue, "enqueued_at",
                    RQTimestamp.format(now)),
                returnToQueue(job, after: interval, now: now),
            ]
        }
        return [
            RedisCommand("HSET", key, "repeats_left", left - 1, "status", JobStatus.scheduled.rawValue),
            returnToQueue(job, after: interval, now: now),
        ]
    }

    /// A job going back for another run: pushed on its queue at once (interval 0), else added to the scheduled
    /// registry for a scheduler to move when due.
    private static func returnToQueue(_ job: Job, after interval: Int, atFront: Bool = false, now: Date)
        -> RedisCommand
    {
        guard interval > 0 else {
            return Queue.pushCommands([(job.id, atFront)], queueKey: RQKeys.queue(job.origin))[0]
        }
        return RedisCommand("ZADD", RQKeys.scheduled(job.origin), RQTimestamp.epochSeconds(now) + interval, job.id)
    }

    /// Records failure (or a stop): status, exception text in the result stream, failed registry, TTLs.
    static func failure(
        _ execution: JobExecution, excString: String, endedAt: Date, status: JobStatus = .failed,
        workerCounters: Bool = true
    ) -> [RedisCommand] {
        let job = ended(execution, status: status, at: endedAt)
        let id = job.id
        let ttl = job.failureTTL ?? defaultFailureTTL
        var commands = workerCounters ? workerCompletion(execution, counter: "failed_job_count", endedAt: endedAt) : []
        commands.append(endFields(job))
        commands += expire(jobKeys(job), ttl)
        let score: any RedisArgument = ttl < 0 ? "+inf" : RQTimestamp.epochSeconds(endedAt) + ttl
        commands.append(RedisCommand("ZADD", RQKeys.failed(job.origin), score, id))
        commands.append(resultEntry(execution, .failed, returnValue: nil, excString: excString, endedAt: endedAt))
        // Python gives failed results a TTL only when the job set failure_ttl explicitly.
        if let failureTTL = job.failureTTL { commands += expire([RQKeys.results(id)], failureTTL) }
        commands += executionCleanup(execution)
        return commands
    }

    /// Records a failed attempt of a job with retries left (reference §2.7): no result and no failed-registry
    /// entry; `retries_left` goes down by one and the job is queued again (interval 0) or scheduled (interval > 0).
    /// The interval is chosen before the decrement: `intervals[max(count - retriesLeft, 0)]`.
    static func retry(_ execution: JobExecution, endedAt: Date, workerCounters: Bool = true) -> [RedisCommand] {
        var job = execution.job
        let retriesLeft = job.retriesLeft ?? 0
        let intervals = job.retryIntervals.isEmpty ? [0] : job.retryIntervals
        let interval = intervals[min(max(intervals.count - retriesLeft, 0), intervals.count - 1)]
        job.retriesLeft = retriesLeft - 1
        job.startedAt = execution.startedAt
        job.endedAt = endedAt
        job.workerName = execution.workerName
        var commands = workerCounters ? workerCompletion(execution, counter: "failed_job_count", endedAt: endedAt) : []
        if interval <= 0 {
            job.status = .queued
            job.enqueuedAt = endedAt
        } else {
            job.status = .scheduled
        }
        let atFront = job.otherFields["enqueue_at_front_on_retry"] == Array("1".utf8)
        commands.append(retryFields(job))
        commands.append(returnToQueue(job, after: interval, atFront: atFront, now: endedAt))
        return commands + executionCleanup(execution)
    }

    /// Ends a failed job when the exception-handler chain skipped the default handler: status and execution
    /// records only, no failed-registry entry or result.
    static func failureWithoutRegistry(
        _ execution: JobExecution, endedAt: Date, status: JobStatus, workerCounters: Bool = true
    ) -> [RedisCommand] {
        (workerCounters ? workerCompletion(execution, counter: "failed_job_count", endedAt: endedAt) : []) + [
            RedisCommand(
                "HSET", RQKeys.job(execution.job.id), "status", status.rawValue, "ended_at", RQTimestamp.format(endedAt)
            )
        ] + executionCleanup(execution)
    }

    /// Releases dependents after the job ended with `status`.
    static func releaseDependents(of jobID: String, status: JobStatus, redis: Redis) async throws {
        try await redis.evaluate(
            RQScripts.releaseDependents, arguments: [jobID, status.rawValue, RQTimestamp.format(Date())])
    }

    /// The job as it is once the execution ended with `status`.
    private static func ended(_ execution: JobExecution, status: JobStatus, at endedAt: Date) -> Job {
        var job = execution.job
        job.status = status
        job.endedAt = endedAt
        job.startedAt = execution.startedAt
        job.workerName = execution.workerName
        job.lastHeartbeat = endedAt
        return job
    }

    /// The `XADD` of the execution's entry in the job's result stream (capped at about 10 entries, as RQ).
    private static func resultEntry(
        _ execution: JobExecution, _ kind: JobResult.Kind, returnValue: JSONValue?, excString: String?, endedAt: Date
    ) -> RedisCommand {
        let result = JobResult(
            kind: kind, returnValue: returnValue, excString: excString, workerName: execution.workerName,
            executionID: execution.id, startedAt: execution.startedAt, endedAt: endedAt)
        return RedisCommand(
            "XADD",
            arguments: [RQKeys.results(execution.job.id), "MAXLEN", "~", 10, "*"]
                + result.streamFields(serializer: execution.job.serializer))
    }

    /// The fields a job's end changes. Python re-saves the whole mapping (except `meta`); only these differ, so
    /// only these are sent — `data` is not re-encoded and re-compressed for every job.
    private static func endFields(_ job: Job) -> RedisCommand {
        RedisCommand(
            "HSET", RQKeys.job(job.id), "status", job.status.rawValue, "started_at",
            job.startedAt.map(RQTimestamp.format) ?? "", "ended_at", job.endedAt.map(RQTimestamp.format) ?? "",
            "last_heartbeat", job.lastHeartbeat.map(RQTimestamp.format) ?? "", "worker_name", job.workerName ?? "")
    }

    private static func retryFields(_ job: Job) -> RedisCommand {
        var arguments: [any RedisArgument] = [
            RQKeys.job(job.id), "status", job.status.rawValue, "started_at",
            job.startedAt.map(RQTimestamp.format) ?? "",
            "ended_at", job.endedAt.map(RQTimestamp.format) ?? "", "worker_name", job.workerName ?? "",
            "retries_left", job.retriesLeft ?? 0,
        ]
        if let enqueuedAt = job.enqueuedAt { arguments += ["enqueued_at", RQTimestamp.format(enqueuedAt)] }
        return RedisCommand("HSET", arguments: arguments)
    }

    /// The job's hash and its dependents set (which other jobs may add to at any time); its dependencies set only if
    /// it has dependencies — the key exists only then, and an `EXPIRE` of a missing key is a command for nothing.
    private static func jobKeys(_ job: Job) -> [String] {
        let keys = [RQKeys.job(job.id), RQKeys.dependents(job.id)]
        return job.dependencyIDs.isEmpty ? keys : keys + [RQKeys.dependencies(job.id)]
    }

    private static func expire(_ keys: [String], _ ttl: Int) -> [RedisCommand] {
        keys.map { ttl < 0 ? RedisCommand("PERSIST", $0) : RedisCommand("EXPIRE", $0, ttl) }
    }

    private static func workerCompletion(_ execution: JobExecution, counter: String, endedAt: Date) -> [RedisCommand] {
        guard let workerKey = execution.workerKey else { return [] }
        let seconds = endedAt.timeIntervalSince(execution.startedAt)
        return [
            RedisCommand("HINCRBY", workerKey, counter, 1),
            RedisCommand("HINCRBYFLOAT", workerKey, "total_working_time", seconds),
        ]
    }

    private static func executionCleanup(_ execution: JobExecution) -> [RedisCommand] {
        [
            RedisCommand("DEL", RQKeys.execution(execution.job.id, execution.id)),
            RedisCommand("ZREM", RQKeys.started(execution.job.origin), execution.wipMember),
            RedisCommand("ZREM", RQKeys.executions(execution.job.id), execution.id),
        ]
    }
}
