import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore
import RQ

/// What a page answers when the thing asked for is not there (an unknown job, registry).
struct PageNotFound: Error {
    let title: String
    let message: String
}

/// The dashboard's pages, rendered on the server from what Redis holds now.
struct Pages: Sendable {
    let dashboard: RQDashboard
    var redis: Redis { dashboard.redis }
    var layout: PageLayout {
        PageLayout(
            prefix: dashboard.configuration.pathPrefix,
            refreshSeconds: Double(dashboard.configuration.refreshInterval.components.seconds))
    }

    /// The page's title, navigation entry and content.
    struct Content {
        var title: String
        var active: String
        var body: String
    }

    /// The whole page, or only its content for a live update (`X-RQ-Partial: 1`); a missing job or registry is a
    /// 404 page.
    func respond(_ request: Request, _ render: () async throws -> Content) async throws -> Response {
        let partial = request.headers[HTTPField.Name("X-RQ-Partial")!] == "1"
        var status = HTTPResponse.Status.ok
        let content: Content
        do {
            content = try await render()
        } catch let missing as PageNotFound {
            status = .notFound
            content = Content(title: missing.title, active: "", body: "<h1>\(HTML.escape(missing.message))</h1>")
        }
        let html =
            partial ? content.body : layout.page(title: content.title, active: content.active, body: content.body)
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Queues

    /// The registries of a queue, in the order the pages show them; `queued` is the queue's list itself.
    static let registryNames = ["queued", "started", "deferred", "scheduled", "finished", "failed", "canceled"]

    struct QueueCounts {
        let name: String
        let counts: [String: Int]
        let workers: Int
    }

    func queueCounts() async throws -> [QueueCounts] {
        let names = try await Queue.allNames(redis: redis).sorted()
        var commands: [RedisCommand] = []
        for name in names {
            commands.append(RedisCommand("LLEN", Queue(name, redis: redis).key))
            for kind in JobRegistry.Kind.all { commands.append(RedisCommand("ZCARD", registry(kind, name).key)) }
            commands.append(RedisCommand("SCARD", "rq:workers:\(name)"))
        }
        let replies = commands.isEmpty ? [] : try await redis.pipeline(commands)
        let stride = JobRegistry.Kind.all.count + 2
        return names.enumerated().map { index, name in
            let row = replies[(index * stride)..<((index + 1) * stride)].map { $0.int ?? 0 }
            var counts = ["queued": row[row.startIndex]]
            for (offset, kind) in JobRegistry.Kind.all.enumerated() { counts[kind.description] = row[offset + 1] }
            return QueueCounts(name: name, counts: counts, workers: row[row.endIndex - 1])
        }
    }

    func registry(_ kind: JobRegistry.Kind, _ queue: String) -> JobRegistry {
        JobRegistry(kind, queue: queue, redis: redis)
    }

    func overview() async throws -> Content {
        let queues = try await queueCounts()
        let suspended = try await Worker.isSuspended(redis: redis)
        let workerCount = try await Worker.count(redis: redis)
        var body = suspensionBanner(suspended)
        body += "<h1>Queues</h1><table><thead><tr><th>Queue</th>"
        for name in Self.registryNames { body += "<th>\(name.prefix(1).uppercased() + name.dropFirst())</th>" }
        body += "<th>Workers</th><th></th></tr></thead><tbody>"
        for queue in queues {
            body += "<tr><td><a href=\"\(HTML.escape(dashboard.link("/queue", [("name", queue.name)])))\">"
            body += "\(HTML.escape(queue.name))</a></td>"
            for registry in Self.registryNames {
                let link = dashboard.link("/queue", [("name", queue.name), ("registry", registry)])
                body += "<td class=\"n\" data-registry=\"\(registry)\"><a href=\"\(HTML.escape(link))\">"
                body += "\(queue.counts[registry] ?? 0)</a></td>"
            }
            body += "<td class=\"n\">\(queue.workers)</td><td>"
            body += actionButton(
                "empty", [("queue", queue.name), ("registry", "queued")], label: "Empty", danger: true,
                confirm: "Remove every queued job of \(queue.name)?", next: dashboard.link("/"))
            body += "</td></tr>"
        }
        if queues.isEmpty { body += "<tr><td colspan=\"10\" class=\"muted\">No queues yet.</td></tr>" }
        body += "</tbody></table>"
        body += "<h2>Throughput</h2>" + graphs()
        body += "<h2>Workers</h2><p><a href=\"\(HTML.escape(dashboard.link("/workers")))\">\(workerCount) "
        body += "worker\(workerCount == 1 ? "" : "s")</a></p>"
        return Content(title: "Queues", active: "Queues", body: body)
    }

    func suspensionBanner(_ suspended: Bool) -> String {
        if suspended {
            return "<p class=\"banner\">Workers are <strong>suspended</strong>: they take no new jobs. "
                + actionButton("resume", [], label: "Resume", next: dashboard.link("/")) + "</p>"
        }
        return "<p class=\"muted\">Workers take jobs. "
            + actionButton(
                "suspend", [], label: "Suspend all workers", confirm: "Suspend every worker?",
                next: dashboard.link("/")) + "</p>"
    }

    func graphs() -> String {
        let samples = dashboard.sampler.samples
        let times = samples.map(\.time)
        let seconds = dashboard.configuration.sampleInterval.components.seconds
        return "<div class=\"graphs\">"
            + Graph.svg(
                title: "Jobs per \(seconds) s",
                series: [
                    Graph.Series(name: "finished", color: "#2f9e44", values: samples.map(\.finished)),
                    Graph.Series(name: "failed", color: "#d9480f", values: samples.map(\.failed)),
                ], times: times)
            + Graph.svg(
                title: "Queued jobs",
                series: [Graph.Series(name: "queued", color: "#1f5fbf", values: samples.map(\.queued))],
                times: times)
            + "</div>"
    }

    // MARK: Workers

    /// A job a worker runs now: one slot of a Swift worker, or the horse of a Python one.
    struct Slot {
        let jobID: String
        let executionID: String
        let workerName: String
        let startedAt: Date?
        let lastHeartbeat: Date?
    }

    /// The running executions (`rq:wip:{queue}` members and their `rq:execution:…` hashes) of these queues.
    func runningExecutions(queues: some Sequence<String>) async throws -> [Slot] {
        let names = Array(Set(queues)).sorted()
        guard !names.isEmpty else { return [] }
        let lists = try await redis.pipeline(names.map { RedisCommand("ZRANGE", registry(.started, $0).key, 0, -1) })
        let members = lists.flatMap(\.strings).compactMap { member -> (String, String)? in
            guard let colon = member.lastIndex(of: ":") else { return nil }
            return (String(member[..<colon]), String(member[member.index(after: colon)...]))
        }
        guard !members.isEmpty else { return [] }
        let hashes = try await redis.pipeline(members.map { RedisCommand("HGETALL", "rq:execution:\($0.0):\($0.1)") })
        return zip(members, hashes).map { member, hash in
            let fields = hash.fieldPairs
            func field(_ name: String) -> String? { fields[name].map { String(decoding: $0, as: UTF8.self) } }
            return Slot(
                jobID: member.0, executionID: member.1, workerName: field("worker_name") ?? "?",
                startedAt: field("created_at").flatMap(Double.init).map(Date.init(timeIntervalSince1970:)),
                lastHeartbeat: field("last_heartbeat").flatMap(Double.init).map(Date.init(timeIntervalSince1970:)))
        }
    }

    func workers() async throws -> Content {
        let workers = try await Worker.all(redis: redis)
        let queueNames = try await Queue.allNames(redis: redis) + workers.flatMap(\.queues)
        let slots = try await runningExecutions(queues: queueNames)
        let jobs = try await fetchJobs(slots.map(\.jobID))
        let now = Date()
        var body = suspensionBanner(try await Worker.isSuspended(redis: redis))
        body += "<h1>Workers</h1><table><thead><tr><th>Name</th><th>State</th><th>Queues</th><th>PID</th>"
        body += "<th>Host</th><th>Version</th><th>Started</th><th>Heartbeat</th><th>Finished</th><th>Failed</th>"
        body += "<th>Working time</th></tr></thead><tbody>"
        for worker in workers {
            let running = slots.filter { $0.workerName == worker.name }
            let state = worker.state == "busy" && running.count > 1 ? "busy (\(running.count) jobs)" : worker.state
            body += "<tr id=\"worker-\(HTML.escape(worker.name))\"><td><strong>\(HTML.escape(worker.name))</strong>"
            body += "</td><td><span class=\"status \(HTML.escape(worker.state))\">\(HTML.escape(state))</span></td>"
            body += "<td>\(queueLinks(worker.queues))</td><td class=\"n\">\(worker.pid.map(String.init) ?? "–")</td>"
            body += "<td>\(HTML.escape(worker.hostname ?? "–"))</td>"
            body += "<td>\(HTML.escape(worker.version ?? "–"))<br><span class=\"muted\">"
            body += "\(HTML.escape(worker.pythonVersion ?? ""))</span></td>"
            body +=
                "<td>\(HTML.timeAgo(worker.birth, now: now))</td><td>\(HTML.timeAgo(worker.lastHeartbeat, now: now))</td>"
            body += "<td class=\"n\">\(worker.successfulJobCount)</td><td class=\"n\">\(worker.failedJobCount)</td>"
            body += "<td class=\"n\">\(HTML.duration(worker.totalWorkingTime))</td></tr>"
            body += "<tr><td></td><td colspan=\"10\">"
            if running.isEmpty {
                body += "<span class=\"muted\">No job running.</span>"
            } else {
                body += "<table class=\"slots\"><thead><tr><th>Running job</th><th>Call</th><th>Running for</th>"
                body += "<th>Execution</th><th></th></tr></thead><tbody>"
                for slot in running {
                    let runningFor = slot.startedAt.map { HTML.duration(now.timeIntervalSince($0)) } ?? "–"
                    body += "<tr><td>\(jobLink(slot.jobID))</td>"
                    body += "<td><code>\(HTML.escape(jobs[slot.jobID]?.callString ?? "?"))</code></td>"
                    body += "<td>\(runningFor)</td><td><code>\(HTML.escape(slot.executionID))</code></td><td>"
                    body += actionButton(
                        "stop", [("job", slot.jobID)], label: "Stop", danger: true,
                        confirm: "Stop job \(slot.jobID)?", next: dashboard.link("/workers"))
                    body += "</td></tr>"
                }
                body += "</tbody></table>"
            }
            body += horsesTable(worker.horses, now: now)
            body += "</td></tr>"
        }
        if workers.isEmpty { body += "<tr><td colspan=\"11\" class=\"muted\">No workers.</td></tr>" }
        body += "</tbody></table>"
        return Content(title: "Workers", active: "Workers", body: body)
    }

    /// A Swift horse worker's horses (its `swift_horses` field, as of its last heartbeat): pid, busy or warm, the
    /// job, how long it has run (or waited), jobs served, and the runner binary it was spawned from — marked when it
    /// is an older build than another horse's. Nothing for in-process and Python workers, which publish none.
    func horsesTable(_ horses: [Worker.Horse], now: Date) -> String {
        guard !horses.isEmpty else { return "" }
        let newest = horses.max { ($0.runner.modified ?? .distantPast) < ($1.runner.modified ?? .distantPast) }?.runner
        var html = "<table class=\"slots horses\"><thead><tr><th>Horse PID</th><th>State</th><th>Job</th>"
        html += "<th>For</th><th>Jobs served</th><th>Runner</th></tr></thead><tbody>"
        for horse in horses {
            let state = horse.isWarm ? "warm" : "busy"
            let age = HTML.duration(max(0, now.timeIntervalSince(horse.since)))
            html += "<tr id=\"horse-\(horse.pid)\"><td class=\"n\">\(horse.pid)</td>"
            html += "<td><span class=\"status \(state)\">\(state)</span></td>"
            html += "<td>\(horse.jobID.map { jobLink($0) } ?? "<span class=\"muted\">waiting for a job</span>")</td>"
            html += horse.isWarm ? "<td class=\"muted\">warm for \(age)</td>" : "<td>running \(age)</td>"
            html += "<td class=\"n\">\(horse.jobsServed)\(horse.maxJobs.map { " of \($0)" } ?? "")</td>"
            html += "<td>\(runnerCell(horse.runner, isNewest: horse.runner == newest, now: now))</td></tr>"
        }
        html += "</tbody></table><p class=\"muted\">Horses as of the worker's last heartbeat.</p>"
        return html
    }

