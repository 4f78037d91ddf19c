import FoundationEssentials

/// Cancelling, deleting and requeueing a job, and its dependents — Python RQ's `Job.cancel`, `Job.delete`,
/// `Job.requeue` and `Job.dependent_ids`, with the same writes, each one atomic step.
extension Job {
    /// Cancels the job, as Python RQ's `Job.cancel` and `cancel_job`: status `canceled`, taken off its queue and out
    /// of the registry of its status, added to the canceled registry.
    ///
    /// A running job is not interrupted: stop it through its worker (``Worker/sendStopJobCommand(jobID:redis:)``).
    ///
    /// - Parameters:
    ///   - enqueueDependents: also queue the jobs waiting on this one whose other dependencies are met, as if this
    ///     one had finished (Python's `enqueue_dependents=True`). By default they stay deferred.
    ///   - removeFromDependencies: take this job out of the dependents of the jobs it waits on, so their end does not
    ///     consider it (Python's `remove_from_dependencies=True`).
    /// - Throws: ``RQError`` `noSuchJob`, or `invalidState` if the job is already canceled.
    public func cancel(enqueueDependents: Bool = false, removeFromDependencies: Bool = false) async throws {
        let now = Date()
        let reply = try await redis.evaluate(
            RQScripts.cancel, keys: [RQKeys.job(id)],
            arguments: [
                id, RQTimestamp.epochSeconds(now), RQTimestamp.format(now), enqueueDependents ? "1" : "0",
                removeFromDependencies ? "1" : "0",
            ])
        switch reply.int {
        case -1: throw RQError(.noSuchJob, "no such job: \(id)", jobID: id)
        case 0: throw RQError(.invalidState, "job \(id) is already canceled", jobID: id)
        default: break
        }
    }

    /// Cancels the job with this id (Python RQ's `cancel_job`); see ``cancel(enqueueDependents:removeFromDependencies:)``.
    ///
    /// - Parameters:
    ///   - id: the job's id.
    ///   - redis: the client.
    ///   - enqueueDependents: also queue the jobs waiting on this one whose other dependencies are met (Python's
    ///     `enqueue_dependents=True`). By default they stay deferred.
    /// - Throws: ``RQError`` `noSuchJob`, or `invalidState` if the job is already canceled; `invalidJob` if its hash
    ///   cannot be read; ``RedisError`` if Redis cannot be reached.
    public static func cancel(id: String, redis: Redis, enqueueDependents: Bool = false) async throws {
        try await Job.fetch(id: id, redis: redis).cancel(enqueueDependents: enqueueDependents)
    }

    /// Deletes the job hash and its side keys (dependents, dependencies, executions), and removes the job from its
    /// queue, its registries and its group, as Python RQ's `Job.delete`.
    ///
    /// Like Python RQ, the result stream is left to expire.
    ///
    /// - Parameter deleteDependents: also delete the jobs waiting on this one (Python's `delete_dependents=True`):
    ///   each is removed from its registries and deleted; like Python, this goes one level deep, and a dependent
    ///   already queued stays in its queue's list (a worker skips ids whose hash is gone).
    /// - Throws: ``RedisError`` if Redis cannot be reached. Deleting a job that is gone is not an error.
    public func delete(deleteDependents: Bool = false) async throws {
        try await redis.evaluate(RQScripts.delete, arguments: [id, deleteDependents ? "1" : "0"])
    }

    /// Puts a failed or stopped job back on its queue (Python RQ's `Job.requeue` and `requeue_job`); see
    /// ``JobRegistry/requeue(_:atFront:)-(String,_)`` to requeue from other registries.
    ///
    /// - Parameter atFront: push it at the front of the queue rather than the back.
    /// - Returns: the job as stored now (status `queued`).
    /// - Throws: ``RQError`` `noSuchJob`, or `invalidState` if the job is not in its queue's failed registry.
    @discardableResult
    public func requeue(atFront: Bool = false) async throws -> Job {
        try await JobRegistry(.failed, queue: origin, redis: redis).requeue(id, atFront: atFront)
    }

    /// The ids of the jobs waiting on this one (`rq:job:{id}:dependents`, Python's `Job.dependent_ids`), sorted.
    /// A dependent leaves the set when it is released.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func dependentIDs() async throws -> [String] {
        try await redis.send("SMEMBERS", RQKeys.dependents(id)).strings.sorted()
    }
}
