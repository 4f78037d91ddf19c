/// RQ's worker commands (reference §2.12): JSON published on `rq:pubsub:{worker name}`, exactly as Python RQ's
/// `send_shutdown_command`, `send_kill_horse_command` and `send_stop_job_command` publish them, so they reach Python
/// and Swift workers alike.
extension Worker {
    /// Asks a worker for a warm shutdown (Python's `send_shutdown_command`): it takes no new jobs, lets its running
    /// jobs finish, then stops.
    ///
    /// - Parameters:
    ///   - workerName: the worker's name.
    ///   - redis: the client.
    /// - Returns: how many subscribers received it (0: no such worker is listening).
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public static func sendShutdownCommand(to workerName: String, redis: Redis) async throws -> Int {
        try await send(["command": "shutdown"], to: workerName, redis: redis)
    }

    /// Asks a worker to kill the horse of its running job (Python's `send_kill_horse_command`); the job fails as
    /// "Work-horse terminated unexpectedly" and the worker goes on.
    ///
    /// - Parameters:
    ///   - workerName: the worker's name.
    ///   - redis: the client.
    /// - Returns: how many subscribers received it (0: no such worker is listening).
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public static func sendKillHorseCommand(to workerName: String, redis: Redis) async throws -> Int {
        try await send(["command": "kill-horse"], to: workerName, redis: redis)
    }

    /// Stops a running job (Python's `send_stop_job_command`): the command goes to the worker named in the job's
    /// `worker_name`, which kills the job if it is running it; the job ends `stopped`, in the failed registry, and
    /// its dependents are not queued.
    ///
    /// - Parameters:
    ///   - jobID: the job to stop.
    ///   - redis: the client.
    /// - Returns: how many subscribers received it.
    /// - Throws: ``RQError`` `noSuchJob`, or `invalidState` if the job has no worker (it never started), as Python's
    ///   raises `InvalidJobOperation`; ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public static func sendStopJobCommand(jobID: String, redis: Redis) async throws -> Int {
        let fields = try await redis.pipeline([
            RedisCommand("EXISTS", RQKeys.job(jobID)), RedisCommand("HGET", RQKeys.job(jobID), "worker_name"),
        ])
        guard fields[0].int == 1 else { throw RQError(.noSuchJob, "no such job: \(jobID)", jobID: jobID) }
        guard let worker = fields[1].string, !worker.isEmpty else {
            throw RQError(.invalidState, "job \(jobID) is not currently executing", jobID: jobID)
        }
        return try await send(["command": "stop-job", "job_id": .string(jobID)], to: worker, redis: redis)
    }

    private static func send(_ payload: JSONObject, to workerName: String, redis: Redis) async throws -> Int {
        try await redis.send("PUBLISH", RQKeys.pubsub(workerName), JSONValue.object(payload).serialized()).int ?? 0
    }
}
