import Foundation
import RQ
import RQTesting
import Testing
import VaporExampleApp
import VaporTesting

@Suite struct VaporExampleTests {
    /// Where the pool runs jobs: in its own process, and in horses of the built `vapor-example`, which must work
    /// as its own runner (`runHorseIfRequested()` before Vapor starts).
    @Test(arguments: ["in process", "horses"])
    func addAwaitsTheResultOfTheJobItEnqueued(workerMode: String) async throws {
        let worker: RQSettings.Worker =
            workerMode == "horses" ? .horses(runner: builtExecutable("vapor-example")) : .inProcess
        try await RunningApp.with(worker: worker) { running in
            let (a, b) = (Int.random(in: 1...1000), Int.random(in: 1...1000))
            var answer: AddResponse?
            try await running.http.test(.GET, "add/\(a)/\(b)") { response in
                #expect(response.status == .ok)
                answer = try response.content.decode(AddResponse.self)
            }
            let added = try #require(answer)
            #expect(added.result == a + b)
            // The job the request enqueued ran on the application's worker, and its result is in Redis.
            let job = try await Job.fetch(id: added.id, redis: running.redis)
            #expect(job.functionName == "examples.add")
            #expect(job.args == [.int(a), .int(b)])
            #expect(job.status == .finished)
            #expect(try await job.latestResult()?.returnValue == .int(a + b))
            #expect(try await running.queue.finishedJobRegistry.contains(added.id))
        }
    }

    @Test func aReportIsAcceptedAtOnceAndCollectedByItsID() async throws {
        try await RunningApp.with { running in
            let text = "The quick brown fox\njumps over the lazy dog"
            var accepted: EnqueuedResponse?
            var location: String?
            try await running.http.test(
                .POST, "reports",
                beforeRequest: { request in try request.content.encode(ReportRequest(text: text)) },
                afterResponse: { response in
                    #expect(response.status == .accepted)
                    accepted = try response.content.decode(EnqueuedResponse.self)
                    location = response.headers.first(name: "Location")
                })
            let enqueued = try #require(accepted)
            #expect(location == "/jobs/\(enqueued.id)")
            #expect(enqueued.location == location)

            var last: JobResponse?
            let finished = try await eventually {
                try await running.http.test(.GET, "jobs/\(enqueued.id)") { response in
                    #expect(response.status == .ok)
                    last = try response.content.decode(JobResponse.self)
                }
                return last?.status == "finished"
            }
            #expect(finished, "last seen: \(String(describing: last))")
            #expect(last?.function == "reports.summarize")
            let summary = try #require(last?.result).decode(ReportSummary.self)
            #expect(summary == ReportSummary(words: 9, lines: 2, characters: 43))
            #expect(last?.error == nil)
            // What the route reported is what Redis holds.
            let job = try await Job.fetch(id: enqueued.id, redis: running.redis)
            #expect(job.status == .finished)
            #expect(try await job.latestResult()?.returnValue == last?.result)
        }
    }

    @Test func aJobThatFailedShowsItsErrorAndAnUnknownIDIsNotFound() async throws {
        try await RunningApp.with { running in
            // Enqueued by another producer under a name this application's workers do not know.
            let job = try await running.queue.enqueue("reports.unknown", args: ["x"])
            var last: JobResponse?
            let failed = try await eventually {
                try await running.http.test(.GET, "jobs/\(job.id)") { response in
                    last = try response.content.decode(JobResponse.self)
                }
                return last?.status == "failed"
            }
            #expect(failed, "last seen: \(String(describing: last))")
            #expect(last?.result == nil)
            #expect(last?.error?.contains("reports.unknown") == true, "error: \(last?.error ?? "none")")

            try await running.http.test(.GET, "jobs/no-such-job") { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func thePoolStartsWithTheApplicationAndFinishesItsJobsWhenItShutsDown() async throws {
        try await RunningApp.with { running in
            let registered = try await eventually { try await Worker.all(redis: running.redis).count == 1 }
            #expect(registered, "the application's worker pool registered in Redis")
            let job = try await running.queue.enqueue(ExampleJobs.sleep, 1.5)
            let started = try await eventually { try await job.currentStatus() == .started }
            #expect(started)

            // A warm shutdown: the running job finishes, then the worker unregisters.
            try await running.app.asyncShutdown()
            #expect(try await job.currentStatus() == .finished)
            #expect(try await job.result(timeout: .seconds(30)) == 1.5)
            #expect(try await Worker.all(redis: running.redis).isEmpty)
        }
    }
}
