import FoundationEssentials
import Logging

/// Sends jobs' webhooks (``Webhook``) once their outcome is written, as RQ 2.12's worker does — but without making
/// the worker wait: requests are queued here and made on dedicated threads, at most `maximumInFlight` at once.
///
/// Best effort, as in RQ: a failed request (no connection, a timeout, a 4xx/5xx status) is logged as a warning and
/// changes nothing about the job. When more than `maximumQueued` requests wait, new ones are dropped with a warning
/// rather than letting a dead endpoint grow the worker's memory. A worker waits (up to ``drainTimeout``) for the
/// requests still under way before it exits, so a burst worker's last jobs' webhooks are sent too.
final class WebhookSender: @unchecked Sendable {
    /// The process's sender: libcurl's threads and the in-flight bound are shared by every worker in the process.
    static let shared = WebhookSender(maximumInFlight: 8, maximumQueued: 10_000)

    /// How long a stopping worker waits for requests under way.
    static let drainTimeout: Duration = .seconds(30)

    private struct Delivery {
        let request: HTTPRequest
        let jobID: String
        let logger: Logger
    }

    private let maximumInFlight: Int
    private let maximumQueued: Int
    // Guarded by `condition`'s mutex.
    private let condition = ThreadCondition()
    private var pending: [Delivery] = []
    private var pendingStart = 0
    private var threads = 0
    private var idleThreads = 0
    private var inFlight = 0
    private var drainWaiters: [Int: Waiter] = [:]
    private var nextWaiter = 0

    init(maximumInFlight: Int, maximumQueued: Int) {
        self.maximumInFlight = maximumInFlight
        self.maximumQueued = maximumQueued
    }

    /// Queues the job's webhooks for `status` (RQ's `job.send_webhooks(status, exc_string=…)`); returns at once.
    ///
    /// - Parameters:
    ///   - job: the job as the worker read it (its `enqueued_at`, function and webhooks).
    ///   - status: how it ended; only `finished` and `failed` send anything.
    ///   - endedAt: the `ended_at` the worker wrote.
    ///   - excString: the failure text (`exc_info`), for `failed`.
    func jobEnded(_ job: Job, status: JobStatus, endedAt: Date, excString: String?, logger: Logger) {
        if job.webhooks.isEmpty, job.otherFields[Webhook.field] != nil {
            logger.warning("Job webhooks cannot be read; none sent", metadata: ["rq.job_id": "\(job.id)"])
            return
        }
        let matching = job.webhooks.filter { $0.jobStatus == status }
        guard !matching.isEmpty else { return }
        let payload = Webhook.payload(
            jobID: job.id, functionName: job.functionName, status: status, enqueuedAt: job.enqueuedAt,
            endedAt: endedAt, excString: excString)
        for webhook in matching {
            logger.debug(
                "Sending webhook",
                metadata: ["rq.job_id": "\(job.id)", "rq.status": "\(status)", "url": "\(webhook.url)"])
            enqueue(Delivery(request: webhook.request(payload: payload), jobID: job.id, logger: logger))
        }
    }

    /// The worker's outcome in the terms of ``jobEnded(_:status:endedAt:excString:logger:)``.
    func jobEnded(
        _ job: Job, status: JobStatus, endedAt: Date, outcome: JobExecutor.Outcome, logger: Logger
    ) {
        var excString: String?
        if case .failure(let text) = outcome { excString = text }
        jobEnded(job, status: status, endedAt: endedAt, excString: excString, logger: logger)
    }

    /// Returns when no request is queued or under way, or after `timeout`.
    func waitUntilSent(timeout: Duration = WebhookSender.drainTimeout) async {
        guard let id = registerWaiter() else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in self.park(id, continuation) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.condition.lock()
                let waiter = self.finish(id)
                self.condition.unlock()
                waiter?.resume()
            }
            await group.next()
            group.cancelAll()
        }
        condition.lock()
        drainWaiters[id] = nil
        condition.unlock()
    }

    // MARK: The queue and its threads

    private func enqueue(_ delivery: Delivery) {
        condition.lock()
        guard pending.count - pendingStart < maximumQueued else {
            condition.unlock()
            delivery.logger.warning(
                "Webhook dropped: too many requests waiting",
                metadata: ["rq.job_id": "\(delivery.jobID)", "url": "\(delivery.request.url)"])
            return
        }
        pending.append(delivery)
        let startThread = idleThreads == 0 && threads < maximumInFlight
        if startThread { threads += 1 }
        condition.signal()
        condition.unlock()
        if startThread {
            BlockingThread.start(name: "rq-webhooks") { self.serve() }
        }
    }

    /// A sender thread: takes requests for as long as the process lives (idle threads sleep on the condition).
    private func serve() {
        condition.lock()
        while true {
            while pendingStart == pending.count {
                idleThreads += 1
                condition.wait()
                idleThreads -= 1
            }
            let delivery = pending[pendingStart]
            pendingStart += 1
            if pendingStart == pending.count {
                pending.removeAll(keepingCapacity: true)
                pendingStart = 0
            }
            inFlight += 1
            condition.unlock()
            send(delivery)
            condition.lock()
            inFlight -= 1
            if inFlight == 0, pendingStart == pending.count {
                let continuations = drainWaiters.keys.compactMap { finish($0) }
                condition.unlock()
                for continuation in continuations { continuation.resume() }
                condition.lock()
            }
        }
    }

    private func send(_ delivery: Delivery) {
        let request = delivery.request
        let metadata: Logger.Metadata = [
            "rq.job_id": "\(delivery.jobID)", "url": "\(request.url)", "method": "\(request.method.rawValue)",
        ]
        switch request.send() {
        case .status(let code) where code >= 400:
            delivery.logger.warning("Webhook failed", metadata: metadata.merging(["status": "\(code)"]) { $1 })
        case .status:
            delivery.logger.debug("Webhook sent", metadata: metadata)
        case .failed(let reason):
            delivery.logger.warning("Webhook failed", metadata: metadata.merging(["error": "\(reason)"]) { $1 })
        }
    }

    // MARK: Drain waiters

    private enum Waiter {
        case registered
        case parked(CheckedContinuation<Void, Never>)
        case finished
    }

    /// A new waiter's id, or nil when nothing is left to wait for.
    private func registerWaiter() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard pendingStart < pending.count || inFlight > 0 else { return nil }
        nextWaiter += 1
        drainWaiters[nextWaiter] = .registered
        return nextWaiter
    }

    private func park(_ id: Int, _ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        guard case .registered? = drainWaiters[id] else {
            condition.unlock()
            continuation.resume()
            return
        }
        drainWaiters[id] = .parked(continuation)
        condition.unlock()
    }

    /// Marks a waiter finished and returns its continuation to resume (outside the lock); call with the lock held.
    private func finish(_ id: Int) -> CheckedContinuation<Void, Never>? {
        guard let waiter = drainWaiters[id] else { return nil }
        drainWaiters[id] = .finished
        if case .parked(let continuation) = waiter { return continuation }
        return nil
    }
}
