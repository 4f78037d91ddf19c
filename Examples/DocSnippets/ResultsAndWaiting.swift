// swift-format-ignore-file
// ResultsAndWaiting.md: see Support.swift.
import RQ

func resultsWaiting(queue: Queue) async throws {
    let job = try await queue.enqueue("examples.add", args: [2, 3])
    let sum = try await job.result(as: Int.self, timeout: .seconds(30))   // waits with XREAD BLOCK, no polling

    let add = JobFunction<Int, Int, Int>("examples.add")
    let typed = try await queue.enqueue(add, 2, 3)
    let five: Int = try await typed.result()                              // no timeout: until the job ends
    _ = (sum, five)
}

func resultsFailure(job: Job) async throws {
    do {
        let value = try await job.result(timeout: .seconds(10))
        print("finished:", value)
    } catch let failure as JobFailure {
        print("failed:", failure.excString)                  // e.g. "ValueError: bad input" or RQ's timeout text
    } catch let error as RQError where error.code == .timeout {
        print("still running after 10 s:", try await job.currentStatus())
    }
}

func resultsEveryRun(job: Job) async throws {
    for result in try await job.results() {
        print(result.kind, result.createdAt, result.returnValue ?? .null, result.excString ?? "")
    }
}

func resultsTTL(queue: Queue) async throws {
    try await queue.enqueue(
        "reports.build", args: ["2026-11"], options: EnqueueOptions(resultTTL: 3600, failureTTL: 7 * 86400))
    for id in try await queue.failedJobRegistry.jobIDs(length: 10, descending: true) {   // latest first
        try await queue.failedJobRegistry.requeue(id)
    }
}

func resultsWebhooks(queue: Queue) async throws {
    try await queue.enqueue("reports.build", args: ["2026-11"], options: EnqueueOptions(webhooks: [
        Webhook(url: "https://hooks.example.com/rq", jobStatus: .finished, method: .post,
                headers: ["Authorization": "Bearer …"]),
        Webhook(url: "https://hooks.example.com/rq-failed", jobStatus: .failed, timeout: 5),   // GET, 10 s by default
    ]))
}
