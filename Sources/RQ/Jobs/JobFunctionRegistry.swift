/// One call of a job function: the name and RQ's positional and keyword arguments.
public struct JobCall: Sendable {
    /// The name the job was enqueued under, e.g. `examples.add`; the registry picks the handler by it.
    public var functionName: String
    /// The positional arguments, in order (Python's `*args`); decode one with ``argument(_:as:)``.
    public var args: [JSONValue]
    /// The keyword arguments (Python's `**kwargs`), in the order the producer gave them.
    public var kwargs: JSONObject

    /// A call to run with ``JobFunctionRegistry/call(_:)``; workers make one from each job they dequeue.
    ///
    /// - Parameters:
    ///   - functionName: the registered name to call.
    ///   - args: the positional arguments.
    ///   - kwargs: the keyword arguments.
    public init(functionName: String, args: [JSONValue] = [], kwargs: JSONObject = [:]) {
        self.functionName = functionName
        self.args = args
        self.kwargs = kwargs
    }

    /// RQ's call string, e.g. `examples.add(2, 3)`: each argument's Python `repr`, cut to `maxArgumentLength`
    /// characters (RQ's job descriptions use 75; `rq enqueue` does not cut).
    ///
    /// - Parameter maxArgumentLength: the most characters of each argument's `repr` kept; nil keeps them whole.
    /// - Returns: the call as Python source text, `name(arg, …, key=value, …)`.
    public func callString(maxArgumentLength: Int? = 75) -> String {
        PythonRepr.callString(function: functionName, args: args, kwargs: kwargs, maxLength: maxArgumentLength)
    }

    /// Decodes positional argument `index` (0-based) as `T`.
    ///
    /// - Parameters:
    ///   - index: the argument's 0-based position.
    ///   - type: the type to decode it as, from its JSON form.
    /// - Returns: the decoded argument.
    /// - Throws: ``RQError`` `invalidArgument` naming the function, the position and the expected type.
    public func argument<T: Decodable>(_ index: Int, as type: T.Type = T.self) throws(RQError) -> T {
        guard index < args.count else {
            throw RQError(
                .invalidArgument, "\(functionName)() missing positional argument \(index + 1) (\(T.self))")
        }
        do {
            return try args[index].decode(T.self)
        } catch {
            throw RQError(
                .invalidArgument,
                "\(functionName)() argument \(index + 1) must be \(T.self), got \(PythonRepr.truncate(PythonRepr.repr(args[index])))"
            )
        }
    }
}

/// The code behind a job function: takes the call, returns the JSON result.
public typealias JobHandler = @Sendable (JobCall) async throws -> JSONValue

/// The job functions a worker or runner can run, by name.
///
/// Only registered functions run: a job naming anything else fails with a clear error. (Python RQ imports whatever
/// dotted path the job names; this registry is deliberately stricter.)
///
/// ```swift
/// var functions = JobFunctionRegistry()
/// functions.register(add) { x, y in x + y }                    // typed
/// functions.register("examples.echo") { call in                // by name
///     ["args": .array(call.args), "kwargs": .object(call.kwargs)]
/// }
/// ```
public struct JobFunctionRegistry: Sendable {
    private var handlers: [String: JobHandler] = [:]
    private var callbacks: [String: JobCallbackHandler] = [:]

    /// An empty registry; add job functions with `register(_:_:)` (by name or typed) and callbacks with
    /// ``registerCallback(_:_:)``.
    public init() {}

    /// Registers a callback that jobs can name in ``EnqueueOptions/onSuccess``, ``EnqueueOptions/onFailure`` or
    /// ``EnqueueOptions/onStopped``. Callbacks and job functions have separate names.
    ///
    /// ```swift
    /// functions.registerCallback("reports.notify") { job, outcome in
    ///     if case .finished(let value) = outcome { print("\(job.id) made \(value)") }
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the name jobs give the callback; a later registration of the same name replaces it.
    ///   - handler: the code, called with the job and how it ended.
    public mutating func registerCallback(_ name: String, _ handler: @escaping JobCallbackHandler) {
        callbacks[name] = handler
    }

    /// The registered callback names, sorted.
    public var callbackNames: [String] { callbacks.keys.sorted() }

    /// Runs a callback.
    ///
    /// - Throws: ``RQError`` `unknownFunction` if no callback is registered under the name, or what it throws.
    func callback(_ name: String, job: Job, outcome: JobCallbackOutcome) async throws {
        guard let handler = callbacks[name] else {
            throw RQError(
                .unknownFunction,
                "no callback is registered as '\(name)' (registered: \(callbackNames.joined(separator: ", ")))")
        }
        try await handler(job, outcome)
    }

    /// Registers untyped code under a name; a later registration of the same name replaces it.
    ///
    /// - Parameters:
    ///   - name: the function name jobs are enqueued under, e.g. `examples.echo`.
    ///   - handler: the code, given the call and returning the result; what it throws fails the job.
    public mutating func register(_ name: String, _ handler: @escaping JobHandler) {
        handlers[name] = handler
    }

    /// Registers typed code for a ``JobFunction``: positional arguments are decoded into the parameter types and
    /// the return value encoded as the result.
    ///
    /// A call with keyword arguments, the wrong number of positional arguments, or an argument that does not decode
    /// fails with ``RQError`` `invalidArgument` before `body` runs.
    ///
    /// - Parameters:
    ///   - function: the typed function; its name is the one jobs are enqueued under.
    ///   - body: the code, given the decoded arguments; what it throws fails the job.
    public mutating func register<Output, each Argument>(
        _ function: JobFunction<Output, repeat each Argument>,
        _ body: @escaping @Sendable (repeat each Argument) async throws -> Output
    ) {
        let name = function.name
        let expected = function.argumentCount
        handlers[name] = { call in
            guard call.kwargs.isEmpty else {
                throw RQError(
                    .invalidArgument,
                    "\(name)() takes positional arguments only, got keyword arguments \(call.kwargs.keys.sorted())")
            }
            guard call.args.count == expected else {
                throw RQError(
                    .invalidArgument,
                    "\(name)() takes \(expected) positional arguments but \(call.args.count) were given")
            }
            let cursor = ArgumentCursor(call: call)
            let output = try await body(repeat try cursor.next((each Argument).self))
            return try JSONValue(encoding: output)
        }
    }

    /// The registered names, sorted.
    public var names: [String] { handlers.keys.sorted() }

    /// The handler for a name.
    ///
    /// - Parameter name: the function name.
    /// - Returns: the registered handler, or nil if nothing is registered under `name`.
    public func handler(for name: String) -> JobHandler? { handlers[name] }

    /// Runs a call.
    ///
    /// - Parameter call: the function name and arguments.
    /// - Returns: the function's result.
    /// - Throws: ``RQError`` `unknownFunction` if nothing is registered under the name, or what the function throws.
    public func call(_ call: JobCall) async throws -> JSONValue {
        guard let handler = handlers[call.functionName] else {
            throw RQError(
                .unknownFunction,
                "no job function is registered as '\(call.functionName)' (registered: \(names.joined(separator: ", ")))"
            )
        }
        return try await handler(call)
    }
}

/// Hands out positional arguments in order while a parameter pack is expanded.
private final class ArgumentCursor {
    let call: JobCall
    var index = 0
    init(call: JobCall) { self.call = call }

    func next<T: Decodable>(_ type: T.Type) throws(RQError) -> T {
        defer { index += 1 }
        return try call.argument(index, as: T.self)
    }
}
