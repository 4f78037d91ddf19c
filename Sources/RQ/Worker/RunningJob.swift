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
    let horse: Horse?
    private let task = Mutex<Task<JobExecutor.Outcome, Never>?>(nil)
    private let state = Mutex<(ended: Bool, reason: StopReason?)>((false, nil))

    init(execution: JobExecution, horse: Horse?) {
        self.jobID = execution.job.id
        self.execution = execution
        self.horse = horse
    }

    func attach(_ work: Task<JobExecutor.Outcome, Never>) { task.withLock { $0 = work } }

    func cancel() { task.withLock { $0 }?.cancel() }

    func kill(_ signal: Int32) { horse?.kill(signal) }

    func waitUntilEnded(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !hasEnded {
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    var hasEnded: Bool { state.withLock { $0.ended } }
    var stopReason: StopReason? { state.withLock { $0.reason } }

    func markEnded() { state.withLock { $0.ended = true } }

    /// Records why the worker is stopping the job; the first reason wins.
    func markStopping(_ reason: StopReason) {
        state.withLock { if $0.reason == nil { $0.reason = reason } }
    }

    /// Stops the job at once: SIGKILL for a horse's process group, cancellation in process.
    func stopNow(_ reason: StopReason) {
        markStopping(reason)
        if let horse { horse.kill(SIGKILL) } else { cancel() }
    }
}
