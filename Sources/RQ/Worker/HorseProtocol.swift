import FoundationEssentials
import Glibc
import Logging
import Tracing

/// The messages between a worker and a horse: one JSON document each way.
///
/// The worker writes the assignment to the horse's standard input and closes it; the horse writes its report to
/// file descriptor 3 and exits. Standard output and error stay the worker's, so a job's prints reach its logs.
enum HorseProtocol {
    /// The horse's report channel.
    static let reportDescriptor: Int32 = 3

    struct Assignment: Sendable {
        var jobID: String
        var executionID: String
        var workerName: String
        var origin: String
        var functionName: String
        var args: [JSONValue]
        var kwargs: JSONObject
        var meta: JSONObject
        var timeout: Int
        /// Where the job's Redis is. A reusable horse is told once, with its first job, and keeps its client; nil
        /// in the assignments after that (a smaller message to write, parse and compare per job).
        var redis: RedisConfiguration?
        var callbacks = JobCallbacks()
        /// The job's serializer: the horse writes `meta` in it.
        var serializer: JobSerializer = .json
        /// The job's description, so the horse need not rebuild the call string.
        var description: String?
        /// The worker's consumer span, as its instrument propagates it (W3C `traceparent`, `tracestate` for an
        /// OpenTelemetry tracer): the horse runs the job in that context, so spans the job starts are its children.
        /// Nil without a tracer.
        var trace: JSONObject?
        /// Set when the horse is to run only a callback: the job ended where its own horse could not run it (killed
        /// at its timeout, crashed, stopped).
        var callbackOnly: CallbackOnly?

        struct CallbackOnly: Sendable {
            var callback: JobCallback
            /// `failure` (with the failure text) or `stopped`.
            var stopped: Bool
            var failureText: String
        }

        func encoded() -> [UInt8] {
            var object: JSONObject = [
                "job_id": .string(jobID), "execution_id": .string(executionID), "worker_name": .string(workerName),
                "origin": .string(origin), "function": .string(functionName), "args": .array(args),
                "kwargs": .object(kwargs), "meta": .object(meta), "timeout": .int(timeout),
            ]
            if let redis { object["redis"] = .object(Self.encoded(redis)) }
            if !callbacks.isEmpty { object["callbacks"] = callbacks.json }
            if serializer != .json { object["serializer"] = .string(serializer.description) }
            if let description { object["description"] = .string(description) }
            if let trace, !trace.isEmpty { object["trace"] = .object(trace) }
            if let callbackOnly {
                object["callback_only"] = [
                    "name": .string(callbackOnly.callback.name), "timeout": .int(callbackOnly.callback.timeout.seconds),
                    "stopped": .bool(callbackOnly.stopped), "exc": .string(callbackOnly.failureText),
                ]
            }
            return JSONValue.object(object).serialized()
        }

        private static func encoded(_ redis: RedisConfiguration) -> JSONObject {
            var endpoint: JSONObject = [:]
            switch redis.endpoint {
            case .tcp(let host, let port):
                endpoint["host"] = .string(host)
                endpoint["port"] = .int(port)
            case .unix(let path): endpoint["path"] = .string(path)
            }
            endpoint["db"] = .int(redis.database)
            if let username = redis.username { endpoint["username"] = .string(username) }
            if let password = redis.password { endpoint["password"] = .string(password) }
            if let tls = redis.tls {
                var settings: JSONObject = [
                    "ssl_cert_reqs": .string(tls.certificateRequirement.rawValue),
                    "ssl_check_hostname": .bool(tls.checkHostname),
                ]
                if let file = tls.caCertificates { settings["ssl_ca_certs"] = .string(file) }
                if let file = tls.certificate { settings["ssl_certfile"] = .string(file) }
                if let file = tls.privateKey { settings["ssl_keyfile"] = .string(file) }
                endpoint["tls"] = .object(settings)
            }
            if let sentinel = redis.sentinel {
                var settings: JSONObject = [
                    "master_name": .string(sentinel.masterName),
                    "instances": .array(
                        sentinel.sentinels.compactMap {
                            guard case .tcp(let host, let port) = $0 else { return nil }
                            return .array([.string(host), .int(port)])
                        }),
                ]
                if let username = sentinel.username { settings["username"] = .string(username) }
                if let password = sentinel.password { settings["password"] = .string(password) }
                endpoint["sentinel"] = .object(settings)
            }
            return endpoint
        }