    /// The runner's name (its path on hover), and the identity the worker compares to notice a rebuild.
    func runnerCell(_ runner: Worker.Horse.Runner, isNewest: Bool, now: Date) -> String {
        let name = runner.path.split(separator: "/").last.map(String.init) ?? runner.path
        var html = "<code title=\"\(HTML.escape(runner.path))\">\(HTML.escape(name))</code>"
        if !isNewest { html += " <span class=\"status stopped\">older build</span>" }
        var identity: [String] = []
        if let inode = runner.inode { identity.append("inode \(inode)") }
        if let size = runner.size {
            let tenths = Int((Double(size) / 100_000).rounded())
            identity.append("\(tenths / 10).\(tenths % 10) MB")
        }
        if let modified = runner.modified { identity.append("built \(HTML.timeAgo(modified, now: now))") }
        if !identity.isEmpty { html += "<br><span class=\"muted\">\(identity.joined(separator: " · "))</span>" }
        return html
    }

    func fetchJobs(_ ids: [String]) async throws -> [String: Job] {
        guard !ids.isEmpty else { return [:] }
        let jobs = try await Job.fetchMany(ids: ids, redis: redis)
        var byID: [String: Job] = [:]
        for job in jobs.compactMap({ $0 }) { byID[job.id] = job }
        return byID
    }

