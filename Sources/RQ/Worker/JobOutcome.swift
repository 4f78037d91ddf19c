import Glibc

/// How a job ended, as a worker records it — decided in one place (``decide(reported:stopReason:exitStatus:timeout:coldShutdownText:)``)
/// from what the worker saw: the report of the horse or the in-process run, why the worker stopped it if it did, and
/// how the horse exited.
enum JobOutcome: Equatable {
    /// The function returned this value.
    case finished(JSONValue)
    /// The function threw, or its job could not run; the text is the exception text recorded (`exc_info`).
    case failed(String)
    /// A stop-job command ended it.
    case stopped
    /// The worker killed it when its timeout passed.
    case timedOut(String)
    /// Its horse died without a report (a crash, a kill-horse command, an out-of-memory kill).
    case crashed(String)
    /// A cold shutdown of the worker stopped it.
    case coldShutdown(String)

    /// The text Python RQ records for a job stopped by command.
    static let stoppedText = "Job stopped by user, work-horse terminated."

    /// Decides the outcome. A stop command always wins; a cold shutdown wins over a failure report (the stop caused
    /// it: an in-process job reports its cancellation); otherwise a report the job made wins over a timeout or a
    /// cold shutdown (it ended on its own just in time).
    ///
    /// - Parameters:
    ///   - reported: what the horse or in-process run reported; nil if a horse died without a complete report.
    ///   - exitStatus: the horse's `waitpid` status, when it died without a report.
    static func decide(
        reported: JobExecutor.Outcome?, stopReason: StopReason?, exitStatus: Int32?, timeout: JobTimeout,
        coldShutdownText: String
    ) -> JobOutcome {
        switch (stopReason, reported) {
        case (.stopCommand?, _):
            return .stopped
        case (.coldShutdown?, .failure?):
            return .coldShutdown(coldShutdownText)
        case (_, .success(let value)?):
            return .finished(value)
        case (_, .failure(let text)?):
            return .failed(text)
        case (.timeout?, nil):
            return .timedOut(JobExecutor.timeoutText(timeout))
        case (.coldShutdown?, nil):
            return .coldShutdown(coldShutdownText)
        case (.killCommand?, nil), (nil, nil):
            return .crashed(
                "Work-horse terminated unexpectedly; waitpid returned \(SpawnedProcess.describe(exitStatus ?? 0)); ")
        }
    }

    /// The status the job hash gets.
    var status: JobStatus {
        switch self {
        case .finished: return .finished
        case .stopped: return .stopped
        case .failed, .timedOut, .crashed, .coldShutdown: return .failed
        }
    }

    /// The exception text recorded for a job that did not finish.
    var failureText: String? {
        switch self {
        case .finished: return nil
        case .stopped: return Self.stoppedText
        case .failed(let text), .timedOut(let text), .crashed(let text), .coldShutdown(let text): return text
        }
    }

    /// Whether the job's `Retry` applies (a stopped job is not retried, as in RQ).
    var mayRetry: Bool { status == .failed }

    /// The callback the worker runs after the job, because the job could not run it itself: the stopped callback
    /// after a stop command, the failure callback after a timeout kill or a crash — not after a cold shutdown, nor
    /// for a job that reported (its own run did).
    func lateCallback(of callbacks: JobCallbacks) -> (JobCallback, JobCallbackOutcome)? {
        switch self {
        case .stopped: return callbacks.stopped.map { ($0, .stopped) }
        case .timedOut(let text), .crashed(let text): return callbacks.failure.map { ($0, .failed(text)) }
        case .finished, .failed, .coldShutdown: return nil
        }
    }
}
