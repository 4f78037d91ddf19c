import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

/// A real HTTP server (Python's `http.server`, `Python/webhook_recorder.py`) that records the requests it gets.
final class WebhookRecorder: Sendable {
    let process: CommandProcess
    let log: URL
    let base: String

    static func start() async throws -> WebhookRecorder {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("rq-webhooks-\(UUID().uuidString)")
        let process = try CommandProcess(
            "/usr/bin/env", ["python3", Python.modulePath + "/webhook_recorder.py", log.path])
        let portFile = log.path + ".port"
        let started = try await eventually { FileManager.default.fileExists(atPath: portFile) }
        guard started, let port = try? String(contentsOfFile: portFile, encoding: .utf8) else {
            process.signal(SIGKILL)
            throw PythonError.failed(status: -1, stderr: "webhook recorder did not start: \(process.log)")
        }
        return WebhookRecorder(process: process, log: log, base: "http://127.0.0.1:\(port)")
    }

    private init(process: CommandProcess, log: URL, base: String) {
        self.process = process
        self.log = log
        self.base = base
    }

    /// The requests received so far, in order: `method`, `path`, `headers`, `body`.
    var requests: [JSONValue] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
    }

    func requests(to path: String) -> [JSONValue] { requests.filter { $0["path"]?.stringValue == path } }

    /// Lets the requests to `/hang` be answered.
    func release() { _ = FileManager.default.createFile(atPath: log.path + ".release", contents: nil) }

    func stop() {
        process.signal(SIGKILL)
        for suffix in ["", ".port", ".release"] { try? FileManager.default.removeItem(atPath: log.path + suffix) }
    }
}

/// Webhooks as RQ 2.12 sends them, between Python producers and Swift workers and the other way round.
@Suite struct WebhookInteropTests {
    /// A Python producer's webhooks, sent by a Swift worker: a POST with RQ's JSON payload for the finished job, a GET
    /// for the failed one, headers kept, nothing for a status without a webhook.
    @Test func pythonProducersWebhooksAreSentBySwiftWorkers() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let recorder = try await WebhookRecorder.start()
        defer { recorder.stop() }
        let queue = uniqueName("webhooks")
        let ids = try await Python.run(
            """
            from rq import Webhook
            q = Queue('\(queue)', connection=r, serializer=JSONSerializer)
            hooks = [
                Webhook('\(recorder.base)/finished', 'finished', method='POST', headers={'X-Token': 'abc'}),
                Webhook('\(recorder.base)/failed', 'failed', headers={'X-Token': 'abc'}, timeout=5),
            ]
            ok = q.enqueue('examples.add', 2, 3, webhooks=hooks)
            bad = q.enqueue('examples.fail', 'boom', webhooks=hooks)
            print(json.dumps([ok.id, bad.id]))
            """, url: server.url)
        let finishedID = try #require(ids.arrayValue?.first?.stringValue)
        let failedID = try #require(ids.arrayValue?.last?.stringValue)

        let worker = RunningWorker.start(queues: [queue], redis: redis, burst: true)
        try await worker.task.value

        #expect(try await eventually { recorder.requests.count >= 2 })
        let posts = recorder.requests(to: "/finished")
        let gets = recorder.requests(to: "/failed")
        #expect(posts.count == 1)
        #expect(gets.count == 1)
        #expect(recorder.requests.count == 2, "no webhook for a status it was not set for")

        // The POST's body is the payload Python's own Webhook.get_payload makes from the job as the worker left it.
        let python = try await Python.run(
            """
            job = Job.fetch('\(finishedID)', connection=r, serializer=JSONSerializer)
            failed = Job.fetch('\(failedID)', connection=r, serializer=JSONSerializer)
            print(json.dumps({'payload': json.dumps(job.webhooks[0].get_payload(job)),
                              'status': job.get_status(), 'result': job.return_value(),
                              'failed_status': failed.get_status()}))
            """, url: server.url)
        let post = try #require(posts.first)
        #expect(post["method"] == "POST")
        #expect(post["headers"]?["X-Token"] == "abc")
        #expect(post["headers"]?["Content-Type"] == "application/json")
        #expect(post["body"] == python["payload"])
        #expect(python["status"] == "finished")
        #expect(python["result"] == 5)
        #expect(python["failed_status"] == "failed")

