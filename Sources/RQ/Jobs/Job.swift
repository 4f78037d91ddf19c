public import FoundationEssentials
import Glibc

/// A job: a handle on `rq:job:{id}` holding the fields last read from Redis.
///
/// Jobs come from ``Queue/enqueue(_:args:kwargs:options:)``, ``Job/fetch(id:redis:)`` or a queue's inspection
/// methods. The fields are a snapshot; ``refresh()`` reads them again, ``currentStatus()`` reads just the status.
///
/// ```swift
/// let job = try await queue.enqueue("examples.add", args: [2, 3])
/// let sum = try await job.result(as: Int.self, timeout: .seconds(30))
/// ```
public struct Job: Sendable, Identifiable, CustomStringConvertible {
    /// The job id (a UUID4 by default).
    public let id: String
    /// The client the job was read with.
    public let redis: Redis

    /// The status when last read.
    public internal(set) var status: JobStatus
    /// The queue the job was enqueued on.
    public internal(set) var origin: String
    /// The function name, e.g. `examples.add`.
    public internal(set) var functionName: String
    /// Positional arguments.
    public internal(set) var args: [JSONValue]
    /// Keyword arguments.
    public internal(set) var kwargs: JSONObject
    /// A human-readable description; RQ's call string (`examples.add(2, 3)`) by default.
    public internal(set) var description: String
    /// When the producer created the job (`created_at`); "now" for a hash that lacks the field, as in Python.
    public internal(set) var createdAt: Date
    /// When the job was last put on its queue (`enqueued_at`); a requeue, a retry, a repeat or a scheduler moving it
    /// sets it anew. `nil` for a job never queued yet: one deferred until its dependencies finish, or scheduled.
    public internal(set) var enqueuedAt: Date?
    /// When a worker last started the job (`started_at`); `nil` before its first run and after a requeue.
    public internal(set) var startedAt: Date?
    /// When the job's last run ended — finished, failed or stopped (`ended_at`); `nil` before a run has ended and
    /// after a requeue. A job queued again for a retry keeps its failed attempt's times until it starts again.
    public internal(set) var endedAt: Date?
    /// When the worker running the job last reported it alive (`last_heartbeat`, refreshed every
    /// ``WorkerPoolConfiguration/jobMonitoringInterval`` on a Swift worker); `nil` for a job that never ran.
    public internal(set) var lastHeartbeat: Date?
    /// The worker running or last to run the job.
    public internal(set) var workerName: String?
    /// The group the job belongs to.
    public internal(set) var groupID: String?
    /// The job's timeout; `nil` when the hash stores none (the worker's default applies).
    public internal(set) var timeout: JobTimeout?
    /// Seconds a successful job and its result are kept: 0 = not kept, -1 = forever; `nil` = worker default (500).
    public internal(set) var resultTTL: Int?
    /// Seconds a failed job is kept; `nil` = one year.
    public internal(set) var failureTTL: Int?
    /// Seconds the job may wait in the queue before it expires; `nil` = no limit.
    public internal(set) var ttl: Int?
    /// Free-form metadata; change it and call ``saveMeta()`` to store it (progress reporting).
    public var meta: JSONObject
    /// The serializer the job's call is stored in (found by reading it); its `meta` and result are written in the
    /// same one, so the producer reads them back.
    public internal(set) var serializer: JobSerializer
    /// The ids of the jobs this one depends on.
    public internal(set) var dependencyIDs: [String]
    /// Whether the job may run when a dependency failed.
    public internal(set) var allowDependencyFailures: Bool
    /// Whether the job goes to the front of the queue when its dependencies are met.
    public internal(set) var enqueueAtFront: Bool
    /// Retries left after a failure (`Retry(max:)`).
    public internal(set) var retriesLeft: Int?
    /// Seconds to wait before each retry.
    public internal(set) var retryIntervals: [Int]
    /// Repeats left after a success (`Repeat(times:)`).
    public internal(set) var repeatsLeft: Int?
    /// Seconds to wait before each repeat.
    public internal(set) var repeatIntervals: [Int]
    /// The Swift callbacks to run when the job ends.
    var callbacks: JobCallbacks
    /// The HTTP requests the worker makes when the job ends (RQ's `webhooks` field). Empty when the field is absent
    /// or unreadable — as in Python RQ, which then ignores it; an unreadable field is kept as it is.
    public internal(set) var webhooks: [Webhook]
    /// Fields this library does not model (callbacks, webhooks, …), kept so a re-save does not drop them.
    var otherFields: [String: [UInt8]]

