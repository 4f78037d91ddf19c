/// An error from the Redis layer: connecting, talking to, or being answered with an error by a Redis server.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members (`error.code == .connectionFailed`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidURL = "invalid URL"
            case connectionFailed = "connection failed"
            case connectionLost = "connection lost"
            case timeout = "timeout"
            case server = "server error"
            case protocolError = "protocol error"
            case closed = "closed"
            case cancelled = "cancelled"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A Redis URL could not be parsed; the message names the bad part.
        public static let invalidURL = Code(.invalidURL)
        /// No connection could be made within the connect timeout; the message names host:port.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke while commands were in flight; they may or may not have run.
        public static let connectionLost = Code(.connectionLost)
        /// No reply arrived within the command timeout.
        public static let timeout = Code(.timeout)
        /// Redis answered with an error reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...).
        public static let server = Code(.server)
        /// The reply was not what the command should return.
        public static let protocolError = Code(.protocolError)
        /// The client was closed.
        public static let closed = Code(.closed)
        /// The calling task was cancelled while waiting on a blocking command.
        public static let cancelled = Code(.cancelled)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A one-line explanation, naming the address, URL part or command concerned.
    public var message: String

    /// An error, for code built on the library that reports Redis failures the same way (a test double, a tool).
    ///
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: a one-line explanation naming the address, URL part or command concerned.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether the error is one that passes: the server unreachable, restarting or failing over (connection
    /// failures, timeouts, `LOADING`, `READONLY`, `MASTERDOWN`, `TRYAGAIN`), so the same command may succeed later.
    public var isTransient: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .timeout: return true
        case .server:
            return ["LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN"].contains {
                message.hasPrefix($0) || message.contains(": \($0)")
            }
        default: return false
        }
    }
}
