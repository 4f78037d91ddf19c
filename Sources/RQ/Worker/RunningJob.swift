import FoundationEssentials
import Glibc
import Synchronization

/// Why a worker stopped a job before it ended on its own.
enum StopReason: Sendable {
    case timeout
    case stopCommand
    case killCommand
    case coldShutdown
}

/// A job being run by a worker: in a horse, or as a Task in the worker's process.
final class RunningJob: StoppableJob {
    let jobID: String
    let execution: JobExecution
    /// Whether the job runs in a horse (attached once taken, ``attach(horse:)``) rather than in process.
    let inHorse: Bool
    private let attachedHorse = Mutex<Horse?>(nil)

    /// The job's horse, once taken (nil in process, and while a horse job's horse is being taken).
    var horse: Horse? { attachedHorse.withLock { $0 } }
    private let task = Mutex<Task<JobExecutor.Outcome, Never>?>(nil)
    private let state = Mutex<State>(State())

    private struct State {
        var ended = false
        var reason: StopReason?
        /// Who waits for the end (``waitUntilEnded(timeout:)``), by a number of their own, with the token of their
        /// timeout on the shared deadline clock once it is set.
        var waiters: [UInt64: (continuation: CheckedContinuation<Bool, Never>, deadline: UInt64?)] = [:]
        var nextWaiter: UInt64 = 0
    }

    init(execution: JobExecution, inHorse: Bool) {
        self.jobID = execution.job.id
        self.execution = execution
        self.inHorse = inHorse
    }

    /// Gives the job its horse. The handle is known to the worker's commands from the dequeue on, while the horse is
    /// still being taken; a stop or kill that came meanwhile takes effect now, before the horse gets the job.
    func attach(horse: Horse) {
        attachedHorse.withLock { $0 = horse }
        if stopReason != nil { horse.kill(SIGKILL) }
    }

    func attach(_ work: Task<JobExecutor.Outcome, Never>) {
        task.withLock { $0 = work }
        if stopReason != nil { work.cancel() }
    }

    func cancel() { task.withLock { $0 }?.cancel() }

    func kill(_ signal: Int32) { horse?.kill(signal) }

    /// Waits for ``markEnded()`` — resumed by it, no polling — or for the timeout, on the shared deadline clock.
    func waitUntilEnded(timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt64? in
                if state.ended { return nil }
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = (continuation, nil)
                return state.nextWaiter
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            let deadline = Deadlines.shared.schedule(after: timeout) { [self] in
                self.state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(returning: false)
            }
            let waiting = state.withLock { state -> Bool in
                guard state.waiters[id] != nil else { return false }
                state.waiters[id]?.deadline = deadline
                return true
            }
            // Ended (or timed out) meanwhile: the deadline is not needed.
            if !waiting { Deadlines.shared.cancel(deadline) }
        }
    }

    var hasEnded: Bool { state.withLock { $0.ended } }
    var stopReason: StopReason? { state.withLock { $0.reason } }

    /// The job has ended: whoever waits for it is resumed.
    func markEnded() {
        let waiters = state.withLock { state in
            state.ended = true
            defer { state.waiters.removeAll() }
            return state.waiters.values
        }
        for waiter in waiters {
            if let deadline = waiter.deadline { Deadlines.shared.cancel(deadline) }
            waiter.continuation.resume(returning: true)
        }
    }

    /// Records why the worker is stopping the job; the first reason wins.
    func markStopping(_ reason: StopReason) {
        state.withLock { if $0.reason == nil { $0.reason = reason } }
    }

    /// Stops the job at once: SIGKILL for a horse's process group, cancellation in process.
    func stopNow(_ reason: StopReason) {
        markStopping(reason)
        if inHorse { kill(SIGKILL) } else { cancel() }
    }
}
