/// An error that stops a ``WorkerPool`` from starting or running.
public struct WorkerPoolError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is; compare with the static members (`error.code == .nameInUse`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case nameInUse = "name in use"
            case suspended = "suspended"
            case invalidConfiguration = "invalid configuration"
            case runnerUnavailable = "runner unavailable"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A live worker already has this name.
        public static let nameInUse = Code(.nameInUse)
        /// `rq:suspended` is set and the worker was asked not to start while suspended.
        public static let suspended = Code(.suspended)
        /// A setting is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The runner executable cannot be started.
        public static let runnerUnavailable = Code(.runnerUnavailable)
        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public var code: Code
    /// A one-line explanation naming the setting, worker name or runner concerned.
    public var message: String
    /// An error, for code that starts workers and reports its failures the same way (a command-line tool).
    ///
    /// - Parameters:
    ///   - code: the kind of error.
    ///   - message: a one-line explanation naming the setting, worker name or runner concerned.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
