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
// Routes: the dashboard under /rq; POST /add?a=1&b=2 enqueues `dashboard_app.add` and answers its result
// (`{"job_id": "…", "result": 3}`); POST /jobs/sleep?seconds=N and POST /jobs/fail?message=M enqueue a job and
// answer its id at once (202), for trying the dashboard. SIGTERM or SIGINT: graceful shutdown of all three services.
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
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

var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
    .init(service: app), .init(service: dashboard.sampler),
]
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
