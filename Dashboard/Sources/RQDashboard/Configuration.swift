/// The user name and password that the dashboard's actions (and, with ``DashboardConfiguration/protectsPages``, its
/// pages) ask for with HTTP basic authentication.
public struct DashboardCredentials: Sendable, Hashable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}

/// How a ``RQDashboard`` is mounted and what it allows.
public struct DashboardConfiguration: Sendable {
    /// Where the dashboard's routes start in the app, e.g. `/rq` (no trailing slash); `""` mounts it at the root.
    public var pathPrefix: String
    /// The credentials for the actions (requeue, delete, cancel, stop, empty, suspend, resume). Without them the
    /// dashboard is read-only: every action answers 403.
    public var credentials: DashboardCredentials?
    /// Whether the pages too need the credentials; by default only the actions do.
    public var protectsPages: Bool = false
    /// Jobs per page in the job lists.
    public var pageSize: Int = 25
    /// How often an open page fetches its content again (live updates).
    public var refreshInterval: Duration = .seconds(3)
    /// How often ``ThroughputSampler`` reads the workers' counters.
    public var sampleInterval: Duration = .seconds(5)
    /// How many samples the throughput graphs keep (the oldest fall off).
    public var sampleCapacity: Int = 120

    public init(pathPrefix: String = "", credentials: DashboardCredentials? = nil) {
        var prefix = pathPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty, !prefix.hasPrefix("/") { prefix = "/" + prefix }
        self.pathPrefix = prefix
        self.credentials = credentials
    }
}
