/// The options of one enqueue, RQ's reserved keyword arguments.
///
/// Every option has RQ's default: nothing stored for unset TTLs, the queue's default timeout (180 s), a UUID4 id,
/// the call string as description.
public struct EnqueueOptions: Sendable {
    /// How long the job may run; defaults to the queue's default timeout (180 s). ``JobTimeout/none`` = no limit.
    public var timeout: JobTimeout?
    /// Seconds to keep a successful job and its result: `0` = delete at once, `-1` = forever. Defaults to the
    /// worker's setting (500 s).
    public var resultTTL: Int?
    /// Seconds the job may wait in the queue before it expires (must be positive). Defaults to no limit.
    public var ttl: Int?
    /// Seconds to keep a failed job (`-1` = forever). Defaults to one year.
    public var failureTTL: Int?
    /// Jobs that must finish before this one is queued.
    public var dependsOn: JobDependency?
    /// A custom job id (`[A-Za-z0-9_-]+`); defaults to a new UUID4.
    public var jobID: String?
    /// Put the job at the front of the queue instead of the back.
    public var atFront: Bool
    /// Initial metadata.
    public var meta: JSONObject
    /// A description; defaults to RQ's call string, e.g. `examples.add(2, 3)`.
    public var description: String?
    /// Retry a failed job, RQ's `Retry(max, interval)`.
    public var retry: Retry?
    /// Enqueue only if no job with ``jobID`` exists (atomic); otherwise throw ``RQError/Code/duplicateJob``.
    /// Needs a `jobID`; not allowed with dependencies (RQ's `unique=True`).
    public var unique: Bool = false
    /// Run the job again after each success, RQ's `Repeat(times, interval)`.
    public var `repeat`: Repeat?
    /// Called after the job succeeds, before the success is recorded; if it fails, the job fails.
    public var onSuccess: JobCallback?
    /// Called after each failed attempt (including ones that will be retried), before the failure is recorded.
    public var onFailure: JobCallback?
    /// Called after the job was stopped by a `stop-job` command.
    public var onStopped: JobCallback?
    /// HTTP requests to make when the job ends `finished` or `failed`, RQ's `webhooks=[Webhook(…)]`; sent by the
    /// worker (a Swift or a Python one) after the outcome is written, best effort.
    public var webhooks: [Webhook]

    /// Options for one enqueue; each defaults to RQ's default, and is checked when the job is enqueued.
    ///
    /// - Parameters:
    ///   - timeout: how long the job may run; nil for the queue's default (180 s).
    ///   - resultTTL: seconds a successful job and its result are kept (`0` = not kept, `-1` = forever); nil for the
    ///     worker's setting (500 s).
    ///   - ttl: seconds the job may wait in the queue before it expires; nil for no limit.
    ///   - failureTTL: seconds a failed job is kept (`-1` = forever); nil for one year.
    ///   - dependsOn: jobs that must finish before this one is queued.
    ///   - jobID: a custom job id (`[A-Za-z0-9_-]+`); nil for a new UUID4.
    ///   - atFront: put the job at the front of the queue.
    ///   - meta: the job's initial metadata.
    ///   - description: a description; nil for RQ's call string.
    ///   - retry: how often and when to retry the job after a failure.
    ///   - unique: enqueue only if no job with `jobID` exists.
    ///   - repeat: how often and when to run the job again after a success.
    ///   - onSuccess: the callback to run after the job succeeds.
    ///   - onFailure: the callback to run after each failed attempt.
    ///   - onStopped: the callback to run after a `stop-job` command stopped the job.
    ///   - webhooks: the HTTP requests to make when the job ends.
    public init(
        timeout: JobTimeout? = nil, resultTTL: Int? = nil, ttl: Int? = nil, failureTTL: Int? = nil,
        dependsOn: JobDependency? = nil, jobID: String? = nil, atFront: Bool = false, meta: JSONObject = [:],
        description: String? = nil, retry: Retry? = nil, unique: Bool = false, repeat: Repeat? = nil,
        onSuccess: JobCallback? = nil, onFailure: JobCallback? = nil, onStopped: JobCallback? = nil,
        webhooks: [Webhook] = []
    ) {
        self.timeout = timeout
        self.resultTTL = resultTTL
        self.ttl = ttl
        self.failureTTL = failureTTL
        self.dependsOn = dependsOn
        self.jobID = jobID
        self.atFront = atFront
        self.meta = meta
        self.description = description
        self.retry = retry
        self.unique = unique
        self.repeat = `repeat`
        self.onSuccess = onSuccess
        self.onFailure = onFailure
        self.onStopped = onStopped
        self.webhooks = webhooks
    }

