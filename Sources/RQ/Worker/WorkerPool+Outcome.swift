import FoundationEssentials
import Glibc
import Logging
import Synchronization

// Recording how a job ended: results, registries, retries, counters, exception handlers.
extension WorkerPool {
    /// A job ended: its slot is free, and its outcome is written in an unstructured task, so a cold shutdown
    /// (cancellation) still writes it — a job must not be left "started". The worker waits for every pending write
    /// before it takes a burst's "queue empty" for an answer and before it unregisters.
    func jobEnded(_ outcome: JobOutcome, handle: RunningJob) {
        let id = handle.jobID
        running[id] = nil
        machine.jobEnded(id)
        let waiters = slotWaiters
        slotWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
        Task {
            await self.record(outcome, handle: handle)
            self.recordWritten(id)
        }
    }

    func recordWritten(_ jobID: String) {
        machine.outcomeWritten(jobID)
        guard machine.recording.isEmpty else { return }
        let waiters = recordWaiters
        recordWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once every outcome handed to `record` is written.
    func waitForRecords() async {
        guard !machine.recording.isEmpty else { return }
        await withCheckedContinuation { recordWaiters.append($0) }
    }

    var coldShutdownText: String { "Job was stopped by a cold shutdown of worker \(name).\n" }

    /// Writes the outcome: success or failure records, counters, worker state, dependents.
    func record(_ outcome: JobOutcome, handle: RunningJob) async {
        let execution = handle.execution
        let job = execution.job
        let endedAt = Date()
        var commands: [RedisCommand]
        let status: JobStatus
        switch outcome {
        case .finished(let value):
            status = .finished
            successfulJobCount += 1
            commands = JobLifecycle.success(
                execution, returnValue: value, endedAt: endedAt, defaultResultTTL: configuration.defaultResultTTL)
            let ttl = job.resultTTL ?? configuration.defaultResultTTL
            // Python RQ's "Job OK" and "Result is kept for N seconds" (-1: never expires), data in metadata.
            logger.info("Job OK", metadata: ["rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)"])
            logger.info("Result kept", metadata: ["rq.job_id": "\(job.id)", "rq.result_ttl": "\(ttl)"])
        case .failed, .stopped, .timedOut, .crashed, .coldShutdown:
            let text = outcome.failureText ?? ""
            status = outcome.status
            failedJobCount += 1
            if outcome.mayRetry, let retriesLeft = job.retriesLeft, retriesLeft > 0 {
                let writes = JobLifecycle.retry(execution, endedAt: endedAt) + workerStateCommands(ended: job.id)
                logger.info(
                    "Job failed, retrying",
                    metadata: [
                        "rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)", "rq.retries_left": "\(retriesLeft - 1)",
                    ])
                WorkerMetrics.jobEnded(outcome, retried: true, execution: execution, endedAt: endedAt)
                await withRetries("record retry", jobID: job.id, landed: outcomeLanded(execution)) {
                    try await self.redis.transaction(writes)
                }
                return
            }
            if await runExceptionHandlers(job, text) {
                commands = JobLifecycle.failure(execution, excString: text, endedAt: endedAt, status: status)
            } else {
                commands = JobLifecycle.failureWithoutRegistry(execution, endedAt: endedAt, status: status)
            }
            logger.error(
                "Job failed",
                metadata: [
                    "rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)",
                    "error": "\(text.split(separator: "\n").last ?? "")",
                ])
        }
        WorkerMetrics.jobEnded(outcome, retried: false, execution: execution, endedAt: endedAt)
        commands += workerStateCommands(ended: job.id)
        // Dependents are released in the same transaction (one round trip); if the server lost the script
        // (NOSCRIPT, e.g. after a restart) the release is run again on its own.
        let releases = status == .finished || status == .failed
        let sha = releases ? try? await redis.scriptHash(RQScripts.releaseDependents) : nil
        if let sha {
            commands.append(
                RedisCommand("EVALSHA", sha, 0, job.id, status.rawValue, RQTimestamp.format(Date())))
        }
        let writes = commands
        let redis = self.redis
        await withRetries("record job outcome", jobID: job.id, landed: outcomeLanded(execution)) {
            let results = try await redis.transactionResults(writes)
            for (index, result) in results.enumerated() {
                guard case .error(let message) = result else { continue }
                if sha != nil, index == results.count - 1 {
                    try await JobLifecycle.releaseDependents(of: job.id, status: status, redis: redis)
                } else {
                    self.logger.error(
                        "Job outcome write failed", metadata: ["rq.job_id": "\(job.id)", "error": "\(message)"])
                }
            }
        }
        if releases, sha == nil {
            await withRetries("release dependents", jobID: job.id) {
                try await JobLifecycle.releaseDependents(of: job.id, status: status, redis: redis)
            }
        }
        // Webhooks go out once the outcome is written, off the worker's path (WebhookSender).
        WebhookSender.shared.jobEnded(
            job, status: status, endedAt: endedAt, excString: outcome.failureText, logger: logger)
    }

    /// Whether a job's outcome write took effect: every outcome (success, failure, retry) removes the execution's
    /// entry from the started registry in the same transaction, and nothing else does while the worker knows the job
    /// (maintenance, for a job abandoned meanwhile, records an outcome of its own — then none must be added either).
    func outcomeLanded(_ execution: JobExecution) -> @Sendable () async throws -> Bool {
        let redis = self.redis
        let registry = RQKeys.started(execution.job.origin)
        let member = execution.wipMember
        return { try await redis.send("ZSCORE", registry, member).isNull }
    }

    /// The worker's state after a job ended: idle when nothing else runs, else busy with another job — written only
    /// if no job started since the write was built (``RQScripts/workerJobEnded``). Without `ended` (a registration
    /// written anew), the state as the worker knows it now.
    func workerStateCommands(ended: String? = nil) -> [RedisCommand] {
        if let ended {
            let script = RQScripts.workerJobEnded
            return [RedisCommand("EVAL", script.source, 1, workerKey, ended, running.keys.first ?? "")]
        }
        if running.isEmpty {
            return [RedisCommand("HSET", workerKey, "state", "idle"), RedisCommand("HDEL", workerKey, "current_job")]
        }
        return running.keys.first.map { [RedisCommand("HSET", workerKey, "current_job", $0)] } ?? []
    }

    /// Runs the handler chain; returns whether the default handler (failed registry) should run.
    func runExceptionHandlers(_ job: Job, _ text: String) async -> Bool {
        for handler in configuration.exceptionHandlers {
            if await handler.body(job, text) == .stop { return false }
        }
        return !configuration.disableDefaultExceptionHandler
    }

    /// Runs a write until it succeeds: through an outage of any length (up to `maximumOutage`), and five times for
    /// other errors. An outcome is never dropped because Redis was away when the job ended.
    ///
    /// - Parameter landed: asked before a retry that follows a lost connection: whether the write took effect after
    ///   all (the server ran it and the reply was lost). A write that is not idempotent — an outcome adds a result
    ///   entry and counts the job — is then not written twice.
    func withRetries(
        _ what: String, jobID: String, landed: (@Sendable () async throws -> Bool)? = nil,
        _ body: @Sendable () async throws -> Void
    ) async {
        var backoff = Backoff.outage
        var attempt = 0
        var mayHaveLanded = false
        while true {
            do {
                if mayHaveLanded, let landed, try await landed() {
                    await redisAnswered()
                    return
                }
                try await body()
                await redisAnswered()
                return
            } catch let error as RedisError where error.isTransient {
                mayHaveLanded = true
                do { try await rideOut(error) } catch {
                    logger.error(
                        "Redis write given up: Redis unreachable for longer than the maximum outage",
                        metadata: ["rq.job_id": "\(jobID)", "what": "\(what)", "error": "\(error)"])
                    return
                }
            } catch {
                attempt += 1
                logger.warning(
                    "Redis write failed",
                    metadata: [
                        "rq.job_id": "\(jobID)", "what": "\(what)", "attempt": "\(attempt)", "error": "\(error)",
                    ])
                if attempt == 5 { return }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}
