import Tracing

// Producer spans: one per job enqueued or scheduled, with the span's context written into the job's `meta` before
// the job is stored (see ``JobTraceContext``).
extension Queue {
    /// Stores `job` in a producer span (`publish <queue>` or `schedule <queue>`) whose context `store` finds in the
    /// job's `meta`; the span ends when the write does, failed if it throws. Without an instrument, `store` gets the
    /// job as it is.
    func withProducerSpan<Result>(
        _ operation: JobTraceContext.Operation, _ job: Job, _ store: (Job) async throws -> Result
    ) async throws -> Result {
        guard JobTraceContext.isActive else { return try await store(job) }
        var job = job
        let span = startProducerSpan(operation, &job)
        do {
            let result = try await store(job)
            span.end()
            return result
        } catch {
            JobTraceContext.endFailed(span, error, message: "\(error)")
            throw error
        }
    }

    /// Stores `jobs` (one write for all) with a producer span each; see ``withProducerSpan(_:_:_:)``.
    func withProducerSpans<Result>(
        _ operation: JobTraceContext.Operation, _ jobs: [Job], _ store: ([Job]) async throws -> Result
    ) async throws -> Result {
        guard JobTraceContext.isActive, !jobs.isEmpty else { return try await store(jobs) }
        var jobs = jobs
        let spans = jobs.indices.map { startProducerSpan(operation, &jobs[$0]) }
        do {
            let result = try await store(jobs)
            for span in spans { span.end() }
            return result
        } catch {
            for span in spans { JobTraceContext.endFailed(span, error, message: "\(error)") }
            throw error
        }
    }

    private func startProducerSpan(_ operation: JobTraceContext.Operation, _ job: inout Job) -> any Span {
        let span = JobTraceContext.startSpan(
            operation, queue: name, job: job, context: JobTraceContext.parent(of: job.meta))
        JobTraceContext.inject(span.context, into: &job.meta)
        return span
    }
}
