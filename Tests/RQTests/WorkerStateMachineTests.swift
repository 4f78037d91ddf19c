import FoundationEssentials
import Testing

@testable import RQ

/// The worker's state machine driven by hand: no Redis, no processes, no clock.
@Suite struct WorkerStateMachineTests {
    let start = ContinuousClock.now

    func machine(
        concurrency: Int = 2, maxJobs: Int? = nil, burst: Bool = false, maxIdle: Duration? = nil,
        maximumOutage: Duration? = nil
    ) -> WorkerStateMachine {
        var machine = WorkerStateMachine(
            settings: .init(
                concurrency: concurrency, maxJobs: maxJobs, burst: burst, maxIdleTime: maxIdle,
                maximumOutage: maximumOutage),
            now: start)
        machine.start()
        return machine
    }

    /// Runs `nextStep` and returns it (a mutating call cannot stand inside `#expect`).
    func step(_ machine: inout WorkerStateMachine, at now: ContinuousClock.Instant? = nil) -> WorkerStateMachine.Step {
        machine.nextStep(now: now ?? start)
    }

    @Test func aBurstEndsOnlyAfterThePendingOutcomeWrites() {
        var worker = machine(burst: true)
        #expect(step(&worker) == .dequeue(limit: 2, mayBlock: true))
        worker.dequeued(["a", "b"], limit: 2, now: start)
        #expect(step(&worker) == .waitForAJobOrADequeue, "both slots are busy")
        worker.jobEnded("a")
        worker.jobEnded("b")
        #expect(step(&worker) == .dequeue(limit: 2, mayBlock: true))
        worker.dequeued([], limit: 2, now: start)
        // The queues are empty, but a's outcome (a retry, say, which queues it again) is still being written.
        worker.outcomeWritten("b")
        #expect(step(&worker) == .waitForOutcomeWrites)
        worker.outcomeWritten("a")
        #expect(
            step(&worker) == .dequeue(limit: 2, mayBlock: true), "after the writes, the queues are looked at once more")
        worker.dequeued([], limit: 2, now: start)
        #expect(step(&worker) == .finish)
        #expect(worker.phase == .finished)
    }

    @Test func maxJobsTakesNoMoreThanItsNumberAndFinishesTheirWrites() {
        var worker = machine(concurrency: 4, maxJobs: 3)
        #expect(step(&worker) == .dequeue(limit: 3, mayBlock: true))
        worker.dequeued(["a", "b"], limit: 3, now: start)
        #expect(
            step(&worker) == .dequeue(limit: 1, mayBlock: true), "two slots are free, but only one job is left to take")
        worker.dequeued(["c"], limit: 1, now: start)
        #expect(step(&worker) == .waitForAJobOrADequeue)
        #expect(worker.phase == .draining)
        for id in ["a", "b", "c"] { worker.jobEnded(id) }
        #expect(step(&worker) == .waitForOutcomeWrites)
        for id in ["a", "b", "c"] { worker.outcomeWritten(id) }
        #expect(step(&worker) == .finish)
    }

    @Test func aDroppedJobDoesNotCountTowardsMaxJobs() {
        var worker = machine(concurrency: 2, maxJobs: 2)
        _ = step(&worker)
        worker.dequeued(["gone", "b"], limit: 2, now: start)
        worker.jobDropped("gone")  // its hash had expired
        #expect(step(&worker) == .dequeue(limit: 1, mayBlock: true))
    }

    @Test func aWarmShutdownLetsTheRunningJobsFinishThenAColdOneStopsThem() {
        var worker = machine(concurrency: 3)
        _ = step(&worker)
        worker.dequeued(["a", "b"], limit: 3, now: start)
        let noted1 = worker.warmShutdown()
        #expect(noted1, "jobs are running: the request is noted in the worker's hash")
        #expect(step(&worker) == .waitForAJobOrADequeue)
        worker.jobEnded("a")
        #expect(step(&worker) == .waitForAJobOrADequeue, "no new job during a warm shutdown")
        // A second signal: cold.
        let stopping2 = worker.coldShutdown()
        #expect(stopping2 == ["b"])
        #expect(worker.phase == .stopped)
        worker.jobEnded("b")
        #expect(step(&worker) == .waitForOutcomeWrites, "a stopped job's outcome is still written")
        worker.outcomeWritten("a")
        worker.outcomeWritten("b")
        #expect(step(&worker) == .finish)
        let noted3 = worker.warmShutdown()
        #expect(!noted3)
    }

    @Test func aSlotFreedByACrashIsFilledAgain() {
        var worker = machine(concurrency: 2)
        _ = step(&worker)
        worker.dequeued(["a", "b"], limit: 2, now: start)
        #expect(step(&worker) == .waitForAJobOrADequeue)
        worker.jobEnded("a")  // its horse crashed: the job is failed, the slot is free
        #expect(step(&worker) == .dequeue(limit: 1, mayBlock: true))
        #expect(worker.taken == ["a", "b"], "a is still being recorded")
    }

    @Test func aStopJobCommandFindsOnlyJobsRunningHere() {
        var worker = machine()
        _ = step(&worker)
        worker.dequeued(["a"], limit: 2, now: start)
        #expect(worker.isRunning("a"))
        #expect(!worker.isRunning("elsewhere"))
        worker.jobEnded("a")
        #expect(!worker.isRunning("a"))
    }

    @Test func aSuspensionPausesAndEndsABurst() {
        var worker = machine()
        _ = step(&worker)
        worker.suspended()
        worker.dequeueAbandoned(limit: 2)
        #expect(step(&worker) == .pauseWhileSuspended)
        #expect(step(&worker) == .dequeue(limit: 2, mayBlock: true))

        var burst = machine(burst: true)
        _ = step(&burst)
        burst.suspended()
        burst.dequeueAbandoned(limit: 2)
        #expect(step(&burst) == .finish)
    }

    @Test func anIdleWorkerStopsAfterItsMaximumIdleTime() {
        var worker = machine(maxIdle: .seconds(10))
        _ = step(&worker)
        worker.dequeued([], limit: 2, now: start)
        #expect(step(&worker, at: start + .seconds(5)) == .dequeue(limit: 2, mayBlock: true))
        worker.dequeued([], limit: 2, now: start + .seconds(5))
        #expect(step(&worker, at: start + .seconds(11)) == .finish)
    }

    @Test func anOutageBacksOffThenLostStartsArePutBackBeforeTheNextDequeue() {
        var worker = machine(maximumOutage: .seconds(60))
        _ = step(&worker)
        worker.dequeued(["a"], limit: 2, now: start)
        _ = step(&worker)
        // The next dequeue's reply is lost with the connection: it may have started jobs.
        let decision4 = worker.redisFailed(duringDequeue: true, now: start)
        #expect(decision4 == .retry(after: .milliseconds(100), first: true))
        let decision5 = worker.redisFailed(duringDequeue: true, now: start)
        #expect(decision5 == .retry(after: .milliseconds(200), first: false))
        worker.dequeueAbandoned(limit: 1)
        #expect(step(&worker) == .requeueLostStarts(known: ["a"]), "a is known; the rest go back")
        #expect(
            worker.redisFailed(duringDequeue: false, now: start + .seconds(1))
                == .retry(after: .milliseconds(400), first: false))
        let away6 = worker.redisAnswered(now: start + .seconds(2))
        #expect(away6 == .seconds(2))
        #expect(step(&worker) == .requeueLostStarts(known: ["a"]))
        worker.lostStartsRequeued()
        #expect(step(&worker) == .dequeue(limit: 1, mayBlock: true))
        let away7 = worker.redisAnswered(now: start + .seconds(3))
        #expect(away7 == nil)
        // Past the maximum outage, the worker gives up.
        #expect(
            worker.redisFailed(duringDequeue: false, now: start + .seconds(4))
                == .retry(after: .milliseconds(100), first: true))
        let decision8 = worker.redisFailed(duringDequeue: false, now: start + .seconds(70))
        #expect(decision8 == .giveUp)
    }
}