    // MARK: Job lists

    func jobList(queue: String, registry name: String, page: Int) async throws -> Content {
        guard Self.registryNames.contains(name) else {
            throw PageNotFound(title: "Not found", message: "No registry named \(name)")
        }
        let pageSize = max(1, dashboard.configuration.pageSize)
        let offset = (page - 1) * pageSize
        let ids: [String]
        let total: Int
        if name == "queued" {
            let handle = Queue(queue, redis: redis)
            total = try await handle.count()
            ids = try await handle.jobIDs(offset: offset, length: pageSize)
        } else {
            let kind = JobRegistry.Kind.all.first { $0.description == name }!
            total = try await registry(kind, queue).count()
            ids = try await registry(kind, queue).jobIDs(offset: offset, length: pageSize, descending: true)
        }
        let jobs = try await fetchJobs(ids)
        let failures: [String: String] =
            name == "failed" ? try await lastLines(ids.compactMap { jobs[$0] }) : [:]
        let pages = max(1, (total + pageSize - 1) / pageSize)
        var body = "<h1>\(HTML.escape(queue)) · \(name) <span class=\"muted\">(\(total))</span></h1><p>"
        for other in Self.registryNames {
            let link = dashboard.link("/queue", [("name", queue), ("registry", other)])
            body += other == name ? "<strong>\(other)</strong> " : "<a href=\"\(HTML.escape(link))\">\(other)</a> "
        }
        if name != "started" {
            body += actionButton(
                "empty", [("queue", queue), ("registry", name)], label: "Empty \(name)", danger: true,
                confirm: "Delete every job in \(queue) \(name)?",
                next: dashboard.link("/queue", [("name", queue), ("registry", name)]))
        }
        body += "</p><table><thead><tr><th>Job</th><th>Call</th><th>Status</th><th>Created</th><th>Ended</th>"
        body += name == "failed" ? "<th>Error</th>" : ""
        body += "<th></th></tr></thead><tbody>"
        let here = dashboard.link("/queue", [("name", queue), ("registry", name), ("page", String(page))])
        for id in ids {
            guard let job = jobs[id] else {
                body += "<tr><td><code>\(HTML.escape(id))</code></td><td colspan=\"5\" class=\"muted\">"
                body += "(the job hash is gone)</td></tr>"
                continue
            }
            body +=
                "<tr><td>\(jobLink(id))</td><td><code>\(HTML.escape(String(job.callString.prefix(120))))</code></td>"
            body += "<td>\(statusBadge(job.status))</td><td>\(HTML.timeAgo(job.createdAt))</td>"
            body += "<td>\(HTML.timeAgo(job.endedAt))</td>"
            if name == "failed" { body += "<td><code>\(HTML.escape(failures[id] ?? ""))</code></td>" }
            body += "<td>"
            if name != "queued", name != "started" {
                body += actionButton("requeue", [("job", id)], label: "Requeue", next: here)
            }
            body += actionButton(
                "delete", [("job", id)], label: "Delete", danger: true, confirm: "Delete job \(id)?", next: here)
            body += "</td></tr>"
        }
        if ids.isEmpty { body += "<tr><td colspan=\"7\" class=\"muted\">No jobs.</td></tr>" }
        body += "</tbody></table><p>"
        if page > 1 {
            let link = dashboard.link("/queue", [("name", queue), ("registry", name), ("page", String(page - 1))])
            body += "<a href=\"\(HTML.escape(link))\">← newer</a> "
        }
        body += "page \(page) of \(pages)"
        if page < pages {
            let link = dashboard.link("/queue", [("name", queue), ("registry", name), ("page", String(page + 1))])
            body += " <a href=\"\(HTML.escape(link))\" rel=\"next\">older →</a>"
        }
        body += "</p>"
        return Content(title: "\(queue) \(name)", active: "Queues", body: body)
    }

