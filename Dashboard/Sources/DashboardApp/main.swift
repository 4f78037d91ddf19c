// rq-dashboard-swift: swift-rq's dashboard in a Hummingbird app, and the Hummingbird integration example — the app
// enqueues from a route and awaits the result, and runs a WorkerPool beside the HTTP server in one ServiceGroup.
//
//   RQ_REDIS_URL=redis://127.0.0.1:6379/0 DASHBOARD_USER=admin DASHBOARD_PASSWORD=secret rq-dashboard-swift
//
// Environment: RQ_REDIS_URL (default redis://127.0.0.1:6379/0), DASHBOARD_HOST (127.0.0.1), DASHBOARD_PORT (8080;
// 0 picks a free port), DASHBOARD_USER and DASHBOARD_PASSWORD (without them the dashboard is read-only),
// RQ_QUEUES (comma-separated, default "default"), RQ_CONCURRENCY (2; 0 runs no worker pool),
// DASHBOARD_SAMPLE_SECONDS (5). It prints `listening on http://HOST:PORT` once it serves.
//
// Tracing: with OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_TRACES_EXPORTER other
// than `none`) set, swift-otel exports the app's traces over OTLP/HTTP — each request's server span, swift-rq's
// `publish <queue>` span under it and the worker's `consume <queue>` span under that — configured by the standard
// OTEL_* variables (OTEL_SERVICE_NAME, default rq-dashboard-swift; OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or
// http/json; OTEL_TRACES_SAMPLER, OTEL_BSP_SCHEDULE_DELAY…). Traces only: no metrics or logs exporter. Without those
// variables there is no tracer, and swift-rq starts no span.
//
// Routes: the dashboard under /rq; POST /add?a=1&b=2 enqueues `dashboard_app.add` and answers its result
// (`{"job_id": "…", "result": 3}`); POST /jobs/sleep?seconds=N and POST /jobs/fail?message=M enqueue a job and
// answer its id at once (202), for trying the dashboard. SIGTERM or SIGINT: graceful shutdown of all its services.
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OTel
import RQ
import RQDashboard
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The app's job functions; the worker pool runs them in horses, which are this executable started again.
enum AppFunctions {
    static let add = JobFunction<Int, Int, Int>("dashboard_app.add")
    static let sleep = JobFunction<Double, Double>("dashboard_app.sleep")
    static let fail = JobFunction<String, String>("dashboard_app.fail")

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static var registry: JobFunctionRegistry {
        var functions = JobFunctionRegistry()
        functions.register(add) { x, y in x + y }
        // Sleeps in steps of a second, writing its progress to `meta` (the job page shows it).
        functions.register(sleep) { seconds in
            let steps = max(1, Int(seconds.rounded(.up)))
            for step in 0..<steps {
                if let context = JobContext.current {
                    try await context.saveMeta(["progress": .int(step), "total": .int(steps)])
                }
                try await Task.sleep(for: .seconds(seconds / Double(steps)))
            }
            return seconds
        }
        functions.register(fail) { message in throw Failure(description: message) }
        return functions
    }
}

// A horse runs its one job and exits here.
await JobRunner(functions: AppFunctions.registry).runHorseIfRequested()

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}

