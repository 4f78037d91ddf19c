import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Logging
@_spi(Processes) import RQ
import Synchronization

/// `rq worker-pool -n N`: N worker processes, each this executable's `worker` with the same options, and a
/// supervisor that starts a new worker when one dies, as Python RQ's `WorkerPool` does.
///
/// Like Python's pool, each worker gets a random name and runs a scheduler (`--with-scheduler`); in burst mode nothing is restarted and
/// the pool exits when its workers have. SIGINT or SIGTERM is passed on to every worker as SIGINT (a second one
/// makes their shutdown cold), and the pool exits once they all have.
struct WorkerPoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker-pool",
        abstract: "Start N worker processes and restart any that dies (RQ's worker pool).")

    @OptionGroup var options: WorkerOptions

    @Option(name: [.short, .customLong("num-workers")], help: "How many worker processes to run (default 1).")
    var numWorkers = 1

    @Option(help: "How many jobs each worker runs at once (default 1).")
    var concurrency: Int?

    func validate() throws {
        if numWorkers < 1 { throw ValidationError("--num-workers must be at least 1, not \(numWorkers)") }
    }

    func run() async throws {
        // Checked once here, so a mistake is one message rather than N workers failing and being restarted.
        let configuration = try options.configuration(concurrency: concurrency, name: nil)
        var logger = try options.logger()
        logger[metadataKey: "rq.worker_pool"] = "\(WorkerPoolSupervisor.randomName())"
        var arguments = ["worker", "--pool-member"] + Self.workerArguments(CommandLine.arguments)
        if !configuration.withScheduler { arguments.append("--with-scheduler") }
        let supervisor = WorkerPoolSupervisor(
            executable: JobRunner.executablePath, arguments: arguments, count: numWorkers,
            burst: configuration.burst, logger: logger)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { supervisor.stopWorkers() }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        try await reportingRedisErrors { try await supervisor.run() }
    }

    /// The pool's own command line without the program, the subcommand and `-n/--num-workers`: what each worker is
    /// started with.
    static func workerArguments(_ commandLine: [String]) -> [String] {
        var result: [String] = []
        var words = commandLine.dropFirst(2).makeIterator()
        while let word = words.next() {
            if word == "-n" || word == "--num-workers" {
                _ = words.next()
            } else if !(word.hasPrefix("--num-workers=") || word.hasPrefix("-n=")
                || (word.hasPrefix("-n") && word.count > 2 && word.dropFirst(2).allSatisfy(\.isNumber)))
            {
                result.append(word)
            }
        }
        return result
    }
}

/// Starts and watches the worker processes of `worker-pool`.
final class WorkerPoolSupervisor: Sendable {
    private struct State {
        var stopping = false
        var workers: [String: SpawnedProcess] = [:]
    }

    let executable: String
    let arguments: [String]
    let count: Int
    let burst: Bool
    let logger: Logger
    private let state = Mutex(State())

    init(executable: String, arguments: [String], count: Int, burst: Bool, logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        self.count = count
        self.burst = burst
        self.logger = logger
    }

    /// A random 32-character hex name, like Python's `uuid4().hex`.
    static func randomName() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next() as UInt32, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }

    /// Runs the pool until its workers have stopped: after ``stopWorkers()``, or in burst mode when they are done.
    func run() async throws {
        logger.info("Starting worker pool", metadata: ["pid": "\(getpid())", "rq.workers": "\(count)"])
        try await withThrowingTaskGroup(of: (String, SpawnedProcess, Int32, ContinuousClock.Instant).self) { group in
            func watch(_ started: (String, SpawnedProcess)?) {
                guard let (name, process) = started else { return }
                let startedAt = ContinuousClock.now
                group.addTask { (name, process, await process.waitForExit(), startedAt) }
            }
            for _ in 0..<count { watch(try startWorker()) }
            while let (name, process, status, startedAt) = try await group.next() {
                state.withLock { _ = $0.workers.removeValue(forKey: name) }
                let stopping = state.withLock { $0.stopping }
                if stopping || burst {
                    logger.info(
                        "Worker stopped",
                        metadata: [
                            "rq.worker": "\(name)", "pid": "\(process.pid)",
                            "status": "\(SpawnedProcess.describe(status))",
                        ])
                    continue
                }
                logger.warning(
                    "Worker is dead, starting another",
                    metadata: [
                        "rq.worker": "\(name)", "pid": "\(process.pid)",
                        "status": "\(SpawnedProcess.describe(status))",
                    ])
                // A worker that dies at once (Redis gone, the runner deleted) is restarted at most once a second, as
                // Python's pool checks its workers once a second, rather than in a tight loop.
                let lived = ContinuousClock.now - startedAt
                if lived < .seconds(1) { try await Task.sleep(for: .seconds(1) - lived) }
                watch(try startWorker())
            }
        }
        logger.info("All workers stopped, exiting")
    }

    /// Starts one worker with a fresh name, unless the pool is stopping.
    private func startWorker() throws -> (String, SpawnedProcess)? {
        let name = Self.randomName()
        return try state.withLock { state -> (String, SpawnedProcess)? in
            guard !state.stopping else { return nil }
            let process: SpawnedProcess
            do {
                process = try SpawnedProcess(
                    path: executable, arguments: arguments + ["--name", name], descriptors: [1: 1, 2: 2])
            } catch {
                throw WorkerPoolError(.invalidConfiguration, "worker-pool: \(error)")
            }
            state.workers[name] = process
            logger.debug("Started worker", metadata: ["rq.worker": "\(name)", "pid": "\(process.pid)"])
            return (name, process)
        }
    }

    /// Asks every worker to stop (SIGINT: a warm shutdown, or a cold one if they were asked before) and starts no
    /// more.
    func stopWorkers() {
        let workers = state.withLock { state in
            state.stopping = true
            return Array(state.workers.values)
        }
        logger.info("Sending stop signal to workers", metadata: ["rq.workers": "\(workers.count)"])
        for worker in workers { worker.signal(SIGINT) }
    }
}
