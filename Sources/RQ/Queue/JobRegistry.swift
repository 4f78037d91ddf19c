public import FoundationEssentials
import Glibc

/// One of a queue's six job registries: sorted sets of job ids with an expiry or run-at score.
public struct JobRegistry: Sendable {
    /// Which registry.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let prefix: String
        public let description: String
        public static let started = Kind(prefix: "rq:wip:", description: "started")
        public static let finished = Kind(prefix: "rq:finished:", description: "finished")
        public static let failed = Kind(prefix: "rq:failed:", description: "failed")
        public static let deferred = Kind(prefix: "rq:deferred:", description: "deferred")
        public static let scheduled = Kind(prefix: "rq:scheduled:", description: "scheduled")
        public static let canceled = Kind(prefix: "rq:canceled:", description: "canceled")
        public static let all: [Kind] = [.started, .finished, .failed, .deferred, .scheduled, .canceled]
    }

    public let kind: Kind
    public let queueName: String
    public let redis: Redis
    /// The sorted set's key, e.g. `rq:failed:default`.
    public var key: String { kind.prefix + queueName }

    public init(_ kind: Kind, queue: String, redis: Redis) {
        self.kind = kind
        self.queueName = queue
        self.redis = redis
    }

    /// The number of entries (`ZCARD`). For the started registry this counts executions, as RQ's does.
    public func count() async throws -> Int {
        try await redis.send("ZCARD", key).int ?? 0
    }

    /// Job ids in score order. Started-registry members (`{id}:{execution}`) are reduced to job ids.
    public func jobIDs(offset: Int = 0, length: Int = -1) async throws -> [String] {
        let end = length < 0 ? -1 : offset + length - 1
        let members = try await redis.send("ZRANGE", key, offset, end).strings
        guard kind == .started else { return members }
        var seen = Set<String>()
        return members.map(Self.jobID(ofMember:)).filter { seen.insert($0).inserted }
    }

    /// Whether the registry holds the job.
    public func contains(_ jobID: String) async throws -> Bool {
        if kind == .started { return try await jobIDs().contains(jobID) }
        return try await !redis.send("ZSCORE", key, jobID).isNull
    }

    /// The entry's score as a date: expiry for started/finished/failed, run time for scheduled, time added for
    /// deferred/canceled. `nil` if absent; `Date.distantFuture` for `+inf`.
    public func score(of jobID: String) async throws -> Date? {
        guard let text = try await redis.send("ZSCORE", key, jobID).string else { return nil }
        guard let seconds = Double(text), seconds.isFinite else { return .distantFuture }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Removes a job from the registry, and deletes the job too when `deleteJob` is set.
    public func remove(_ jobID: String, deleteJob: Bool = false) async throws {
        if kind == .started {
            let executions = try await redis.send("ZRANGE", RQKeys.executions(jobID), 0, -1).strings
            for execution in executions { try await redis.send("ZREM", key, "\(jobID):\(execution)") }
        } else {
            try await redis.send("ZREM", key, jobID)
        }
        if deleteJob { try await redis.evaluate(RQScripts.delete, arguments: [jobID]) }
    }

    static func jobID(ofMember member: String) -> String {
        guard let colon = member.lastIndex(of: ":") else { return member }
        return String(member[..<colon])
    }
}
