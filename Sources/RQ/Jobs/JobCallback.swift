/// A registered Swift function to call when a job ends — RQ's `Callback(func, timeout=60)`.
///
/// The name refers to a callback registered with ``JobFunctionRegistry/registerCallback(_:_:)`` in the process that
/// runs the job (the runner for horses). Callbacks run with their own timeout; a success callback that fails makes
/// the job fail, as in RQ.
///
/// ```swift
/// try await queue.enqueue(report, 42, options: .init(onSuccess: JobCallback("reports.notify")))
/// ```
public struct JobCallback: Sendable, Hashable {
    /// The registered callback's name.
    public var name: String
    /// How long the callback may run. Defaults to 60 seconds, RQ's default.
    public var timeout: JobTimeout

    /// Names a registered callback to run when the job ends.
    ///
    /// - Parameters:
    ///   - name: the name the callback is registered under with ``JobFunctionRegistry/registerCallback(_:_:)``.
    ///   - timeout: how long the callback may run. Defaults to 60 seconds, RQ's default.
    public init(_ name: String, timeout: JobTimeout = 60) {
        self.name = name
        self.timeout = timeout
    }
}

/// How a job ended, as given to a callback.
public enum JobCallbackOutcome: Sendable {
    /// The job returned this value.
    case finished(JSONValue)
    /// The job failed (an error, its timeout, a crash) with this text, RQ's `exc_string`.
    case failed(String)
    /// The job was stopped by a `stop-job` command.
    case stopped
}

/// The code behind a callback: the job (as it was dequeued) and how it ended.
public typealias JobCallbackHandler = @Sendable (Job, JobCallbackOutcome) async throws -> Void

/// A job's success, failure and stopped callbacks.
///
/// Python RQ stores callbacks as dotted Python paths in `success_callback_name` and friends, and Python workers *and*
/// `rq info` import those names (reference §7 item 9); a Swift name there would crash them. So Swift callbacks live in
/// a field of their own, `swift_callbacks`, which Python never reads and never deletes (its saves are `HSET`s of
/// the fields it knows): `{"success": {"name": "app.notify", "timeout": 60}, …}`.
struct JobCallbacks: Sendable, Hashable {
    static let field = "swift_callbacks"

    var success: JobCallback?
    var failure: JobCallback?
    var stopped: JobCallback?

    var isEmpty: Bool { success == nil && failure == nil && stopped == nil }

    /// The most time callbacks can add to a job run in a horse: a success callback that fails is followed by the
    /// failure callback.
    var longestRunInJob: Int {
        [success, failure].compactMap { $0?.timeout.seconds }.reduce(0) { $0 + max($1, 0) }
    }

    init(success: JobCallback? = nil, failure: JobCallback? = nil, stopped: JobCallback? = nil) {
        self.success = success
        self.failure = failure
        self.stopped = stopped
    }

    init(options: EnqueueOptions) {
        self.init(success: options.onSuccess, failure: options.onFailure, stopped: options.onStopped)
    }

    var json: JSONValue {
        var object: JSONObject = [:]
        for (key, callback) in [("success", success), ("failure", failure), ("stopped", stopped)] {
            guard let callback else { continue }
            object[key] = ["name": .string(callback.name), "timeout": .int(callback.timeout.seconds)]
        }
        return .object(object)
    }

    /// Reads the `swift_callbacks` field (or the same object inside a horse assignment).
    init(json: JSONValue?) throws(RQError) {
        guard let json else {
            self.init()
            return
        }
        guard case .object(let object) = json else {
            throw RQError(.invalidArgument, "swift_callbacks is not a JSON object")
        }
        func callback(_ key: String) throws(RQError) -> JobCallback? {
            guard let entry = object[key] else { return nil }
            guard let name = entry["name"]?.stringValue, !name.isEmpty else {
                throw RQError(.invalidArgument, "swift_callbacks.\(key) has no name")
            }
            let seconds = entry["timeout"]?.intValue ?? 60
            return JobCallback(name, timeout: try JobTimeout(seconds: seconds))
        }
        self.init(success: try callback("success"), failure: try callback("failure"), stopped: try callback("stopped"))
    }

    func validate() throws(RQError) {
        for callback in [success, failure, stopped].compactMap({ $0 }) where callback.name.isEmpty {
            throw RQError(.invalidArgument, "a callback needs the name of a registered callback")
        }
    }
}
