import FoundationEssentials
public import Hummingbird
public import RQ

/// swift-rq's dashboard: pages for queues, workers, jobs and schedulers, and the actions on them, as routes to mount
/// in a Hummingbird app. It reads and writes Redis only through the `RQ` library, so it shows Python workers and jobs
/// as well as Swift ones.
///
/// ```swift
/// let dashboard = RQDashboard(
///     redis: redis,
///     configuration: DashboardConfiguration(
///         pathPrefix: "/rq", credentials: DashboardCredentials(user: "admin", password: secret)))
/// let router = Router()
/// dashboard.addRoutes(to: router)
/// let app = Application(router: router, services: [dashboard.sampler])
/// ```
///
/// Pages (GET): `/` queues with the count of every registry and the throughput graphs, `/workers` workers and the
/// jobs they run, `/queue?name=Q&registry=R&page=N` a queue's or registry's jobs, `/job?id=ID` one job, `/scheduler`
/// scheduled jobs and cron schedulers, `/stats.json` the counts and samples as JSON. Actions (POST, basic auth):
/// `/actions/requeue|delete|cancel|stop?job=ID`, `/actions/empty?queue=Q&registry=R`, `/actions/suspend`,
/// `/actions/resume`; each answers `303 See Other` to the page in its `next` parameter (or the job's page).
public struct RQDashboard: Sendable {
    /// The client it reads and acts through.
    public let redis: Redis
    public let configuration: DashboardConfiguration
    /// The throughput sampler behind the graphs; run it in the app's service group.
    public let sampler: ThroughputSampler

    public init(redis: Redis, configuration: DashboardConfiguration = DashboardConfiguration()) {
        self.redis = redis
        self.configuration = configuration
        self.sampler = ThroughputSampler(
            redis: redis, interval: configuration.sampleInterval, capacity: configuration.sampleCapacity)
    }

    /// Adds the dashboard's routes under ``DashboardConfiguration/pathPrefix``.
    public func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        let prefix = configuration.pathPrefix
        let group = prefix.isEmpty ? router.group() : router.group(RouterPath(prefix))
        let authentication = BasicAuthentication<Context>(credentials: configuration.credentials)
        if configuration.protectsPages { group.add(middleware: authentication) }
        let pages = Pages(dashboard: self)

        group.get { request, _ in try await pages.respond(request) { try await pages.overview() } }
        group.get("workers") { request, _ in try await pages.respond(request) { try await pages.workers() } }
        group.get("queue") { request, _ in
            try await pages.respond(request) {
                try await pages.jobList(
                    queue: request.uri.queryParameters.get("name") ?? "default",
                    registry: request.uri.queryParameters.get("registry") ?? "queued",
                    page: max(1, request.uri.queryParameters.get("page", as: Int.self) ?? 1))
            }
        }
        group.get("job") { request, _ in
            let id = request.uri.queryParameters.get("id")?.trimmed ?? ""
            return try await pages.respond(request) { try await pages.job(id: id) }
        }
        group.get("scheduler") { request, _ in try await pages.respond(request) { try await pages.scheduler() } }
        group.get("stats.json") { _, _ in try await pages.statsJSON() }

        let actions = Actions(dashboard: self)
        let actionGroup = group.group("actions")
        if !configuration.protectsPages { actionGroup.add(middleware: authentication) }
        for name in Actions.names {
            actionGroup.post(RouterPath(name)) { request, _ in try await actions.perform(name, request: request) }
        }
    }

    /// A link inside the dashboard: the prefix, the path, and the query pairs encoded.
    func link(_ path: String, _ query: [(String, String)] = []) -> String {
        let base = configuration.pathPrefix + (path == "/" && !configuration.pathPrefix.isEmpty ? "" : path)
        guard !query.isEmpty else { return base }
        return base + "?" + query.map { "\($0.0)=\(HTML.query($0.1))" }.joined(separator: "&")
    }
}

extension String {
    /// Without leading and trailing white space.
    fileprivate var trimmed: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
