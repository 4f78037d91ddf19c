/// What becomes of a horse after a job: kept for the next job, or retired (its standard input closed, so it exits).
enum HorseReuse: Equatable {
    case keep
    case retire

    /// Decides. A horse is kept only if horses may serve several jobs and this one has served fewer than the limit,
    /// it reported on its own (nothing stopped, killed or crashed it), its job did not run out of time (it may still
    /// be running on another thread, and the horse exits), its runner was not rebuilt since it started, and the
    /// worker still takes jobs.
    static func afterJob(
        limit: Int, served: Int, reported: Bool, stopReason: StopReason?, outcome: JobOutcome, runnerChanged: Bool,
        workerTakesJobs: Bool
    ) -> HorseReuse {
        guard limit > 1, served < limit, reported, stopReason == nil, !runnerChanged, workerTakesJobs else {
            return .retire
        }
        if case .failed(let text) = outcome, JobExecutor.isTimeoutText(text) { return .retire }
        return .keep
    }
}