extension WorkerStateMachineTests {
    @Test func aSecondDequeueGoesOutBeforeTheFirstReturnsOnlyWhileTheQueuesHaveMore() {
        var worker = machine(concurrency: 4)
        #expect(step(&worker) == .dequeue(limit: 4, mayBlock: true))
        #expect(step(&worker) == .waitForAJobOrADequeue, "nothing known of the queues yet: one dequeue at a time")
        worker.dequeued(["a", "b", "c", "d"], limit: 4, now: start)
        worker.jobEnded("a")
        #expect(step(&worker) == .waitForAJobOrADequeue, "one free slot of four is not worth a round trip")
        worker.jobEnded("b")
        #expect(step(&worker) == .dequeue(limit: 2, mayBlock: true))
        worker.jobEnded("c")
        worker.jobEnded("d")
        #expect(
            step(&worker) == .dequeue(limit: 2, mayBlock: false),
            "the queues had more: the freed slots need not wait, and this one must not block")
        #expect(worker.dequeuesInFlight == 2)
        #expect(step(&worker) == .waitForAJobOrADequeue, "never more than two on their way")
        worker.dequeued(["e"], limit: 2, now: start)
        worker.jobEnded("e")
        #expect(step(&worker) == .waitForAJobOrADequeue, "the queues ran dry: no second dequeue")
        worker.dequeued([], limit: 2, now: start)
        #expect(step(&worker) == .dequeue(limit: 4, mayBlock: true), "none on its way: the next may block")
    }

    @Test func aWarmShutdownAndABurstEndWaitForTheDequeuesOnTheirWay() {
        var worker = machine(concurrency: 2)
        _ = step(&worker)
        let noted = worker.warmShutdown()
        #expect(!noted)
        #expect(step(&worker) == .waitForAJobOrADequeue, "the jobs the dequeue took must run, not be left started")
        worker.dequeued(["a"], limit: 2, now: start)
        #expect(step(&worker) == .waitForAJobOrADequeue)
        worker.jobEnded("a")
        worker.outcomeWritten("a")
        #expect(step(&worker) == .finish)

        var burst = machine(concurrency: 2, burst: true)
        _ = step(&burst)
        burst.dequeued(["a", "b"], limit: 2, now: start)
        burst.jobEnded("a")
        #expect(step(&burst) == .dequeue(limit: 1, mayBlock: true))
        burst.jobEnded("b")
        #expect(step(&burst) == .dequeue(limit: 1, mayBlock: false), "the queues had more; the second does not block")
        burst.dequeued([], limit: 1, now: start)
        #expect(step(&burst) == .waitForAJobOrADequeue, "one found nothing, the other is on its way")
        burst.dequeued(["c"], limit: 1, now: start)
        #expect(step(&burst) == .dequeue(limit: 1, mayBlock: true))
        burst.jobEnded("c")
        burst.dequeued([], limit: 1, now: start)
        #expect(step(&burst) == .waitForOutcomeWrites)
        for id in ["a", "b", "c"] { burst.outcomeWritten(id) }
        #expect(
            step(&burst) == .dequeue(limit: 2, mayBlock: true), "after the writes, the queues are looked at once more")
        burst.dequeued([], limit: 2, now: start)
        #expect(step(&burst) == .finish)
    }

    @Test func lostStartsArePutBackOnlyWithNoDequeueOnItsWay() {
        var worker = machine(concurrency: 2, maximumOutage: .seconds(60))
        _ = step(&worker)
        worker.dequeued(["a", "b"], limit: 2, now: start)
        worker.jobEnded("a")
        #expect(step(&worker) == .dequeue(limit: 1, mayBlock: true))
        worker.jobEnded("b")
        #expect(step(&worker) == .dequeue(limit: 1, mayBlock: false))
        _ = worker.redisFailed(duringDequeue: true, now: start)
        worker.dequeueAbandoned(limit: 1)
        #expect(step(&worker) == .waitForAJobOrADequeue, "the other dequeue may still start a job")
        worker.dequeued(["c"], limit: 1, now: start)
        #expect(step(&worker) == .requeueLostStarts(known: ["a", "b", "c"]))
    }
}

