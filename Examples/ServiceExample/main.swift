// A long-lived service that embeds a swift-rq worker pool next to its own work, in one ServiceGroup.
//
//   service-example redis://127.0.0.1:6379/0 [queue…]
//
// SIGTERM or SIGINT starts a graceful shutdown: the pool takes no new jobs, lets running ones finish (up to the
// group's maximum graceful shutdown duration), and unregisters; then the process exits 0.
import ExampleFunctions
import Logging
import RQ
import ServiceLifecycle
import UnixSignals

/// Stands for the rest of the application (an HTTP server, say): runs until graceful shutdown.
struct ApplicationService: Service {
    let logger: Logger
    func run() async throws {
        logger.info("application started")
        try? await gracefulShutdown()
        logger.info("application stopping")
    }
}

// Horses are this same executable, started again in horse mode.
await JobRunner(functions: ExampleFunctions.registry).runHorseIfRequested()

let arguments = CommandLine.arguments.dropFirst()
let url = arguments.first ?? "redis://127.0.0.1:6379/0"
let queues = arguments.count > 1 ? Array(arguments.dropFirst()) : ["default"]
let logger = Logger(label: "service-example")
let redis = try Redis(url: url)
var configuration = WorkerPoolConfiguration(queues: queues, execution: .horse(runner: JobRunner.executablePath))
configuration.concurrency = 2
let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)

let group = ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [
            .init(service: ApplicationService(logger: logger)),
            .init(service: pool),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
try await group.run()
logger.info("service stopped")