/// Bootstraps swift-otel's tracer if the environment asks for it — an OTLP endpoint, or a traces exporter other than
/// `none` — and returns the service that exports the spans, to run in the app's ServiceGroup. Metrics and logs stay
/// off, so swift-metrics and swift-log keep the backends they have.
func bootstrapTracing() throws -> (any Service)? {
    let endpoint = environment("OTEL_EXPORTER_OTLP_ENDPOINT") ?? environment("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    guard environment("OTEL_TRACES_EXPORTER").map({ $0 != "none" }) ?? (endpoint != nil) else { return nil }
    var configuration = OTel.Configuration.default
    configuration.serviceName = "rq-dashboard-swift"  // OTEL_SERVICE_NAME overrides it
    configuration.metrics.enabled = false
    configuration.logs.enabled = false
    // The other OTEL_* variables (endpoint, protocol, sampler, batch delay…) override the configuration in here.
    return try OTel.bootstrap(configuration: configuration)
}

// Once, before anything traces. (A horse returned above: spans a job starts in its horse are not exported.)
let observability = try bootstrapTracing()

let logger = Logger(label: "rq-dashboard-swift")
let redis = try Redis(url: environment("RQ_REDIS_URL") ?? "redis://127.0.0.1:6379/0")
let queueNames = (environment("RQ_QUEUES") ?? "default").split(separator: ",").map(String.init)
let queue = Queue(queueNames[0], redis: redis)
let host = environment("DASHBOARD_HOST") ?? "127.0.0.1"
let port = environment("DASHBOARD_PORT").flatMap { Int($0) } ?? 8080

var dashboardConfiguration = DashboardConfiguration(pathPrefix: "/rq")
if let user = environment("DASHBOARD_USER"), let password = environment("DASHBOARD_PASSWORD") {
    dashboardConfiguration.credentials = DashboardCredentials(user: user, password: password)
}
if let seconds = environment("DASHBOARD_SAMPLE_SECONDS").flatMap({ Int($0) }) {
    dashboardConfiguration.sampleInterval = .seconds(seconds)
}
let dashboard = RQDashboard(redis: redis, configuration: dashboardConfiguration)

func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
}

let router = Router()
// A server span per request, so a job's `publish` span is a child of the request that enqueued it.
if observability != nil { router.add(middleware: TracingMiddleware()) }
router.add(middleware: LogRequestsMiddleware(.debug))
router.get("/") { _, _ in Response.redirect(to: "/rq") }
dashboard.addRoutes(to: router)
// Enqueue, then await the result (XREAD BLOCK on the job's result stream, no polling) and answer it.
router.post("add") { request, _ -> Response in
    guard let a = request.uri.queryParameters.get("a", as: Int.self),
        let b = request.uri.queryParameters.get("b", as: Int.self)
    else { throw HTTPError(.badRequest, message: "give two integers: /add?a=1&b=2") }
    let job = try await queue.enqueue(AppFunctions.add, a, b)
    do {
        let sum = try await job.result(timeout: .seconds(60))
        return json(["job_id": .string(job.id), "result": .int(sum)])
    } catch let failure as JobFailure {
        return json(["job_id": .string(job.id), "error": .string(failure.excString)], status: .internalServerError)
    }
}
router.post("jobs/sleep") { request, _ -> Response in
    let seconds = request.uri.queryParameters.get("seconds", as: Double.self) ?? 30
    let job = try await queue.enqueue(AppFunctions.sleep, seconds, options: EnqueueOptions(timeout: 3600))
    return json(["job_id": .string(job.id)], status: .accepted)
}
router.post("jobs/fail") { request, _ -> Response in
    let message = request.uri.queryParameters.get("message") ?? "it failed"
    let job = try await queue.enqueue(AppFunctions.fail, message)
    return json(["job_id": .string(job.id)], status: .accepted)
}

let app = Application(
    router: router,
    configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "rq-dashboard-swift"),
    onServerRunning: { channel in
        print("listening on http://\(host):\(channel.localAddress?.port ?? port)")
        fflush(nil)
    },
    logger: logger)

// The group shuts its services down in the reverse order: the exporter last, so it sends the spans that end while
// the pool drains.
var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
if let observability { services.append(.init(service: observability)) }
services += [.init(service: app), .init(service: dashboard.sampler)]
let concurrency = environment("RQ_CONCURRENCY").flatMap { Int($0) } ?? 2
if concurrency > 0 {
    var configuration = WorkerPoolConfiguration(
        queues: queueNames, execution: .horse(runner: JobRunner.executablePath))
    configuration.concurrency = concurrency
    configuration.jobMonitoringInterval = .seconds(5)
    services.append(.init(service: WorkerPool(configuration: configuration, redis: redis, logger: logger)))
}
let group = ServiceGroup(
    configuration: ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
try await group.run()
