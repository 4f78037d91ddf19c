import Foundation
import RQ
import RQTesting
import Testing

/// The example app as a user meets it: a real `rq-dashboard-swift` process with its worker pool (horses of itself)
/// on its own redis-server, driven over HTTP and looked at in headless Chromium. One at a time: each runs a worker
/// pool and a browser on the shared cores.
@Suite(.serialized)
struct DashboardTests {
    @Test func enqueueThroughHTTPReadsTheResult() async throws {
        let app = try await RunningApp.start(environment: ["DASHBOARD_SAMPLE_SECONDS": "1"])
        // The sampler's first reading is its baseline; a sample exists once it has read twice.
        func samples() async throws -> [JSONValue] {
            let stats = try JSONValue(parsing: try await HTTP.send("GET", app.base + "/rq/stats.json").body)
            return stats["samples"]?.arrayValue ?? []
        }
        #expect(try await eventually { try await !samples().isEmpty }, "the sampler runs")
        let answer = try await HTTP.send("POST", app.base + "/add?a=2&b=3")
        #expect(answer.status == 200, "\(answer.body)")
        let value = try JSONValue(parsing: answer.body)
        #expect(value["result"] == .int(5))
        let id = try #require(value["job_id"]?.stringValue)
        let job = try await Job.fetch(id: id, redis: app.redis)
        #expect(job.status == .finished)
        #expect(job.functionName == "dashboard_app.add")
        #expect(job.meta["traceparent"] == nil, "no tracer, so no trace context, without OTEL_* variables")
        #expect(try await job.latestResult()?.returnValue == .int(5))

        let bad = try await HTTP.send("POST", app.base + "/add?a=two&b=3")
        #expect(bad.status == 400)

        // Two more sums and two failures: the sampler's graphs count exactly these five outcomes.
        for (a, b) in [(10, 20), (-1, 1)] {
            let sum = try JSONValue(parsing: try await HTTP.send("POST", app.base + "/add?a=\(a)&b=\(b)").body)
            #expect(sum["result"] == .int(a + b))
        }
        for message in ["first", "second"] {
            #expect(try await HTTP.send("POST", app.base + "/jobs/fail?message=\(message)").status == 202)
        }
        var totals = (finished: 0, failed: 0)
        let counted = try await eventually {
            totals = try await samples().reduce((0, 0)) {
                ($0.0 + ($1["finished"]?.intValue ?? 0), $0.1 + ($1["failed"]?.intValue ?? 0))
            }
            return totals.finished == 3 && totals.failed == 2
        }
        #expect(counted, "samples counted \(totals)")
        let overview = try await Chromium.dom(app.base + "/rq")
        #expect(overview.contains("<polyline"), "the throughput graph has lines")
        let png = try await Chromium.screenshot(app.base + "/rq", name: "dashboard-queues.png", height: 600)
        #expect(png.count > 10_000, "a page with content, not a blank one")
        try await app.stop()
    }

    @Test func pagesShowABusyWorkerAndAFailedJobAndActionsTakeEffect() async throws {
        let app = try await RunningApp.start()
        let message = uniqueName("disk-full")
        let busy = try JSONValue(parsing: try await HTTP.send("POST", app.base + "/jobs/sleep?seconds=300").body)
        let failed = try JSONValue(
            parsing: try await HTTP.send("POST", app.base + "/jobs/fail?message=\(message)").body)
        let busyID = try #require(busy["job_id"]?.stringValue)
        let failedID = try #require(failed["job_id"]?.stringValue)
        #expect(
            try await eventually {
                let busyStatus = try await Job.fetch(id: busyID, redis: app.redis).status
                let failedStatus = try await Job.fetch(id: failedID, redis: app.redis).status
                return busyStatus == .started && failedStatus == .failed
            })
        // The busy job writes its progress each second; wait for the first step to be in `meta`.
        #expect(try await eventually { try await Job.fetch(id: busyID, redis: app.redis).meta["progress"] != nil })

        // The app's pool runs jobs in horses and publishes them with its heartbeat (every 5 s): the sleeping job's
        // horse, a live process, and warm ones.
        var horses: [Worker.Horse] = []
        let published = try await eventually {
            horses = try await Worker.all(redis: app.redis).first?.horses ?? []
            return horses.contains { $0.jobID == busyID } && horses.contains(where: \.isWarm)
        }
        #expect(published, "\(horses)")
        let busyHorse = try #require(horses.first { $0.jobID == busyID })
        #expect(kill(pid_t(busyHorse.pid), 0) == 0, "the busy horse is a live process")