@Suite struct JobOutcomeTests {
    let cold = "Job was stopped by a cold shutdown of worker w.\n"

    func decide(_ reported: JobExecutor.Outcome?, _ reason: StopReason?, status: Int32? = nil) -> JobOutcome {
        JobOutcome.decide(
            reported: reported, stopReason: reason, exitStatus: status, timeout: 5,
            coldShutdownText: cold)
    }

    @Test func oneDecisionFromWhatTheWorkerSaw() {
        #expect(decide(.success(.int(3)), nil) == .finished(.int(3)))
        #expect(decide(.failure("boom\n"), nil) == .failed("boom\n"))
        #expect(decide(nil, .stopCommand) == .stopped)
        #expect(decide(.success(.int(3)), .stopCommand) == .stopped, "a stop command always wins")
        #expect(decide(nil, .timeout) == .timedOut(JobExecutor.timeoutText(JobTimeout(5))))
        #expect(decide(.success(.null), .timeout) == .finished(.null), "it finished just in time")
        #expect(decide(nil, .coldShutdown) == .coldShutdown(cold))
        #expect(decide(.failure("CancellationError"), .coldShutdown) == .coldShutdown(cold))
        guard case .crashed(let text) = decide(nil, nil, status: 9) else {
            Issue.record("a horse that died without a report did not crash")
            return
        }
        #expect(text.hasPrefix("Work-horse terminated unexpectedly; waitpid returned "))
        guard case .crashed = decide(nil, .killCommand, status: 9) else {
            Issue.record("a kill-horse command is not a crash")
            return
        }
    }

