/// A typed job function: a name plus the types of its positional arguments and result.
///
/// Define it once where both producer and runner can see it; the runner registers code for it, producers enqueue
/// calls with type-checked arguments and read type-checked results. Names are free text, so the function behind
/// one can equally be Python.
///
/// ```swift
/// let add = JobFunction<Int, Int, Int>("examples.add")   // (Int, Int) -> Int
///
/// functions.register(add) { x, y in x + y }               // runner side
/// let job = try await queue.enqueue(add, 3, 4)            // producer side
/// let sum = try await job.result()                        // 7, as Int
/// ```
public struct JobFunction<Output: Codable & Sendable, each Argument: Codable & Sendable>: Sendable {
    /// The function name stored in the job, e.g. `examples.add`.
    public let name: String

    /// Names a function whose types are given by the generic parameters: the result type first, then the
    /// argument types.
    ///
    /// - Parameter name: the function name stored in the job, e.g. `examples.add`.
    public init(_ name: String) {
        self.name = name
    }

    /// The number of positional arguments.
    var argumentCount: Int {
        var count = 0
        func tally<T>(_: T.Type) { count += 1 }
        repeat tally((each Argument).self)
        return count
    }

    /// Encodes arguments to RQ's positional `args`.
    func encodeArguments(_ arguments: repeat each Argument) throws -> [JSONValue] {
        var args: [JSONValue] = []
        for argument in repeat each arguments { args.append(try JSONValue(encoding: argument)) }
        return args
    }

    /// Binds the function to a queue, like RQ's `@job(queue)` decorator, so calls read `add.delay(3, 4)`.
    ///
    /// - Parameters:
    ///   - queue: the queue the calls are enqueued on.
    ///   - options: the options every call is enqueued with.
    /// - Returns: the function bound to `queue`, whose ``BoundJobFunction/delay(_:)`` enqueues a call.
    public func bound(to queue: Queue, options: EnqueueOptions = .init()) -> BoundJobFunction<
        Output, repeat each Argument
    > {
        BoundJobFunction(function: self, queue: queue, options: options)
    }
}

/// A ``JobFunction`` bound to a queue and default options: RQ's `@job` decorator.
///
/// ```swift
/// let add = JobFunction<Int, Int, Int>("examples.add").bound(to: queue)
/// let job = try await add.delay(3, 4)
/// ```
public struct BoundJobFunction<Output: Codable & Sendable, each Argument: Codable & Sendable>: Sendable {
    /// The typed function each ``delay(_:)`` enqueues a call of.
    public let function: JobFunction<Output, repeat each Argument>
    /// The queue the calls are enqueued on.
    public let queue: Queue
    /// The options every call is enqueued with (timeout, TTLs, retry, …).
    public let options: EnqueueOptions

    /// Enqueues a call with the bound options.
    ///
    /// - Parameter arguments: the positional arguments, of the function's types.
    /// - Returns: the job, whose result reads as `Output`.
    /// - Throws: what ``Queue/enqueue(_:_:options:)`` throws.
    @discardableResult
    public func delay(_ arguments: repeat each Argument) async throws -> TypedJob<Output> {
        try await queue.enqueue(function, repeat each arguments, options: options)
    }
}

/// A job whose result type is known.
public struct TypedJob<Output: Decodable & Sendable>: Sendable {
    /// The untyped job.
    public var job: Job
    /// The job id.
    public var id: String { job.id }

    /// Wraps a job whose result is known to decode as `Output`, such as one fetched by id; nothing is checked
    /// until the result is read.
    ///
    /// - Parameter job: the untyped job.
    public init(job: Job) { self.job = job }

    /// Waits for the job to end and returns its decoded result; see ``Job/result(timeout:)``.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until the job ends or disappears.
    /// - Throws: what ``Job/result(as:timeout:)`` throws: ``JobFailure`` if the job failed or was stopped,
    ///   ``RQError`` `timeout`, `noSuchJob`, or `invalidJob` if the result does not decode as `Output`.
    public func result(timeout: Duration? = nil) async throws -> Output {
        try await job.result(as: Output.self, timeout: timeout)
    }

    /// The current status; see ``Job/currentStatus()``.
    ///
    /// - Throws: what ``Job/currentStatus()`` throws.
    public func currentStatus() async throws -> JobStatus { try await job.currentStatus() }

    /// The newest result of any kind; see ``Job/latestResult()``.
    ///
    /// - Throws: what ``Job/latestResult()`` throws.
    public func latestResult() async throws -> JobResult? { try await job.latestResult() }

    /// Waits for the next result of any kind; see ``Job/waitForResult(timeout:)``.
    ///
    /// - Parameter timeout: the longest wait; `nil` waits until the job ends or disappears.
    /// - Throws: what ``Job/waitForResult(timeout:)`` throws.
    public func waitForResult(timeout: Duration? = nil) async throws -> JobResult {
        try await job.waitForResult(timeout: timeout)
    }
}

extension Queue {
    /// Enqueues a typed call; the arguments are checked against the function's types at compile time.
    ///
    /// - Parameters:
    ///   - function: the typed function to call.
    ///   - arguments: the positional arguments, of the function's types.
    ///   - options: the job's id, timeouts, TTLs, dependencies, retries and other settings.
    /// - Returns: the job, whose result reads as `Output`.
    /// - Throws: `EncodingError` if an argument cannot be encoded as JSON; otherwise what
    ///   ``enqueue(_:args:kwargs:options:)`` throws.
    @discardableResult
    public func enqueue<Output, each Argument>(
        _ function: JobFunction<Output, repeat each Argument>, _ arguments: repeat each Argument,
        options: EnqueueOptions = .init()
    ) async throws -> TypedJob<Output> {
        let args = try function.encodeArguments(repeat each arguments)
        return TypedJob(job: try await enqueue(function.name, args: args, options: options))
    }
}