        // Workers: the Swift worker is busy, with the sleeping job in one of its slots and in its horses.
        let workers = try await Chromium.dom(app.base + "/rq/workers")
        let worker = try #require(try await Worker.all(redis: app.redis).first)
        #expect(workers.contains(worker.name))
        #expect(workers.contains(busyID), "the running job is listed under its worker")
        #expect(workers.contains("dashboard_app.sleep(300"))
        #expect(workers.contains("swift-rq"), "the worker's version")
        let horseRow =
            workers.components(separatedBy: "<tr id=\"horse-\(busyHorse.pid)\">").dropFirst().first?
            .components(separatedBy: "</tr>").first ?? ""
        #expect(horseRow.contains(">\(busyHorse.pid)<"), "the busy horse's pid: \(workers)")
        #expect(horseRow.contains(busyID) && horseRow.contains(">busy<"), "the busy horse's row: \(horseRow)")
        #expect(horseRow.contains("rq-dashboard-swift"), "the runner: \(horseRow)")
        #expect(workers.contains(">warm<"), "the warm horses")

        // Queues: the counts of every registry, as Redis has them.
        let overview = try await Chromium.dom(app.base + "/rq")
        #expect(overview.contains("registry=failed\">1</a>"), "one failed job in the failed column")
        #expect(overview.contains("registry=started\">1</a>"), "one running job in the started column")

        // The failed job's page shows its error; the busy job's shows its progress.
        let failedPage = try await Chromium.dom(app.base + "/rq/job?id=\(failedID)")
        #expect(failedPage.contains("class=\"error\""))
        #expect(failedPage.contains(message), "the exception text is on the page")
        let busyPage = try await Chromium.dom(app.base + "/rq/job?id=\(busyID)")
        #expect(busyPage.contains("<progress"))
        #expect(busyPage.contains("of 300"))

        for (path, name) in [
            ("/rq/workers", "dashboard-workers.png"),
            ("/rq/job?id=\(failedID)", "dashboard-failed-job.png"), ("/rq/job?id=\(busyID)", "dashboard-job.png"),
        ] {
            let png = try await Chromium.screenshot(app.base + path, name: name)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            #expect(png.count > 10_000, "a page with content, not a blank one: \(name)")
        }

        // Actions need the credentials.
        let anonymous = try await HTTP.send("POST", app.base + "/rq/actions/requeue?job=\(failedID)")
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Basic ") == true)
        let wrong = try await HTTP.send(
            "POST", app.base + "/rq/actions/requeue?job=\(failedID)", user: RunningApp.user, password: "guess")
        #expect(wrong.status == 401)
        #expect(try await Job.fetch(id: failedID, redis: app.redis).results().count == 1, "nothing was requeued")

        // Requeue: the failed job runs again (and fails again: a second result).
        let requeue = try await HTTP.action(app, "/rq/actions/requeue?job=\(failedID)")
        #expect(requeue.status == 303)
        #expect(requeue.headers["location"] == "/rq/job?id=\(failedID)")
        #expect(try await eventually { try await Job.fetch(id: failedID, redis: app.redis).results().count == 2 })

