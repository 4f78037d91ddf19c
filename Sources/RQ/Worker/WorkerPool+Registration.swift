import FoundationEssentials
import Glibc
import Logging
import Synchronization

// Registration in Redis — birth, death, heartbeats — and riding out Redis outages.
extension WorkerPool {
    // MARK: Birth and death

    func birth() async throws {
        var backoff = Backoff.outage
        var waited = Duration.zero
        while true {
            do {
                return try await register()
            } catch let error as RedisError where error.code == .server && error.isTransient {
                // Redis answered but cannot serve yet: loading its data after a restart (LOADING), or a replica not
                // yet promoted. Wait as through an outage; a Redis that cannot be reached at all still fails at once.
                if let maximum = configuration.maximumOutage, waited >= maximum { throw error }
                if waited == .zero {
                    logger.warning(
                        "Redis cannot serve yet; the worker waits to register", metadata: ["error": "\(error)"])
                }
                let delay = backoff.next()
                waited += delay
                try await Task.sleep(for: delay)
            }
        }
    }

    private func register() async throws {
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
    func registrationCommands(address: String) -> [RedisCommand] {
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
        if let horses = horsesField() { commands.append(RedisCommand("HSET", workerKey, "swift_horses", horses)) }
        for queue in configuration.queues {
            commands.append(RedisCommand("SADD", RQKeys.queueWorkers(queue), workerKey))
        }
        commands.append(RedisCommand("EXPIRE", workerKey, configuration.workerTTL + 60))
        return commands
    }

    func death() async {
        await waitForRecords()
        await outcomeWrites.close()
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
        // The last jobs' webhooks go out before a burst worker's process exits.
        await WebhookSender.shared.waitUntilSent()
    }

    func ipAddress() async -> String {
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

    // MARK: Outages

    /// Rides out one failed Redis call: logs once when Redis goes away, then waits the next step of a capped
    /// exponential backoff (0.1 s doubling to 5 s), as the state machine decides.
    ///
    /// - Parameter duringDequeue: the call was a dequeue, which may have started jobs whose reply was lost.
    /// - Throws: the error itself if it is not one that passes (``RedisError/isTransient``) or the outage has
    ///   lasted longer than `maximumOutage`; `CancellationError` if the worker is cancelled meanwhile.
    func rideOut(_ error: any Error, duringDequeue: Bool = false) async throws {
        guard let redisError = error as? RedisError, redisError.isTransient else { throw error }
        switch machine.redisFailed(duringDequeue: duringDequeue, now: .now) {
        case .giveUp:
            logger.error(
                "Redis unreachable for longer than the maximum outage",
                metadata: ["rq.max_outage": "\(configuration.maximumOutage.map { "\($0)" } ?? "none")"])
            throw error
        case .retry(let delay, let first):
            if first {
                logger.warning(
                    "Redis is unreachable; the worker keeps trying",
                    metadata: ["rq.redis": "\(redis.configuration.endpoint)", "error": "\(redisError.message)"])
            }
            try await Task.sleep(for: delay)
        }
    }

    /// After a successful Redis call: if Redis had been away, logs that it is back and registers the worker again if
    /// its hash is gone (a failover to a replica that had not seen it). (The dequeue loop takes back the jobs whose
    /// start the outage swallowed.)
    func redisAnswered() async {
        guard let away = machine.redisAnswered(now: .now) else { return }
        logger.info("Redis is back", metadata: ["rq.outage_seconds": "\((away.inSeconds * 10).rounded() / 10)"])
        do {
            if try await redis.send("HEXISTS", workerKey, "birth").int == 0 {
                logger.info("Worker hash gone after the outage; registering again")
                try await redis.transaction(registrationCommands(address: await ipAddress()) + workerStateCommands())
            }
        } catch {
            logger.warning("Checks after the outage failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Heartbeats, commands, shutdown

    func monitorHeartbeats() async throws {
        // A horse worker's first heartbeat comes at once: it publishes the warm horses spawned at start (the
        // registration, before them, wrote none).
        if case .horse = configuration.execution.mode { await heartbeat() }
        while !Task.isCancelled {
            try await Task.sleep(
                for: min(configuration.jobMonitoringInterval, .seconds(Double(configuration.workerTTL) / 2)))
            await heartbeat()
        }
    }

    func heartbeat() async {
        let now = Date()
        var arguments: [any RedisArgument] = [
            RQTimestamp.format(now), RQTimestamp.epochString(now), RQTimestamp.epochSeconds(now),
            max(1, Int(configuration.jobMonitoringInterval.inSeconds.rounded(.up))), configuration.workerTTL,
            horsesField() ?? [],
        ]
        for handle in running.values {
            let execution = handle.execution
            let job = execution.job
            arguments += [
                job.id, execution.id, job.origin, (job.timeout ?? .default).seconds,
                now.timeIntervalSince(execution.startedAt),
            ]
        }
        do {
            // A worker hash that vanished (a failover to a replica that had not seen it, a flush) is written anew.
            let existed = try await redis.evaluate(RQScripts.heartbeat, keys: [workerKey], arguments: arguments)
            if existed.int == 0 {
                logger.info("Worker hash gone; registering again")
                try await redis.transaction(registrationCommands(address: await ipAddress()) + workerStateCommands())
            }
            await redisAnswered()
        } catch let error as RedisError where error.isTransient {
            // Redis is away: the dequeue loop says so once, and the next heartbeat tries again.
        } catch {
            logger.warning("Heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}

// MARK: Horses in the worker hash

extension WorkerPool {
    /// The `swift_horses` field of a horse worker's hash (nil for an in-process worker, which writes none): a JSON
    /// array of its horses, the busy ones by the time their job started, then the warm ones waiting for a job. Each
    /// is `{"pid", "job_id" (null when warm), "since" (when its job started, or when it was spawned), "jobs_served",
    /// "max_jobs" (only when `maxJobsPerHorse` is above 1), "warm", "runner": {"path", "device", "inode", "size",
    /// "mtime_ns"}}` — the runner's identity is that of the binary the horse was spawned from, as hot reload compares
    /// it. Written at registration and with each heartbeat, never per job: it is at most one heartbeat interval old.
    /// (A horse running only a late callback is not listed.)
    func horsesField() -> [UInt8]? {
        guard case .horse(let runner) = configuration.execution.mode else { return nil }
        let busy = running.values.compactMap { handle in handle.horse.map { (handle.execution, $0) } }
            .sorted { $0.0.startedAt < $1.0.startedAt }
        var horses = busy.map { execution, horse in
            published(horse, runner: runner, jobID: execution.job.id, since: execution.startedAt)
        }
        for horse in warmHorses where horse.process.isRunning {
            horses.append(published(horse, runner: runner, jobID: nil, since: horse.spawnedAt))
        }
        return JSONValue.array(horses).serialized()
    }

    private func published(_ horse: Horse, runner: String, jobID: String?, since: Date) -> JSONValue {
        var object: JSONObject = [
            "pid": .int(Int(horse.process.pid)), "job_id": jobID.map(JSONValue.string) ?? .null,
            "since": .string(RQTimestamp.format(since)), "jobs_served": .int(horse.jobsServed),
        ]
        if configuration.maxJobsPerHorse > 1 { object["max_jobs"] = .int(configuration.maxJobsPerHorse) }
        object["warm"] = .bool(jobID == nil)
        var identity: JSONObject = ["path": .string(runner)]
        if let binary = horse.binary {
            identity["device"] = .int(Int(truncatingIfNeeded: binary.device))
            identity["inode"] = .int(Int(truncatingIfNeeded: binary.inode))
            identity["size"] = .int(Int(binary.size))
            identity["mtime_ns"] = .int(Int(binary.modified))
        }
        object["runner"] = .object(identity)
        return .object(object)
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
