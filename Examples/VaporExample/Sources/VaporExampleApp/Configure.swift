public import RQ
public import Vapor

/// What the routes use to enqueue and look up jobs: one Redis client and the queue, kept in the application's
/// storage. ``RQLifecycle`` closes the client when the application shuts down.
public struct RQContext: Sendable {
    /// The Redis client (one per application: its connections are shared by every request).
    public let redis: Redis
    /// The queue the routes enqueue on.
    public let queue: Queue
}

extension Application {
    private struct RQContextKey: StorageKey {
        typealias Value = RQContext
    }

    /// The application's swift-rq client and queue; set by ``configure(_:settings:)``.
    public var rq: RQContext {
        guard let context = storage[RQContextKey.self] else {
            fatalError("swift-rq is not configured: call configure(_:settings:) first")
        }
        return context
    }

    fileprivate func setRQ(_ context: RQContext) async {
        await storage.setWithAsyncShutdown(RQContextKey.self, to: context)
    }
}

extension Request {
    /// The application's swift-rq client and queue.
    public var rq: RQContext { application.rq }
}

/// Sets the application up: the Redis client and queue, the routes, and — unless `settings.worker` is `.none` —
/// a worker pool that starts and stops with the application (``RQLifecycle``).
public func configure(_ app: Application, settings: RQSettings) async throws {
    let redis = try Redis(url: settings.redisURL, logger: app.logger)
    await app.setRQ(RQContext(redis: redis, queue: Queue(settings.queue, redis: redis)))

    var pool: WorkerPool?
    if let execution = settings.worker.execution {
        var configuration = WorkerPoolConfiguration(queues: [settings.queue], execution: execution)
        configuration.concurrency = settings.concurrency
        pool = WorkerPool(configuration: configuration, redis: redis, logger: app.logger)
    }
    app.lifecycle.use(RQLifecycle(redis: redis, pool: pool))
    try routes(app)
}

extension RQSettings.Worker {
    /// How the pool runs jobs; `nil` for no pool.
    var execution: WorkerPoolConfiguration.Execution? {
        switch self {
        case .none: nil
        case .inProcess: .inProcess(ExampleJobs.registry)
        case .horses(let runner): .horse(runner: runner)
        }
    }
}
