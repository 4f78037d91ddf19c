import FoundationEssentials
import Glibc
import Logging
import Synchronization
import Tracing

// Running one job: horses (warm, replaced after a rebuild), in process, its watchdog, late callbacks.
extension WorkerPool {
    // MARK: Running one job

    /// Runs a started job (the dequeue script wrote its start records), then hands its outcome to be recorded.
    func perform(_ execution: JobExecution, queue: String) async {
        let job = execution.job
        let timeout = job.timeout ?? .default
        WorkerMetrics.jobStarted(execution)
        WorkerMetrics.busySlotsChanged(by: 1)
        defer { WorkerMetrics.busySlotsChanged(by: -1) }
        var started: Logger.Metadata = ["rq.queue": "\(queue)", "rq.job_id": "\(job.id)"]
        if configuration.logJobDescription { started["rq.job_description"] = "\(job.description)" }
        logger.info("Job started", metadata: started)
        let (outcome, handle) = await WorkerTracing.withConsumerSpan(
            job, queue: queue, workerName: name, outcome: { $0.0 }
        ) { await runJob(execution, timeout: timeout) }
        jobEnded(outcome, handle: handle)
    }

    /// Runs a job in a horse or in process: how it ended, and the handle it ran under.
    private func runJob(_ execution: JobExecution, timeout: JobTimeout) async -> (JobOutcome, RunningJob) {
        if machine.phase == .stopped {
            // A cold shutdown came while the job was being read: it never starts, and is recorded as stopped by it.
            stopsBeforeStart[execution.job.id] = nil
            return (.coldShutdown(coldShutdownText), RunningJob(execution: execution, inHorse: false))
        }
        switch configuration.execution.mode {
        case .horse(let runner):
            // Known to stop and kill commands before the horse is taken (which may wait for a spawn).
            let handle = RunningJob(execution: execution, inHorse: true)
            register(handle)
            let horse: Horse
            do {
                horse = try await takeHorse(runner: runner)
            } catch {
                return (.failed("could not start the job runner \(runner): \(error)\n"), handle)
            }
            handle.attach(horse: horse)
            return (await runInHorse(horse, runner: runner, handle: handle, timeout: timeout), handle)
        case .inProcess(let functions):
            let handle = RunningJob(execution: execution, inHorse: false)
            register(handle)
            return (await runInProcess(functions, handle: handle, timeout: timeout), handle)
        }
    }

    /// Makes a job's handle known to stop and kill commands, and carries out one that came before it.
    private func register(_ handle: RunningJob) {
        running[handle.jobID] = handle
        if let reason = stopsBeforeStart.removeValue(forKey: handle.jobID) { handle.stopNow(reason) }
    }

    func takeHorse(runner: String) async throws -> Horse {
        let current = FileIdentity(path: runner)
        if let index = warmHorses.firstIndex(where: { $0.binary == current && $0.process.isRunning }) {
            let horse = warmHorses.remove(at: index)
            // The runner was rebuilt if any warm horse is from another binary: let those go.
            let stale = warmHorses.filter { $0.binary != current || !$0.process.isRunning }
            for old in stale { old.discard() }
            warmHorses.removeAll { $0.binary != current || !$0.process.isRunning }
            scheduleRefill()
            return horse
        }
        for old in warmHorses { old.discard() }
        warmHorses.removeAll()
        scheduleRefill()
        // A runner being rebuilt in place is briefly open for writing (ETXTBSY): wait for the build to finish.
        for attempt in 1...40 {
            do {
                return try spawnHorse(runner: runner)
            } catch let error where error.isTextFileBusy && attempt < 40 {
                try? await Task.sleep(for: .milliseconds(50))
            } catch {
                throw WorkerPoolError(.runnerUnavailable, "\(error)")
            }
        }
        throw WorkerPoolError(.runnerUnavailable, "\(runner) stayed busy (being written) for 2 seconds")
    }

    /// Starts a horse (timed: `rq_horse_spawn_seconds`).
    func spawnHorse(runner: String) throws(SpawnError) -> Horse {
        try WorkerMetrics.timingHorseSpawn { () throws(SpawnError) -> Horse in
            try Horse(runner: runner, environment: horseEnvironment, reusable: configuration.maxJobsPerHorse > 1)
        }
    }

    func scheduleRefill() {
        // Nothing to do most of the time (reused horses go back to the warm pool): no task for nothing, per job.
        guard configuration.warmHorses, needsWarmHorse else { return }
        // Unstructured on purpose: spawning is off the job's path; the horses it makes are owned by `warmHorses`.
        Task { self.refillWarmHorses() }
    }

    /// Whether a warm horse is missing. One spare beyond the concurrency: a horse takes longer to start than a no-op
    /// job takes to run, so with one horse per slot the next job would wait for the start-up of a horse spawned when
    /// the last one began.
    private var needsWarmHorse: Bool {
        warmHorses.count + running.count < 2 * configuration.concurrency + 1
            && warmHorses.count < configuration.concurrency + 1
    }

    func refillWarmHorses() {
        guard configuration.warmHorses, case .horse(let runner) = configuration.execution.mode,
            machine.phase == .running
        else { return }
        while needsWarmHorse {
            guard let horse = try? spawnHorse(runner: runner) else { return }
            warmHorses.append(horse)
        }
    }

