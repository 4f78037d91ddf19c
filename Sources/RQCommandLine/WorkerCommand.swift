import ArgumentParser
import Dispatch
import Foundation
import Logging
import RQ
import Synchronization

/// `rq worker [QUEUES…]`: runs a worker until it is stopped (or, in burst mode, until the queues are empty).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Start a worker on the given queues (default: default), in priority order."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Queues to listen on, highest priority first.")
    var queues: [String] = []

    @Flag(name: [.short, .long], help: "Run in burst mode: quit once the queues are empty.")
    var burst = false

    @Option(name: [.short, .long], help: "The worker name (default: a random hex string).")
    var name: String?

    @Option(help: "The job-runner executable that horses are started from.")
    var runner: String?

    @Option(help: "How many jobs run at once.")
    var concurrency = 1

    @Flag(help: "Run jobs as Tasks in this process instead of horses (runner executables only).")
    var inProcess = false

    @Option(help: "Seconds a successful job's result is kept (default 500).")
    var resultsTTL = 500

    @Option(help: "Seconds the worker is considered alive without a heartbeat (default 420).")
    var workerTTL = 420

    @Option(help: "Seconds between heartbeats of running jobs (default 30).")
    var jobMonitoringInterval = 30

    @Option(help: "Seconds between registry maintenance runs (default 600).")
    var maintenanceInterval = 600

    @Option(help: "Stop after this many jobs.")
    var maxJobs: Int?

    @Option(help: "Stop after this many seconds without a job.")
    var maxIdleTime: Int?

    @Flag(name: [.short, .long], help: "Log debug messages.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Log warnings and errors only.")
    var quiet = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard workerTTL > 0, jobMonitoringInterval > 0, maintenanceInterval > 0 else {
            throw ValidationError("--worker-ttl, --job-monitoring-interval and --maintenance-interval must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "rq.worker")
        logger.logLevel = verbose ? .debug : quiet ? .warning : .info
        let redis: Redis
        do {
            redis = try Redis(url: connection.resolvedURL(), logger: logger)
        } catch {
            throw CleanExit.message("Error: \(error)")
        }
        var configuration = WorkerPoolConfiguration(
            queues: queues.isEmpty ? ["default"] : queues, execution: try execution())
        configuration.name = name
        configuration.burst = burst
        configuration.concurrency = concurrency
        configuration.defaultResultTTL = resultsTTL
        configuration.workerTTL = workerTTL
        configuration.jobMonitoringInterval = .seconds(jobMonitoringInterval)
        configuration.maintenanceInterval = .seconds(maintenanceInterval)
        configuration.maxJobs = maxJobs
        configuration.maxIdleTime = maxIdleTime.map { .seconds($0) }

        do {
            if try await redis.send("EXISTS", "rq:suspended").int == 1 {
                throw WorkerPoolError(
                    .suspended, "RQ is currently suspended, to resume job execution run \"rq resume\"")
            }
            let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
            try await Self.runHandlingSignals(pool)
        } catch let error as RedisError {
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            throw ExitCode(1)
        } catch let error as WorkerPoolError {
            FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func execution() throws -> WorkerPoolConfiguration.Execution {
        if inProcess {
            guard let functions = CommandLineHost.functions else {
                throw ValidationError("--in-process needs a runner executable that registers job functions")
            }
            return .inProcess(functions)
        }
        if let runner {
            guard FileManager.default.isExecutableFile(atPath: runner) else {
                throw ValidationError("--runner \(runner) is not an executable file")
            }
            return .horse(runner: URL(fileURLWithPath: runner).standardizedFileURL.path)
        }
        if CommandLineHost.functions != nil { return .horse(runner: JobRunner.executablePath) }
        throw ValidationError("--runner PATH is required: the executable that registers your job functions")
    }

    /// First SIGINT/SIGTERM: warm shutdown. A second one: cold shutdown (running jobs are stopped and end failed).
    static func runHandlingSignals(_ pool: WorkerPool) async throws {
        let work = Task { try await pool.run() }
        let received = SignalCounter()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if received.increment() == 1 {
                    pool.triggerGracefulShutdown()
                } else {
                    work.cancel()
                }
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        try await work.value
    }
}

/// Counts signals across the dispatch handler's invocations.
final class SignalCounter: Sendable {
    private let count = Mutex(0)
    func increment() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
}
