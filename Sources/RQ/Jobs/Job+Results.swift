import FoundationEssentials
import Glibc

extension Job {
    /// The newest result, or `nil` if none was written (yet).
    ///
    /// - Throws: ``RQError`` `invalidJob` if the result entry cannot be read;
    ///   ``RedisError`` if Redis cannot be reached.
    public func latestResult() async throws -> JobResult? {
        let reply = try await redis.send("XREVRANGE", RQKeys.results(id), "+", "-", "COUNT", 1)
        return try reply.array?.first.map { entry throws(RQError) in try JobResult(entry: entry, jobID: id) }
    }

    /// Every result kept for the job (at most about 10), newest first.
    ///
    /// - Throws: ``RQError`` `invalidJob` if a result entry cannot be read; ``RedisError`` if Redis cannot be reached.
    public func results() async throws -> [JobResult] {
        let reply = try await redis.send("XREVRANGE", RQKeys.results(id), "+", "-")
        return try (reply.array ?? []).map { entry throws(RQError) in try JobResult(entry: entry, jobID: id) }
    }

    /// Waits until the job ends and returns its return value (`.null` when the function returned nothing).
    ///
    /// Waiting is `XREAD BLOCK` on the job's result stream, so the call returns as soon as a worker writes the
    /// result, with no polling; all the waits of one ``Redis`` client share one blocking read (and connection), so a
    /// service can await thousands of results at once. A job that already ended returns its latest result at once; one that is queued
    /// again (requeued, retried) waits for a new result.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until the job ends or disappears.
    /// A Redis outage (a restart, a failover) does not end the wait: it asks again with backoff until the timeout.
    ///
    /// - Throws: ``JobFailure`` if the job failed or was stopped (with the worker's exception text); ``RQError``
    ///   `timeout` when the time is up; `noSuchJob` if the job is gone without a result; `invalidJob` if the result
    ///   cannot be read. ``RedisError`` if Redis stays unreachable until the timeout; `CancellationError` if the
    ///   task is cancelled.
    public func result(timeout: Duration? = nil) async throws -> JSONValue {
        let result = try await waitForResult(timeout: timeout)
        guard result.kind == .successful else { throw JobFailure(jobID: id, result: result) }
        return result.returnValue ?? .null
    }

    /// Waits for the result and decodes it as `T`; see ``result(timeout:)``.
    ///
    /// - Parameters:
    ///   - type: the type to decode the return value as, from its JSON form.
    ///   - timeout: the longest wait; `nil` waits until the job ends or disappears.
    /// - Returns: the decoded return value.
    /// - Throws: what ``result(timeout:)`` throws, and ``RQError`` `invalidJob` (field `return_value`) if the
    ///   return value does not decode as `T`.
    public func result<T: Decodable>(as type: T.Type, timeout: Duration? = nil) async throws -> T {
        let value = try await result(timeout: timeout)
        do {
            return try value.decode(T.self)
        } catch {
            throw RQError(
                .invalidJob, "job \(id): result \(PythonRepr.truncate(value.description)) is not a \(T.self)",
                jobID: id, field: "return_value")
        }
    }

    /// Waits for the job's next (or, if it ended, latest) result of any kind.
    ///
    /// Unlike ``result(timeout:)``, a failed or stopped job's result is returned, not thrown.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until the job ends or disappears.
    /// - Returns: the result: successful, failed, stopped, retried…
    /// - Throws: ``RQError`` `timeout` when the time is up, `noSuchJob` if the job is gone without a result,
    ///   `invalidJob` if the result cannot be read; ``RedisError`` if Redis stays unreachable until the timeout;
    ///   `CancellationError` if the task is cancelled.
    public func waitForResult(timeout: Duration? = nil) async throws -> JobResult {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now.advanced(by: $0) }
        var backoff = Backoff.outage
        /// Waits out a transient Redis error with backoff, or rethrows it if the deadline would pass first.
        func rideOut(_ error: RedisError) async throws {
            let delay = backoff.next()
            if let deadline, clock.now + delay >= deadline { throw error }
            try await Task.sleep(for: delay)
        }
        var first: [RedisValue]?
        while first == nil {
            do {
                first = try await redis.pipeline([
                    RedisCommand("HGET", RQKeys.job(id), "status"),
                    RedisCommand("XREVRANGE", RQKeys.results(id), "+", "-", "COUNT", 1),
                ])
            } catch let error as RedisError where error.isTransient {
                // Redis is away (restarting, failing over): ask again, until the deadline.
                try await rideOut(error)
            }
        }
        let replies = first!
        let status = replies[0].string.map(JobStatus.init(rawValue:))
        let latest = try replies[1].array?.first.map { entry throws(RQError) in try JobResult(entry: entry, jobID: id) }
        if let latest, status == nil || status!.isTerminal { return latest }
        if status == nil { throw RQError(.noSuchJob, "no such job: \(id)", jobID: id) }
        backoff.reset()

        let lastSeen = latest?.entryID ?? "0-0"
        // Block in slices so a job that vanishes (deleted, expired, result_ttl=0) ends the wait.
        let slice = Duration.seconds(5)
        while true {
            var wait = slice
            if let deadline { wait = min(slice, clock.now.duration(to: deadline)) }
            do {
                if wait > .zero,
                    let entry = try await redis.streamWaiters.next(
                        stream: RQKeys.results(id), after: lastSeen, timeout: wait, on: redis)
                {
                    return try JobResult(entry: entry, jobID: id)
                }
                if let deadline, clock.now >= deadline {
                    throw RQError(.timeout, "job \(id) did not end within \(timeout!)", jobID: id)
                }
                if !(try await Job.exists(id: id, redis: redis)) {
                    throw RQError(.noSuchJob, "job \(id) disappeared before a result was written", jobID: id)
                }
                backoff.reset()
            } catch let error as RedisError where error.isTransient {
                try await rideOut(error)
            }
        }
    }
}