    /// The last line of each failed job's latest exception text.
    func lastLines(_ jobs: [Job]) async throws -> [String: String] {
        var lines: [String: String] = [:]
        for job in jobs {
            let text = try await job.latestResult()?.excString ?? ""
            lines[job.id] = text.split(separator: "\n").last.map(String.init) ?? ""
        }
        return lines
    }

    // MARK: One job

    func job(id: String) async throws -> Content {
        guard !id.isEmpty else { throw PageNotFound(title: "Not found", message: "Which job? Give its id.") }
        let job: Job
        do {
            job = try await Job.fetch(id: id, redis: redis)
        } catch let error as RQError where error.code == .noSuchJob {
            throw PageNotFound(title: "Not found", message: "No job \(id)")
        }
        let results = try await job.results()
        let running = try await runningExecutions(queues: [job.origin]).filter { $0.jobID == id }
        let dependencies = try await fetchJobs(job.dependencyIDs)
        let dependentIDs = try await job.dependentIDs()
        let dependents = try await fetchJobs(dependentIDs)
        let here = dashboard.link("/job", [("id", id)])

        var body = "<h1>Job <code>\(HTML.escape(id))</code> \(statusBadge(job.status))</h1><p>"
        if job.status == .failed || job.status == .stopped || job.status == .canceled || job.status == .finished {
            body += actionButton("requeue", [("job", id)], label: "Requeue", next: here)
        }
        if job.status == .queued || job.status == .deferred || job.status == .scheduled {
            body += actionButton("cancel", [("job", id)], label: "Cancel", confirm: "Cancel job \(id)?", next: here)
        }
        if job.status == .started {
            body += actionButton(
                "stop", [("job", id)], label: "Stop", danger: true, confirm: "Stop job \(id)?", next: here)
        }
        body += actionButton(
            "delete", [("job", id)], label: "Delete", danger: true, confirm: "Delete job \(id)?",
            next: dashboard.link("/queue", [("name", job.origin), ("registry", "queued")]))
        body += "</p><dl>"
        let queueLink = dashboard.link("/queue", [("name", job.origin)])
        let rows: [(String, String)] = [
            ("Queue", "<a href=\"\(HTML.escape(queueLink))\">\(HTML.escape(job.origin))</a>"),
            ("Function", "<code>\(HTML.escape(job.functionName))</code>"),
            ("Call", "<code>\(HTML.escape(job.callString))</code>"),
            ("Description", HTML.escape(job.description)),
            ("Created", HTML.timeAgo(job.createdAt)),
            ("Enqueued", HTML.timeAgo(job.enqueuedAt)),
            ("Started", HTML.timeAgo(job.startedAt)),
            ("Ended", HTML.timeAgo(job.endedAt)),
            ("Worker", HTML.escape(job.workerName ?? "–")),
            ("Timeout", HTML.escape(job.timeout.map { "\($0)" } ?? "default")),
            ("Result TTL", job.resultTTL.map { "\($0) s" } ?? "default"),
            ("Failure TTL", job.failureTTL.map { "\($0) s" } ?? "default"),
            ("Retries left", job.retriesLeft.map(String.init) ?? "–"),
            ("Group", HTML.escape(job.groupID ?? "–")),
        ]
        for (name, value) in rows { body += "<dt>\(name)</dt><dd>\(value)</dd>" }
        body += "</dl>"

        body += "<h2>Arguments</h2><pre class=\"args\">\(HTML.escape(JSONValue.array(job.args).description))</pre>"
        if !job.kwargs.isEmpty {
            body += "<pre class=\"kwargs\">\(HTML.escape(JSONValue.object(job.kwargs).description))</pre>"
        }

        body += "<h2>Progress and meta</h2>"
        if let progress = job.meta["progress"]?.doubleValue {
            let total = job.meta["total"]?.doubleValue ?? (progress <= 1 ? 1 : 100)
            body += "<p><progress value=\"\(progress)\" max=\"\(total)\"></progress> "
            body += "<span class=\"progress\">\(HTML.escape(job.meta["progress"]!.description)) of "
            body += "\(HTML.escape(job.meta["total"]?.description ?? (total == 1 ? "1" : "100")))</span></p>"
        }
        body +=
            job.meta.isEmpty
            ? "<p class=\"muted\">No meta.</p>"
            : "<pre class=\"meta\">\(HTML.escape(JSONValue.object(job.meta).description))</pre>"

        body += "<h2>Result</h2>"
        if let latest = results.first {
            if latest.isSuccessful {
                body += "<pre class=\"result\">\(HTML.escape(latest.returnValue?.description ?? "null"))</pre>"
            } else {
                body += "<p>\(HTML.escape(latest.kind.description))</p>"
                body += "<pre class=\"error\">\(HTML.escape(latest.excString ?? ""))</pre>"
            }
        } else {
            body += "<p class=\"muted\">No result yet.</p>"
        }

        body += "<h2>Dependencies</h2>"
        body += dependencyTable(job.dependencyIDs, dependencies, empty: "It waits on no job.")
        body += "<h2>Dependents</h2>"
        body += dependencyTable(dependentIDs, dependents, empty: "No job waits on it.")

        body += "<h2>Executions</h2><table><thead><tr><th>Execution</th><th>Outcome</th><th>Worker</th>"
        body += "<th>Started</th><th>Ended</th><th>Took</th></tr></thead><tbody>"
        for slot in running {
            body += "<tr><td><code>\(HTML.escape(slot.executionID))</code></td><td>\(statusBadge(.started))</td>"
            body += "<td>\(HTML.escape(slot.workerName))</td><td>\(HTML.timeAgo(slot.startedAt))</td><td>–</td>"
            body += "<td>\(slot.startedAt.map { HTML.duration(Date().timeIntervalSince($0)) } ?? "–") so far</td></tr>"
        }
        for result in results {
            var took = "–"
            if let started = result.executionStartedAt, let ended = result.executionEndedAt {
                took = HTML.duration(ended.timeIntervalSince(started))
            }
            body += "<tr><td><code>\(HTML.escape(result.executionID))</code></td>"
            body += "<td>\(HTML.escape(result.kind.description))</td><td>\(HTML.escape(result.workerName))</td>"
            body += "<td>\(HTML.timeAgo(result.executionStartedAt))</td><td>\(HTML.timeAgo(result.executionEndedAt))"
            body += "</td><td>\(took)</td></tr>"
        }
        if running.isEmpty, results.isEmpty { body += "<tr><td colspan=\"6\" class=\"muted\">None yet.</td></tr>" }
        body += "</tbody></table>"
        return Content(title: "Job \(id)", active: "", body: body)
    }

