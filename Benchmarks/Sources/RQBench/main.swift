// rq-bench: swift-rq's throughput, latency, Redis cost and memory, printed as
//   swift-rq MODE jobs=N seconds=S rate=R [extra=…]
// lines like the Python RQ and Sidekiq baselines in ../shared/bench, so run.sh can put them side by side.
//
//   rq-bench [--url redis://127.0.0.1:PORT/13] [--quick] [--repeats N] [--default-runner PATH] [--tls-url rediss://…]
//   rq-bench worker URL        (used by the memory measurement: an idle worker process)
import CHeapInfo
import Foundation
import Histogram
import Logging
@_spi(Benchmarks) @_spi(Processes) import RQ
import RQTesting

var functions = JobFunctionRegistry()
functions.register("examples.noop") { _ in .null }
functions.register("bench.now") { _ in .double(Date().timeIntervalSince1970) }

/// Horses start from rq-bench-runner, built next to this executable: a runner linked like a user's.
let runner = URL(fileURLWithPath: JobRunner.executablePath).deletingLastPathComponent()
    .appendingPathComponent("rq-bench-runner").path
guard FileManager.default.isExecutableFile(atPath: runner) else {
    FileHandle.standardError.write(Data("rq-bench: \(runner) is missing; build the Benchmarks package\n".utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
let quick = arguments.contains("--quick")
/// The value after `name` on the command line.
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
/// The same runner built the default way (`swift build -c release`: dynamic Swift runtime, PIE), beside the tuned
/// one, so the table shows what the defaults give and what the README's link flags buy.
let defaultRunner = option("--default-runner")
/// A TLS-only server of the same kind, for enqueue over TLS beside plain.
let tlsURL = option("--tls-url")
/// `--only SECTION` runs one section (or a group of them), for profiling: enqueue (-serial, -tasks, -many), workers
/// (-horses, -in-process), spawn, latency, memory, soak (-horses, -in-process).
let only = option("--only")
/// Whether a section runs: all without `--only`; `--only enqueue` selects `enqueue-serial`, `enqueue-tasks` and
/// `enqueue-many`, and so on.
func runs(_ section: String) -> Bool {
    guard let only else { return true }
    return section == only || section.hasPrefix(only + "-")
}
let quietLogger: Logger = {
    var logger = Logger(label: "rq.bench")
    logger.logLevel = .critical
    return logger
}()

var ownServer: RedisServer?
let url: String
if let index = arguments.firstIndex(of: "--url"), index + 1 < arguments.count {
    url = arguments[index + 1]
} else {
    let server = try await RedisServer.start()
    ownServer = server
    url = server.url
}
let redis = try Redis(url: url)

func report(_ mode: String, jobs: Int, seconds: Double, _ extra: String = "") {
    let rate = seconds > 0 ? Int((Double(jobs) / seconds).rounded()) : 0
    print(
        "swift-rq \(mode) jobs=\(jobs) seconds=\(String(format: "%.3f", seconds)) rate=\(rate)\(extra.isEmpty ? "" : " " + extra)"
    )
}

/// Runs `body` off the main actor — where a server's request handler or a worker runs, and where a call into
/// swift-rq does not hop back to the main thread after every await — and returns the seconds it took.
func time(_ body: @escaping @Sendable () async throws -> Void) async throws -> Double {
    try await Task.detached {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }.value
}

func commandsProcessed() async throws -> Int {
    let info = try await redis.send("INFO", "stats").string ?? ""
    let line = info.components(separatedBy: "\r\n").first { $0.hasPrefix("total_commands_processed:") } ?? ""
    return Int(line.dropFirst("total_commands_processed:".count)) ?? 0
}

/// Microseconds of CPU redis-server has used so far (user + system, from INFO cpu): command execution, parsing and
/// networking together. (Summing INFO commandstats would count the commands inside a MULTI twice: EXEC's time
/// includes theirs.)
func serverMicroseconds() async throws -> Int {
    let info = try await redis.send("INFO", "cpu").string ?? ""
    let seconds = info.components(separatedBy: "\r\n").reduce(0.0) { total, line in
        guard line.hasPrefix("used_cpu_user:") || line.hasPrefix("used_cpu_sys:"),
            let value = line.split(separator: ":").last.flatMap({ Double($0) })
        else { return total }
        return total + value
    }
    return Int(seconds * 1_000_000)
}

func fresh(_ name: String) async throws -> Queue {
    try await redis.send("FLUSHDB")
    return Queue(name, redis: redis)
}

// MARK: Enqueue

let requests = (0..<(quick ? 10_000 : 100_000)).map { _ in EnqueueRequest("examples.noop") }
/// One task enqueueing one job at a time.
func enqueueSerially(_ mode: String, on client: Redis) async throws {
    let serialJobs = quick ? 2_000 : 20_000
    try await client.send("FLUSHDB")
    let queue = Queue("default", redis: client)
    let seconds = try await time {
        for _ in 0..<serialJobs { try await queue.enqueue("examples.noop") }
    }
    report(mode, jobs: serialJobs, seconds: seconds)
}

/// 64 tasks enqueueing at once through one client.
func enqueueFromTasks(_ mode: String, on client: Redis) async throws {
    let concurrentJobs = quick ? 10_000 : 100_000
    try await client.send("FLUSHDB")
    let queue = Queue("default", redis: client)
    let seconds = try await time {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<64 {
                let share = concurrentJobs / 64 + (task < concurrentJobs % 64 ? 1 : 0)
                group.addTask { for _ in 0..<share { try await queue.enqueue("examples.noop") } }
            }
            try await group.waitForAll()
        }
    }
    report(mode, jobs: concurrentJobs, seconds: seconds)
}

if runs("enqueue-serial") { try await enqueueSerially("enqueue", on: redis) }
if runs("enqueue-tasks") { try await enqueueFromTasks("enqueue-64-tasks", on: redis) }
if runs("enqueue-tls"), let tlsURL {
    let tls = try Redis(url: tlsURL)
    try await enqueueSerially("enqueue-tls", on: tls)
    try await enqueueFromTasks("enqueue-64-tasks-tls", on: tls)
    await tls.close()
}

if runs("enqueue-many") {
    let manyJobs = requests.count
    let queue = try await fresh("default")
    let serverBefore = try await serverMicroseconds()
    let seconds = try await time {
        var start = 0
        while start < manyJobs {
            try await queue.enqueueMany(Array(requests[start..<min(start + 1000, manyJobs)]))
            start += 1000
        }
    }
    let serverSpent = try await serverMicroseconds() - serverBefore
    report(
        "enqueue-many", jobs: manyJobs, seconds: seconds,
        "server_us_per_job=\(String(format: "%.1f", Double(serverSpent) / Double(manyJobs)))")
}

// MARK: Worker throughput

func drain(
    _ mode: String, jobs: Int, execution: WorkerPoolConfiguration.Execution, concurrency: Int, maxJobsPerHorse: Int = 1
) async throws {
    let queue = try await fresh("default")
    var start = 0
    while start < jobs {
        try await queue.enqueueMany(Array(requests[0..<min(1000, jobs - start)]))
        start += 1000
    }
    var configuration = WorkerPoolConfiguration(queues: ["default"], execution: execution)
    configuration.concurrency = concurrency
    configuration.burst = true
    configuration.maxJobsPerHorse = maxJobsPerHorse
    let pool = WorkerPool(configuration: configuration, redis: redis, logger: quietLogger)
    let commandsBefore = try await commandsProcessed()
    let serverBefore = try await serverMicroseconds()
    let tripsBefore = RedisRoundTrips.count
    let wall = try await time { try await pool.run() }
    let trips = RedisRoundTrips.count - tripsBefore
    let serverSpent = try await serverMicroseconds() - serverBefore
    let commands = try await commandsProcessed() - commandsBefore - 2
    let ids = try await queue.finishedJobRegistry.jobIDs()
    guard ids.count == jobs else {
        FileHandle.standardError.write(Data("swift-rq \(mode): only \(ids.count) of \(jobs) jobs finished\n".utf8))
        exit(1)
    }
    // The steady-state rate, as the Python baseline reports it: first job's start to last job's end, from the job
    // hashes, so the worker's start and burst end are left out on both sides; `wall_rate` is the whole run.
    let finished = try await Job.fetchMany(ids: ids, redis: redis).compactMap { $0 }
    let firstStart = finished.compactMap(\.startedAt).min() ?? Date()
    let lastEnd = finished.compactMap(\.endedAt).max() ?? Date()
    let span = lastEnd.timeIntervalSince(firstStart)
    report(
        mode, jobs: jobs, seconds: span,
        "wall_rate=\(Int((Double(jobs) / wall).rounded())) "
            + "round_trips_per_job=\(String(format: "%.2f", Double(trips) / Double(jobs))) "
            + "commands_per_job=\(String(format: "%.1f", Double(commands) / Double(jobs))) "
            + "server_us_per_job=\(String(format: "%.1f", Double(serverSpent) / Double(jobs)))")
}

if runs("workers-horses") {
    for concurrency in [1, 2, 4] {
        try await drain(
            "horse-c\(concurrency)", jobs: quick ? 200 : 2_000, execution: .horse(runner: runner),
            concurrency: concurrency)
    }
    if let defaultRunner {
        try await drain(
            "horse-c2-default-build", jobs: quick ? 200 : 2_000, execution: .horse(runner: defaultRunner),
            concurrency: 2)
    }
}
/// The sections whose ratios the worker targets compare (reused horses against in process, in process against the
/// baselines) run interleaved, `--repeats` times (3 in a full run, 1 with `--quick`), each printing its own line:
/// `run.sh` takes the median of each figure, so a burst of CPU taken from this virtual machine by its host (steal time,
/// up to a third of it here within a minute) moves one sample of each, not a whole ratio.
let repeats = option("--repeats").flatMap { Int($0) } ?? (quick ? 1 : 3)
for _ in 0..<repeats {
    if runs("workers-reused-horses") {
        try await drain(
            "reused-horse-c2", jobs: quick ? 2_000 : 20_000, execution: .horse(runner: runner), concurrency: 2,
            maxJobsPerHorse: 100)
    }
    if runs("workers-in-process-c2") {
        try await drain(
            "in-process-c2", jobs: quick ? 2_000 : 20_000, execution: .inProcess(functions), concurrency: 2)
    }
    if runs("workers-in-process") {
        try await drain(
            "in-process-c10", jobs: quick ? 5_000 : 50_000, execution: .inProcess(functions), concurrency: 10)
    }
}

// MARK: The floor: bare spawns of the runner

func spawnRate(parallel: Int, count: Int) async throws -> Double {
    try await time {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<parallel {
                group.addTask {
                    for _ in stride(from: lane, to: count, by: parallel) {
                        let process = try SpawnedProcessForBench.spawn(runner)
                        _ = await process.waitForExit()
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
let spawns = quick ? 200 : 1_000
if runs("spawn") {
    report("bare-spawn-serial", jobs: spawns, seconds: try await spawnRate(parallel: 1, count: spawns))
    report("bare-spawn-2", jobs: spawns, seconds: try await spawnRate(parallel: 2, count: spawns))
}

// MARK: Many result waiters in one process

/// The process's heap in use (malloc's own count: RSS would hide what earlier sections freed and this one reuses)
/// and its threads.
func heapAndThreads() -> (heap: Int, threads: Int) { (Int(rq_bench_heap_in_use()), threadCount(getpid())) }

/// 1,000 tasks await `job.result()` at once through one client while an in-process worker runs the jobs: how long
/// after Redis stored each result its waiter had it (the entry id is Redis's clock), and what the waiting cost.
func resultWaiters(count: Int, execution: WorkerPoolConfiguration.Execution) async throws {
    let queue = try await fresh("waiters")
    func connectedClients() async throws -> Int {
        let line = try await redis.send("INFO", "clients").string?.split(separator: "\r\n")
            .first { $0.hasPrefix("connected_clients:") }
        return Int(line?.split(separator: ":").last ?? "") ?? 0
    }
    let clientsBefore = try await connectedClients()
    let client = try Redis(url: url)
    let ids = try await queue.enqueueMany(Array(requests[0..<count])).map(\.id)
    let jobs = try await Job.fetchMany(ids: ids, redis: client).compactMap { $0 }
    let before = heapAndThreads()
    let received = Task.detached {
        try await withThrowingTaskGroup(of: (String, Double).self) { group in
            for job in jobs {
                group.addTask {
                    _ = try await job.result(timeout: .seconds(120))
                    return (job.id, Date().timeIntervalSince1970)
                }
            }
            var times: [String: Double] = [:]
            for try await (id, at) in group { times[id] = at }
            return times
        }
    }
    while client.streamWaiterCount < count { try await Task.sleep(for: .milliseconds(20)) }
    let waiting = heapAndThreads()
    let connections = try await connectedClients() - clientsBefore
    var configuration = WorkerPoolConfiguration(queues: ["waiters"], execution: execution)
    configuration.concurrency = 10
    configuration.burst = true
    try await WorkerPool(configuration: configuration, redis: redis, logger: quietLogger).run()
    let times = try await received.value
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    for job in jobs {
        guard let result = try await job.latestResult(), let returned = times[job.id] else { continue }
        histogram.record(UInt64(max(0, (returned - result.createdAt.timeIntervalSince1970) * 1_000_000)))
    }
    print(
        "swift-rq result-waiters-\(count) p50_ms=\(String(format: "%.3f", Double(histogram.valueAtPercentile(50)) / 1000)) "
            + "p99_ms=\(String(format: "%.3f", Double(histogram.valueAtPercentile(99)) / 1000)) "
            + "heap_kb_added=\((waiting.heap - before.heap) / 1024) threads_added=\(waiting.threads - before.threads) "
            + "redis_connections=\(connections)")
    await client.close()
}

if runs("waiters") { try await resultWaiters(count: 1_000, execution: .inProcess(functions)) }

// MARK: Latency: enqueue to start on an idle worker

func latency(_ mode: String, execution: WorkerPoolConfiguration.Execution) async throws {
    let queue = try await fresh("latency")
    var configuration = WorkerPoolConfiguration(queues: ["latency"], execution: execution)
    configuration.dequeuePollInterval = .seconds(5)
    let pool = WorkerPool(configuration: configuration, redis: redis, logger: quietLogger)
    let worker = Task { try await pool.run() }
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    let samples = quick ? 100 : 500
    for index in 0..<(samples + 20) {
        // An idle worker: wait a little so the worker is blocked in its dequeue and a warm horse is ready.
        try await Task.sleep(for: .milliseconds(5))
        let enqueuedAt = Date().timeIntervalSince1970
        let job = try await queue.enqueue("bench.now")
        let startedAt = try await job.result(as: Double.self, timeout: .seconds(30))
        if index >= 20 { histogram.record(UInt64(max(0, (startedAt - enqueuedAt) * 1_000_000))) }
    }
    pool.triggerGracefulShutdown()
    try await worker.value
    let p50 = Double(histogram.valueAtPercentile(50)) / 1000
    let p99 = Double(histogram.valueAtPercentile(99)) / 1000
    print(
        "swift-rq latency-\(mode) samples=\(samples) p50_ms=\(String(format: "%.3f", p50)) p99_ms=\(String(format: "%.3f", p99))"
    )
}
/// The floor under those latencies on this machine: one Redis round trip (`PING`) from an idle client to an idle
/// server, measured the same way — after 5 ms of quiet, when threads and virtual CPUs have gone to sleep.
func idleRoundTrip() async throws {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    let samples = quick ? 100 : 500
    let clock = ContinuousClock()
    for index in 0..<(samples + 20) {
        try await Task.sleep(for: .milliseconds(5))
        let start = clock.now
        try await redis.send("PING")
        let elapsed = (clock.now - start).components
        if index >= 20 {
            histogram.record(UInt64(elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000))
        }
    }
    let p50 = Double(histogram.valueAtPercentile(50)) / 1000
    let p99 = Double(histogram.valueAtPercentile(99)) / 1000
    print(
        "swift-rq latency-idle-round-trip samples=\(samples) p50_ms=\(String(format: "%.3f", p50)) p99_ms=\(String(format: "%.3f", p99))"
    )
}

if runs("latency") {
    try await idleRoundTrip()
    try await latency("horse", execution: .horse(runner: runner))
    try await latency("in-process", execution: .inProcess(functions))
}

// MARK: Memory

func rssKilobytes(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

func children(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid
    }
}

if runs("memory") {
    let idle = try SpawnedProcessForBench.spawn(runner, ["worker", url])
    try await Task.sleep(for: .seconds(2))
    let horses = children(of: idle.pid)
    let horseRSS = horses.map(rssKilobytes).max() ?? 0
    print(
        "swift-rq memory idle_worker_rss_kb=\(rssKilobytes(idle.pid)) warm_horse_rss_kb=\(horseRSS) warm_horses=\(horses.count)"
    )
    idle.signal(SIGKILL)
    _ = await idle.waitForExit()
}

// MARK: Soak: a worker's memory and descriptors over many jobs

func openDescriptors(_ pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? 0
}

func threadCount(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") })
    else { return 0 }
    return Int(line.split(separator: "\t").last ?? "") ?? 0
}

/// One worker process (rq-bench-runner's worker, as a user runs one) drains `jobs` no-op jobs; its RSS, open
/// descriptors and threads are read once 10% of the jobs have finished and again at the end, when it is idle. Per-job
/// state that is never freed shows as growth between the two. The worker starts on an empty queue, so its blocking
/// dequeue connection (a socket and a wake-up pipe) is open at both readings; a horse's pipes are open only while it
/// waits or runs, so the descriptor count moves by a few with the horses in flight at the 10% reading.
func soak(_ mode: String, jobs: Int, concurrency: Int, inProcess: Bool) async throws {
    let queue = try await fresh("soak")
    let worker = try SpawnedProcessForBench.spawn(
        runner, ["worker", url, "soak", String(concurrency)] + (inProcess ? ["in-process"] : []))
    let clock = ContinuousClock()
    let registered = clock.now
    while try await redis.send("SCARD", "rq:workers").int == 0, clock.now - registered < .seconds(10) {
        try await Task.sleep(for: .milliseconds(20))
    }
    try await Task.sleep(for: .milliseconds(500))
    let start = clock.now
    var enqueued = 0
    while enqueued < jobs {
        let count = min(1000, jobs - enqueued)
        try await queue.enqueueMany(Array(requests[0..<count]))
        enqueued += count
    }
    let registry = queue.finishedJobRegistry
    var early: (rss: Int, fds: Int, threads: Int)?
    var done = 0
    var lastProgress = start
    // Bounded: a worker that stops making progress for 60 s (or dies) ends the section with an error.
    while done < jobs, worker.isRunning, clock.now - lastProgress < .seconds(60) {
        try await Task.sleep(for: .milliseconds(50))
        let finished = try await registry.count()
        if finished > done { lastProgress = clock.now }
        done = finished
        if early == nil, done >= jobs / 10 {
            early = (rssKilobytes(worker.pid), openDescriptors(worker.pid), threadCount(worker.pid))
        }
    }
    let elapsed = (clock.now - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    try await Task.sleep(for: .milliseconds(500))  // the last outcomes written, the warm horses back
    let end = (rss: rssKilobytes(worker.pid), fds: openDescriptors(worker.pid), threads: threadCount(worker.pid))
    worker.signal(SIGKILL)
    _ = await worker.waitForExit()
    guard done == jobs, let early else {
        FileHandle.standardError.write(Data("swift-rq \(mode): only \(done) of \(jobs) jobs finished\n".utf8))
        exit(1)
    }
    let growth = Double(end.rss - early.rss) / Double(early.rss) * 100
    let perJob = Double(end.rss - early.rss) * 1024 / Double(jobs - jobs / 10)
    report(
        mode, jobs: jobs, seconds: seconds,
        "rss_kb_10pct=\(early.rss) rss_kb_end=\(end.rss) rss_growth_pct=\(String(format: "%.1f", growth)) "
            + "rss_bytes_per_job=\(String(format: "%.1f", perJob)) fds_10pct=\(early.fds) fds_end=\(end.fds) "
            + "threads_10pct=\(early.threads) threads_end=\(end.threads)")
}

if runs("soak-horses") {
    try await soak("soak-horse-c2", jobs: quick ? 2_000 : 20_000, concurrency: 2, inProcess: false)
}
if runs("soak-in-process") {
    try await soak("soak-in-process-c10", jobs: quick ? 10_000 : 100_000, concurrency: 10, inProcess: true)
}

if let ownServer { await ownServer.stop() }
