import FoundationEssentials
import Glibc
package import Logging

/// RQ's registry maintenance for one queue (reference §2.10), under the same `rq:clean_registries:{queue}` mutex
/// Python workers take, so a mixed fleet cleans each queue once.
package struct RegistryMaintenance: Sendable {
    package let redis: Redis
    package let logger: Logger
    /// How long an id may sit in the intermediate list without a started-registry entry.
    var intermediateGracePeriod: TimeInterval = 60

    package init(redis: Redis, logger: Logger) {
        self.redis = redis
        self.logger = logger
    }

    /// Cleans the queue's registries; does nothing if another worker holds the mutex. `rq info` cleans without
    /// the mutex (`takeLock: false`), as Python's does.
    ///
    /// - Returns: the abandoned jobs it failed or retried, with the failure text, so a worker can run their failure
    ///   callbacks.
    @discardableResult
    package func clean(queue: String, takeLock: Bool = true) async -> [(job: Job, failure: String)] {
        var abandoned: [(job: Job, failure: String)] = []
        do {
            let lock = RQKeys.cleaningLock(queue)
            if takeLock {
                guard try await redis.send("SET", lock, "1", "NX", "EX", 899).string == "OK" else { return [] }
            }
            defer { if takeLock { Task { [redis] in _ = try? await redis.send("DEL", lock) } } }
            let now = Date()
            let nowEpoch = RQTimestamp.epochSeconds(now)
            try await redis.send("ZREMRANGEBYSCORE", RQKeys.finished(queue), 0, nowEpoch)
            abandoned = try await failAbandonedJobs(queue: queue, now: now)
            try await redis.send("ZREMRANGEBYSCORE", RQKeys.started(queue), 0, nowEpoch)
            try await redis.send("ZREMRANGEBYSCORE", RQKeys.failed(queue), 0, nowEpoch)
            try await pruneDeadWorkers(queue: queue)
            try await repairIntermediateQueue(queue: queue, now: now)
        } catch {
            logger.warning("Registry maintenance failed", metadata: ["rq.queue": "\(queue)", "error": "\(error)"])
        }
        return abandoned
    }

    /// Cleans many queues without the mutex, as `rq info` does before it draws, a few queues at a time: their
    /// commands share the client's pipeline, so a Redis with hundreds of queues is cleaned in a few round trips'
    /// time rather than hundreds.
    package func cleanWithoutLock(queues: [String], width: Int = 16) async {
        await withTaskGroup(of: Void.self) { group in
            var remaining = queues.makeIterator()
            for _ in 0..<max(width, 1) {
                guard let queue = remaining.next() else { break }
                group.addTask { await clean(queue: queue, takeLock: false) }
            }
            while await group.next() != nil {
                guard let queue = remaining.next() else { continue }
                group.addTask { await clean(queue: queue, takeLock: false) }
            }
        }
    }

    /// Prunes every group (Python's `Group.clean_registries`, which its maintenance runs after the queues').
    package func pruneGroups() async {
        do { try await JobGroup.cleanupAll(redis: redis) } catch {
            logger.warning("Group pruning failed", metadata: ["error": "\(error)"])
        }
    }

    /// Started-registry entries whose heartbeat expired belong to workers that died: retry those jobs if they have
    /// retries left, else fail them, as RQ does.
    func failAbandonedJobs(queue: String, now: Date) async throws -> [(job: Job, failure: String)] {
        let expired = try await redis.send(
            "ZRANGEBYSCORE", RQKeys.started(queue), 0, RQTimestamp.epochSeconds(now)
        ).strings
        var ended: [(job: Job, failure: String)] = []
        for member in expired {
            let jobID = JobRegistry.jobID(ofMember: member)
            let executionID = String(member.dropFirst(jobID.count + 1))
            guard let job = try? await Job.fetch(id: jobID, redis: redis), job.status == .started else { continue }
            let text = "Moved to FailedJobRegistry, due to AbandonedJobError, at \(Self.pythonDate(now))"
            let execution = JobExecution(
                job: job, workerName: "", hasWorkerHash: false, startedAt: job.startedAt ?? now, id: executionID)
            if let retriesLeft = job.retriesLeft, retriesLeft > 0 {
                try await redis.transaction(JobLifecycle.retry(execution, endedAt: now))
                logger.warning("Abandoned job retried", metadata: ["rq.job_id": "\(jobID)", "rq.queue": "\(queue)"])
            } else {
                try await redis.transaction(JobLifecycle.failure(execution, excString: text, endedAt: now))
                try await JobLifecycle.releaseDependents(of: jobID, status: .failed, redis: redis)
                logger.warning("Abandoned job failed", metadata: ["rq.job_id": "\(jobID)", "rq.queue": "\(queue)"])
            }
            ended.append((job, text))
        }
        return ended
    }

    private func pruneDeadWorkers(queue: String) async throws {
        let members = try await redis.send("SMEMBERS", RQKeys.queueWorkers(queue)).strings
        guard !members.isEmpty else { return }
        let alive = try await redis.pipeline(members.map { RedisCommand("EXISTS", $0) })
        for (member, exists) in zip(members, alive) where exists.int == 0 {
            _ = try await redis.pipeline([
                RedisCommand("SREM", RQKeys.queueWorkers(queue), member), RedisCommand("SREM", RQKeys.workers, member),
            ])
        }
    }

    /// Ids left in the intermediate list by a worker that died between dequeue and start are dealt with after a
    /// minute: a job still `queued` never started, so it goes back to the front of its queue (Python RQ fails it;
    /// swift-rq loses no job that never ran); one in another state is failed, as RQ does ("Job was stuck in
    /// intermediate queue.").
    private func repairIntermediateQueue(queue: String, now: Date) async throws {
        let ids = try await redis.send("LRANGE", RQKeys.intermediate(queue), 0, -1).strings
        guard !ids.isEmpty else { return }
        let started = Set(
            try await redis.send("ZRANGE", RQKeys.started(queue), 0, -1).strings.map(JobRegistry.jobID(ofMember:)))
        for id in ids where !started.contains(id) {
            let seenKey = "\(RQKeys.intermediate(queue)):first_seen:\(id)"
            _ = try await redis.send("SET", seenKey, RQTimestamp.epochString(now), "NX", "EX", 86400)
            guard let first = try await redis.send("GET", seenKey).string.flatMap(Double.init),
                now.timeIntervalSince1970 - first > intermediateGracePeriod
            else { continue }
            if let job = try? await Job.fetch(id: id, redis: redis), job.status == .queued {
                _ = try await redis.transaction(
                    [RedisCommand("LREM", RQKeys.intermediate(queue), 1, id)]
                        + Queue.pushCommands([(id, true)], queueKey: RQKeys.queue(queue))
                        + [RedisCommand("DEL", seenKey)])
                logger.warning("Requeued a job left between dequeue and start", metadata: ["rq.job_id": "\(id)"])
                continue
            } else if let job = try? await Job.fetch(id: id, redis: redis) {
                let execution = JobExecution(job: job, workerName: "", hasWorkerHash: false, startedAt: now)
                try await redis.transaction(
                    JobLifecycle.failure(execution, excString: "Job was stuck in intermediate queue.", endedAt: now))
            }
            _ = try await redis.pipeline([
                RedisCommand("LREM", RQKeys.intermediate(queue), 1, id), RedisCommand("DEL", seenKey),
            ])
        }
    }

    /// Python's `str(datetime)` for an aware UTC datetime: `2026-11-27 14:08:53.123456+00:00`.
    static func pythonDate(_ date: Date) -> String {
        RQTimestamp.format(date).replacing("T", with: " ").replacing("Z", with: "+00:00")
    }
}
