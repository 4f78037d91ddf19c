import FoundationEssentials
import Glibc
import Logging
import Synchronization

// Taking jobs: suspension, the dequeue-and-start script, reading the job, lost starts.
extension WorkerPool {
    /// Checks `rq:suspended` at most once a second (RQ checks before every dequeue; a busy worker saves a round
    /// trip per job this way, and a suspension still takes effect within a second).
    func isSuspended() async throws -> Bool {
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
    ///
    /// - Parameter mayBlock: false for a second dequeue sent while another is on its way: only one blocks on empty
    ///   queues (each blocking one holds a connection of its own).
    func dequeue(upTo limit: Int, mayBlock: Bool) async throws -> [Dequeued] {
        let queues = queueOrder
        let single = queues.count == 1
        let found = try await dequeueAndStart(queues: queues, single: single, fetching: nil, limit: limit)
        if !found.isEmpty || configuration.burst || !mayBlock { return found }
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
    static func popped(_ reply: RedisValue, single: Bool, queues: [String]) -> (queue: String, id: String)? {
        if single {
            guard let id = reply.string else { return nil }
            return (queues[0], id)
        }
        guard let parts = reply.array, parts.count == 2, let key = parts[0].string, let id = parts[1].string
        else { return nil }
        return (String(key.dropFirst(RQKeys.queuePrefix.count)), id)
    }

    var startArguments: StartArguments {
        StartArguments(
            workerKey: workerKey, name: name,
            monitoringInterval: max(1, Int(configuration.jobMonitoringInterval.inSeconds.rounded(.up))),
            dequeueOrder: configuration.dequeueStrategy.scriptArgument)
    }

    /// When the blocking connection's thread built the start script's arguments.
    final class StartTime: Sendable {
        let date = Mutex<Date?>(nil)
    }

    /// The arguments of the dequeue-and-start script, which do not depend on the actor's state once made.
    struct StartArguments: Sendable {
        let workerKey: String
        let name: String
        let monitoringInterval: Int
        let dequeueOrder: String

        func make(queues: [String], single: Bool, fetching id: String?, limit: Int, now: Date)
            -> (keys: [String], arguments: [any RedisArgument])
        {
            let executionIDs = (0..<limit).map { _ in RandomID.hex32() }
            let arguments: [any RedisArgument] =
                [
                    id == nil ? "pop" : "fetch", single ? "1" : "0", id ?? "", name, dequeueOrder,
                    RQTimestamp.format(now), RQTimestamp.epochString(now), RQTimestamp.epochSeconds(now),
                    monitoringInterval, limit,
                ] + executionIDs
            return ([workerKey] + queues.map(RQKeys.queue), arguments)
        }
    }

    func dequeueAndStart(queues: [String], single: Bool, fetching id: String?, limit: Int) async throws
        -> [Dequeued]
    {
        let now = Date()
        let start = startArguments
        let (keys, arguments) = start.make(queues: queues, single: single, fetching: id, limit: limit, now: now)
        let reply = try await redis.evaluate(RQScripts.dequeueAndStart, keys: keys, arguments: arguments)
        return Self.started(reply, now: now)
    }

    /// The jobs the dequeue-and-start script returned.
    static func started(_ reply: RedisValue, now: Date) -> [Dequeued] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 4, let key = parts[0].string, let found = parts[1].string,
                let executionID = parts[3].string
            else { return nil }
            return Dequeued(
                queue: String(key.dropFirst(RQKeys.queuePrefix.count)), id: found, fields: parts[2],
                executionID: executionID, startedAt: now)
        }
    }

    /// Reads a dequeued job. An id whose hash is gone is dropped, as RQ does; a hash that cannot be read fails
    /// the job with the reason, so it is accounted for.
    func loadJob(_ dequeued: Dequeued) async -> Job? {
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

    /// Fails a job whose hash cannot be read (another client wrote something this worker does not understand):
    /// the failure transition of any job, with the reason as its error, and its id out of the intermediate list.
    func failUnreadableJob(_ dequeued: Dequeued, reason: String) async {
        let now = Date()
        let job = Job(
            id: dequeued.id, redis: redis, origin: dequeued.queue,
            payload: JobPayload(functionName: "", args: [], kwargs: [:]), description: nil, timeout: nil,
            options: EnqueueOptions(), status: .started, now: now)
        let execution = JobExecution(
            job: job, workerName: name, hasWorkerHash: true, startedAt: now, id: dequeued.executionID)
        let commands =
            JobLifecycle.failure(execution, excString: "\(reason)\n", endedAt: now, workerCounters: false)
            + [
                RedisCommand("HSET", RQKeys.job(job.id), "origin", job.origin),
                RedisCommand("LREM", RQKeys.intermediate(job.origin), 1, job.id),
            ]
        failedJobCount += 1
        // Written as any outcome is: through an outage, and not twice after a lost reply.
        await writeOutcome(commands, execution, succeeded: false, releasing: .failed, endedAt: now)
    }

    /// Jobs this worker started in Redis but never heard of — the reply of the script that started them was lost
    /// with the connection — go back to the front of their queue: they never ran. Every job it did hear of
    /// (`known`: loading, running or being recorded) stays as it is.
    func requeueLostStarts(known: Set<String>) async throws {
        let known = Array(known)
        for queue in configuration.queues {
            let requeued = try await redis.evaluate(
                RQScripts.requeueLostStarts, keys: [RQKeys.started(queue)],
                arguments: [name, RQTimestamp.format(Date())] + known
            ).strings
            if !requeued.isEmpty {
                logger.warning(
                    "Requeued jobs whose start was lost in the outage",
                    metadata: ["rq.queue": "\(queue)", "rq.job_ids": "\(requeued)"])
            }
        }
    }
}