    /// Checks the values RQ would reject.
    func validate() throws(RQError) {
        if let jobID {
            guard !jobID.isEmpty,
                jobID.utf8.allSatisfy({
                    ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
                })
            else {
                throw RQError(.invalidArgument, "invalid job id '\(jobID)': use only letters, digits, '_' and '-'")
            }
        }
        if let ttl, ttl <= 0, ttl != -1 {
            throw RQError(.invalidArgument, "ttl must be a positive number of seconds, not \(ttl)")
        }
        if let resultTTL, resultTTL < -1 {
            throw RQError(
                .invalidArgument, "result_ttl must be -1 (forever), 0 (discard) or positive, not \(resultTTL)")
        }
        if let failureTTL, failureTTL < -1 || failureTTL == 0 {
            throw RQError(.invalidArgument, "failure_ttl must be -1 (forever) or positive, not \(failureTTL)")
        }
        if let retry {
            guard retry.max >= 1 else {
                throw RQError(.invalidArgument, "Retry max must be at least 1, not \(retry.max)")
            }
            guard retry.intervals.allSatisfy({ $0 >= 0 }) else {
                throw RQError(.invalidArgument, "Retry intervals must not be negative: \(retry.intervals)")
            }
        }
        if let `repeat` {
            guard `repeat`.times >= 1 else {
                throw RQError(.invalidArgument, "Repeat times must be at least 1, not \(`repeat`.times)")
            }
            guard `repeat`.intervals.allSatisfy({ $0 >= 0 }) else {
                throw RQError(.invalidArgument, "Repeat intervals must not be negative: \(`repeat`.intervals)")
            }
        }
        try JobCallbacks(options: self).validate()
        for webhook in webhooks { try webhook.validate() }
        if unique, jobID == nil {
            throw RQError(.invalidArgument, "a unique enqueue needs a job id")
        }
        if unique, dependsOn != nil {
            throw RQError(.invalidArgument, "a unique enqueue cannot have dependencies")
        }
        if let dependsOn, dependsOn.jobIDs.contains(where: \.isEmpty) {
            throw RQError(.invalidArgument, "depends_on contains an empty job id")
        }
    }
}

/// The jobs a job waits for, RQ's `Dependency`.
public struct JobDependency: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    /// The ids of the parent jobs.
    public var jobIDs: [String]
    /// Run even if a parent failed.
    public var allowFailure: Bool
    /// Go to the front of the queue once the parents are done.
    public var enqueueAtFront: Bool

    /// A dependency on the jobs with these ids.
    ///
    /// - Parameters:
    ///   - jobIDs: the ids of the parent jobs.
    ///   - allowFailure: queue the job even if a parent failed.
    ///   - enqueueAtFront: queue the job at the front of its queue once the parents are done.
    public init(jobIDs: [String], allowFailure: Bool = false, enqueueAtFront: Bool = false) {
        self.jobIDs = jobIDs
        self.allowFailure = allowFailure
        self.enqueueAtFront = enqueueAtFront
    }

    /// A dependency on these jobs.
    ///
    /// - Parameters:
    ///   - jobs: the parent jobs.
    ///   - allowFailure: queue the job even if a parent failed.
    ///   - enqueueAtFront: queue the job at the front of its queue once the parents are done.
    public init(jobs: [Job], allowFailure: Bool = false, enqueueAtFront: Bool = false) {
        self.init(jobIDs: jobs.map(\.id), allowFailure: allowFailure, enqueueAtFront: enqueueAtFront)
    }

    /// A dependency on the job with this id, written as a string literal: `dependsOn: "parent-id"`.
    ///
    /// - Parameter id: the parent job's id.
    public init(stringLiteral id: String) { self.init(jobIDs: [id]) }
    /// A dependency on the jobs with these ids, written as an array literal: `dependsOn: ["a", "b"]`.
    ///
    /// - Parameter ids: the parent jobs' ids.
    public init(arrayLiteral ids: String...) { self.init(jobIDs: ids) }
}

