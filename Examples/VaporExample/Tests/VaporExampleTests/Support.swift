import Foundation
import RQ
import RQTesting
import Testing
import VaporExampleApp
import VaporTesting

/// The example application as a test runs it: a redis-server of its own on a loopback port, the application
/// configured against it and booted (so its worker pool runs), and a tester that sends real HTTP requests to it.
struct RunningApp {
    let server: RedisServer
    /// A client of the test's own, to check what the application wrote.
    let redis: Redis
    let app: Application
    let http: any TestingApplicationTester

    var queue: Queue { Queue("default", redis: redis) }

    static func start(worker: RQSettings.Worker) async throws -> RunningApp {
        let server = try await RedisServer.start()
        let app = try await Application.make(.testing)
        app.logger.logLevel = .warning  // every request and job at info would bury a failure's own lines
        do {
            try await configure(app, settings: RQSettings(redisURL: server.url, worker: worker, concurrency: 2))
            try await app.asyncBoot()
            // Each request starts the HTTP server on a free port, sends the request over TCP, and stops the server.
            let http = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            return RunningApp(server: server, redis: try server.makeClient(), app: app, http: http)
        } catch {
            try? await app.asyncShutdown()
            await server.stop()
            throw error
        }
    }

    /// Shuts the application down (the worker pool's warm shutdown), then stops Redis.
    func stop() async throws {
        if !app.didShutdown { try await app.asyncShutdown() }
        await redis.close()
        await server.stop()
    }

    /// Runs `body` against a started application, and stops it afterwards whatever happens.
    static func with(
        worker: RQSettings.Worker = .inProcess, _ body: (RunningApp) async throws -> Void
    ) async throws {
        let running = try await start(worker: worker)
        do {
            try await body(running)
        } catch {
            try? await running.stop()
            throw error
        }
        try await running.stop()
    }
}
