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
        wakeTheLoop()
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
        let commands: [RedisCommand]
        let status: JobStatus
        switch outcome {
        case .finished(let value):
            status = .finished
            successfulJobCount += 1
            commands = JobLifecycle.success(
                execution, returnValue: value, endedAt: endedAt, defaultResultTTL: configuration.defaultResultTTL,
                workerCounters: false)
            let ttl = job.resultTTL ?? configuration.defaultResultTTL
            // Python RQ's "Job OK" and "Result is kept for N seconds" (-1: never expires), data in metadata.
            logger.info("Job OK", metadata: ["rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)"])
            logger.info("Result kept", metadata: ["rq.job_id": "\(job.id)", "rq.result_ttl": "\(ttl)"])
        case .failed, .stopped, .timedOut, .crashed, .coldShutdown:
            let text = outcome.failureText ?? ""
            status = outcome.status
            failedJobCount += 1
            if outcome.mayRetry, let retriesLeft = job.retriesLeft, retriesLeft > 0 {
                logger.info(
                    "Job failed, retrying",
                    metadata: [
                        "rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)", "rq.retries_left": "\(retriesLeft - 1)",
                    ])
                WorkerMetrics.jobEnded(outcome, retried: true, execution: execution, endedAt: endedAt)
                await writeOutcome(
                    JobLifecycle.retry(execution, endedAt: endedAt, workerCounters: false), execution,
                    succeeded: false, releasing: nil, endedAt: endedAt)
                return
            }
            if await runExceptionHandlers(job, text) {
                commands = JobLifecycle.failure(
                    execution, excString: text, endedAt: endedAt, status: status, workerCounters: false)
            } else {
                commands = JobLifecycle.failureWithoutRegistry(
                    execution, endedAt: endedAt, status: status, workerCounters: false)
            }
            logger.error(
                "Job failed",
                metadata: [
                    "rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)",
                    "error": "\(text.split(separator: "\n").last ?? "")",
                ])
        }
        WorkerMetrics.jobEnded(outcome, retried: false, execution: execution, endedAt: endedAt)
        let releasing = status == .finished || status == .failed ? status : nil
        await writeOutcome(commands, execution, succeeded: status == .finished, releasing: releasing, endedAt: endedAt)
        // Webhooks go out once the outcome is written, off the worker's path (WebhookSender).
        WebhookSender.shared.jobEnded(
            job, status: status, endedAt: endedAt, excString: outcome.failureText, logger: logger)
    }

    /// Writes a job's end in one transaction, one round trip, on the worker's outcome connection (`outcomeWrites`):
    /// the job's records (`commands`, from ``JobLifecycle``) and the worker's side — counters, state, the release of
    /// dependents — in one script (``RQScripts/workerJobEnded``). If the server lost the script (NOSCRIPT, e.g. after
    /// a restart), the rest of the transaction stands and the script is run again on its own.
    func writeOutcome(
        _ commands: [RedisCommand], _ execution: JobExecution, succeeded: Bool, releasing: JobStatus?, endedAt: Date
    ) async {
        let jobID = execution.job.id
        let script = RQScripts.workerJobEnded
        let keys = [workerKey]
        let arguments = workerJobEndedArguments(
            execution, counter: succeeded ? "successful_job_count" : "failed_job_count", releasing: releasing,
            endedAt: endedAt)
        let redis = self.outcomeWrites
        let logger = self.logger
        await withRetries("record job outcome", jobID: jobID, landed: outcomeLanded(execution)) {
            let sha = try await redis.scriptHash(script)
            let results = try await redis.transactionResults(
                commands + [RedisCommand("EVALSHA", arguments: [sha, 1] + keys + arguments)])
            for (index, result) in results.enumerated() {
                guard case .error(let message) = result else { continue }
                if index == results.count - 1, message.hasPrefix("NOSCRIPT") {
                    try await redis.evaluate(script, keys: keys, arguments: arguments)
                } else {
                    logger.error(
                        "Job outcome write failed", metadata: ["rq.job_id": "\(jobID)", "error": "\(message)"])
                }
            }
        }
    }

    /// The arguments of ``RQScripts/workerJobEnded`` for a job that ended: the job still running to name as
    /// current (none: the worker is idle), the counter and working time to add, and the status to release the job's
    /// dependents with (nil: none are released).
    func workerJobEndedArguments(
        _ execution: JobExecution, counter: String, releasing: JobStatus?, endedAt: Date
    ) -> [any RedisArgument] {
        [
            execution.job.id, running.keys.first ?? "", counter, endedAt.timeIntervalSince(execution.startedAt),
            releasing?.rawValue ?? "", RQTimestamp.format(Date()),
        ]
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

    /// The worker's state as it knows it now (a registration written anew): idle when nothing runs, else busy with
    /// one of its jobs. (After a job ends, ``RQScripts/workerJobEnded`` writes it.)
    func workerStateCommands() -> [RedisCommand] {
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