        init(
            jobID: String, executionID: String, workerName: String, origin: String, functionName: String,
            args: [JSONValue], kwargs: JSONObject, meta: JSONObject, timeout: Int, redis: RedisConfiguration?
        ) {
            self.jobID = jobID
            self.executionID = executionID
            self.workerName = workerName
            self.origin = origin
            self.functionName = functionName
            self.args = args
            self.kwargs = kwargs
            self.meta = meta
            self.timeout = timeout
            self.redis = redis
        }

        /// The assignment for a dequeued job: its call, its callbacks and its description.
        init(job: Job, executionID: String, workerName: String, timeout: Int, redis: RedisConfiguration?) {
            self.init(
                jobID: job.id, executionID: executionID, workerName: workerName, origin: job.origin,
                functionName: job.functionName, args: job.args, kwargs: job.kwargs, meta: job.meta, timeout: timeout,
                redis: redis)
            callbacks = job.callbacks
            description = job.description
            serializer = job.serializer
        }

        init(decoding bytes: [UInt8]) throws {
            let document = try JSONValue(parsing: bytes)
            guard let jobID = document["job_id"]?.stringValue, let function = document["function"]?.stringValue
            else { throw RQError(.invalidArgument, "malformed horse assignment") }
            self.init(
                jobID: jobID, executionID: document["execution_id"]?.stringValue ?? "",
                workerName: document["worker_name"]?.stringValue ?? "", origin: document["origin"]?.stringValue ?? "",
                functionName: function, args: document["args"]?.arrayValue ?? [],
                kwargs: document["kwargs"]?.objectValue ?? [:], meta: document["meta"]?.objectValue ?? [:],
                timeout: document["timeout"]?.intValue ?? JobTimeout.default.seconds,
                redis: document["redis"]?.objectValue.map(Self.redisConfiguration))
            callbacks = try JobCallbacks(json: document["callbacks"])
            description = document["description"]?.stringValue
            trace = document["trace"]?.objectValue
            serializer = document["serializer"]?.stringValue.flatMap(JobSerializer.init(name:)) ?? .json
            if let only = document["callback_only"], let name = only["name"]?.stringValue {
                callbackOnly = CallbackOnly(
                    callback: JobCallback(name, timeout: try JobTimeout(seconds: only["timeout"]?.intValue ?? 60)),
                    stopped: only["stopped"]?.boolValue ?? false, failureText: only["exc"]?.stringValue ?? "")
            }
        }

        private static func redisConfiguration(_ redisInfo: JSONObject) -> RedisConfiguration {
            var configuration = RedisConfiguration()
            if let path = redisInfo["path"]?.stringValue {
                configuration.endpoint = .unix(path: path)
            } else {
                configuration.endpoint = .tcp(
                    host: redisInfo["host"]?.stringValue ?? "127.0.0.1", port: redisInfo["port"]?.intValue ?? 6379)
            }
            configuration.database = redisInfo["db"]?.intValue ?? 0
            configuration.username = redisInfo["username"]?.stringValue
            configuration.password = redisInfo["password"]?.stringValue
            if let sentinel = redisInfo["sentinel"], let name = sentinel["master_name"]?.stringValue {
                let instances: [RedisConfiguration.Endpoint] = (sentinel["instances"]?.arrayValue ?? []).compactMap {
                    guard let host = $0.arrayValue?.first?.stringValue, let port = $0.arrayValue?.last?.intValue else {
                        return nil
                    }
                    return .tcp(host: host, port: port)
                }
                configuration.sentinel = SentinelConfiguration(
                    sentinels: instances, masterName: name, username: sentinel["username"]?.stringValue,
                    password: sentinel["password"]?.stringValue)
            }
            if let tls = redisInfo["tls"] {
                configuration.tls = TLSConfiguration(
                    caCertificates: tls["ssl_ca_certs"]?.stringValue, certificate: tls["ssl_certfile"]?.stringValue,
                    privateKey: tls["ssl_keyfile"]?.stringValue,
                    certificateRequirement: tls["ssl_cert_reqs"]?.stringValue.flatMap {
                        TLSConfiguration.CertificateRequirement(rawValue: $0)
                    } ?? .required,
                    checkHostname: tls["ssl_check_hostname"]?.boolValue ?? true)
            }
            return configuration
        }
    }