    // MARK: Fetching

    /// Reads a job.
    ///
    /// - Parameters:
    ///   - id: the job's id.
    ///   - redis: the client, which the returned job uses.
    /// - Returns: a snapshot of the job as stored now.
    /// - Throws: ``RQError`` `noSuchJob` if the hash does not exist; `invalidJob` naming the job and the field if a
    ///   field cannot be read (garbage `data`, a non-JSON `meta`, an impossible status, …); ``RedisError`` if Redis
    ///   cannot be reached.
    public static func fetch(id: String, redis: Redis) async throws -> Job {
        let reply = try await redis.send("HGETALL", RQKeys.job(id))
        return try Job(id: id, redis: redis, hash: reply)
    }

    /// Reads several jobs in one round trip; ids whose hash is gone give `nil`.
    ///
    /// - Parameters:
    ///   - ids: the jobs' ids.
    ///   - redis: the client, which the returned jobs use.
    /// - Returns: one entry per id, in the order given.
    /// - Throws: ``RQError`` `invalidJob` for a hash that exists but cannot be read;
    ///   ``RedisError`` if Redis cannot be reached.
    public static func fetchMany(ids: [String], redis: Redis) async throws -> [Job?] {
        let replies = try await redis.pipeline(ids.map { RedisCommand("HGETALL", RQKeys.job($0)) })
        return try zip(ids, replies).map { id, reply in
            if case .array(let values) = reply, values.isEmpty { return nil }
            return try Job(id: id, redis: redis, hash: reply)
        }
    }

    /// Whether a job hash with this id exists.
    ///
    /// - Parameters:
    ///   - id: the job's id.
    ///   - redis: the client.
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public static func exists(id: String, redis: Redis) async throws -> Bool {
        try await redis.send("EXISTS", RQKeys.job(id)).int == 1
    }

    init(id: String, redis: Redis, hash reply: RedisValue) throws(RQError) {
        if case .error(let message) = reply {
            throw RQError(.invalidJob, "job \(id): \(message)", jobID: id)
        }
        let fields = reply.fieldPairs
        guard !fields.isEmpty else { throw RQError(.noSuchJob, "no such job: \(id)", jobID: id) }
        try self.init(id: id, redis: redis, fields: fields)
    }

