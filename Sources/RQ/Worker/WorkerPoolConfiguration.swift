/// The settings of a ``WorkerPool``, with Python RQ's defaults.
public struct WorkerPoolConfiguration: Sendable {
    /// Where jobs run.
    public struct Execution: Sendable {
        enum Mode: Sendable {
            case horse(runner: String)
            case inProcess(JobFunctionRegistry)
        }
        let mode: Mode

        /// Each job in a fresh horse process: `runner --rq-horse`, where `runner` is an executable built with
        /// ``JobRunner``. Rebuilding the runner changes what the next job runs, with no worker restart.
        ///
        /// - Parameter runner: the path of the runner executable.
        public static func horse(runner: String) -> Execution { Execution(mode: .horse(runner: runner)) }

        /// Each job as a Task in the worker's own process (RQ's SimpleWorker): fastest, but a crash takes the worker
        /// down and a job that ignores cancellation cannot be stopped.
        ///
        /// - Parameter functions: the job functions and callbacks the worker can run.
        public static func inProcess(_ functions: JobFunctionRegistry) -> Execution {
            Execution(mode: .inProcess(functions))
        }
    }

    /// The order queues are tried in when several have jobs.
    public struct DequeueStrategy: Hashable, Sendable {
        enum Base: String, Sendable { case priority = "default", roundRobin = "round_robin", random }
        let base: Base
        /// Always in the order given: the first queue has priority.
        public static let `default` = DequeueStrategy(base: .priority)
        /// Rotate after each dequeue.
        public static let roundRobin = DequeueStrategy(base: .roundRobin)
        /// Shuffle after each dequeue.
        public static let random = DequeueStrategy(base: .random)
        /// Parses `default`, `round_robin` or `random`.
        ///
        /// - Parameter rawValue: the strategy's name, as Python RQ's `--dequeue-strategy` takes it.
        public init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }
        private init(base: Base) { self.base = base }
    }

    /// The queues to take jobs from, in priority order. Defaults to `["default"]`.
    public var queues: [String]
    /// Where jobs run.
    public var execution: Execution
    /// The worker name; defaults to a random 32-character hex string, like RQ's.
    public var name: String?
    /// How many jobs run at once. Defaults to 1.
    public var concurrency: Int = 1
    /// Stop when the queues are empty instead of waiting for more jobs. Defaults to false.
    public var burst: Bool = false
    /// Stop after this many jobs. Defaults to no limit.
    public var maxJobs: Int?
    /// Stop after being idle this long. Defaults to no limit.
    public var maxIdleTime: Duration?
    /// Seconds a successful job's result is kept unless the job says otherwise. Defaults to 500.
    public var defaultResultTTL: Int = JobLifecycle.defaultResultTTL
    /// Seconds a silent worker is considered alive (its key lives this plus 60). Defaults to 420.
    public var workerTTL: Int = 420
    /// How often running jobs' heartbeats are refreshed. Defaults to 30 seconds.
    public var jobMonitoringInterval: Duration = .seconds(30)
    /// How often registries are cleaned and abandoned jobs failed. Defaults to 600 seconds.
    public var maintenanceInterval: Duration = .seconds(600)
    /// How jobs that run past their timeout are stopped. Defaults to ``KillHorseDeathPenalty`` for horses and
    /// ``CancellationDeathPenalty`` in process.
    public var deathPenalty: (any DeathPenalty)?
    /// Keep horses spawned ahead of time — `concurrency + 1` of them, each a started runner waiting for its job
    /// (about 9 MB each), so a job never waits for a process to start. Defaults to true.
    public var warmHorses: Bool = true
    /// How many jobs one horse runs, one after another, before it exits and a fresh one takes over. Defaults to 1:
    /// a new process per job, RQ's semantics.
    ///
    /// Above 1, a horse that finished a job takes the next one (as Celery's `--max-tasks-per-child`): the spawn cost
    /// is paid once per N jobs, and the horse keeps its Redis connection. Jobs stay isolated from the worker and
    /// killable: a crash or a timeout kill costs only the job that was running, and the worker replaces the horse;
    /// a horse whose job timed out is not reused; a rebuilt runner is picked up before the next job. What a job
    /// leaves behind in its process — globals, caches, leaked memory, threads — is seen by the next jobs of the
    /// same horse, for at most N jobs. Use it for trusted, short jobs.
    public var maxJobsPerHorse: Int = 1
    /// The dequeue order. Defaults to ``DequeueStrategy/default``.
    public var dequeueStrategy: DequeueStrategy = .default
    /// Handlers run, in order, when a job fails; see ``ExceptionHandler``.
    public var exceptionHandlers: [ExceptionHandler] = []
    /// Skip the default handler that moves failed jobs to the failed registry.
    public var disableDefaultExceptionHandler: Bool = false
    /// Log each job's description (its call string, which shows the arguments) when it starts, as RQ's
    /// `log_job_description` does; false logs the queue and job id only (RQ's `--disable-job-desc-logging`), for
    /// arguments that should stay out of logs. Defaults to true.
    public var logJobDescription: Bool = true
    /// Also run a scheduler that moves due scheduled jobs of these queues to them (RQ's `--with-scheduler`).
    /// Defaults to false.
    public var withScheduler: Bool = false
    /// How long the worker rides out Redis being unreachable (restarting, failing over) before it gives up and
    /// ``WorkerPool/run()`` throws the error. Defaults to nil: keep trying, with backoff, however long it takes.
    public var maximumOutage: Duration?
    /// How long a dequeue blocks before the worker checks in (heartbeat, shutdown). Defaults to 2 seconds.
    public var dequeuePollInterval: Duration = .seconds(2)

    /// Settings with Python RQ's defaults for all but the queues and where jobs run; set the other properties to
    /// change them. They are checked when the ``WorkerPool`` runs.
    ///
    /// - Parameters:
    ///   - queues: the queues to take jobs from, in priority order. Defaults to `["default"]`.
    ///   - execution: where jobs run: ``Execution/horse(runner:)`` or ``Execution/inProcess(_:)``.
    public init(queues: [String] = ["default"], execution: Execution) {
        self.queues = queues
        self.execution = execution
    }
}

/// What an exception handler decides: let the next handler run, or stop the chain.
public enum ExceptionHandlerDecision: Sendable {
    /// Let the next handler run; after the last, the default handler records the failure (failed registry and
    /// result) unless ``WorkerPoolConfiguration/disableDefaultExceptionHandler`` is set. Python's `return True`.
    case `continue`
    /// Run no more handlers, the default one included: the job gets its status (`failed` or `stopped`) but no
    /// failed-registry entry and no result. Python's `return False`.
    case stop
}

/// Called when a job fails, with the job and the failure text. Handlers run in order until one returns
/// ``ExceptionHandlerDecision/stop``; the default handler (moving the job to the failed registry) runs last.
public struct ExceptionHandler: Sendable {
    let body: @Sendable (Job, String) async -> ExceptionHandlerDecision
    /// A handler that runs `body`.
    ///
    /// - Parameter body: called once for each job that fails or is stopped for good (not for an attempt that will be
    ///   retried), with the job as it was dequeued and the failure text (RQ's `exc_string`); returns whether the
    ///   chain goes on.
    public init(_ body: @escaping @Sendable (Job, String) async -> ExceptionHandlerDecision) {
        self.body = body
    }
}
