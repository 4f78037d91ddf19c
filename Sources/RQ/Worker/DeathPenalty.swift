import Glibc

/// A job that can be stopped: the handle a ``DeathPenalty`` gets for a job that ran past its timeout.
public protocol StoppableJob: Sendable {
    /// The job id.
    var jobID: String { get }
    /// Asks the job to stop cooperatively (cancels its Task).
    func cancel()
    /// Sends a signal to the job's process group; does nothing for a job running in the worker's own process.
    ///
    /// - Parameter signal: the signal number, e.g. `SIGTERM`.
    func kill(_ signal: Int32)
    /// Waits up to `timeout` for the job to end; returns whether it did.
    ///
    /// - Parameter timeout: the longest wait.
    /// - Returns: true if the job ended within `timeout`.
    func waitUntilEnded(timeout: Duration) async -> Bool
}

/// How a worker stops a job that ran past its timeout.
///
/// The horse itself cancels the job's Task at the timeout, so a cooperative job ends cleanly with a timeout error;
/// the death penalty is what happens when the job ignores that.
public protocol DeathPenalty: Sendable {
    /// Stops `job`; called once, when the job's timeout has passed. Returns when the job has ended or the strategy
    /// has done all it can.
    ///
    /// - Parameter job: the job that ran past its timeout.
    func stop(_ job: any StoppableJob) async
}

/// The default for horses: wait briefly for the horse's own cancellation to take effect, then `SIGTERM` the horse's
/// process group, wait a grace period, then `SIGKILL` it. A tight loop or a blocking C call is stopped for certain.
public struct KillHorseDeathPenalty: DeathPenalty {
    /// How long to wait for the cooperative cancellation before signalling. Defaults to 1 second.
    public var cooperativeGracePeriod: Duration
    /// How long to wait after `SIGTERM` before `SIGKILL`. Defaults to 2 seconds.
    public var terminationGracePeriod: Duration

    /// The penalty with these grace periods.
    ///
    /// - Parameters:
    ///   - cooperativeGracePeriod: how long the job gets to end on its own once its Task is cancelled. Defaults to
    ///     1 second.
    ///   - terminationGracePeriod: how long the horse gets to exit after `SIGTERM` before it is sent `SIGKILL`.
    ///     Defaults to 2 seconds.
    public init(cooperativeGracePeriod: Duration = .seconds(1), terminationGracePeriod: Duration = .seconds(2)) {
        self.cooperativeGracePeriod = cooperativeGracePeriod
        self.terminationGracePeriod = terminationGracePeriod
    }

    /// Cancels the job's Task, then signals its process group as described above until it ends.
    ///
    /// - Parameter job: the job that ran past its timeout.
    public func stop(_ job: any StoppableJob) async {
        job.cancel()
        if await job.waitUntilEnded(timeout: cooperativeGracePeriod) { return }
        job.kill(SIGTERM)
        if await job.waitUntilEnded(timeout: terminationGracePeriod) { return }
        job.kill(SIGKILL)
        _ = await job.waitUntilEnded(timeout: .seconds(5))
    }
}

/// For jobs running inside the worker process: cancel the job's Task, nothing more. A job that ignores
/// cancellation is reported as timed out but keeps running in the background; run such jobs in horses.
public struct CancellationDeathPenalty: DeathPenalty {
    /// The penalty; it has no settings.
    public init() {}
    /// Cancels the job's Task and returns at once.
    ///
    /// - Parameter job: the job that ran past its timeout.
    public func stop(_ job: any StoppableJob) async { job.cancel() }
}
