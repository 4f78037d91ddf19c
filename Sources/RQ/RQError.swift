/// An error from the RQ layer: a missing or malformed job, a bad option, a duplicate id, a wait that timed out.
///
/// Redis-level failures are ``RedisError``; a job that ran and failed is ``JobFailure``.
public struct RQError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is; compare with the static members (`error.code == .noSuchJob`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case noSuchJob = "no such job"
            case invalidJob = "invalid job"
            case invalidArgument = "invalid argument"
            case duplicateJob = "duplicate job"
            case timeout = "timeout"
            case unknownFunction = "unknown function"
            case invalidState = "invalid state"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The job hash does not exist (never created, deleted, or expired).
        public static let noSuchJob = Code(.noSuchJob)
        /// A job hash exists but a field cannot be read; the message names the job and the field.
        public static let invalidJob = Code(.invalidJob)
        /// An option or argument is out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A unique enqueue found a job with that id already.
        public static let duplicateJob = Code(.duplicateJob)
        /// Waiting for a result took longer than allowed.
        public static let timeout = Code(.timeout)
        /// No function is registered under the job's name.
        public static let unknownFunction = Code(.unknownFunction)
        /// The job is not in a state that allows the operation (e.g. requeue of a job that did not fail).
        public static let invalidState = Code(.invalidState)

        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public var code: Code
    /// A one-line explanation naming the job, field or option concerned.
    public var message: String
    /// The job concerned, if any.
    public var jobID: String?
    /// The job-hash field concerned, if any.
    public var field: String?

    /// An error, for code built on the library that reports its failures the same way (a job function, a tool).
    ///
    /// - Parameters:
    ///   - code: the kind of error.
    ///   - message: a one-line explanation naming the job, field or option concerned.
    ///   - jobID: the job concerned, if any.
    ///   - field: the job-hash field concerned, if any.
    public init(_ code: Code, _ message: String, jobID: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.jobID = jobID
        self.field = field
    }

    public var description: String { message }

    static func invalidJob(_ id: String, field: String, _ why: String) -> RQError {
        RQError(.invalidJob, "job \(id): field '\(field)' \(why)", jobID: id, field: field)
    }
}

/// The error ``Job/result(timeout:)`` throws for a job that failed or was stopped.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    /// The job's id.
    public var jobID: String
    /// The result that records the failure.
    public var result: JobResult
    /// The exception text the worker recorded (a traceback from Python workers).
    public var excString: String { result.excString ?? "" }

    public var description: String {
        let last = excString.split(separator: "\n").last.map(String.init) ?? "unknown error"
        return "job \(jobID) failed: \(last)"
    }
}