    func dependencyTable(_ ids: [String], _ jobs: [String: Job], empty: String) -> String {
        guard !ids.isEmpty else { return "<p class=\"muted\">\(empty)</p>" }
        var html = "<table><tbody>"
        for id in ids {
            let job = jobs[id]
            html += "<tr><td>\(jobLink(id))</td><td>\(job.map { statusBadge($0.status) } ?? "(gone)")</td>"
            html += "<td><code>\(HTML.escape(job?.callString ?? ""))</code></td></tr>"
        }
        return html + "</tbody></table>"
    }

    // MARK: Scheduler

    func scheduler() async throws -> Content {
        let queues = try await Queue.allNames(redis: redis).sorted()
        var body = "<h1>Scheduled jobs</h1><table><thead><tr><th>Runs at</th><th>Queue</th><th>Job</th>"
        body += "<th>Call</th><th></th></tr></thead><tbody>"
        var rows = 0
        for queue in queues {
            let registry = registry(.scheduled, queue)
            let ids = try await registry.jobIDs(length: 50)
            let jobs = try await fetchJobs(ids)
            for id in ids {
                let at = try await registry.score(of: id)
                body += "<tr><td>\(HTML.timeAgo(at))</td><td>\(HTML.escape(queue))</td><td>\(jobLink(id))</td>"
                body += "<td><code>\(HTML.escape(jobs[id]?.callString ?? "?"))</code></td><td>"
                body += actionButton(
                    "cancel", [("job", id)], label: "Cancel", confirm: "Cancel job \(id)?",
                    next: dashboard.link("/scheduler"))
                body += "</td></tr>"
                rows += 1
            }
        }
        if rows == 0 { body += "<tr><td colspan=\"5\" class=\"muted\">No scheduled jobs.</td></tr>" }
        body += "</tbody></table>"

        body += "<h2>Schedulers</h2><table><thead><tr><th>Queue</th><th>Lock held by</th></tr></thead><tbody>"
        let locks =
            queues.isEmpty
            ? [] : try await redis.pipeline(queues.map { RedisCommand("GET", "rq:scheduler-lock:\($0)") })
        for (queue, lock) in zip(queues, locks) {
            body += "<tr><td>\(HTML.escape(queue))</td><td>\(HTML.escape(lock.string ?? "–"))</td></tr>"
        }
        if queues.isEmpty { body += "<tr><td colspan=\"2\" class=\"muted\">No queues.</td></tr>" }
        body += "</tbody></table>"

        body += "<h2>Cron</h2>"
        let names = try await redis.send("ZRANGE", "rq:cron_schedulers", 0, -1).strings
        var cronRows = ""
        for name in names {
            let fields = try await redis.send("HGETALL", "rq:cron_scheduler:\(name)").fieldPairs
            func field(_ key: String) -> String { fields[key].map { String(decoding: $0, as: UTF8.self) } ?? "" }
            guard !fields.isEmpty else { continue }
            let entries = (try? JSONValue(parsing: field("cron_jobs")))?.arrayValue ?? []
            for entry in entries {
                let schedule =
                    entry["cron"]?.stringValue.map { "cron <code>\(HTML.escape($0))</code>" }
                    ?? entry["interval"]?.intValue.map { "every \($0) s" } ?? "?"
                cronRows += "<tr><td>\(HTML.escape(entry["name"]?.stringValue ?? "?"))</td>"
                cronRows += "<td><code>\(HTML.escape(entry["func_name"]?.stringValue ?? "?"))</code></td>"
                cronRows += "<td>\(HTML.escape(entry["queue_name"]?.stringValue ?? "?"))</td><td>\(schedule)</td>"
                cronRows += "<td>\(HTML.escape(entry["latest_enqueue_time"]?.stringValue ?? "–"))</td>"
                cronRows += "<td>\(HTML.escape(entry["next_enqueue_time"]?.stringValue ?? "–"))</td>"
                cronRows += "<td>\(HTML.escape(name))<br><span class=\"muted\">\(HTML.escape(field("hostname")))"
                cronRows += " pid \(HTML.escape(field("pid")))</span></td></tr>"
            }
        }
        body += "<table><thead><tr><th>Cron job</th><th>Function</th><th>Queue</th><th>Schedule</th>"
        body += "<th>Last enqueued</th><th>Next</th><th>Scheduler</th></tr></thead><tbody>"
        body +=
            cronRows.isEmpty ? "<tr><td colspan=\"7\" class=\"muted\">No cron scheduler running.</td></tr>" : cronRows
        body += "</tbody></table>"
        return Content(title: "Scheduler", active: "Scheduler", body: body)
    }