    init(id: String, redis: Redis, fields: [String: [UInt8]]) throws(RQError) {
        self.id = id
        self.redis = redis
        var rest = fields
        func text(_ field: String) -> String? {
            rest.removeValue(forKey: field).map { String(decoding: $0, as: UTF8.self) }
        }
        func date(_ field: String) throws(RQError) -> Date? {
            guard let value = text(field), !value.isEmpty else { return nil }
            guard let date = RQTimestamp.parse(value) else {
                throw RQError.invalidJob(id, field: field, "is not a timestamp: '\(value)'")
            }
            return date
        }
        func integer(_ field: String) throws(RQError) -> Int? {
            guard let value = text(field), !value.isEmpty, value != "None" else { return nil }
            guard let number = Int(value) else {
                throw RQError.invalidJob(id, field: field, "is not an integer: '\(value)'")
            }
            return number
        }
        /// `meta`, in either serializer (JSON for Python's JSONSerializer, pickle for its default one).
        func serialized(_ field: String) throws(RQError) -> JSONValue? {
            guard let bytes = rest.removeValue(forKey: field), !bytes.isEmpty else { return nil }
            do { return try JobSerializer.deserialize(bytes) } catch {
                throw RQError.invalidJob(id, field: field, "cannot be read: \(error)")
            }
        }
        func json(_ field: String) throws(RQError) -> JSONValue? {
            guard let bytes = rest.removeValue(forKey: field), !bytes.isEmpty else { return nil }
            do { return try JSONValue(parsing: bytes) } catch {
                let hint = bytes.first == 0x80 ? " (it is pickled; use the JSON serializer)" : ""
                throw RQError.invalidJob(id, field: field, "is not JSON\(hint): \(error)")
            }
        }

        guard let data = rest.removeValue(forKey: "data") else {
            throw RQError.invalidJob(id, field: "data", "is missing")
        }
        let payload = try JobPayload(decoding: data, jobID: id)
        functionName = payload.functionName
        args = payload.args
        kwargs = payload.kwargs
        serializer = payload.serializer

        let statusText = text("status") ?? "created"
        guard JobStatus.isWellFormed(statusText) else {
            throw RQError.invalidJob(id, field: "status", "is not a job status: '\(statusText)'")
        }
        status = JobStatus(rawValue: statusText)
        origin = text("origin") ?? ""
        createdAt = try date("created_at") ?? Date()
        enqueuedAt = try date("enqueued_at")
        startedAt = try date("started_at")
        endedAt = try date("ended_at")
        lastHeartbeat = try date("last_heartbeat")
        workerName = text("worker_name").flatMap { $0.isEmpty ? nil : $0 }
        groupID = text("group_id").flatMap { $0.isEmpty ? nil : $0 }
        if let seconds = try integer("timeout") {
            guard let value = try? JobTimeout(seconds: seconds) else {
                throw RQError.invalidJob(id, field: "timeout", "is not a valid timeout: \(seconds)")
            }
            timeout = value
        } else {
            timeout = nil
        }
        resultTTL = try integer("result_ttl")
        failureTTL = try integer("failure_ttl")
        ttl = try integer("ttl")
        switch try serialized("meta") {
        case nil: meta = [:]
        case .object(let object)?: meta = object
        case .some: throw RQError.invalidJob(id, field: "meta", "is not a dict")
        }
        var dependencies: [String] = []
        switch try json("dependency_ids") {
        case nil: break
        case .array(let values)?: dependencies = values.compactMap(\.stringValue)
        case .some: throw RQError.invalidJob(id, field: "dependency_ids", "is not a JSON list")
        }
        if let legacy = text("dependency_id"), !legacy.isEmpty, !dependencies.contains(legacy) {
            dependencies.insert(legacy, at: 0)
        }
        dependencyIDs = dependencies
        allowDependencyFailures = text("allow_dependency_failures") == "1"
        enqueueAtFront = text("enqueue_at_front") == "1"
        retriesLeft = try integer("retries_left")
        switch try json("retry_intervals") {
        case nil: retryIntervals = []
        case .array(let values)?: retryIntervals = values.compactMap(\.intValue)
        case .some: throw RQError.invalidJob(id, field: "retry_intervals", "is not a JSON list")
        }
        repeatsLeft = try integer("repeats_left")
        switch try json("repeat_intervals") {
        case nil: repeatIntervals = []
        case .array(let values)?: repeatIntervals = values.compactMap(\.intValue)
        case .some: throw RQError.invalidJob(id, field: "repeat_intervals", "is not a JSON list")
        }
        do {
            callbacks = try JobCallbacks(json: try json(JobCallbacks.field))
        } catch {
            throw RQError.invalidJob(id, field: JobCallbacks.field, error.message)
        }
        if let stored = rest[Webhook.field], let parsed = Webhook.parse(stored) {
            rest[Webhook.field] = nil
            webhooks = parsed
        } else {
            webhooks = []
        }
        description =
            text("description")
            ?? PythonRepr.callString(
                function: payload.functionName, args: payload.args, kwargs: payload.kwargs)
        otherFields = rest
    }

