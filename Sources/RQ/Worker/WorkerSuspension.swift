/// Suspending every worker on a Redis (`rq:suspended`, reference §2.13), as Python RQ's `rq.suspension` and
/// `rq suspend`/`rq resume` do: Python and Swift workers take no new jobs while the key exists; running jobs go on.
extension Worker {
    /// Suspends every worker (Python's `suspend(connection, ttl)`): they finish their running jobs and take no new
    /// ones until ``resume(redis:)`` or the end of `duration`. A burst worker that finds itself suspended stops.
    ///
    /// - Parameters:
    ///   - redis: the client.
    ///   - duration: how long, in whole seconds (rounded up); `nil` (the default) until resumed.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func suspend(redis: Redis, for duration: Duration? = nil) async throws {
        guard let duration else {
            try await redis.send("SET", RQKeys.suspended, "1")
            return
        }
        let seconds = max(1, Int(duration.inSeconds.rounded(.up)))
        try await redis.transaction([
            RedisCommand("SET", RQKeys.suspended, "1"), RedisCommand("EXPIRE", RQKeys.suspended, seconds),
        ])
    }

    /// Lets suspended workers take jobs again (Python's `resume(connection)`).
    ///
    /// - Parameter redis: the client.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func resume(redis: Redis) async throws {
        try await redis.send("DEL", RQKeys.suspended)
    }

    /// Whether workers are suspended (Python's `is_suspended(connection)`).
    ///
    /// - Parameter redis: the client.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func isSuspended(redis: Redis) async throws -> Bool {
        try await redis.send("EXISTS", RQKeys.suspended).int == 1
    }
}