    static func encodeReport(_ outcome: JobExecutor.Outcome) -> [UInt8] {
        switch outcome {
        case .success(let value): return JSONValue.object(["ok": true, "value": value]).serialized()
        case .failure(let text): return JSONValue.object(["ok": false, "exc": .string(text)]).serialized()
        }
    }

    /// Reads a report; nil when it is missing or garbled (the horse died or wrote nonsense).
    static func decodeReport(_ bytes: [UInt8]) -> JobExecutor.Outcome? {
        guard !bytes.isEmpty, let document = try? JSONValue(parsing: bytes), let ok = document["ok"]?.boolValue else {
            return nil
        }
        if ok { return .success(document["value"] ?? .null) }
        guard let text = document["exc"]?.stringValue else { return nil }
        return .failure(text)
    }
}

/// Turns an executable into a job runner: the program that registers job functions and runs them in horses.
///
/// Call ``runHorseIfRequested()`` first thing in `main`: when a worker started this executable as a horse, it runs
/// the one job it is given and exits; otherwise it returns and the program goes on (for example to host the
/// `worker` command, or a service that embeds a ``WorkerPool`` with this executable as its runner). A horse whose
/// program skips the call and starts a `WorkerPool` does not start the program again: the pool fails the job with a
/// message naming this call, and the horse exits.
///
/// ```swift
/// let runner = JobRunner(functions: myFunctions)
/// await runner.runHorseIfRequested()
/// ```
public struct JobRunner: Sendable {
    /// The argument a worker passes to start an executable as a horse.
    public static let horseArgument = "--rq-horse"

    /// The functions this runner can run.
    public let functions: JobFunctionRegistry

    /// A runner for the job functions and callbacks in `functions`.
    ///
    /// - Parameter functions: what a horse started from this executable can run; a job naming anything else fails,
    ///   its failure text saying that no job function is registered under that name.
    public init(functions: JobFunctionRegistry) {
        self.functions = functions
    }

    /// The path of the running executable (from `/proc/self/exe`), to use as its own runner.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Whether this process was started as a horse.
    public static var isHorse: Bool { CommandLine.arguments.dropFirst().first == horseArgument }

    /// If this process is a horse, runs its job and exits; otherwise returns at once.
    public func runHorseIfRequested() async {
        guard Self.isHorse else { return }
        // The worker's terminal Ctrl-C must not reach the job (RQ's horses ignore SIGINT); SIGTERM stays default.
        signal(SIGINT, SIG_IGN)
        if CommandLine.arguments.dropFirst(2).first == Horse.reusableArgument {
            await runJobsUntilRetired()
            exit(0)
        }
        async let assignment = Self.readAssignmentThenWatchWorker()
        // Warm up only while there is time: a horse whose job is already waiting (the pool is saturated) goes
        // straight to it, and spends no more CPU than without the warm-up.
        if !Self.assignmentIsWaiting() { await Self.warmUp() }
        let input = await assignment
        guard !input.isEmpty else { exit(0) }  // A warm horse that was not needed.
        let outcome: JobExecutor.Outcome
        do {
            let assignment = try HorseProtocol.Assignment(decoding: input)
            outcome = await run(assignment)
        } catch {
            outcome = .failure("horse could not read its assignment: \(error)\n")
        }
        _ = BlockingIO.writeAll(HorseProtocol.reportDescriptor, HorseProtocol.encodeReport(outcome))
        close(HorseProtocol.reportDescriptor)
        // Exit at once: a job that ignored its cancellation may still be spinning on another thread.
        exit(0)
    }

