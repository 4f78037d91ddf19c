import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Logging
import RQ
import Synchronization

/// The options of `rq worker` and `rq worker-pool`, with RQ's names. Unset options come from the settings file
/// (`-c`), then RQ's defaults.
struct WorkerOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Queues to listen on, highest priority first (default: default).")
    var queues: [String] = []

    @Flag(name: [.short, .long], help: "Run in burst mode: quit once the queues are empty.")
    var burst = false

    @Option(help: "The job-runner executable that horses are started from.")
    var runner: String?

    @Flag(help: "Run jobs as Tasks in this process instead of horses (runner executables only).")
    var inProcess = false

    @Option(help: "Seconds a successful job's result is kept (default 500).")
    var resultsTTL: Int?

    @Option(help: "Seconds the worker counts as alive without a heartbeat (default 420).")
    var workerTTL: Int?

    @Option(help: "Seconds between heartbeats of running jobs (default 30).")
    var jobMonitoringInterval: Int?

    @Option(help: "Seconds between registry maintenance runs (default 600).")
    var maintenanceInterval: Int?

    @Option(help: "Stop after this many jobs.")
    var maxJobs: Int?

    @Option(help: "Stop after this many seconds without a job.")
    var maxIdleTime: Int?

    @Option(
        help: ArgumentHelp(
            "Jobs one horse runs, one after another, before a fresh one takes over (default 1: a new process per job).",
            discussion:
                "For trusted, short jobs: fewer process starts; a crash or a timeout kill still costs only the job that was running."
        ))
    var maxJobsPerHorse: Int?

    @Option(help: "Exit after Redis has been unreachable this many seconds (default: keep trying).")
    var maxOutage: Int?

    @Option(
        name: [.customLong("ds", withSingleDash: true), .customLong("dequeue-strategy")],
        help: "default, round_robin or random.")
    var dequeueStrategy: String?

    @Option(
        name: [.customShort("l"), .customLong("logging-level"), .customLong("logging_level")],
        help: "DEBUG, INFO, WARNING or ERROR (default INFO).")
    var loggingLevel: String?

    @Option(
        name: [.customShort("S"), .long],
        help: "json or pickle (or Python RQ's names for them); the worker reads both either way.")
    var serializer: String?

    @Option(
        name: [.customShort("w"), .customLong("worker-class")],
        help: "RQ's worker class: rq.Worker or rq.worker.SpawnWorker (horses), rq.worker.SimpleWorker (in process).")
    var workerClass: String?

    @Flag(
        name: [.customShort("d"), .customLong("disable-default-exception-handler")],
        help: "Do not move failed jobs to the failed registry (RQ's -d).")
    var disableDefaultExceptionHandler = false

    @Flag(help: "Log the queue and job id of each job, not its description (which shows the arguments).")
    var disableJobDescLogging = false

    @Option(
        help: """
            An exception handler to run when a job fails, by the name the runner registered it under \
            (CommandLineHost.main(exceptionHandlers:)); repeatable, run in order.
            """)
    var exceptionHandler: [String] = []

    @Option(help: "Accepted for compatibility with Python RQ; swift-log formats the lines.")
    var logFormat: String?

    @Option(help: "Accepted for compatibility with Python RQ; swift-log formats the dates.")
    var dateFormat: String?

    @Flag(name: [.short, .long], help: "Log debug messages.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Log warnings and errors only.")
    var quiet = false

    @Option(help: "Write the process id to this file.")
    var pid: String?

    @Flag(name: [.customShort("s"), .long], help: "Also run a scheduler that enqueues due scheduled jobs.")
    var withScheduler = false

    func validate() throws {
        for (name, value) in [
            ("--worker-ttl", workerTTL), ("--job-monitoring-interval", jobMonitoringInterval),
            ("--maintenance-interval", maintenanceInterval), ("--max-jobs", maxJobs), ("--max-idle-time", maxIdleTime),
            ("--max-outage", maxOutage), ("--max-jobs-per-horse", maxJobsPerHorse),
        ] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, not \(value)") }
        }
        if let dequeueStrategy, WorkerPoolConfiguration.DequeueStrategy(rawValue: dequeueStrategy) == nil {
            throw ValidationError("--dequeue-strategy must be default, round_robin or random, not '\(dequeueStrategy)'")
        }
        if verbose && quiet { throw ValidationError("Flags --verbose and --quiet are mutually exclusive.") }
    }

    /// The serializers swift-rq reads, by Python RQ's names for them: JSON and pickle (plain values). The worker
    /// needs no choice — it tells them apart by their first byte — so the option is only checked.
    static func checkSerializer(_ name: String) throws {
        guard JobSerializer(name: name) == nil else { return }
        throw ValidationError(
            "-S \(name): unknown serializer; swift-rq reads json (rq.serializers.JSONSerializer) and pickle "
                + "(rq.serializers.DefaultSerializer, plain values only); a serializer of your own is Python code")
    }

    /// The handlers the hosting runner registered under `names`, in order; an unknown name is an error that lists
    /// the registered ones.
    static func exceptionHandlers(named names: [String]) throws -> [ExceptionHandler] {
        let registered = CommandLineHost.exceptionHandlers
        return try names.map { name in
            if let handler = registered[name] { return handler }
            if registered.isEmpty {
                throw ValidationError(
                    "--exception-handler \(name): this executable registers no exception handlers; register them in "
                        + "your runner with CommandLineHost.main(functions:exceptionHandlers:) and start the worker "
                        + "from it (my-jobs worker --exception-handler \(name))")
            }
            throw ValidationError(
                "--exception-handler \(name): not registered; this runner registers "
                    + registered.keys.sorted().joined(separator: ", "))
        }
    }

    /// Whether RQ's worker class `name` runs jobs in the worker's process (SimpleWorker) rather than in horses.
    static func runsInProcess(workerClass name: String) throws -> Bool {
        switch name {
        case "rq.worker.SimpleWorker", "rq.SimpleWorker": return true
        case "rq.Worker", "rq.worker.Worker", "rq.worker.SpawnWorker", "rq.SpawnWorker": return false
        default:
            throw ValidationError(
                "-w \(name): swift-rq runs rq.Worker and rq.worker.SpawnWorker (horses) or rq.worker.SimpleWorker "
                    + "(in process); a worker class of your own is Python code")
        }
    }

    /// Builds the worker configuration from the options, the settings file and RQ's defaults.
    func configuration(concurrency: Int?, name: String?) throws -> WorkerPoolConfiguration {
        let file = try connection.settings()
        let queueNames = !queues.isEmpty ? queues : file?.strings("queues") ?? ["default"]
        var configuration = WorkerPoolConfiguration(queues: queueNames, execution: try execution(file: file))
        configuration.name = name ?? file?.string("name")
        configuration.burst = burst || file?.bool("burst") == true
        configuration.withScheduler = withScheduler || file?.bool("with_scheduler") == true
        configuration.concurrency = concurrency ?? file?.int("concurrency") ?? 1
        guard configuration.concurrency >= 1 else { throw ValidationError("concurrency must be at least 1") }
        configuration.defaultResultTTL = resultsTTL ?? file?.int("results_ttl") ?? 500
        configuration.workerTTL = workerTTL ?? file?.int("worker_ttl") ?? 420
        configuration.jobMonitoringInterval = .seconds(
            jobMonitoringInterval ?? file?.int("job_monitoring_interval") ?? 30)
        configuration.maintenanceInterval = .seconds(maintenanceInterval ?? file?.int("maintenance_interval") ?? 600)
        configuration.maxJobs = maxJobs ?? file?.int("max_jobs")
        configuration.maxIdleTime = (maxIdleTime ?? file?.int("max_idle_time")).map { .seconds($0) }
        configuration.maxJobsPerHorse = maxJobsPerHorse ?? file?.int("max_jobs_per_horse") ?? 1
        configuration.maximumOutage = (maxOutage ?? file?.int("max_outage")).map { .seconds($0) }
        configuration.disableDefaultExceptionHandler =
            disableDefaultExceptionHandler || file?.bool("disable_default_exception_handler") == true
        configuration.logJobDescription = !(disableJobDescLogging || file?.bool("disable_job_desc_logging") == true)
        configuration.exceptionHandlers = try Self.exceptionHandlers(named: exceptionHandler)
        if let name = serializer ?? file?.string("serializer") { try Self.checkSerializer(name) }
        if let strategy = dequeueStrategy ?? file?.string("dequeue_strategy") {
            guard let parsed = WorkerPoolConfiguration.DequeueStrategy(rawValue: strategy) else {
                throw ValidationError("dequeue strategy must be default, round_robin or random, not '\(strategy)'")
            }
            configuration.dequeueStrategy = parsed
        }
        return configuration
    }

    private func execution(file: SettingsFile?) throws -> WorkerPoolConfiguration.Execution {
        let workerClassInProcess = try (workerClass ?? file?.string("worker_class")).map {
            try Self.runsInProcess(workerClass: $0)
        }
        if inProcess || file?.bool("in_process") == true || workerClassInProcess == true {
            guard let functions = CommandLineHost.functions else {
                throw ValidationError("--in-process needs a runner executable that registers job functions")
            }
            return .inProcess(functions)
        }
        if let runner = runner ?? file?.string("runner") {
            guard FileManager.default.isExecutableFile(atPath: runner) else {
                throw ValidationError("--runner \(runner) is not an executable file")
            }
            return .horse(runner: URL(fileURLWithPath: runner).standardizedFileURL.path)
        }
        if CommandLineHost.functions != nil { return .horse(runner: JobRunner.executablePath) }
        throw ValidationError("--runner PATH is required: the executable that registers your job functions")
    }

    func logger() throws -> Logger {
        var logger = Logger(label: "rq.worker")
        let fileLevel = try connection.settings()?.string("logging_level")
        logger.logLevel = try parseLoggingLevel(loggingLevel ?? fileLevel ?? "INFO")
        if verbose { logger.logLevel = .debug }
        if quiet { logger.logLevel = .warning }
        return logger
    }

    /// Runs a worker with these options until it stops.
    func runWorker(concurrency: Int?, name: String?, exitIfSuspended: Bool = true) async throws {
        let configuration = try configuration(concurrency: concurrency, name: name)
        let logger = try logger()
        let redis = try connection.makeRedis()
        if let pid {
            do {
                try "\(getpid())\n".write(toFile: pid, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write pid file \(pid): \(error)")
            }
        }
        defer { if let pid { try? FileManager.default.removeItem(atPath: pid) } }
        try await reportingRedisErrors {
            if exitIfSuspended, try await Worker.isSuspended(redis: redis) {
                throw WorkerPoolError(
                    .suspended, "RQ is currently suspended, to resume job execution run \"rq resume\"")
            }
            let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
            try await WorkerCommand.runHandlingSignals(pool)
        }
    }
}