    @Test func statusRetryAndLateCallbacksFollowFromTheOutcome() {
        #expect(JobOutcome.stopped.status == .stopped && !JobOutcome.stopped.mayRetry)
        #expect(JobOutcome.stopped.failureText == JobOutcome.stoppedText)
        #expect(JobOutcome.crashed("x").status == .failed && JobOutcome.crashed("x").mayRetry)
        #expect(JobOutcome.finished(.null).failureText == nil)
        let failure = JobCallback("on_failure")
        let stopped = JobCallback("on_stopped")
        let callbacks = JobCallbacks(failure: failure, stopped: stopped)
        #expect(JobOutcome.timedOut("t").lateCallback(of: callbacks)?.0 == failure)
        #expect(JobOutcome.stopped.lateCallback(of: callbacks)?.0 == stopped)
        #expect(JobOutcome.failed("f").lateCallback(of: callbacks) == nil, "the job's own run called it")
        #expect(JobOutcome.coldShutdown("c").lateCallback(of: callbacks) == nil)
    }
}

@Suite struct HorseReuseDecisionTests {
    func decide(
        limit: Int = 10, served: Int = 1, reported: Bool = true, stopReason: StopReason? = nil,
        outcome: JobOutcome = .finished(.null), runnerChanged: Bool = false, workerTakesJobs: Bool = true
    ) -> HorseReuse {
        HorseReuse.afterJob(
            limit: limit, served: served, reported: reported, stopReason: stopReason, outcome: outcome,
            runnerChanged: runnerChanged, workerTakesJobs: workerTakesJobs)
    }

    @Test func aHorseIsKeptOnlyWhileItMayServeAndNothingWentWrong() {
        #expect(decide() == .keep)
        #expect(decide(outcome: .failed("ValueError: no\n")) == .keep, "a job that failed on its own is not a problem")
        #expect(decide(limit: 1, served: 1) == .retire, "the default: a fresh process per job")
        #expect(decide(limit: 3, served: 3) == .retire, "a reused horse is retired after N jobs")
        #expect(decide(reported: false, outcome: .crashed("x")) == .retire, "a crashed horse is replaced")
        #expect(decide(reported: false, stopReason: .timeout, outcome: .timedOut("t")) == .retire)
        #expect(decide(reported: false, stopReason: .killCommand, outcome: .crashed("k")) == .retire, "killed")
        #expect(decide(stopReason: .stopCommand, outcome: .stopped) == .retire)
        #expect(
            decide(outcome: .failed("JobTimeoutException: Task exceeded maximum timeout value (1 seconds)\n"))
                == .retire)
        #expect(decide(runnerChanged: true) == .retire, "a rebuilt runner is picked up by the next job")
        #expect(decide(workerTakesJobs: false) == .retire, "a draining worker keeps no horses")
    }
}

@Suite struct RunningJobTests {
    /// A stop or kill command can come while a dequeued job waits for the loop to start it: the reason is kept, and
    /// the job's task is cancelled as it is attached.
    @Test func aJobStoppedBeforeItsTaskExistsIsCancelledAsItIsAttached() async throws {
        let redis = try Redis(url: "redis://127.0.0.1:1/0")  // never contacted
        let job = Job(
            id: "j", redis: redis, origin: "q", payload: JobPayload(functionName: "f", args: [], kwargs: [:]),
            description: nil, timeout: nil, options: EnqueueOptions(), status: .started, now: Date())
        let handle = RunningJob(
            execution: JobExecution(job: job, workerName: "w", hasWorkerHash: true, startedAt: Date(), id: "e"),
            inHorse: false)
        handle.stopNow(.stopCommand)
        let work = Task { () -> JobExecutor.Outcome in
            try? await Task.sleep(for: .seconds(60))
            return .failure(Task.isCancelled ? "cancelled" : "ran to the end")
        }
        handle.attach(work)
        guard case .failure(let text) = await work.value else {
            Issue.record("the job's task was not cancelled")
            return
        }
        #expect(text == "cancelled")
        #expect(handle.stopReason == .stopCommand)
    }
}
