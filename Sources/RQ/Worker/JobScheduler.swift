import FoundationEssentials
import Glibc
import Logging

/// Moves scheduled jobs (`enqueue(at:)`, retries with an interval) to their queues when due — RQ's scheduler.
///
/// It follows Python RQ's protocol exactly, so Swift and Python schedulers can run side by side: a scheduler
/// only moves the jobs of queues whose `rq:scheduler-lock:{queue}` it holds (set if absent with a 61 s TTL,
/// refreshed every second, released on exit), and registers itself in `rq:scheduler:{name}`. Due jobs move in one
/// atomic script, so no job is ever queued twice.
struct JobScheduler: Sendable {
    let redis: Redis
    let queues: [String]
    let logger: Logger
    /// 32 hex characters, like RQ's scheduler names.
    let name = RandomID.hex32()
    /// How often due jobs are moved and locks refreshed. RQ uses 1 second.
    var interval: Duration = .seconds(1)
    static let lockTTL = 61

    /// Runs until cancelled, then releases its locks and unregisters.
    func run() async {
        let key = RQKeys.scheduler(name)
        let now = RQTimestamp.format(Date())
        _ = try? await redis.transaction([
            RedisCommand(
                "HSET", key, "name", name, "hostname", WorkerPool.hostname, "pid", Int(getpid()), "queues",
                queues.joined(separator: ","), "created_at", now, "last_heartbeat", now),
            RedisCommand("EXPIRE", key, Self.lockTTL),
        ])
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: interval)
        }
        // Let go even though this task is cancelled, so another scheduler can take over at once.
        let redis = self.redis
        let queues = self.queues
        let name = self.name
        await Task {
            for queue in queues {
                _ = try? await redis.evaluate(
                    RQScripts.releaseSchedulerLock, keys: [RQKeys.schedulerLock(queue)], arguments: [name])
            }
            _ = try? await redis.send("DEL", key)
        }.value
    }

    /// One round: heartbeat, take or refresh the locks, move the due jobs of the queues it holds.
    func tick() async {
        do {
            try await redis.transaction([
                RedisCommand("HSET", RQKeys.scheduler(name), "last_heartbeat", RQTimestamp.format(Date())),
                RedisCommand("EXPIRE", RQKeys.scheduler(name), Self.lockTTL),
            ])
            for queue in queues {
                let held = try await redis.evaluate(
                    RQScripts.acquireSchedulerLock, keys: [RQKeys.schedulerLock(queue)],
                    arguments: [name, Self.lockTTL])
                guard held.int == 1 else { continue }
                let now = Date()
                let moved = try await redis.evaluate(
                    RQScripts.enqueueDueJobs, keys: [RQKeys.scheduled(queue)],
                    arguments: [queue, RQTimestamp.epochSeconds(now), RQTimestamp.format(now)])
                if let count = moved.int, count > 0 {
                    logger.debug("Scheduled jobs enqueued", metadata: ["rq.queue": "\(queue)", "rq.count": "\(count)"])
                }
            }
        } catch let error as RedisError where error.isTransient {
            // Redis is away (its worker says so once); the next round tries again.
            logger.debug("Scheduler round failed", metadata: ["error": "\(error)"])
        } catch {
            logger.warning("Scheduler round failed", metadata: ["error": "\(error)"])
        }
    }
}