        let get = try #require(gets.first)
        #expect(get["method"] == "GET")
        #expect(get["headers"]?["X-Token"] == "abc")
        #expect(get["body"] == .null)
    }

    /// Endpoints that refuse, fail or do not answer change nothing about the job, and the worker does not wait for
    /// them: the next job runs while a webhook request is still open.
    @Test func unreachableOrSlowEndpointsChangeNothingAboutTheJob() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let recorder = try await WebhookRecorder.start()
        defer { recorder.stop() }
        let queue = Queue(uniqueName("webhooks"), redis: redis)
        let first = try await queue.enqueue(
            "examples.add", args: [2, 3],
            options: EnqueueOptions(webhooks: [
                Webhook(url: "http://127.0.0.1:1/refused", jobStatus: .finished, method: .post),
                Webhook(url: recorder.base + "/status/500", jobStatus: .finished),
                Webhook(url: recorder.base + "/hang", jobStatus: .finished, timeout: 60),
            ]))
        let second = try await queue.enqueue("examples.add", args: [4, 5])

        let worker = RunningWorker.start(queues: [queue.name], redis: redis, concurrency: 1)
        #expect(try await first.result(as: Int.self, timeout: .seconds(30)) == 5)
        #expect(try await second.result(as: Int.self, timeout: .seconds(30)) == 9)
        // Both jobs ran while the request to /hang is held open by the server.
        #expect(try await eventually { !recorder.requests(to: "/hang").isEmpty })
        #expect(recorder.requests(to: "/status/500").count == 1)
        let job = try await first.refreshed()
        #expect(job.status == .finished)
        #expect(try await redis.send("HEXISTS", "rq:job:\(first.id)", "exc_info").int == 0)
        recorder.release()
        try await worker.stop()
    }

    /// A synchronous queue sends the webhooks before `enqueue` returns, as Python's `run_sync` does.
    @Test func synchronousQueuesSendWebhooksBeforeReturning() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let recorder = try await WebhookRecorder.start()
        defer { recorder.stop() }
        let queue = Queue(uniqueName("webhooks"), redis: redis, runningSynchronouslyWith: ExampleFunctions.registry)
        let job = try await queue.enqueue(
            "examples.fail", args: ["boom"],
            options: EnqueueOptions(webhooks: [
                Webhook(url: recorder.base + "/sync-failed", jobStatus: .failed, method: .post)
            ]))
        #expect(job.status == .failed)
        let post = try #require(recorder.requests(to: "/sync-failed").first)
        let payload = try JSONValue(parsing: try #require(post["body"]?.stringValue))
        #expect(payload["status"] == "failed")
        #expect(payload["exc_info"]?.stringValue?.contains("boom") == true)
    }

    /// A Swift producer's webhooks are stored in RQ's format: Python reads them, and a Python worker sends them.
    @Test func swiftProducersWebhooksAreSentByPythonWorkers() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let recorder = try await WebhookRecorder.start()
        defer { recorder.stop() }
        let queue = Queue(uniqueName("webhooks"), redis: redis)
        let job = try await queue.enqueue(
            "examples.add", args: [2, 3],
            options: EnqueueOptions(webhooks: [
                Webhook(
                    url: recorder.base + "/swift-finished", jobStatus: .finished, method: .post,
                    headers: ["X-Token": "swift"]),
                Webhook(url: recorder.base + "/swift-failed", jobStatus: .failed, timeout: 5),
            ]))
        let stored = try await Python.run(
            """
            from rq import Webhook
            job = Job.fetch('\(job.id)', connection=r, serializer=JSONSerializer)
            hooks = [Webhook('\(recorder.base)/swift-finished', 'finished', method='POST', headers={'X-Token': 'swift'}),
                     Webhook('\(recorder.base)/swift-failed', 'failed', timeout=5)]
            print(json.dumps({'read': [w.to_dict() for w in job.webhooks] == [w.to_dict() for w in hooks],
                              'raw': r.hget(job.key, 'webhooks').decode(),
                              'python': json.dumps([w.to_dict() for w in hooks])}))
            """, url: server.url)
        #expect(stored["read"] == true)
        #expect(stored["raw"] == stored["python"], "the field is byte for byte what Python writes")

        try await Python.burstWorker(queues: [queue.name], url: server.url)
        #expect(try await eventually { !recorder.requests(to: "/swift-finished").isEmpty })
        let post = try #require(recorder.requests(to: "/swift-finished").first)
        #expect(post["method"] == "POST")
        #expect(post["headers"]?["X-Token"] == "swift")
        let payload = try JSONValue(parsing: try #require(post["body"]?.stringValue))
        #expect(payload["job_id"] == .string(job.id))
        #expect(payload["func_name"] == "examples.add")
        #expect(payload["status"] == "finished")
        #expect(recorder.requests(to: "/swift-failed").isEmpty)
    }
}