    /// What a horse does when its program starts a ``WorkerPool`` instead of running its job: the program never
    /// called ``runHorseIfRequested()``. The job fails with a message that names the missing call, and the horse
    /// exits before the program does anything else a horse must not (start more horses, serve requests).
    static func refuseWorkerPoolInHorse(logger: Logger) -> Never {
        let text =
            "\(executablePath) was started as a horse (\(horseArgument)) but started a WorkerPool instead of running "
            + "its job: call `await JobRunner(functions: ...).runHorseIfRequested()` first thing in main, before "
            + "the program starts its services.\n"
        logger.critical("WorkerPool started inside a horse; call runHorseIfRequested() first thing in main")
        _ = BlockingIO.writeAll(HorseProtocol.reportDescriptor, HorseProtocol.encodeReport(.failure(text)))
        exit(70)
    }

    /// Runs a no-op job through the horse's own path — decoding an assignment, the executor with its deadline and
    /// job context, the report — while a warm horse waits for its real one. The Swift runtime builds the metadata of
    /// the types on that path on first use, most of a millisecond of a fresh process's time; a warm horse pays it
    /// before its job arrives instead of after (enqueue-to-start p50 with a warm horse 2.0 → 1.3 ms). Nothing
    /// touches Redis: the warm-up function is not the user's.
    ///
    /// - Returns: whether the no-op job ran and its report was encoded.
    @discardableResult
    static func warmUp() async -> Bool {
        let sample = Array(
            """
            {"job_id": "warm-up", "function": "rq.warm-up", "args": [1, "a", null], "kwargs": {"k": 2.5}, "meta": {},
             "timeout": 180, "redis": {"host": "127.0.0.1", "port": 6379, "db": 0}}
            """.utf8)
        guard let assignment = try? HorseProtocol.Assignment(decoding: sample) else { return false }
        var functions = JobFunctionRegistry()
        functions.register("rq.warm-up") { _ in .null }
        let outcome = await JobRunner(functions: functions).run(assignment)
        guard case .success = outcome else { return false }
        return !HorseProtocol.encodeReport(outcome).isEmpty
    }

