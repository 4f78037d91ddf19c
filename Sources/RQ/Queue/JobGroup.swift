/// A group of jobs enqueued together (RQ's `Group`): `rq:group:{name}` and its entry in `rq:groups`.
///
/// ```swift
/// let jobs = try await queue.enqueueMany(requests, groupID: "import-2026-11")
/// let group = JobGroup(name: "import-2026-11", redis: redis)
/// let remaining = try await group.jobs()
/// ```
public struct JobGroup: Sendable {
    /// The group name.
    public let name: String
    /// The client the group is read with.
    public let redis: Redis

    /// A handle on the group called `name`; nothing is read until you ask.
    ///
    /// - Parameters:
    ///   - name: the group name, as given to ``Queue/enqueueMany(_:groupID:)``.
    ///   - redis: the client to read it with.
    public init(name: String, redis: Redis) {
        self.name = name
        self.redis = redis
    }

    /// The names of every group.
    ///
    /// - Parameter redis: the client.
    /// - Returns: the names in `rq:groups`, sorted.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func allNames(redis: Redis) async throws -> [String] {
        try await redis.send("SMEMBERS", RQKeys.groups).strings.sorted()
    }

    /// The ids of the group's jobs (including ones whose hash has expired until maintenance prunes them).
    ///
    /// - Returns: the ids, sorted.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func jobIDs() async throws -> [String] {
        try await redis.send("SMEMBERS", RQKeys.group(name)).strings.sorted()
    }

    /// The group's jobs that still exist.
    ///
    /// - Throws: ``RQError`` `invalidJob` for a job hash that cannot be read;
    ///   ``RedisError`` if Redis cannot be reached.
    public func jobs() async throws -> [Job] {
        try await Job.fetchMany(ids: jobIDs(), redis: redis).compactMap { $0 }
    }

    /// Prunes every group, as Python RQ's `Group.clean_registries` (which workers' maintenance runs, Swift's too):
    /// ids whose job hash is gone leave their group, and groups left empty leave `rq:groups`.
    ///
    /// - Parameter redis: the client.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func cleanupAll(redis: Redis) async throws {
        for name in try await allNames(redis: redis) {
            try await JobGroup(name: name, redis: redis).cleanup()
        }
    }

    /// Removes ids whose job hash is gone, and the group itself once empty, as RQ's maintenance does.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func cleanup() async throws {
        let ids = try await jobIDs()
        let exists = try await redis.pipeline(ids.map { RedisCommand("EXISTS", RQKeys.job($0)) })
        let gone = zip(ids, exists).filter { $0.1.int == 0 }.map(\.0)
        if !gone.isEmpty { try await redis.send(RedisCommand("SREM", arguments: [RQKeys.group(name)] + gone)) }
        if gone.count == ids.count { try await redis.send("SREM", RQKeys.groups, name) }
    }
}
