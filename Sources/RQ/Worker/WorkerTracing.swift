import Tracing

/// Consumer spans: one around each job a worker (or a synchronous queue) runs, `consume <queue>`, continuing the
/// trace whose context the job's `meta` carries (see ``JobTraceContext``).
enum WorkerTracing {
    /// Runs a job in a consumer span and ends the span with the job's outcome: status error, and the failure
    /// recorded, when the job failed, was stopped, timed out or crashed. While `run` runs the span is the task's
    /// current context, so spans an in-process job starts are its children. Without an instrument, `run` runs
    /// as it is.
    ///
    /// - Parameters:
    ///   - outcome: how the job ended, read from what `run` returned.
    static func withConsumerSpan<Result>(
        _ job: Job, queue: String, workerName: String, isolation: isolated (any Actor)? = #isolation,
        outcome: (Result) -> JobOutcome, _ run: () async -> Result
    ) async -> Result {
        guard JobTraceContext.isActive else { return await run() }
        let span = JobTraceContext.startSpan(
            .consume, queue: queue, job: job, context: JobTraceContext.parent(of: job.meta))
        if span.isRecording {
            span.updateAttributes { attributes in
                // Python's instrumentation names the worker as the consumer group.
                attributes["messaging.consumer.group.name"] = workerName
                attributes["rq.worker.name"] = workerName
                if let retriesLeft = job.retriesLeft { attributes["rq.job.retries_left"] = retriesLeft }
                if let retries = job.numberOfRetries { attributes["rq.job.number_of_retries"] = retries }
            }
        }
        let result = await ServiceContext.$current.withValue(span.context, operation: run)
        let ended = outcome(result)
        span.attributes["rq.job.status"] = WorkerMetrics.status(of: ended)
        if let text = ended.failureText {
            let summary = text.split(separator: "\n").last.map(String.init) ?? ended.status.rawValue
            JobTraceContext.endFailed(span, JobRunFailure(description: text), message: summary)
        } else {
            span.setStatus(SpanStatus(code: .ok))
            span.end()
        }
        return result
    }

    /// A job that did not finish, as a span records it: the exception text RQ stores.
    struct JobRunFailure: Error, CustomStringConvertible {
        let description: String
    }
}

extension Job {
    /// How often the job was retried by returning RQ's `Retry` (Python's `number_of_retries`), if it says.
    var numberOfRetries: Int? {
        otherFields["number_of_retries"].flatMap { Int(String(decoding: $0, as: UTF8.self)) }
    }
}