    /// Whether the assignment (or the end of input) is already there to read.
    private static func assignmentIsWaiting() -> Bool {
        var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// A reusable horse: runs the jobs framed on standard input one after another, reporting each in a frame,
    /// until its input ends (the worker retires it) or its worker dies. One Redis client serves all its jobs.
    private func runJobsUntilRetired() async {
        Self.watchWorker()
        let (frames, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        BlockingThread.start(name: "rq-horse") {
            while let frame = BlockingIO.readFrame(0) { continuation.yield(frame) }
            continuation.finish()
        }
        if !Self.assignmentIsWaiting() { await Self.warmUp() }
        var client: (configuration: RedisConfiguration, redis: Redis)?
        for await input in frames {
            let outcome: JobExecutor.Outcome
            do {
                let assignment = try HorseProtocol.Assignment(decoding: input)
                if let configuration = assignment.redis, client?.configuration != configuration {
                    client = (configuration, Redis(configuration: configuration))
                }
                guard let redis = client?.redis else {
                    throw RQError(.invalidArgument, "the horse was not told where Redis is")
                }
                outcome = await run(assignment, redis: redis)
                if case .failure(let text) = outcome, JobExecutor.isTimeoutText(text) {
                    // The job ran out of time; it may have ignored its cancellation and still be running on another
                    // thread. Report, then exit rather than run the next job beside it.
                    _ = BlockingIO.writeAll(
                        HorseProtocol.reportDescriptor, BlockingIO.frame(HorseProtocol.encodeReport(outcome)))
                    exit(0)
                }
            } catch {
                outcome = .failure("horse could not read its assignment: \(error)\n")
            }
            guard
                BlockingIO.writeAll(
                    HorseProtocol.reportDescriptor, BlockingIO.frame(HorseProtocol.encodeReport(outcome)))
            else { exit(0) }
        }
    }

    /// Exits the horse as soon as its worker is gone (see ``readAssignmentThenWatchWorker()``).
    private static func watchWorker() {
        let worker = getenv("RQ_WORKER_PID").flatMap { pid_t(String(cString: $0)) } ?? getppid()
        BlockingThread.start(name: "rq-horse-watch") {
            while getppid() == worker { usleep(200_000) }
            _exit(70)
        }
    }

    func run(_ assignment: HorseProtocol.Assignment) async -> JobExecutor.Outcome {
        guard let configuration = assignment.redis else {
            return .failure("horse could not read its assignment: it does not say where Redis is\n")
        }
        return await run(assignment, redis: Redis(configuration: configuration))
    }

    func run(_ assignment: HorseProtocol.Assignment, redis: Redis) async -> JobExecutor.Outcome {
        var options = EnqueueOptions()
        options.meta = assignment.meta
        options.onSuccess = assignment.callbacks.success
        options.onFailure = assignment.callbacks.failure
        options.onStopped = assignment.callbacks.stopped
        let job = Job(
            id: assignment.jobID, redis: redis, origin: assignment.origin,
            payload: JobPayload(
                functionName: assignment.functionName, args: assignment.args, kwargs: assignment.kwargs,
                serializer: assignment.serializer),
            description: assignment.description, timeout: try? JobTimeout(seconds: assignment.timeout),
            options: options, status: .started,
            now: Date())
        let executor = JobExecutor(redis: redis, functions: functions, workerName: assignment.workerName)
        if let trace = assignment.trace, JobTraceContext.isActive {
            // The worker's consumer span, carried over: the job's own spans are its children.
            let context = JobTraceContext.parent(of: trace)
            return await ServiceContext.$current.withValue(context) { await perform(assignment, job, executor) }
        }
        return await perform(assignment, job, executor)
    }

    private func perform(_ assignment: HorseProtocol.Assignment, _ job: Job, _ executor: JobExecutor) async
        -> JobExecutor.Outcome
    {
        if let only = assignment.callbackOnly {
            let outcome: JobCallbackOutcome = only.stopped ? .stopped : .failed(only.failureText)
            let problem = await executor.runCallback(only.callback, job: job, outcome: outcome)
            return problem.map { .failure($0) } ?? .success(.null)
        }
        return await executor.perform(job, executionID: assignment.executionID, timeout: .cancelAtDeadline)
    }

    /// Reads the assignment, then watches the worker. A horse whose worker died (killed with SIGKILL, say) must not
    /// run on unsupervised: the job is failed as abandoned by maintenance, and a second run could follow. It exits as
    /// soon as its parent is no longer the worker that started it (`RQ_WORKER_PID`, so a worker that died before the
    /// horse first looked is noticed too). (`PR_SET_PDEATHSIG` would fire when the spawning *thread* exits, which
    /// pooled threads do.)
    private static func readAssignmentThenWatchWorker() async -> [UInt8] {
        let worker = getenv("RQ_WORKER_PID").flatMap { pid_t(String(cString: $0)) } ?? getppid()
        return await withCheckedContinuation { continuation in
            // One thread for both: a worker that dies while the horse waits closes the pipe, so the read ends
            // (empty) and the horse exits.
            BlockingThread.start(name: "rq-horse") {
                continuation.resume(returning: BlockingIO.readToEnd(0))
                while getppid() == worker { usleep(200_000) }
                _exit(70)
            }
        }
    }
}
