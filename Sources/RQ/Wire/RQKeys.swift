/// Every Redis key name of Python RQ 2.12 (wire-format reference §1).
enum RQKeys {
    static let queues = "rq:queues"
    static let queuePrefix = "rq:queue:"
    static let workers = "rq:workers"
    static let suspended = "rq:suspended"
    static let groups = "rq:groups"

    static func queue(_ name: String) -> String { "rq:queue:\(name)" }
    static func intermediate(_ queue: String) -> String { "rq:queue:\(queue):intermediate" }
    static func job(_ id: String) -> String { "rq:job:\(id)" }
    static func dependents(_ id: String) -> String { "rq:job:\(id):dependents" }
    /// The double colon is RQ's, kept for compatibility.
    static func dependencies(_ id: String) -> String { "rq:job::\(id):dependencies" }
    static func results(_ id: String) -> String { "rq:results:\(id)" }
    static func execution(_ id: String, _ execution: String) -> String { "rq:execution:\(id):\(execution)" }
    static func executions(_ id: String) -> String { "rq:executions:\(id)" }
    static func started(_ queue: String) -> String { "rq:wip:\(queue)" }
    static func finished(_ queue: String) -> String { "rq:finished:\(queue)" }
    static func failed(_ queue: String) -> String { "rq:failed:\(queue)" }
    static func deferred(_ queue: String) -> String { "rq:deferred:\(queue)" }
    static func scheduled(_ queue: String) -> String { "rq:scheduled:\(queue)" }
    static func canceled(_ queue: String) -> String { "rq:canceled:\(queue)" }
    static func worker(_ name: String) -> String { "rq:worker:\(name)" }
    static func queueWorkers(_ queue: String) -> String { "rq:workers:\(queue)" }
    static func pubsub(_ worker: String) -> String { "rq:pubsub:\(worker)" }
    static func group(_ name: String) -> String { "rq:group:\(name)" }
    static func cleaningLock(_ queue: String) -> String { "rq:clean_registries:\(queue)" }
    static func scheduler(_ name: String) -> String { "rq:scheduler:\(name)" }
    static func schedulerLock(_ queue: String) -> String { "rq:scheduler-lock:\(queue)" }
    static let cronSchedulers = "rq:cron_schedulers"
    static func cronScheduler(_ name: String) -> String { "rq:cron_scheduler:\(name)" }
    static let cronJobs = "rq:cron_jobs"
    static func cronJobLastTick(_ name: String) -> String { "rq:cron_job:\(name):last_tick" }
    static func cronJobHistory(_ name: String) -> String { "rq:cron_job:\(name):jobs" }
}
