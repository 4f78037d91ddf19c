public import FoundationEssentials
import Glibc
public import Logging

/// One of a queue's six job registries: sorted sets of job ids with an expiry or run-at score.
public struct JobRegistry: Sendable {
    /// Which registry.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let prefix: String
        public let description: String
        /// The executions running now (`rq:wip:{queue}`), each `{job id}:{execution id}`, scored by when its
        /// heartbeat runs out; an entry past its score is an abandoned job, which maintenance fails.
        public static let started = Kind(prefix: "rq:wip:", description: "started")
        /// Jobs that finished (`rq:finished:{queue}`), scored by when they expire (their result TTL).
        public static let finished = Kind(prefix: "rq:finished:", description: "finished")
        /// Jobs that failed or were stopped (`rq:failed:{queue}`), scored by when they expire (their failure TTL).
        public static let failed = Kind(prefix: "rq:failed:", description: "failed")
        /// Jobs waiting for their dependencies (`rq:deferred:{queue}`), scored by when they were added; RQ 2.12
        /// never cleans it by time.
        public static let deferred = Kind(prefix: "rq:deferred:", description: "deferred")
        /// Jobs waiting to be queued at a time (`rq:scheduled:{queue}`), scored by that time.
        public static let scheduled = Kind(prefix: "rq:scheduled:", description: "scheduled")
        /// Canceled jobs (`rq:canceled:{queue}`), scored by when they were canceled; RQ 2.12 never cleans it by
        /// time.
        public static let canceled = Kind(prefix: "rq:canceled:", description: "canceled")
        /// The six registries: started, finished, failed, deferred, scheduled, canceled.
        public static let all: [Kind] = [.started, .finished, .failed, .deferred, .scheduled, .canceled]
    }

    /// Which registry this is.
    public let kind: Kind
    /// The queue whose registry this is.
    public let queueName: String
    /// The client the registry is read and written with.
    public let redis: Redis
    /// The sorted set's key, e.g. `rq:failed:default`, for code that reads registries in a pipeline of its own.
    public var key: String { kind.prefix + queueName }

    /// A handle on one registry of a queue; nothing is read until you ask.
    ///
    /// - Parameters:
    ///   - kind: which registry.
    ///   - queue: the queue name.
    ///   - redis: the client to read and write it with.
    public init(_ kind: Kind, queue: String, redis: Redis) {
        self.kind = kind
        self.queueName = queue
        self.redis = redis
    }

    /// The number of entries (`ZCARD`). For the started registry this counts executions, as RQ's does.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func count() async throws -> Int {
        try await redis.send("ZCARD", key).int ?? 0
    }

    /// Job ids in score order, as Python RQ's `get_job_ids(start, end, desc=)`. Started-registry members
    /// (`{id}:{execution}`) are reduced to job ids.
    ///
    /// Unlike Python's, this reads without cleaning the registry first; call ``JobRegistry/cleanup(logger:)`` for that.
    ///
    /// - Parameters:
    ///   - offset: the first rank (in the chosen order).
    ///   - length: how many; `-1` for all from `offset`.
    ///   - descending: highest score first (`ZREVRANGE`): latest expiry, run time or addition first.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func jobIDs(offset: Int = 0, length: Int = -1, descending: Bool = false) async throws -> [String] {
        let end = length < 0 ? -1 : offset + length - 1
        let members = try await redis.send(descending ? "ZREVRANGE" : "ZRANGE", key, offset, end).strings
        guard kind == .started else { return members }
        var seen = Set<String>()
        return members.map(Self.jobID(ofMember:)).filter { seen.insert($0).inserted }
    }

    /// Whether the registry holds the job.
    ///
    /// - Parameter jobID: the job's id.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func contains(_ jobID: String) async throws -> Bool {
        if kind == .started { return try await jobIDs().contains(jobID) }
        return try await !redis.send("ZSCORE", key, jobID).isNull
    }

    /// The entry's score as a date: expiry for started/finished/failed, run time for scheduled, time added for
    /// deferred/canceled. `nil` if absent; `Date.distantFuture` for `+inf`.
    ///
    /// - Parameter jobID: the job's id.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func score(of jobID: String) async throws -> Date? {
        guard let text = try await redis.send("ZSCORE", key, jobID).string else { return nil }
        guard let seconds = Double(text), seconds.isFinite else { return .distantFuture }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Removes a job from the registry, and deletes the job too when `deleteJob` is set.
    ///
    /// - Parameters:
    ///   - jobID: the job's id; from the started registry, every execution of the job is removed.
    ///   - deleteJob: also delete the job hash and its side keys, as ``Job/delete(deleteDependents:)`` does.
    /// - Throws: ``RedisError`` if Redis cannot be reached. Removing a job the registry does not hold is not an error.
    public func remove(_ jobID: String, deleteJob: Bool = false) async throws {
        if kind == .started {
            let executions = try await redis.send("ZRANGE", RQKeys.executions(jobID), 0, -1).strings
            for execution in executions { try await redis.send("ZREM", key, "\(jobID):\(execution)") }
        } else {
            try await redis.send("ZREM", key, jobID)
        }
        if deleteJob { try await redis.evaluate(RQScripts.delete, arguments: [jobID, "0"]) }
    }

    /// Puts a job of this registry back on its queue, as Python RQ's `registry.requeue(job_or_id, at_front=)`: it
    /// leaves the registry, its start and end are cleared, its status becomes `queued` and it is pushed on its origin
    /// queue — from any registry but the started one (Python's cannot requeue a running job either: its entries are
    /// executions, not job ids). A deferred job is queued without waiting for its dependencies; a scheduled one at
    /// once.
    ///
    /// - Parameters:
    ///   - jobID: the job's id.
    ///   - atFront: push it at the front of the queue rather than the back.
    /// - Returns: the job as stored now.
    /// - Throws: ``RQError`` `noSuchJob` if the job hash is gone; `invalidState` if this registry does not hold the
    ///   job; ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func requeue(_ jobID: String, atFront: Bool = false) async throws -> Job {
        let reply = try await redis.evaluate(
            RQScripts.requeue, keys: [key, RQKeys.job(jobID)],
            arguments: [jobID, RQTimestamp.format(Date()), atFront ? "1" : "0"])
        switch reply.int {
        case -1: throw RQError(.noSuchJob, "no such job: \(jobID)", jobID: jobID)
        case 0:
            throw RQError(
                .invalidState, "job \(jobID) is not in the \(kind) job registry of queue \(queueName)", jobID: jobID)
        default: return try await Job.fetch(id: jobID, redis: redis)
        }
    }

    /// Puts a job of this registry back on its queue; see the form that takes an id.
    ///
    /// - Parameters:
    ///   - job: the job.
    ///   - atFront: push it at the front of the queue rather than the back.
    /// - Returns: the job as stored now.
    /// - Throws: ``RQError`` `noSuchJob` if the job hash is gone; `invalidState` if this registry does not hold the
    ///   job; ``RedisError`` if Redis cannot be reached.
    @discardableResult
    public func requeue(_ job: Job, atFront: Bool = false) async throws -> Job {
        try await requeue(job.id, atFront: atFront)
    }

    /// Cleans the registry as Python RQ's `cleanup()` of the same registry does (workers and `rq info` call it too):
    ///
    /// - finished and failed: entries whose expiry has passed are removed;
    /// - started: entries whose heartbeat expired belong to dead workers: those jobs are retried if they have retries
    ///   left, else failed as abandoned (`AbandonedJobError`, dependents that allow failures released), and the
    ///   entries removed. Swift failure callbacks of such jobs run in a worker's maintenance, not here;
    /// - deferred, scheduled and canceled: nothing (RQ 2.12 never time-cleans them).
    ///
    /// It does not take the maintenance lock (`rq:clean_registries:{queue}`), as Python's does not.
    ///
    /// - Parameter logger: where abandoned jobs are reported (a warning each, as Python logs them).
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func cleanup(logger: Logger = Logger(label: "rq.registry")) async throws {
        let now = Date()
        switch kind {
        case .finished, .failed:
            try await redis.send("ZREMRANGEBYSCORE", key, 0, RQTimestamp.epochSeconds(now))
        case .started:
            let maintenance = RegistryMaintenance(redis: redis, logger: logger)
            _ = try await maintenance.failAbandonedJobs(queue: queueName, now: now)
            try await redis.send("ZREMRANGEBYSCORE", key, 0, RQTimestamp.epochSeconds(now))
        default:
            break
        }
    }

    static func jobID(ofMember member: String) -> String {
        guard let colon = member.lastIndex(of: ":") else { return member }
        return String(member[..<colon])
    }
}
