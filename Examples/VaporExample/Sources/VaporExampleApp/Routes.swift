public import RQ
public import Vapor

/// `GET /add/:a/:b`'s answer: the job and its result.
public struct AddResponse: Content {
    public var id: String
    public var result: Int
}

/// `POST /reports`' body.
public struct ReportRequest: Content {
    public var text: String

    public init(text: String) {
        self.text = text
    }
}

/// `POST /reports`' answer (202 Accepted): the job to ask about at `location`.
public struct EnqueuedResponse: Content {
    public var id: String
    public var status: String
    public var location: String
}

/// `GET /jobs/:id`'s answer: the job's status and, once it ended, its result or its error.
public struct JobResponse: Content {
    public var id: String
    public var function: String
    public var status: String
    public var result: JSONValue?
    public var error: String?
}

/// How long a request waits for a job's result before it answers 504 and leaves the job to `GET /jobs/:id`.
let resultWait: Duration = .seconds(30)

func routes(_ app: Application) throws {
    // Enqueue, then await the result: the request is answered when a worker has run the job.
    app.get("add", ":a", ":b") { request async throws -> AddResponse in
        guard let a = request.parameters.get("a", as: Int.self), let b = request.parameters.get("b", as: Int.self)
        else { throw Abort(.badRequest, reason: "a and b must be whole numbers") }
        let job = try await request.rq.queue.enqueue(ExampleJobs.add, a, b)
        do {
            return AddResponse(id: job.id, result: try await job.result(timeout: resultWait))
        } catch let error as RQError where error.code == .timeout {
            throw Abort(
                .gatewayTimeout, headers: ["Location": "/jobs/\(job.id)"],
                reason: "job \(job.id) did not finish within \(resultWait); see /jobs/\(job.id)")
        } catch let failure as JobFailure {
            throw Abort(.internalServerError, reason: failure.description)
        }
    }

    // Enqueue and answer at once; the client collects the result from GET /jobs/:id.
    app.post("reports") { request async throws -> Response in
        let report = try request.content.decode(ReportRequest.self)
        let job = try await request.rq.queue.enqueue(ExampleJobs.summarize, report.text)
        let location = "/jobs/\(job.id)"
        let response = Response(status: .accepted, headers: ["Location": location])
        try response.content.encode(EnqueuedResponse(id: job.id, status: "queued", location: location))
        return response
    }

    // Any job, whoever enqueued it: its status, and its result or error once it ended.
    app.get("jobs", ":id") { request async throws -> JobResponse in
        let id = try request.parameters.require("id")
        let job: Job
        do {
            job = try await Job.fetch(id: id, redis: request.rq.redis)
        } catch let error as RQError where error.code == .noSuchJob {
            throw Abort(.notFound, reason: "no job \(id)")
        }
        var response = JobResponse(id: job.id, function: job.functionName, status: job.status.rawValue)
        if job.status.isTerminal, let result = try await job.latestResult() {
            if result.isSuccessful {
                response.result = result.returnValue ?? .null
            } else {
                response.error = result.excString
            }
        }
        return response
    }
}
