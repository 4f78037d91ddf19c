import CoreMetrics
import FoundationEssentials

/// The metrics swift-rq reports through swift-metrics — all of them made here. The library only reports; the
/// application chooses the backend with `MetricsSystem.bootstrap` (until then every metric is a no-op), e.g.
/// swift-prometheus, which `swift-rq worker --metrics-port` serves (`PrometheusEndpoint` in RQCommandLine).
///
/// | Name | Type | Labels | What |
/// |---|---|---|---|
/// | `rq_worker_jobs_total` | counter | `queue`, `status` | jobs a worker ended: `finished`, `failed`, `stopped`, `timed_out`, `retried`, `abandoned` |
/// | `rq_job_duration_seconds` | timer | `queue` | a job's run on a worker, start to end (every outcome) |
/// | `rq_job_queue_wait_seconds` | timer | `queue` | `enqueued_at` to the worker's start |
/// | `rq_enqueued_total` | counter | `queue` | jobs a producer put on a queue (not scheduled or deferred ones) |
/// | `rq_worker_busy_slots` | meter (gauge) | — | jobs running now, over the process's workers |
/// | `rq_warm_horses` | meter (gauge) | — | horses started and waiting for a job, over the process's workers |
/// | `rq_horse_spawn_seconds` | timer | — | starting a horse process (`posix_spawn` and its pipes) |
///
/// `status`: a job that failed, crashed (its horse died without a report) or was ended by a cold shutdown counts as
/// `failed`; one that overran its timeout (cancelled by its own run with RQ's `JobTimeoutException`, or killed by
/// the worker) as `timed_out` — unless it has retries left: then it counts as `retried` (once per retry) instead. `abandoned` counts the jobs this worker's registry maintenance found abandoned (their
/// worker died) and failed or retried.
enum WorkerMetrics {
    static let jobsTotal = "rq_worker_jobs_total"
    static let jobDuration = "rq_job_duration_seconds"
    static let queueWait = "rq_job_queue_wait_seconds"
    static let enqueuedTotal = "rq_enqueued_total"
    static let busySlots = "rq_worker_busy_slots"
    static let warmHorses = "rq_warm_horses"
    static let horseSpawn = "rq_horse_spawn_seconds"

    /// The `status` label of a job's outcome.
    static func status(of outcome: JobOutcome) -> String {
        switch outcome {
        case .finished: return "finished"
        case .stopped: return "stopped"
        case .timedOut: return "timed_out"
        // The job's own run (horse or in process) cancelled it at its timeout and reported RQ's timeout exception.
        case .failed(let text) where JobExecutor.isTimeoutText(text): return "timed_out"
        case .failed, .crashed, .coldShutdown: return "failed"
        }
    }

    /// A job's outcome is being recorded: counts it and times its run (`retried` when it is requeued for a retry).
    static func jobEnded(_ outcome: JobOutcome, retried: Bool, execution: JobExecution, endedAt: Date) {
        let queue = execution.job.origin
        let status = retried ? "retried" : status(of: outcome)
        Counter(label: jobsTotal, dimensions: [("queue", queue), ("status", status)]).increment()
        record(
            Timer(label: jobDuration, dimensions: [("queue", queue)]), endedAt.timeIntervalSince(execution.startedAt))
    }

    /// A worker started a job: the time it waited on its queue.
    static func jobStarted(_ execution: JobExecution) {
        guard let enqueuedAt = execution.job.enqueuedAt else { return }
        let queue = execution.job.origin
        record(
            Timer(label: queueWait, dimensions: [("queue", queue)]), execution.startedAt.timeIntervalSince(enqueuedAt))
    }

    /// Registry maintenance failed or retried a job abandoned by a dead worker.
    static func jobAbandoned(queue: String) {
        Counter(label: jobsTotal, dimensions: [("queue", queue), ("status", "abandoned")]).increment()
    }

    /// A producer put `count` jobs on `queue`.
    static func enqueued(_ count: Int, queue: String) {
        guard count > 0 else { return }
        Counter(label: enqueuedTotal, dimensions: [("queue", queue)]).increment(by: count)
    }

    /// A slot took a job (`+1`) or freed (`-1`).
    static func busySlotsChanged(by delta: Int) {
        change(Meter(label: busySlots), by: delta)
    }

    /// The number of warm horses changed.
    static func warmHorsesChanged(from old: Int, to new: Int) {
        guard old != new else { return }
        change(Meter(label: warmHorses), by: new - old)
    }

    /// Times a horse's start.
    static func timingHorseSpawn<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            Timer(label: horseSpawn).recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try body()
    }

    private static func change(_ meter: Meter, by delta: Int) {
        if delta >= 0 { meter.increment(by: Double(delta)) } else { meter.decrement(by: Double(-delta)) }
    }

    private static func record(_ timer: Timer, _ seconds: TimeInterval) {
        timer.recordNanoseconds(Int64(max(0, seconds) * 1_000_000_000))
    }
}
