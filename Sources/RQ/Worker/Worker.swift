public import FoundationEssentials

/// A worker as Redis has it: a snapshot of a `rq:worker:{name}` hash, Python's or Swift's alike.
///
/// ``all(redis:queue:)`` and ``fetch(name:redis:)`` read workers as Python RQ's `Worker.all` and `Worker.find_by_key`
/// do, so a Swift program lists Python workers and Python lists Swift ones. The type also sends RQ's worker commands
/// (``sendShutdownCommand(to:redis:)``) and suspends every worker (``suspend(redis:for:)``).
///
/// ```swift
/// for worker in try await Worker.all(redis: redis) {
///     print(worker.name, worker.state, worker.currentJobID ?? "-")
/// }
/// ```
public struct Worker: Sendable, Identifiable, CustomStringConvertible {
    /// The worker name: the key without its `rq:worker:` prefix.
    public let name: String
    /// The client the worker was read with.
    public let redis: Redis
    /// The queue names it listens on, in priority order.
    public let queues: [String]
    /// `started`, `idle`, `busy` or `suspended` (written by workers; `?` when the hash has none, as in Python).
    public let state: String
    /// The job it runs now (for a Swift worker running several jobs: one of them).
    public let currentJobID: String?
    /// When it started.
    public let birth: Date?
    /// Its last heartbeat.
    public let lastHeartbeat: Date?
    /// When it stopped; a worker that stopped keeps its hash for 60 seconds.
    public let death: Date?
    /// The host the worker runs on (`hostname`, the machine's host name).
    public let hostname: String?
    /// The address of its Redis connection (`ip:port`).
    public let ipAddress: String?
    /// The id of the worker's main process on ``hostname`` (`pid`); for a Swift worker, the process that runs the
    /// ``WorkerPool``, not a horse.
    public let pid: Int?
    /// The RQ version it reports (`2.12.0` for Python, `swift-rq 0.1.0` for Swift).
    public let version: String?
    /// The `python_version` field: Python's `sys.version`; Swift workers write their runtime there.
    public let pythonVersion: String?
    /// How many jobs finished successfully on this worker since it started (`successful_job_count`).
    public let successfulJobCount: Int
    /// How many jobs failed or were stopped on this worker since it started (`failed_job_count`), each failed attempt
    /// of a job that was retried included.
    public let failedJobCount: Int
    /// Seconds spent running jobs, in all.
    public let totalWorkingTime: Double
    /// Seconds the current job has run, as of the last heartbeat.
    public let currentJobWorkingTime: Double
    /// A Swift horse worker's horses — busy ones first, by the time their job started, then the warm ones waiting
    /// for a job — from its hash's `swift_horses` field. Empty for an in-process Swift worker and for a Python one.
    ///
    /// The worker writes the field at registration and with each heartbeat, not per job, so it is as of
    /// ``lastHeartbeat``: at most one heartbeat interval old (`min(jobMonitoringInterval, workerTTL / 2)`, 30 s by
    /// default). A job shorter than that may come and go without ever being listed.
    public let horses: [Horse]

    /// The `rq:worker:{name}` key.
    package var key: String { RQKeys.worker(name) }
    public var id: String { name }
    public var description: String { "\(name) (\(state) on \(queues.joined(separator: ",")))" }

