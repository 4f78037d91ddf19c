import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// Runs jobs in the current process: RQ's synchronous queues and, later, the in-process worker.
///
/// The timeout is enforced by Task cancellation only (the in-process death penalty): a job that ignores
/// cancellation is reported as timed out at its deadline but its task runs on in the background. Jobs that
/// must be stopped for certain belong in a horse process.
struct JobExecutor: Sendable {
    let redis: Redis
    let functions: JobFunctionRegistry
    var workerName = "sync"

    /// What running the function gave.
    enum Outcome: Sendable {
        case success(JSONValue)
        case failure(String)
    }

    /// Runs a stored job at once and records start, outcome and dependents in Redis.
    ///
    /// - Returns: the job as it is afterwards (its last known state if `result_ttl` 0 deleted it).
    func runSynchronously(_ job: Job) async throws -> Job {
        let execution = JobExecution(job: job, workerName: workerName, hasWorkerHash: false)
        try await JobLifecycle.startSynchronously(execution, redis: redis)
        let outcome = await WorkerTracing.withConsumerSpan(
            job, queue: job.origin, workerName: workerName,
            outcome: { outcome in
                switch outcome {
                case .success(let value): return .finished(value)
                case .failure(let text): return .failed(text)
                }
            }
        ) { await perform(job, executionID: execution.id, timeout: .returnAtDeadline) }
        let endedAt = Date()
        var final = job
        final.startedAt = execution.startedAt
        final.endedAt = endedAt
        final.workerName = workerName
        switch outcome {
        case .success(let value):
            try await redis.transaction(JobLifecycle.success(execution, returnValue: value, endedAt: endedAt))
            final.status = .finished
        case .failure(let text):
            try await redis.transaction(JobLifecycle.failure(execution, excString: text, endedAt: endedAt))
            final.status = .failed
        }
        try await JobLifecycle.releaseDependents(of: job.id, status: final.status, redis: redis)
        // As Python's `run_sync`, the webhooks are sent before the call returns.
        WebhookSender.shared.jobEnded(
            job, status: final.status, endedAt: endedAt, outcome: outcome, logger: Logger(label: "rq.webhook"))
        await WebhookSender.shared.waitUntilSent()
        return (try? await Job.fetch(id: job.id, redis: redis)) ?? final
    }

    /// Calls the job's function with its context set, then its success or failure callback.
    ///
    /// As in RQ, a success callback that fails (or runs past its timeout) turns the outcome into a failure, and the
    /// failure callback then runs; a failure callback's own failure is added to the failure text.
    ///
    /// - Parameter timeout: how the job's timeout is enforced here (see ``TimeoutEnforcement``).
    func perform(_ job: Job, executionID: String, timeout: TimeoutEnforcement) async -> Outcome {
        var outcome = await performFunction(job, executionID: executionID, enforcement: timeout)
        // Cancelled here only by the job's deadline: its callbacks still run, in a task of their own.
        let detached = timeout == .cancelAtDeadline && Task.isCancelled
        if case .success(let value) = outcome, let callback = job.callbacks.success,
            let problem = await runCallback(callback, job: job, outcome: .finished(value), detached: detached)
        {
            outcome = .failure(problem)
        }
        if case .failure(let text) = outcome, let callback = job.callbacks.failure,
            let problem = await runCallback(callback, job: job, outcome: .failed(text), detached: detached)
        {
            outcome = .failure(text + problem)
        }
        return outcome
    }

    /// Runs a callback after the job's function; `detached`, in a task of its own, out of reach of the current
    /// task's cancellation (the job's deadline, ``TimeoutEnforcement/cancelAtDeadline``).
    private func runCallback(_ callback: JobCallback, job: Job, outcome: JobCallbackOutcome, detached: Bool) async
        -> String?
    {
        guard detached else { return await runCallback(callback, job: job, outcome: outcome) }
        return await Task { await runCallback(callback, job: job, outcome: outcome) }.value
    }

    /// Runs one callback under its timeout; returns the failure text if it threw, was missing or timed out.
    func runCallback(_ callback: JobCallback, job: Job, outcome: JobCallbackOutcome) async -> String? {
        let functions = self.functions
        let work: @Sendable () async -> Outcome = {
            do {
                try await functions.callback(callback.name, job: job, outcome: outcome)
                return .success(.null)
            } catch let error as RQError where error.code == .unknownFunction {
                return .failure("\(error.message)\n")
            } catch {
                return .failure("callback \(callback.name) failed: \(String(reflecting: type(of: error))): \(error)\n")
            }
        }
        let timedOut = Outcome.failure(
            "callback \(callback.name) exceeded its timeout (\(callback.timeout.seconds) seconds)\n")
        let result =
            callback.timeout.seconds > 0
            ? await Self.race(work, deadline: .seconds(callback.timeout.seconds), onTimeout: timedOut) : await work()
        if case .failure(let text) = result { return text }
        return nil
    }

