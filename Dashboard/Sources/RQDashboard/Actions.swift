import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore
import RQ

/// The dashboard's actions, each a POST that changes Redis through the `RQ` library and answers `303 See Other` to
/// the page it came from (`next`), or an error page: 400 for a missing parameter, 404 for an unknown job, 409 for an
/// action the job's state does not allow.
struct Actions: Sendable {
    let dashboard: RQDashboard
    var redis: Redis { dashboard.redis }

    static let names = ["requeue", "delete", "cancel", "stop", "empty", "suspend", "resume"]

    struct Failure: Error {
        let status: HTTPResponse.Status
        let message: String
    }

    func perform(_ action: String, request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        do {
            let fallback = try await run(action, query: query)
            // Only back into the dashboard: `next` is a path under its prefix, never another site.
            let next = query.get("next").flatMap { path -> String? in
                let prefix = dashboard.configuration.pathPrefix
                guard path.hasPrefix(prefix.isEmpty ? "/" : prefix), !path.hasPrefix("//"), !path.contains("\\")
                else { return nil }
                return path
            }
            return Response.redirect(to: next ?? fallback, type: .normal)
        } catch let failure as Failure {
            return Response(
                status: failure.status, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: failure.message + "\n")))
        }
    }

    /// Does the action; returns the page to go to when the request names none.
    private func run(_ action: String, query: Parameters) async throws -> String {
        switch action {
        case "suspend":
            try await Worker.suspend(redis: redis)
            return dashboard.link("/")
        case "resume":
            try await Worker.resume(redis: redis)
            return dashboard.link("/")
        case "empty":
            guard let queue = query.get("queue") else { throw Failure(status: .badRequest, message: "no queue") }
            try await empty(queue: queue, registry: query.get("registry") ?? "queued")
            return dashboard.link("/queue", [("name", queue), ("registry", query.get("registry") ?? "queued")])
        default:
            guard let id = query.get("job"), !id.isEmpty else {
                throw Failure(status: .badRequest, message: "no job")
            }
            let job: Job
            do {
                job = try await Job.fetch(id: id, redis: redis)
            } catch let error as RQError where error.code == .noSuchJob {
                throw Failure(status: .notFound, message: "no job \(id)")
            }
            try await act(action, on: job)
            return dashboard.link("/job", [("id", id)])
        }
    }

    private func act(_ action: String, on job: Job) async throws {
        do {
            switch action {
            case "requeue":
                // From the registry that holds it: failed (and stopped), canceled, finished, deferred, scheduled.
                let kind: JobRegistry.Kind
                switch job.status {
                case .failed, .stopped: kind = .failed
                case .canceled: kind = .canceled
                case .finished: kind = .finished
                case .deferred: kind = .deferred
                case .scheduled: kind = .scheduled
                default:
                    throw Failure(status: .conflict, message: "a \(job.status) job cannot be requeued")
                }
                try await JobRegistry(kind, queue: job.origin, redis: redis).requeue(job.id)
            case "delete":
                try await job.delete()
            case "cancel":
                try await job.cancel()
            case "stop":
                guard job.status == .started else {
                    throw Failure(status: .conflict, message: "job \(job.id) is \(job.status), not running")
                }
                try await Worker.sendStopJobCommand(jobID: job.id, redis: redis)
            default:
                throw Failure(status: .notFound, message: "no action \(action)")
            }
        } catch let error as RQError where error.code == .invalidState {
            throw Failure(status: .conflict, message: error.message)
        }
    }

    /// Empties a queue (`queued`: its list, jobs deleted as Python's `Queue.empty`) or a registry (each job taken
    /// out and deleted). The started registry is not emptied: stop its jobs instead.
    private func empty(queue: String, registry name: String) async throws {
        if name == "queued" {
            _ = try await Queue(queue, redis: redis).empty()
            return
        }
        guard name != "started", let kind = JobRegistry.Kind.all.first(where: { $0.description == name }) else {
            throw Failure(status: .badRequest, message: "registry \(name) cannot be emptied")
        }
        let registry = JobRegistry(kind, queue: queue, redis: redis)
        for id in try await registry.jobIDs() {
            try await registry.remove(id, deleteJob: true)
        }
    }
}
