public import RQ
import Synchronization
public import Vapor

/// swift-rq's part of a Vapor application's life: a ``WorkerPool`` that runs from boot to shutdown, and the Redis
/// client, closed last.
///
/// ```swift
/// app.lifecycle.use(RQLifecycle(redis: redis, pool: pool))
/// ```
///
/// At shutdown it stops, in this order: the HTTP server (requests under way are answered; Vapor would otherwise
/// stop it only after every lifecycle handler, so new requests could enqueue jobs while the pool drains), the pool
/// with a warm shutdown (it takes no new jobs, lets the running ones finish, and unregisters its worker), and the
/// Redis client. That needs Vapor's async shutdown, `app.asyncShutdown()`, as the entry point calls it: the
/// blocking `app.shutdown()` calls only the synchronous `shutdown(_:)`, which cannot wait for the pool.
public final class RQLifecycle: LifecycleHandler {
    /// The application's Redis client.
    public let redis: Redis
    /// The pool this handler runs, if jobs run in this application.
    public let pool: WorkerPool?
    private let running = Mutex<Task<Void, Never>?>(nil)

    public init(redis: Redis, pool: WorkerPool?) {
        self.redis = redis
        self.pool = pool
    }

    /// Starts the pool in a task of its own. (Synchronous, so both `boot()` and `asyncBoot()` start it.)
    public func didBoot(_ application: Application) throws {
        guard let pool else { return }
        let logger = application.logger
        running.withLock { task in
            guard task == nil else { return }
            task = Task {
                do {
                    try await pool.run()
                } catch {
                    // Redis unreachable at start, or the worker name taken: jobs would wait for ever, so say so.
                    logger.critical("The worker pool stopped", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Stops the HTTP server, then the pool (warm: running jobs finish), then closes the Redis client.
    public func shutdownAsync(_ application: Application) async {
        await application.server.shutdown()
        if let pool, let task = running.withLock({ $0.take() }) {
            application.logger.info("Stopping the worker pool", metadata: ["rq.worker": "\(pool.name)"])
            pool.triggerGracefulShutdown()
            await task.value
        }
        await redis.close()
    }
}
