/// A job's status, as stored in the `status` field of its hash.
///
/// RQ 2.12 writes nine values. Other identifier-like values (RQ 3.0 adds `rate_limited` and `ready_to_enqueue`)
/// are read as they are, so a newer producer's jobs can still be inspected; see ``isKnown``.
public struct JobStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    /// The status stored as `rawValue`; any text is accepted (see ``isKnown``).
    ///
    /// - Parameter rawValue: the `status` field's text, e.g. `queued`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Created but never enqueued: the status Python RQ's `Job.create` gives a job, and what a hash without a
    /// `status` field reads as.
    public static let created = JobStatus(rawValue: "created")
    /// Waiting in its queue for a worker: after an enqueue, a requeue, a retry or repeat without an interval, or
    /// when a scheduler or the end of its last dependency moves it there.
    public static let queued = JobStatus(rawValue: "queued")
    /// A worker is running it; it is in the started registry, and its worker's heartbeats keep it there.
    public static let started = JobStatus(rawValue: "started")
    /// It ran and returned. The job and its result are kept for its result TTL (500 seconds by default), and it is
    /// in the finished registry until then.
    public static let finished = JobStatus(rawValue: "finished")
    /// It ran and did not finish — it threw, timed out, its horse crashed, or its worker died with it (abandoned) —
    /// and has no retries left. It is in the failed registry for its failure TTL (one year by default);
    /// ``Job/requeue(atFront:)`` queues it again.
    public static let failed = JobStatus(rawValue: "failed")
    /// Waiting for the jobs it depends on: it is in the deferred registry and is queued once they have all finished
    /// (or failed, with ``JobDependency/allowFailure``). As in Python RQ, it stays deferred if a parent fails without
    /// that, is stopped, or is canceled without `enqueueDependents`.
    public static let deferred = JobStatus(rawValue: "deferred")
    /// Waiting for a time: enqueued for later, or retried or repeated after an interval. It is in the scheduled
    /// registry until a scheduler (a worker run with ``WorkerPoolConfiguration/withScheduler``, or Python's
    /// `rq worker --with-scheduler`) queues it when due.
    public static let scheduled = JobStatus(rawValue: "scheduled")
    /// Stopped while running by a `stop-job` command (``Worker/sendStopJobCommand(jobID:redis:)``). It is kept in
    /// the failed registry, is not retried, and its dependents are not queued.
    public static let stopped = JobStatus(rawValue: "stopped")
    /// Canceled (``Job/cancel(enqueueDependents:removeFromDependencies:)``): taken off its queue and out of its
    /// registry, and kept in the canceled registry; a running job is not interrupted.
    public static let canceled = JobStatus(rawValue: "canceled")

    /// The nine statuses of RQ 2.12.
    public static let allKnown: [JobStatus] = [
        .created, .queued, .started, .finished, .failed, .deferred, .scheduled, .stopped, .canceled,
    ]

    /// Whether this is one of RQ 2.12's nine statuses.
    public var isKnown: Bool { Self.allKnown.contains(self) }

    /// Whether the job has ended (finished, failed, stopped or canceled).
    public var isTerminal: Bool { self == .finished || self == .failed || self == .stopped || self == .canceled }

    /// Whether a value read from Redis can be a status at all: lower-case letters and underscores.
    static func isWellFormed(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }

    public var description: String { rawValue }
}