/// `rq worker [QUEUES…]`: runs a worker until it is stopped (or, in burst mode, until the queues are empty).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Start a worker on the given queues, in priority order.")

    @OptionGroup var options: WorkerOptions

    @Option(name: [.short, .long], help: "The worker name (default: a random hex string).")
    var name: String?

    @Option(help: "How many jobs run at once (default 1).")
    var concurrency: Int?

    /// Set by `worker-pool` on the workers it starts: like Python's pool workers, they wait out a suspension
    /// instead of refusing to start, so the pool does not restart them in a loop.
    @Flag(help: .hidden)
    var poolMember = false

    @Option(help: "Serve the worker's metrics in the Prometheus text format at http://BIND:PORT/metrics.")
    var metricsPort: Int?

    @Option(help: "The address --metrics-port listens on (default 127.0.0.1).")
    var metricsBind = "127.0.0.1"

    func run() async throws {
        var endpoint: PrometheusEndpoint?
        if let metricsPort {
            do {
                endpoint = try PrometheusEndpoint.bootstrap(port: metricsPort, bind: metricsBind)
            } catch {
                throw ValidationError("\(error)")
            }
            try options.logger().info(
                "Metrics served", metadata: ["url": "http://\(metricsBind):\(endpoint?.port ?? metricsPort)/metrics"])
        }
        defer { endpoint?.close() }
        try await options.runWorker(concurrency: concurrency, name: name, exitIfSuspended: !poolMember)
    }

    /// First SIGINT/SIGTERM: warm shutdown. A second one: cold shutdown (running jobs are stopped and end failed).
    static func runHandlingSignals(_ pool: WorkerPool) async throws {
        try await runHandlingSignals({ try await pool.run() }, gracefulShutdown: { pool.triggerGracefulShutdown() })
    }

    /// Runs `body`; the first SIGINT/SIGTERM calls `gracefulShutdown`, a second one cancels `body`.
    ///
    /// The handlers are in place before `body` starts: a signal that came after the body had registered the worker
    /// (or scheduler) but before the handlers existed would end the process with the default disposition, exit 143,
    /// leaving its registration behind.
    static func runHandlingSignals(
        _ body: @escaping @Sendable () async throws -> Void, gracefulShutdown: @escaping @Sendable () -> Void
    ) async throws {
        let work = Mutex<Task<Void, any Error>?>(nil)
        let received = SignalCounter()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if received.increment() == 1 {
                    gracefulShutdown()
                } else {
                    work.withLock { $0 }?.cancel()
                }
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        let task = Task { try await body() }
        work.withLock { $0 = task }
        try await task.value
    }
}

/// Counts signals across the dispatch handler's invocations.
final class SignalCounter: Sendable {
    private let count = Mutex(0)
    func increment() -> Int {
        count.withLock {
            $0 += 1
            return $0
        }
    }
}
