// A service that embeds a WorkerPool with itself as the runner and forgets
// `await JobRunner(functions:).runHorseIfRequested()` — the README trap that once made every horse start the whole
// service again. The test checks that one worker registers and the job fails with a message naming the call.
//
//   RQ_REDIS_URL=redis://127.0.0.1:6379/0 RQ_QUEUE=queue ForgetfulService
//
// Settings come from the environment, as in many services: a horse inherits it (its command line is the worker's).
import FoundationEssentials
import Logging
import RQ
import ServiceLifecycle
import UnixSignals

let environment = ProcessInfo.processInfo.environment
let redis = try Redis(url: environment["RQ_REDIS_URL"] ?? "redis://127.0.0.1:6379/0")
var configuration = WorkerPoolConfiguration(
    queues: [environment["RQ_QUEUE"] ?? "default"], execution: .horse(runner: JobRunner.executablePath))
configuration.concurrency = 2
let logger = Logger(label: "forgetful-service")
let pool = WorkerPool(configuration: configuration, redis: redis, logger: logger)
let group = ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: [.init(service: pool)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
try await group.run()