    // MARK: JSON

    /// `{"queues": [{"name", "queued", "started", …}], "workers": [{"name", "state", "current_job", …}],
    /// "suspended", "samples": [{"time", "finished", "failed", "queued"}]}`.
    func statsJSON() async throws -> Response {
        let queues = try await queueCounts()
        let workers = try await Worker.all(redis: redis)
        var queueValues: [JSONValue] = []
        for queue in queues {
            var object: JSONObject = ["name": .string(queue.name), "workers": .int(queue.workers)]
            for name in Self.registryNames { object[name] = .int(queue.counts[name] ?? 0) }
            queueValues.append(.object(object))
        }
        let workerValues: [JSONValue] = workers.map { worker in
            [
                "name": .string(worker.name), "state": .string(worker.state),
                "current_job": worker.currentJobID.map(JSONValue.string) ?? .null,
                "queues": .array(worker.queues.map(JSONValue.string)),
                "successful_job_count": .int(worker.successfulJobCount),
                "failed_job_count": .int(worker.failedJobCount),
            ]
        }
        let samples: [JSONValue] = dashboard.sampler.samples.map { sample in
            [
                "time": .double(sample.time.timeIntervalSince1970), "finished": .int(sample.finished),
                "failed": .int(sample.failed), "queued": .int(sample.queued),
            ]
        }
        let value: JSONValue = [
            "queues": .array(queueValues), "workers": .array(workerValues),
            "suspended": .bool(try await Worker.isSuspended(redis: redis)), "samples": .array(samples),
        ]
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    // MARK: Pieces

    func jobLink(_ id: String) -> String {
        "<a href=\"\(HTML.escape(dashboard.link("/job", [("id", id)])))\"><code>\(HTML.escape(id))</code></a>"
    }

    func queueLinks(_ queues: [String]) -> String {
        queues.map { "<a href=\"\(HTML.escape(dashboard.link("/queue", [("name", $0)])))\">\(HTML.escape($0))</a>" }
            .joined(separator: ", ")
    }

    func statusBadge(_ status: JobStatus) -> String {
        "<span class=\"status \(HTML.escape(status.rawValue))\">\(HTML.escape(status.rawValue))</span>"
    }

    /// A form with one button that POSTs an action, then comes back to `next`.
    func actionButton(
        _ action: String, _ query: [(String, String)], label: String, danger: Bool = false, confirm: String? = nil,
        next: String
    ) -> String {
        let target = dashboard.link("/actions/\(action)", query + [("next", next)])
        let onSubmit =
            confirm.map { " data-confirm=\"\(HTML.escape($0))\" onsubmit=\"return confirm(this.dataset.confirm)\"" }
            ?? ""
        return "<form class=\"inline\" method=\"post\" action=\"\(HTML.escape(target))\"\(onSubmit)>"
            + "<button\(danger ? " class=\"danger\"" : "") data-action=\"\(action)\">\(HTML.escape(label))</button></form> "
    }
}
