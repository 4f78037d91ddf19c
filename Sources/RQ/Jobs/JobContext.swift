import Synchronization

/// What a running job can know about itself: Swift's `get_current_job()`.
///
/// Inside a job function, `JobContext.current` is set (a task-local value), so progress can be reported:
///
/// ```swift
/// functions.register(progress) { steps in
///     for step in 1...steps {
///         try await doStep(step)
///         try await JobContext.current?.saveMeta(["progress": .int(step)])
///     }
///     return steps
/// }
/// ```
public final class JobContext: Sendable {
    /// The context of the job the current task is running, if any.
    @TaskLocal public static var current: JobContext?

    /// The job id.
    public let jobID: String
    /// The queue the job came from.
    public let origin: String
    /// The function name.
    public let functionName: String
    /// The worker running the job.
    public let workerName: String
    /// The id of this execution.
    public let executionID: String
    /// A client for the job's Redis.
    public let redis: Redis
    private let metaStorage: Mutex<JSONObject>
    /// The job's serializer, in which ``saveMeta(_:)`` writes.
    let serializer: JobSerializer

    init(job: Job, workerName: String, executionID: String) {
        self.jobID = job.id
        self.origin = job.origin
        self.functionName = job.functionName
        self.workerName = workerName
        self.executionID = executionID
        self.redis = job.redis
        self.metaStorage = Mutex(job.meta)
        self.serializer = job.serializer
    }

    /// The job's metadata as this execution knows it.
    public var meta: JSONObject { metaStorage.withLock { $0 } }

    /// Merges `updates` into the metadata and writes the `meta` field (only that field), like RQ's `save_meta()`, in
    /// the job's serializer (pickle for a job from a producer using Python RQ's default serializer).
    ///
    /// - Parameter updates: the keys to set; the other keys keep their values. Empty writes ``meta`` as it is.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func saveMeta(_ updates: JSONObject = [:]) async throws {
        let merged = metaStorage.withLock { meta in
            for (key, value) in updates { meta[key] = value }
            return meta
        }
        try await redis.send("HSET", RQKeys.job(jobID), "meta", serializer.serialize(.object(merged)))
    }

    /// Fetches the full job record.
    ///
    /// - Throws: ``RQError`` `noSuchJob` if the job is gone, `invalidJob` if its hash cannot be read;
    ///   ``RedisError`` if Redis cannot be reached.
    public func job() async throws -> Job { try await Job.fetch(id: jobID, redis: redis) }
}
