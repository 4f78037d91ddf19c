// vapor-example: a Vapor server whose routes enqueue swift-rq jobs, with a worker pool that runs them.
//
//   REDIS_URL=redis://127.0.0.1:6379/0 vapor-example serve --port 8080
//   curl localhost:8080/add/2/3                                     # {"id":"…","result":5}
//
// RQ_WORKER=in-process (the default) runs jobs in Tasks of this process; RQ_WORKER=horse in horses of this
// executable; RQ_WORKER=none runs no pool (workers elsewhere). See README.md.
import Logging
import RQ
import Vapor
import VaporExampleApp

@main
enum Entrypoint {
    static func main() async throws {
        // First thing, before Vapor starts: when a worker pool runs jobs in horses of this executable
        // (RQ_WORKER=horse, or `swift-rq worker --runner vapor-example`), a horse is this program started with
        // `--rq-horse`; it runs its one job here and exits. In any other start this returns at once.
        await JobRunner(functions: ExampleJobs.registry).runHorseIfRequested()

        var environment = try Environment.detect()
        try LoggingSystem.bootstrap(from: &environment)
        let app = try await Application.make(environment)
        do {
            try await configure(app, settings: try RQSettings.fromEnvironment())
            try await app.execute()
        } catch {
            app.logger.report(error: error)
            try? await app.asyncShutdown()
            throw error
        }
        // The HTTP server has stopped (SIGINT or SIGTERM); the worker pool finishes its running jobs and unregisters.
        try await app.asyncShutdown()
    }
}