    /// A new job that is not yet stored.
    init(
        id: String, redis: Redis, origin: String, payload: JobPayload, description: String?, timeout: JobTimeout?,
        options: EnqueueOptions, status: JobStatus, now: Date
    ) {
        self.id = id
        self.redis = redis
        self.status = status
        self.origin = origin
        self.functionName = payload.functionName
        self.args = payload.args
        self.kwargs = payload.kwargs
        self.serializer = payload.serializer
        self.description =
            description
            ?? PythonRepr.callString(function: payload.functionName, args: payload.args, kwargs: payload.kwargs)
        self.createdAt = now
        self.timeout = timeout
        self.resultTTL = options.resultTTL
        self.failureTTL = options.failureTTL
        self.ttl = options.ttl
        self.meta = options.meta
        self.dependencyIDs = options.dependsOn?.jobIDs ?? []
        self.allowDependencyFailures = options.dependsOn?.allowFailure ?? false
        self.enqueueAtFront = options.dependsOn?.enqueueAtFront ?? false
        self.retriesLeft = options.retry?.max
        self.retryIntervals = options.retry?.intervals ?? []
        self.repeatsLeft = options.repeat?.times
        self.repeatIntervals = options.repeat?.intervals ?? []
        self.callbacks = JobCallbacks(options: options)
        self.webhooks = options.webhooks
        self.otherFields = options.retry?.enqueueAtFront == true ? ["enqueue_at_front_on_retry": Array("1".utf8)] : [:]
    }

    // MARK: Writing the hash

    /// The full field mapping as Python's `Job.to_dict` writes it (order kept), for `HSET`.
    ///
    /// - Parameter includeMeta: workers leave `meta` out of their success/failure saves so a job's own progress
    ///   updates are not overwritten.
    func fieldMapping(includeMeta: Bool = true) -> [any RedisArgument] {
        var fields = ArgumentList()
        writeFields(into: &fields, includeMeta: includeMeta)
        return fields.arguments
    }

    /// The same mapping already encoded as RESP arguments: the enqueue hot path, without a boxed argument per field.
    func encodedFields(includeMeta: Bool = true) -> EncodedArguments {
        var fields = EncodedArguments()
        fields.bytes.reserveCapacity(512)
        writeFields(into: &fields, includeMeta: includeMeta)
        return fields
    }

    private func writeFields<Sink: JobFieldSink>(into fields: inout Sink, includeMeta: Bool) {
        fields.add("status", status.rawValue)
        fields.add("created_at", RQTimestamp.format(createdAt))
        fields.add("data", payload.encoded())
        for name in ["success_callback_name", "failure_callback_name", "stopped_callback_name"] {
            fields.add(name, otherFields[name] ?? [])
        }
        fields.add("started_at", startedAt.map(RQTimestamp.format) ?? "")
        fields.add("ended_at", endedAt.map(RQTimestamp.format) ?? "")
        fields.add("last_heartbeat", lastHeartbeat.map(RQTimestamp.format) ?? "")
        fields.add("worker_name", workerName ?? "")
        fields.add("group_id", groupID ?? "")
        fields.add("origin", origin)
        fields.add("description", description)
        if let enqueuedAt { fields.add("enqueued_at", RQTimestamp.format(enqueuedAt)) }
        if let timeout { fields.add("timeout", timeout.seconds) }
        if let resultTTL { fields.add("result_ttl", resultTTL) }
        if let failureTTL { fields.add("failure_ttl", failureTTL) }
        if let first = dependencyIDs.first {
            fields.add("dependency_id", first)
            fields.add("dependency_ids", JSONValue.array(dependencyIDs.map(JSONValue.string)).serialized())
        }
        if allowDependencyFailures { fields.add("allow_dependency_failures", "1") }
        if enqueueAtFront { fields.add("enqueue_at_front", "1") }
        if includeMeta, !meta.isEmpty { fields.add("meta", serializer.serialize(.object(meta))) }
        if let ttl { fields.add("ttl", ttl) }
        if let retriesLeft {
            fields.add("retries_left", retriesLeft)
            fields.add("retry_intervals", JSONValue.array(retryIntervals.map(JSONValue.int)).serialized())
        }
        if let repeatsLeft {
            fields.add("repeats_left", repeatsLeft)
            fields.add("repeat_intervals", JSONValue.array(repeatIntervals.map(JSONValue.int)).serialized())
        }
        if !callbacks.isEmpty { fields.add(JobCallbacks.field, callbacks.json.serialized()) }
        if !webhooks.isEmpty { fields.add(Webhook.field, Webhook.serialized(webhooks)) }
        for (name, value) in otherFields.sorted(by: { $0.key < $1.key }) where !name.hasSuffix("_callback_name") {
            fields.add(name, value)
        }
    }

