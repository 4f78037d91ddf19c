/// A job's status, as stored in the `status` field of its hash.
///
/// RQ 2.12 writes nine values. Other identifier-like values (RQ 3.0 adds `rate_limited` and `ready_to_enqueue`)
/// are read as they are, so a newer producer's jobs can still be inspected; see ``isKnown``.
public struct JobStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let created = JobStatus(rawValue: "created")
    public static let queued = JobStatus(rawValue: "queued")
    public static let started = JobStatus(rawValue: "started")
    public static let finished = JobStatus(rawValue: "finished")
    public static let failed = JobStatus(rawValue: "failed")
    public static let deferred = JobStatus(rawValue: "deferred")
    public static let scheduled = JobStatus(rawValue: "scheduled")
    public static let stopped = JobStatus(rawValue: "stopped")
    public static let canceled = JobStatus(rawValue: "canceled")

    /// The nine statuses of RQ 2.12.
    public static let allKnown: [JobStatus] = [
        .created, .queued, .started, .finished, .failed, .deferred, .scheduled, .stopped, .canceled,
    ]

    /// Whether this is one of RQ 2.12's nine statuses.
    public var isKnown: Bool { Self.allKnown.contains(self) }

    /// Whether the job has ended (finished, failed, stopped or canceled).
    public var isTerminal: Bool { self == .finished || self == .failed || self == .stopped || self == .canceled }

    /// Whether a value read from Redis can be a status at all: lower-case letters and underscores.
    static func isWellFormed(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }

    public var description: String { rawValue }
}
