import RQ
import Vapor

/// How the application uses swift-rq: which Redis, which queue, and whether — and how — it runs a worker pool.
public struct RQSettings: Sendable {
    /// Where the jobs the application enqueues are run.
    public enum Worker: Sendable, Equatable {
        /// No pool in this process: workers elsewhere run the jobs (`vapor-example` is a runner too, see README).
        case none
        /// A pool that runs each job in a Task of this process (RQ's `SimpleWorker`): the simplest set-up.
        case inProcess
        /// A pool that runs each job in a horse, a fresh process of `runner` (RQ's default `Worker`): a crash or a
        /// timeout kill costs only that job. `runner` is usually this executable, ``RQSettings/ownExecutable``.
        case horses(runner: String)
    }

    /// The Redis URL, as redis-py and `swift-rq -u` take it.
    public var redisURL: String
    /// The queue the routes enqueue on and the pool takes jobs from.
    public var queue: String
    /// Where the jobs run.
    public var worker: Worker
    /// How many jobs the pool runs at once.
    public var concurrency: Int

    public init(
        redisURL: String = "redis://127.0.0.1:6379/0", queue: String = "default", worker: Worker = .inProcess,
        concurrency: Int = 4
    ) {
        self.redisURL = redisURL
        self.queue = queue
        self.worker = worker
        self.concurrency = concurrency
    }

    /// This executable, for ``Worker/horses(runner:)``: its `main` calls `JobRunner.runHorseIfRequested()` first.
    public static var ownExecutable: String { JobRunner.executablePath }

    /// The settings from the environment: `REDIS_URL` (default `redis://127.0.0.1:6379/0`), `RQ_QUEUE` (default
    /// `default`), `RQ_WORKER` (`in-process`, the default; `horse`, horses of this executable; `none`) and
    /// `RQ_CONCURRENCY` (default 4).
    ///
    /// - Throws: ``SettingsError`` naming the variable whose value is not understood.
    public static func fromEnvironment() throws -> RQSettings {
        var settings = RQSettings()
        if let url = Environment.get("REDIS_URL"), !url.isEmpty { settings.redisURL = url }
        if let queue = Environment.get("RQ_QUEUE"), !queue.isEmpty { settings.queue = queue }
        switch Environment.get("RQ_WORKER") ?? "in-process" {
        case "in-process", "": settings.worker = .inProcess
        case "horse": settings.worker = .horses(runner: ownExecutable)
        case "none": settings.worker = .none
        case let other:
            throw SettingsError(description: "RQ_WORKER=\(other): use in-process, horse or none")
        }
        if let text = Environment.get("RQ_CONCURRENCY") {
            guard let concurrency = Int(text), concurrency >= 1 else {
                throw SettingsError(description: "RQ_CONCURRENCY=\(text): use a whole number, 1 or more")
            }
            settings.concurrency = concurrency
        }
        return settings
    }
}

/// An environment variable whose value ``RQSettings/fromEnvironment()`` does not understand.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
}