    /// How a job's timeout is enforced where it runs. Either way the function is cancelled at the deadline and the
    /// timeout reported; they differ for a function that ignores its cancellation.
    enum TimeoutEnforcement {
        /// The outcome is the timeout at the deadline even if the function runs on, in a task of its own (in process:
        /// nobody else can stop it).
        case returnAtDeadline
        /// The function runs in the caller's task, cancelled at the deadline; one that runs on is killed by the
        /// worker's watchdog with its process (a horse). No task per job, no thread woken to run it.
        case cancelAtDeadline
    }

    /// Calls the job's function with its context set.
    private func performFunction(_ job: Job, executionID: String, enforcement: TimeoutEnforcement) async -> Outcome {
        let context = JobContext(job: job, workerName: workerName, executionID: executionID)
        let call = JobCall(functionName: job.functionName, args: job.args, kwargs: job.kwargs)
        let functions = self.functions
        let timeout = job.timeout ?? .default
        let work: @Sendable () async -> Outcome = {
            do {
                let value = try await JobContext.$current.withValue(context) { try await functions.call(call) }
                return .success(value)
            } catch let error as RQError where error.code == .unknownFunction || error.code == .invalidArgument {
                return .failure("\(error.message)\n")
            } catch is CancellationError {
                return .failure(Self.timeoutText(timeout))
            } catch {
                return .failure("\(String(reflecting: type(of: error))): \(error)\n")
            }
        }
        guard timeout.seconds > 0 else { return await work() }
        if enforcement == .cancelAtDeadline {
            return await Self.cancelling(
                work, deadline: .seconds(timeout.seconds), onTimeout: .failure(Self.timeoutText(timeout)))
        }
        return await Self.race(
            work, deadline: .seconds(timeout.seconds), onTimeout: .failure(Self.timeoutText(timeout)))
    }

    /// RQ's timeout text.
    static func timeoutText(_ timeout: JobTimeout) -> String {
        "JobTimeoutException: Task exceeded maximum timeout value (\(timeout.seconds) seconds)\n"
    }

    /// Whether an exception text is RQ's timeout text (``timeoutText(_:)``), whatever the limit.
    static func isTimeoutText(_ text: String) -> Bool { text.hasPrefix("JobTimeoutException:") }

    /// Runs `work` in a task and returns its outcome, or `onTimeout` at the deadline after cancelling the task.
    /// Unlike a task group, this returns at the deadline even if the work ignores cancellation.
    static func race(
        _ work: @escaping @Sendable () async -> Outcome, deadline: Duration, onTimeout: Outcome
    ) async -> Outcome {
        let once = Once()
        let worker = CancellableTask()
        // Cancelling the caller (a stop-job command, a cold shutdown) cancels the work too.
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let timer = Deadlines.shared.schedule(after: deadline) {
                    if once.claim() {
                        worker.cancel()
                        continuation.resume(returning: onTimeout)
                    }
                }
                worker.set(
                    Task {
                        let outcome = await work()
                        Deadlines.shared.cancel(timer)
                        if once.claim() { continuation.resume(returning: outcome) }
                    })
            }
        } onCancel: {
            worker.cancel()
        }
    }
}

extension JobExecutor {
    /// Runs `work` in the current task, cancelling the task at the deadline; returns `onTimeout` if the deadline
    /// passed, whatever the work returned.
    static func cancelling(
        _ work: @Sendable () async -> Outcome, deadline: Duration, onTimeout: Outcome
    ) async -> Outcome {
        let canceller = CurrentTaskCanceller()
        withUnsafeCurrentTask { canceller.set($0) }
        let timer = Deadlines.shared.schedule(after: deadline) { canceller.cancel() }
        let outcome = await work()
        Deadlines.shared.cancel(timer)
        return canceller.finish() ? onTimeout : outcome
    }
}

/// Cancels the task it was set up in, from another thread, only while that task is still inside the call that set
/// it up (``JobExecutor/cancelling(_:deadline:onTimeout:)``): the lock orders a cancellation before ``finish()``,
/// so the task is never touched after it left.
final class CurrentTaskCanceller: @unchecked Sendable {
    private let state = Mutex<(task: UnsafeCurrentTask?, fired: Bool)>((nil, false))

    func set(_ task: UnsafeCurrentTask?) { state.withLock { $0.task = task } }

    func cancel() {
        state.withLock { state in
            state.fired = true
            state.task?.cancel()
        }
    }

    /// Ends the cancellation window; returns whether the deadline fired within it.
    func finish() -> Bool {
        state.withLock { state in
            state.task = nil
            return state.fired
        }
    }
}

/// A task that can be cancelled before it is even created (the cancellation then applies when it is set).
final class CancellableTask: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func set(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.task
        }?.cancel()
    }
}

/// A flag that lets exactly one of several racing tasks win.
final class Once: Sendable {
    private let claimed = Mutex(false)
    /// True for the first caller only.
    func claim() -> Bool {
        claimed.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