    /// Every registered worker, or those of one queue, sorted by name — as Python RQ's `Worker.all(connection,
    /// queue=)`: the members of `rq:workers` (or `rq:workers:{queue}`) whose hash exists. A member whose hash has
    /// expired (a worker that died without unregistering) is left out and, like Python, taken out of `rq:workers`.
    ///
    /// - Parameters:
    ///   - redis: the client.
    ///   - queue: only the workers listening on this queue.
    /// - Returns: a snapshot of each live worker's hash, sorted by name.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func all(redis: Redis, queue: String? = nil) async throws -> [Worker] {
        let setKey = queue.map(RQKeys.queueWorkers) ?? RQKeys.workers
        let keys = try await redis.send("SMEMBERS", setKey).strings.filter { $0.hasPrefix(keyPrefix) }.sorted()
        guard !keys.isEmpty else { return [] }
        let hashes = try await redis.pipeline(keys.map { RedisCommand("HGETALL", $0) })
        var workers: [Worker] = []
        var gone: [String] = []
        for (key, hash) in zip(keys, hashes) {
            let fields = hash.fieldPairs
            if fields.isEmpty {
                gone.append(key)
            } else {
                workers.append(Worker(name: String(key.dropFirst(keyPrefix.count)), redis: redis, fields: fields))
            }
        }
        if !gone.isEmpty { try await redis.send(RedisCommand("SREM", arguments: [RQKeys.workers] + gone)) }
        return workers
    }

    /// Reads one worker by name, as Python RQ's `Worker.find_by_key`, or `nil` if it has no hash (never ran, or
    /// stopped more than a minute ago).
    ///
    /// - Parameters:
    ///   - name: the worker's name.
    ///   - redis: the client.
    /// - Returns: a snapshot of the worker's hash, or `nil` if it has none.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func fetch(name: String, redis: Redis) async throws -> Worker? {
        let fields = try await redis.send("HGETALL", RQKeys.worker(name)).fieldPairs
        guard !fields.isEmpty else {
            try await redis.send("SREM", RQKeys.workers, RQKeys.worker(name))
            return nil
        }
        return Worker(name: name, redis: redis, fields: fields)
    }

    /// The number of registered workers, or of those listening on `queue` (Python's `Worker.count`): the size of
    /// the worker set, which may still hold workers that died without unregistering until maintenance prunes them.
    ///
    /// - Parameters:
    ///   - redis: the client.
    ///   - queue: count only the workers listening on this queue; nil (the default) counts every worker.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func count(redis: Redis, queue: String? = nil) async throws -> Int {
        try await redis.send("SCARD", queue.map(RQKeys.queueWorkers) ?? RQKeys.workers).int ?? 0
    }

    static let keyPrefix = "rq:worker:"

    /// Reads the fields as Python's `Worker.refresh` does: every field optional, empty means unset.
    init(name: String, redis: Redis, fields: [String: [UInt8]]) {
        func text(_ field: String) -> String? {
            guard let bytes = fields[field], !bytes.isEmpty else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        self.name = name
        self.redis = redis
        queues = text("queues")?.split(separator: ",").map(String.init) ?? []
        state = text("state") ?? "?"
        currentJobID = text("current_job")
        birth = text("birth").flatMap(RQTimestamp.parse)
        lastHeartbeat = text("last_heartbeat").flatMap(RQTimestamp.parse)
        death = text("death").flatMap(RQTimestamp.parse)
        hostname = text("hostname")
        ipAddress = text("ip_address")
        pid = text("pid").flatMap { Int($0) }
        version = text("version")
        pythonVersion = text("python_version")
        successfulJobCount = text("successful_job_count").flatMap { Int($0) } ?? 0
        failedJobCount = text("failed_job_count").flatMap { Int($0) } ?? 0
        totalWorkingTime = text("total_working_time").flatMap { Double($0) } ?? 0
        currentJobWorkingTime = text("current_job_working_time").flatMap { Double($0) } ?? 0
        horses =
            fields["swift_horses"].flatMap { try? JSONValue(parsing: $0) }?.arrayValue?.compactMap(Horse.init) ?? []
    }
}

extension Worker {
    /// One horse of a Swift worker — a job-runner process it started — as the worker's last heartbeat saw it (see
    /// ``Worker/horses``).
    public struct Horse: Sendable, Hashable, Identifiable {
        /// The horse's process id, on the worker's host (``Worker/hostname``).
        public let pid: Int
        /// The job it runs, or nil for a warm horse waiting for one.
        public let jobID: String?
        /// When it started its current job; for a warm horse, when it was spawned.
        public let since: Date
        /// How many jobs it has been given, the current one included.
        public let jobsServed: Int
        /// How many jobs it runs before a fresh horse takes over (``WorkerPoolConfiguration/maxJobsPerHorse``), or
        /// nil when it is 1: a horse per job.
        public let maxJobs: Int?
        /// Whether it is warm: spawned ahead of time (or kept after a job) and waiting for a job.
        public let isWarm: Bool
        /// The runner executable it was spawned from.
        public let runner: Runner

        /// The process id.
        public var id: Int { pid }

        /// The runner binary a horse was spawned from, identified as the worker does to notice a rebuild (hot reload):
        /// a horse whose binary differs from the runner's current one runs no further job.
        public struct Runner: Sendable, Hashable {
            /// The executable's path, as the worker was configured with it.
            public let path: String
            /// The file's device number when the horse was spawned; nil if the worker could not read the file.
            public let device: UInt64?
            /// Its inode number; nil if the worker could not read the file.
            public let inode: UInt64?
            /// Its size in bytes; nil if the worker could not read the file.
            public let size: Int64?
            /// Its modification time; nil if the worker could not read the file.
            public let modified: Date?
        }

        /// Reads one element of the `swift_horses` array; nil if it is not a horse.
        init?(_ value: JSONValue) {
            guard let pid = value["pid"]?.intValue, let since = value["since"]?.stringValue.flatMap(RQTimestamp.parse)
            else { return nil }
            self.pid = pid
            self.since = since
            jobID = value["job_id"]?.stringValue
            jobsServed = value["jobs_served"]?.intValue ?? 0
            maxJobs = value["max_jobs"]?.intValue
            isWarm = value["warm"]?.boolValue ?? (jobID == nil)
            let runner = value["runner"]
            self.runner = Runner(
                path: runner?["path"]?.stringValue ?? "",
                device: runner?["device"]?.intValue.map { UInt64(truncatingIfNeeded: $0) },
                inode: runner?["inode"]?.intValue.map { UInt64(truncatingIfNeeded: $0) },
                size: runner?["size"]?.intValue.map { Int64($0) },
                modified: runner?["mtime_ns"]?.intValue.map { Date(timeIntervalSince1970: Double($0) / 1e9) })
        }
    }
}