    // MARK: Reading and changing

    /// Reads every field again, in place.
    ///
    /// A mutating async method cannot be called on a variable isolated to an actor — a top-level `var` in
    /// `main.swift` (the main actor's), or an actor's property: there write `job = try await job.refreshed()`.
    ///
    /// - Throws: ``RQError`` `noSuchJob` if the job is gone.
    public mutating func refresh() async throws {
        self = try await refreshed()
    }

    /// The job as Redis has it now: a fresh snapshot of every field. Works on any variable, isolated or not.
    ///
    /// - Throws: ``RQError`` `noSuchJob` if the job is gone.
    public func refreshed() async throws -> Job {
        try await Job.fetch(id: id, redis: redis)
    }

    /// Reads the current status from Redis (the snapshot's ``status`` is not changed).
    ///
    /// - Throws: ``RQError`` `noSuchJob` if the job is gone.
    public func currentStatus() async throws -> JobStatus {
        guard let text = try await redis.send("HGET", RQKeys.job(id), "status").string else {
            if try await Job.exists(id: id, redis: redis) { return .created }
            throw RQError(.noSuchJob, "no such job: \(id)", jobID: id)
        }
        return JobStatus(rawValue: text)
    }

    /// Reads the current `meta` from Redis (JSON or pickle).
    ///
    /// - Returns: the stored `meta`; empty if the field is missing or empty (or the job is gone).
    /// - Throws: ``RQError`` `invalidJob` (field `meta`) if it is neither a JSON object nor a pickled dict;
    ///   ``RedisError`` if Redis cannot be reached.
    public func currentMeta() async throws -> JSONObject {
        let reply = try await redis.send("HGET", RQKeys.job(id), "meta")
        guard let bytes = reply.bytes, !bytes.isEmpty else { return [:] }
        guard case .object(let object) = try? JobSerializer.deserialize(bytes) else {
            throw RQError.invalidJob(id, field: "meta", "is not a JSON object or a pickled dict")
        }
        return object
    }

    /// Writes ``meta`` (only that field) in the job's ``serializer``, as RQ's `save_meta()` does.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func saveMeta() async throws {
        try await redis.send("HSET", RQKeys.job(id), "meta", serializer.serialize(.object(meta)))
    }

    /// The call as stored in `data`.
    var payload: JobPayload {
        JobPayload(functionName: functionName, args: args, kwargs: kwargs, serializer: serializer)
    }

    /// RQ's call string, e.g. `examples.add(2, 3)`.
    public var callString: String {
        PythonRepr.callString(function: functionName, args: args, kwargs: kwargs)
    }

    /// The job's 0-based position in its queue, or `nil` if it is not queued there.
    ///
    /// - Throws: ``RedisError`` if Redis cannot be reached.
    public func position() async throws -> Int? {
        try await redis.send("LPOS", RQKeys.queue(origin), id).int
    }
}