    func runInHorse(_ horse: Horse, runner: String, handle: RunningJob, timeout: JobTimeout) async -> JobOutcome {
        let job = handle.execution.job
        var assignment = HorseProtocol.Assignment(
            job: job, executionID: handle.execution.id, workerName: name, timeout: timeout.seconds,
            redis: horse.needsRedisConfiguration ? redis.configuration : nil)
        if JobTraceContext.isActive, let span = ServiceContext.current {
            // The consumer span (WorkerTracing), for the spans the job starts in its horse.
            var carrier: JSONObject = [:]
            JobTraceContext.inject(span, into: &carrier)
            assignment.trace = carrier
        }
        let penalty = deathPenalty
        // The horse runs the success or failure callback after the job: give it their time before stopping it. The
        // watchdog is a deadline on the shared clock, not a `Task.sleep`: a cancelled sleep leaves its dispatch
        // timer (and sleep task, ~0.7 KB) behind until the deadline, 180 s by default — memory growing with the
        // job rate.
        let deadline = timeout.seconds + job.callbacks.longestRunInJob
        let watchdog: UInt64? =
            timeout.seconds > 0
            ? Deadlines.shared.schedule(after: .seconds(deadline)) {
                guard !handle.hasEnded else { return }
                handle.markStopping(.timeout)
                // The deadline fires on the clock's thread; the penalty (signals and waits) runs as a task, and the
                // job's own run, awaited above, ends when it takes effect.
                Task { await penalty.stop(handle) }
            } : nil
        let (reported, status) = await horse.run(assignment.encoded())
        handle.markEnded()
        if let watchdog { Deadlines.shared.cancel(watchdog) }
        let outcome = await decided(reported: reported, exitStatus: status, handle: handle, timeout: timeout)
        let reuse = HorseReuse.afterJob(
            limit: configuration.maxJobsPerHorse, served: horse.jobsServed, reported: reported != nil,
            stopReason: handle.stopReason, outcome: outcome,
            runnerChanged: configuration.maxJobsPerHorse > 1 && horse.binary != FileIdentity(path: runner),
            workerTakesJobs: machine.phase == .running)
        switch reuse {
        case .keep: warmHorses.insert(horse, at: 0)  // first in line: it is warm and has its Redis connection
        case .retire: horse.discard()
        }
        return outcome
    }

    func runInProcess(_ functions: JobFunctionRegistry, handle: RunningJob, timeout: JobTimeout) async -> JobOutcome {
        let executor = JobExecutor(redis: redis, functions: functions, workerName: name)
        let job = handle.execution.job
        let executionID = handle.execution.id
        // A task of its own, awaited just below, so the death penalty and stop commands can cancel the job alone.
        let work = Task { await executor.perform(job, executionID: executionID, timeout: .returnAtDeadline) }
        handle.attach(work)
        let reported = await work.value
        handle.markEnded()
        return await decided(reported: reported, exitStatus: nil, handle: handle, timeout: timeout)
    }

    /// The job's outcome (see ``JobOutcome/decide(reported:stopReason:exitStatus:timeout:coldShutdownText:)``); a
    /// callback the job could not run itself — it was stopped, timed out or crashed — runs now, in a horse of its
    /// own or in process.
    private func decided(
        reported: JobExecutor.Outcome?, exitStatus: Int32?, handle: RunningJob, timeout: JobTimeout
    ) async -> JobOutcome {
        let outcome = JobOutcome.decide(
            reported: reported, stopReason: handle.stopReason, exitStatus: exitStatus, timeout: timeout,
            coldShutdownText: coldShutdownText)
        if let (callback, callbackOutcome) = outcome.lateCallback(of: handle.execution.job.callbacks) {
            await runLateCallback(callback, job: handle.execution.job, outcome: callbackOutcome)
        }
        return outcome
    }

    /// Runs a failure or stopped callback outside the job's own run — in a fresh horse, or in process — under its
    /// timeout. A failing callback is logged; the job's outcome stays as it is.
    func runLateCallback(_ callback: JobCallback?, job: Job, outcome: JobCallbackOutcome) async {
        guard let callback else { return }
        let problem: String?
        switch configuration.execution.mode {
        case .inProcess(let functions):
            let executor = JobExecutor(redis: redis, functions: functions, workerName: name)
            problem = await executor.runCallback(callback, job: job, outcome: outcome)
        case .horse(let runner):
            var assignment = HorseProtocol.Assignment(
                job: job, executionID: "", workerName: name, timeout: job.timeout?.seconds ?? -1,
                redis: redis.configuration)
            if case .failed(let text) = outcome {
                assignment.callbackOnly = .init(callback: callback, stopped: false, failureText: text)
            } else {
                assignment.callbackOnly = .init(callback: callback, stopped: true, failureText: "")
            }
            do {
                let horse = try await takeHorse(runner: runner)
                let limit = callback.timeout.seconds > 0 ? callback.timeout.seconds + 1 : Int.max / 2
                let guardian = Deadlines.shared.schedule(after: .seconds(limit)) { horse.kill(SIGKILL) }
                let (reported, status) = await horse.run(assignment.encoded())
                Deadlines.shared.cancel(guardian)
                horse.discard()
                switch reported {
                case .success?: problem = nil
                case .failure(let text)?: problem = text
                case nil:
                    problem =
                        "callback \(callback.name) ended without a report; waitpid returned "
                        + SpawnedProcess.describe(status ?? 0)
                }
            } catch {
                problem = "could not start a horse for callback \(callback.name): \(error)"
            }
        }
        if let problem {
            logger.error(
                "Callback failed",
                metadata: [
                    "rq.queue": "\(job.origin)", "rq.job_id": "\(job.id)", "rq.callback": "\(callback.name)",
                    "error": "\(problem)",
                ])
        }
    }
}
