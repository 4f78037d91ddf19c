import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The tools RQ users already run, in their default configuration, on a Redis with Swift workers: rq-dashboard 0.9
/// and rq-exporter 3.1 from PyPI, and a headless Chromium screenshot of the dashboard's workers page.
///
/// Jobs here use Python RQ's default serializer (`JobSerializer.pickle`): rq-dashboard 0.9 reads a busy worker's
/// current job with pickle whatever its `-j` flag says, so a JSON job there breaks its workers page — for a Python
/// `rq worker -S json` just the same.
@Suite struct RQToolsTests {
    @Test func dashboardAndExporterShowSwiftWorkers() async throws {
        // A server of its own, so the pages show only this test's queues and worker.
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let reports = Queue("reports", redis: redis, serializer: .pickle)
        let low = Queue("low", redis: redis, serializer: .pickle)

        // A finished and a failed job, run by a burst worker that is gone when the pages are read.
        let finished = try await reports.enqueue("examples.add", args: [2, 3])
        let failed = try await reports.enqueue("examples.fail", args: ["boom"])
        try await RunningWorker.start(queues: ["reports"], redis: redis, burst: true).task.value
        // A busy worker: its current job runs for a minute, two more wait behind it, three wait on another queue.
        let current = try await reports.enqueue("examples.sleep", args: [60])
        for n in 0..<2 { try await reports.enqueue("examples.add", args: [.int(n), 1]) }
        for n in 0..<3 { try await low.enqueue("examples.add", args: [.int(n), 2]) }
        let worker = RunningWorker.start(queues: ["reports"], redis: redis) { $0.name = "swift-worker-1" }
        #expect(
            try await eventually {
                try await redis.send("HGET", "rq:worker:swift-worker-1", "current_job").string == current.id
            })

        let dashboardPort = try RedisServer.freePort()
        let exporterPort = try RedisServer.freePort()
        let dashboard = try CommandProcess(
            "/usr/bin/env",
            ["python3", "-m", "rq_dashboard", "-u", server.url, "-b", "127.0.0.1", "-p", "\(dashboardPort)"])
        let exporter = try CommandProcess(
            "/usr/bin/env",
            ["python3", "-m", "rq_exporter", "--redis-url", server.url, "--host", "127.0.0.1", "-p", "\(exporterPort)"])
        defer {
            dashboard.signal(SIGKILL)
            exporter.signal(SIGKILL)
        }
        let base = "http://127.0.0.1:\(dashboardPort)"

        // The workers page's data: the Swift worker, busy, with its current job.
        let workersJSON = try await HTTP.json(base + "/0/data/workers.json", log: dashboard)
        let workers = try #require(workersJSON["workers"]?.arrayValue)
        #expect(workers.count == 1)
        let swiftWorker = try #require(workers.first)
        #expect(swiftWorker["name"] == "swift-worker-1")
        #expect(swiftWorker["state"] == "busy")
        #expect(swiftWorker["queues"] == ["reports"])
        #expect(swiftWorker["current_job"]?["job_id"] == .string(current.id))
        #expect(swiftWorker["current_job"]?["call_string"] == "examples.sleep(60)")
        #expect(try await HTTP.get(base + "/0/view/workers").status == 200)

        // Job pages: the result of one, the error of the other.
        let finishedJSON = try await HTTP.json(base + "/0/data/job/\(finished.id).json", log: dashboard)
        #expect(finishedJSON["status"] == "finished")
        #expect(finishedJSON["result"] == 5)
        let failedJSON = try await HTTP.json(base + "/0/data/job/\(failed.id).json", log: dashboard)
        #expect(failedJSON["status"] == "failed")
        #expect(failedJSON["exc_info"]?.stringValue?.contains("boom") == true)
        #expect(try await HTTP.get(base + "/0/view/job/\(failed.id)").status == 200)

        // Queue counts.
        let queues = try #require(
            try await HTTP.json(base + "/0/data/queues.json", log: dashboard)["queues"]?.arrayValue)
        let reportsRow = try #require(queues.first { $0["name"] == "reports" })
        #expect(reportsRow["count"] == 2)
        #expect(reportsRow["started_job_registry_count"] == 1)
        #expect(reportsRow["finished_job_registry_count"] == 1)
        #expect(reportsRow["failed_job_registry_count"] == 1)
        #expect(queues.first { $0["name"] == "low" }?["count"] == 3)

        // rq-exporter's metrics: the worker and the job counts.
        let metrics = try await HTTP.text("http://127.0.0.1:\(exporterPort)/metrics", log: exporter)
        for line in [
            #"rq_workers{name="swift-worker-1",queues="reports",state="busy"} 1.0"#,
            #"rq_jobs{queue="reports",status="queued"} 2.0"#,
            #"rq_jobs{queue="reports",status="started"} 1.0"#,
            #"rq_jobs{queue="reports",status="finished"} 1.0"#,
            #"rq_jobs{queue="reports",status="failed"} 1.0"#,
            #"rq_jobs{queue="low",status="queued"} 3.0"#,
            #"rq_workers_success_total{name="swift-worker-1",queues="reports"} 0.0"#,
        ] {
            #expect(metrics.contains(line + "\n"), "\(line)")
        }

        // The workers page as a browser renders it (its table is filled in by script from workers.json), then as a
        // screenshot (RQ_SCREENSHOT_DIR=docs/images writes the README's).
        let dom = try CommandProcess(
            "/usr/bin/env",
            [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
                base + "/0/view/workers",
            ])
        #expect(await dom.waitForExit(timeout: .seconds(60)) == 0, "\(dom.log)")
        #expect(dom.log.contains("swift-worker-1"))
        #expect(dom.log.contains("examples.sleep(60)"))
        let screenshot =
            ProcessInfo.processInfo.environment["RQ_SCREENSHOT_DIR"].map {
                URL(fileURLWithPath: $0).appendingPathComponent("rq-dashboard-workers.png")
            } ?? FileManager.default.temporaryDirectory.appendingPathComponent("rq-dashboard-\(UUID().uuidString).png")
        let chromium = try CommandProcess(
            "/usr/bin/env",
            [
                "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--screenshot=\(screenshot.path)", "--window-size=1100,420", "--virtual-time-budget=5000",
                base + "/0/view/workers",
            ])
        #expect(await chromium.waitForExit(timeout: .seconds(60)) == 0, "\(chromium.log)")
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 10_000, "a page with content, not a blank one")

        worker.task.cancel()
        _ = try? await worker.task.value
        await server.stop()
    }
}

/// Plain HTTP GETs for the tools' pages, retried until the tool answers.
enum HTTP {
    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// The body of a 200 answer, waiting up to 30 s for the server to start.
    static func text(_ url: String, log: CommandProcess) async throws -> String {
        var answer: (status: Int, body: Data)?
        _ = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
            answer = try? await get(url)
            return answer?.status == 200
        }
        guard let answer, answer.status == 200 else {
            throw PythonError.failed(status: Int32(answer?.status ?? -1), stderr: "GET \(url): \(log.log)")
        }
        return String(decoding: answer.body, as: UTF8.self)
    }

    static func json(_ url: String, log: CommandProcess) async throws -> JSONValue {
        try JSONValue(parsing: try await text(url, log: log))
    }
}