/// A job prepared for ``Queue/enqueueMany(_:groupID:)``, RQ's `Queue.prepare_data`.
public struct EnqueueRequest: Sendable {
    /// The function to call, e.g. `examples.add`.
    public var functionName: String
    /// The call's positional arguments (RQ's `args`).
    public var args: [JSONValue]
    /// The call's keyword arguments (RQ's `kwargs`).
    public var kwargs: JSONObject
    /// The job's options (timeout, TTLs, id, dependencies, …).
    public var options: EnqueueOptions

    /// A call of `functionName` to enqueue with ``Queue/enqueueMany(_:groupID:)``.
    ///
    /// - Parameters:
    ///   - functionName: the function to call.
    ///   - args: its positional arguments.
    ///   - kwargs: its keyword arguments.
    ///   - options: the job's options.
    public init(
        _ functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: EnqueueOptions = .init()
    ) {
        self.functionName = functionName
        self.args = args
        self.kwargs = kwargs
        self.options = options
    }
}

/// Retry a failed job up to `max` times, waiting `intervals` seconds between attempts — RQ's `Retry`.
///
/// As in RQ, the interval for an attempt is `intervals[max(count - retriesLeft, 0)]`, so the last intervals are used
/// for the last attempts. A zero interval requeues at once; a positive one schedules the retry (a scheduler moves
/// it back to the queue when due).
public struct Retry: Sendable, Hashable {
    /// How many times to retry.
    public var max: Int
    /// Seconds before each retry; `[0]` by default.
    public var intervals: [Int]
    /// Put retried jobs at the front of the queue.
    public var enqueueAtFront: Bool

    /// Up to `max` retries, `intervals` seconds apart.
    ///
    /// - Parameters:
    ///   - max: how many times to retry; at least 1 (checked at enqueue).
    ///   - intervals: seconds before each retry, none negative; an empty list means `[0]`.
    ///   - enqueueAtFront: put retried jobs at the front of the queue.
    public init(max: Int, intervals: [Int] = [0], enqueueAtFront: Bool = false) {
        self.max = max
        self.intervals = intervals.isEmpty ? [0] : intervals
        self.enqueueAtFront = enqueueAtFront
    }

    /// Exponential backoff: `base`, `base·factor`, … seconds for each of the `max` retries, capped at `cap`.
    ///
    /// - Parameters:
    ///   - max: how many times to retry; at least 1 (checked at enqueue).
    ///   - base: seconds before the first retry. Defaults to 1.
    ///   - factor: what each interval is multiplied by to give the next. Defaults to 2.
    ///   - cap: the longest interval, in seconds. Defaults to 3600.
    /// - Returns: a retry policy with one interval per retry.
    public static func exponential(max: Int, base: Int = 1, factor: Int = 2, cap: Int = 3600) -> Retry {
        var intervals: [Int] = []
        var next = base
        for _ in 0..<Swift.max(max, 1) {
            intervals.append(Swift.min(next, cap))
            next = Swift.min(next * factor, cap)
        }
        return Retry(max: max, intervals: intervals)
    }
}

/// Run a successful job again, `times` more times — RQ's `Repeat(times, interval)`.
///
/// After each success the result is recorded as usual and the job goes back to its queue (interval 0) or to the
/// scheduled registry (a scheduler moves it when due). The interval is picked exactly as Python RQ 2.12 picks it,
/// counting from the end: `intervals[repeatsLeft - 1]`, or the last interval when the list is shorter — so a
/// Swift and a Python worker repeat a job identically.
public struct Repeat: Sendable, Hashable {
    /// How many more runs after the first.
    public var times: Int
    /// Seconds before the repeats; `[0]` (at once) by default.
    public var intervals: [Int]

    /// `times` more runs after the first, `intervals` seconds apart.
    ///
    /// - Parameters:
    ///   - times: how many more runs; at least 1 (checked at enqueue).
    ///   - intervals: seconds before the repeats, none negative; an empty list means `[0]`.
    public init(times: Int, intervals: [Int] = [0]) {
        self.times = times
        self.intervals = intervals.isEmpty ? [0] : intervals
    }

    /// The interval before the next run of a job with `repeatsLeft` repeats left (RQ's `Repeat.get_interval`).
    static func interval(repeatsLeft: Int, intervals: [Int]) -> Int {
        guard let last = intervals.last else { return 0 }
        let index = repeatsLeft - 1
        return index >= 0 && index < intervals.count ? intervals[index] : last
    }
}
