import ExampleFunctions
import Foundation
import RQ
import RQCommandLine
import RQTesting
import Testing

/// `worker --metrics-port`: the Prometheus endpoint of a worker process, scraped as Prometheus would.
@Suite struct MetricsTests {
    /// Issue #15's acceptance: 3 finished and 2 failed jobs on `default` show in `/metrics` — through `swift-rq`
    /// with `--runner`, and through a runner's own command line (`CommandLineHost`). A Redis of its own, so the
    /// queue can be `default` itself.
    @Test(arguments: ["swift-rq", "example-jobs"])
    func workerServesPrometheusMetrics(executable: String) async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue("default", redis: redis)
        for index in 0..<3 { try await queue.enqueue(ExampleFunctions.add, index, 1) }
        for _ in 0..<2 { try await queue.enqueue(ExampleFunctions.fail, "expected failure") }
        let port = try RedisServer.freePort()
        var arguments = ["worker", "-u", server.url, "--metrics-port", "\(port)", "default"]
        if executable == "swift-rq" { arguments += ["--runner", exampleJobsPath] }
        let worker = try CommandProcess(builtExecutable(executable), arguments)
        let url = "http://127.0.0.1:\(port)/metrics"
        var body = ""
        let scraped = try await eventually {
            body = (try? await HTTP.get(url)).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            return body.contains(#"rq_job_duration_seconds_count{queue="default"} 5"#)
        }
        #expect(scraped, "\(body)\n--- worker log ---\n\(worker.log)")
        #expect(body.contains(#"rq_worker_jobs_total{queue="default",status="finished"} 3"#), "\(body)")
        #expect(body.contains(#"rq_worker_jobs_total{queue="default",status="failed"} 2"#), "\(body)")
        #expect(body.contains(#"rq_job_queue_wait_seconds_count{queue="default"} 5"#), "\(body)")
        #expect(body.contains("# TYPE rq_horse_spawn_seconds histogram"), "\(body)")
        #expect(body.contains("rq_warm_horses "), "\(body)")
        #expect(body.contains("rq_worker_busy_slots 0"), "\(body)")
        let notFound = try await HTTP.get("http://127.0.0.1:\(port)/")
        #expect(notFound.status == 404)
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(30)) == 0, "\(worker.log)")
        await server.stop()
    }

    /// The way of a program that runs a `WorkerPool` itself (`PrometheusEndpoint.bootstrap`, on a port the system
    /// chooses), and what the acceptance test does not reach: the producer's count, a retry, and the failure after it.
    @Test func poolInThisProcessCountsEnqueuesAndRetries() async throws {
        let endpoint = try await InProcessMetrics.endpoint.value()
        let redis = try await SharedRedis.client()
        let name = uniqueName("metrics")
        let queue = Queue(name, redis: redis)
        try await queue.enqueue(ExampleFunctions.add, 1, 2)
        try await queue.enqueue(ExampleFunctions.fail, "again", options: EnqueueOptions(retry: Retry(max: 1)))
        let worker = RunningWorker.start(queues: [name], redis: redis, inProcess: true)
        let url = "http://127.0.0.1:\(endpoint.port)/metrics"
        var body = ""
        let scraped = try await eventually {
            body = (try? await HTTP.get(url)).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            return body.contains(#"rq_worker_jobs_total{queue="\#(name)",status="failed"} 1"#)
        }
        #expect(scraped, "\(body)")
        #expect(body.contains(#"rq_worker_jobs_total{queue="\#(name)",status="retried"} 1"#), "\(body)")
        #expect(body.contains(#"rq_worker_jobs_total{queue="\#(name)",status="finished"} 1"#), "\(body)")
        #expect(body.contains(#"rq_job_duration_seconds_count{queue="\#(name)"} 3"#), "\(body)")
        #expect(body.contains(#"rq_enqueued_total{queue="\#(name)"} 2"#), "\(body)")
        try await worker.stop()
    }

    /// A job that overruns its timeout counts as `timed_out`, one ended by a stop-job command as `stopped`.
    @Test func timeoutsAndStopsHaveStatusesOfTheirOwn() async throws {
        let endpoint = try await InProcessMetrics.endpoint.value()
        let redis = try await SharedRedis.client()
        let name = uniqueName("metrics")
        let queue = Queue(name, redis: redis)
        try await queue.enqueue(ExampleFunctions.sleep, 30, options: EnqueueOptions(timeout: 1))
        let worker = RunningWorker.start(queues: [name], redis: redis, inProcess: true)
        let url = "http://127.0.0.1:\(endpoint.port)/metrics"
        var body = ""
        func scraped(_ line: String) async throws -> Bool {
            try await eventually {
                body = (try? await HTTP.get(url)).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
                return body.contains(line)
            }
        }
        #expect(try await scraped(#"rq_worker_jobs_total{queue="\#(name)",status="timed_out"} 1"#), "\(body)")
        let stopped = try await queue.enqueue(ExampleFunctions.sleep, 30)
        #expect(try await eventually { try await stopped.currentStatus() == .started })
        #expect(try await Worker.sendStopJobCommand(jobID: stopped.id, redis: redis) == 1)
        #expect(try await scraped(#"rq_worker_jobs_total{queue="\#(name)",status="stopped"} 1"#), "\(body)")
        try await worker.stop()
    }

    /// A job whose worker died (its started-registry entry expired, nobody heartbeats it) is found by the next
    /// worker's registry maintenance, which fails it and counts it as `abandoned`.
    @Test func abandonedJobsFoundByMaintenanceAreCounted() async throws {
        let endpoint = try await InProcessMetrics.endpoint.value()
        let redis = try await SharedRedis.client()
        let name = uniqueName("metrics")
        let queue = Queue(name, redis: redis)
        let job = try await queue.enqueue(ExampleFunctions.add, 1, 2)
        // Started by a worker that then died: off the queue, in the started registry with a heartbeat long expired.
        try await redis.transaction([
            RedisCommand("LREM", "rq:queue:\(name)", 1, job.id),
            RedisCommand("ZADD", "rq:wip:\(name)", Int(Date().timeIntervalSince1970) - 100, "\(job.id):e1"),
            RedisCommand("HSET", "rq:job:\(job.id)", "status", "started", "worker_name", "dead-worker"),
        ])
        let worker = RunningWorker.start(queues: [name], redis: redis, inProcess: true)
        let url = "http://127.0.0.1:\(endpoint.port)/metrics"
        var body = ""
        let scraped = try await eventually {
            body = (try? await HTTP.get(url)).map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            return body.contains(#"rq_worker_jobs_total{queue="\#(name)",status="abandoned"} 1"#)
        }
        #expect(scraped, "\(body)")
        #expect(try await job.currentStatus() == .failed)
        try await worker.stop()
    }

    /// A bind address that is not a numeric IP address stops the worker before it starts, saying so.
    @Test func badBindAddressIsRefused() async throws {
        let process = try CommandProcess(
            rqPath, ["worker", "--metrics-port", "0", "--metrics-bind", "localhost", "--runner", exampleJobsPath])
        let status = await process.waitForExit(timeout: .seconds(30))
        #expect(status != 0 && status != nil)
        #expect(process.log.contains("not a numeric IP address"), "\(process.log)")
    }
}

/// This test process's metrics, bootstrapped once (`MetricsSystem.bootstrap` may run only once a process); other
/// tests' workers report into it too, on queues of their own.
enum InProcessMetrics {
    static let endpoint = Once { try PrometheusEndpoint.bootstrap(port: 0) }
}