        // Stop: the worker kills the busy job's horse; the job ends stopped, in the failed registry.
        let stop = try await HTTP.action(app, "/rq/actions/stop?job=\(busyID)&next=/rq/workers")
        #expect(stop.status == 303)
        #expect(stop.headers["location"] == "/rq/workers")
        #expect(try await eventually { try await Job.fetch(id: busyID, redis: app.redis).status == .stopped })
        #expect(try await JobRegistry(.failed, queue: "default", redis: app.redis).contains(busyID))
        #expect(try await !JobRegistry(.started, queue: "default", redis: app.redis).contains(busyID))
        // The horses are as of the worker's last heartbeat: the stopped job's horse leaves them with the next one.
        #expect(
            try await eventually {
                try await !(Worker.all(redis: app.redis).first?.horses ?? []).contains { $0.pid == busyHorse.pid }
            })
        let afterStop = try await Chromium.dom(app.base + "/rq/workers")
        #expect(!afterStop.contains(busyID), "the stopped job left its worker's slot and its horses")
        #expect(!afterStop.contains("horse-\(busyHorse.pid)"), "the stopped job's horse was killed")
        #expect(afterStop.contains(worker.name))
        try await app.stop()
    }

    @Test func cancelDeleteEmptySuspendAndPaging() async throws {
        // No worker: the jobs stay where the actions put them.
        let app = try await RunningApp.start(concurrency: 0)
        let queue = Queue("default", redis: app.redis)
        var ids: [String] = []
        for index in 0..<30 { ids.append(try await queue.enqueue("dashboard_app.add", args: [.int(index), 1]).id) }

        // Paging: 25 a page, newest registry entries first; the queue in its order.
        let second = try await HTTP.send("GET", app.base + "/rq/queue?name=default&registry=queued&page=2")
        #expect(second.status == 200)
        #expect(second.body.contains("page 2 of 2"))
        #expect(second.body.contains(ids[29]) && second.body.contains(ids[25]))
        #expect(!second.body.contains(ids[24]))
        #expect(try await HTTP.send("GET", app.base + "/rq/job?id=no-such-job").status == 404)
        // What a page's live update fetches: the content alone, as it stands now.
        let live = try await HTTP.send("GET", app.base + "/rq", headers: ["X-RQ-Partial": "1"])
        #expect(live.status == 200)
        #expect(!live.body.contains("<html") && live.body.contains("<h1>Queues</h1>"))
        #expect(live.body.contains("registry=queued\">30</a>"))
        #expect(try await HTTP.send("GET", app.base + "/rq/job?id=\(ids[0])").body.contains("dashboard_app.add(0, 1)"))

        // A request from another site's page, with the credentials the browser would add, is refused.
        let crossSite = try await HTTP.action(
            app, "/rq/actions/delete?job=\(ids[1])", headers: ["Origin": "http://elsewhere.example"])
        #expect(crossSite.status == 403)
        #expect(try await Job.exists(id: ids[1], redis: app.redis))

        #expect(try await HTTP.action(app, "/rq/actions/cancel?job=\(ids[0])").status == 303)
        #expect(try await Job.fetch(id: ids[0], redis: app.redis).status == .canceled)
        #expect(try await JobRegistry(.canceled, queue: "default", redis: app.redis).contains(ids[0]))
        #expect(try await HTTP.action(app, "/rq/actions/stop?job=\(ids[2])").status == 409, "a queued job")

        #expect(try await HTTP.action(app, "/rq/actions/delete?job=\(ids[1])").status == 303)
        #expect(try await !Job.exists(id: ids[1], redis: app.redis))
        #expect(try await HTTP.action(app, "/rq/actions/delete?job=\(ids[1])").status == 404)

        #expect(try await HTTP.action(app, "/rq/actions/empty?queue=default&registry=queued").status == 303)
        #expect(try await queue.count() == 0)
        #expect(try await !Job.exists(id: ids[2], redis: app.redis))
        #expect(try await HTTP.action(app, "/rq/actions/empty?queue=default&registry=canceled").status == 303)
        #expect(try await JobRegistry(.canceled, queue: "default", redis: app.redis).count() == 0)
        #expect(try await !Job.exists(id: ids[0], redis: app.redis))

        // `next` leads back into the dashboard only, never to another site.
        let suspend = try await HTTP.action(app, "/rq/actions/suspend?next=//elsewhere.example/rq")
        #expect(suspend.status == 303)
        #expect(suspend.headers["location"] == "/rq")
        #expect(try await Worker.isSuspended(redis: app.redis))
        #expect(try await HTTP.send("GET", app.base + "/rq").body.contains("suspended"))
        #expect(try await HTTP.action(app, "/rq/actions/resume").status == 303)
        #expect(try await !Worker.isSuspended(redis: app.redis))
        try await app.stop()
    }

    @Test func schedulerPageShowsScheduledJobsAndCronSchedulers() async throws {
        let app = try await RunningApp.start(concurrency: 0)
        let queue = Queue("default", redis: app.redis)
        let later = try await queue.enqueue(at: Date().addingTimeInterval(3600), "dashboard_app.add", args: [1, 2])
        let cron = try CronScheduler(
            redis: app.redis,
            jobs: [CronJob("dashboard_app.add", args: [4, 5], schedule: try .cron("0 3 * * *"), name: "nightly-sum")],
            name: "dashboard-test-cron")
        let running = Task { try await cron.run() }
        #expect(
            try await eventually { try await !app.redis.send("ZRANGE", "rq:cron_schedulers", 0, -1).strings.isEmpty })

        let page = try await Chromium.dom(app.base + "/rq/scheduler")
        #expect(page.contains(later.id))
        #expect(page.contains("dashboard_app.add(1, 2)"))
        #expect(page.contains("nightly-sum"))
        #expect(page.contains("0 3 * * *"))
        #expect(page.contains("dashboard-test-cron"))
        try await Chromium.screenshot(app.base + "/rq/scheduler", name: "dashboard-scheduler.png", height: 480)

        #expect(try await HTTP.action(app, "/rq/actions/cancel?job=\(later.id)&next=/rq/scheduler").status == 303)
        #expect(try await Job.fetch(id: later.id, redis: app.redis).status == .canceled)
        #expect(try await !JobRegistry(.scheduled, queue: "default", redis: app.redis).contains(later.id))
        #expect(try await !Chromium.dom(app.base + "/rq/scheduler").contains(later.id))

        cron.triggerGracefulShutdown()
        try await running.value
        try await app.stop()
    }
}
