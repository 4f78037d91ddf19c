import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct BadInputTests {
    /// Writes a valid job hash, then spoils one field.
    private func spoiledJob(_ redis: Redis, field: String, value: [UInt8]?) async throws -> String {
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue("examples.add", args: [1, 2])
        if let value {
            try await redis.send("HSET", "rq:job:\(job.id)", field, value)
        } else {
            try await redis.send("HDEL", "rq:job:\(job.id)", field)
        }
        return job.id
    }

    @Test(arguments: [
        ("data", Array("garbage".utf8) as [UInt8]?, "data"),
        ("data", [0x78, 0x9c, 0x01, 0x02, 0x03, 0x04] as [UInt8]?, "data"),
        ("data", [0x80, 0x05, 0x95, 0x00] as [UInt8]?, "pickle"),
        ("data", nil, "missing"),
        ("status", Array("b@d status!".utf8) as [UInt8]?, "status"),
        ("meta", Array("{not json".utf8) as [UInt8]?, "meta"),
        ("meta", Array("[1, 2]".utf8) as [UInt8]?, "meta"),
        ("created_at", Array("yesterday".utf8) as [UInt8]?, "created_at"),
        ("timeout", Array("soon".utf8) as [UInt8]?, "timeout"),
    ])
    func fetchNamesTheJobAndTheField(field: String, value: [UInt8]?, mentions: String) async throws {
        let redis = try await SharedRedis.client()
        let id = try await spoiledJob(redis, field: field, value: value)
        do {
            _ = try await Job.fetch(id: id, redis: redis)
            Issue.record("fetch accepted a bad '\(field)'")
        } catch let error as RQError {
            #expect(error.code == .invalidJob)
            #expect(error.jobID == id)
            #expect(error.field == field)
            #expect(error.message.contains(id) && error.message.contains("'\(field)'"))
            #expect(error.message.lowercased().contains(mentions), "\(error.message)")
        }
        // Nothing was lost: the job is still in Redis for someone to inspect or repair.
        #expect(try await Job.exists(id: id, redis: redis))
    }

    /// A worker that takes a job it cannot read fails it with the reason, written as any outcome is, and goes on.
    @Test func aWorkerFailsAJobItCannotReadAndGoesOn() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let spoiled = try await queue.enqueue("examples.add", args: [1, 2])
        try await redis.send("HSET", "rq:job:\(spoiled.id)", "data", "garbage")
        let good = try await queue.enqueue(ExampleFunctions.add, 2, 3)
        let worker = RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true)
        try await worker.task.value

        #expect(try await good.result(timeout: .seconds(10)) == 5)
        #expect(try await queue.failedJobRegistry.jobIDs() == [spoiled.id])
        #expect(try await queue.startedJobRegistry.jobIDs().isEmpty)
        #expect(try await redis.send("LLEN", "rq:queue:\(queue.name):intermediate").int == 0)
        let result = try #require(try await spoiled.latestResult())
        #expect(result.excString?.contains("'data'") == true, "\(result.excString ?? "")")
        #expect(await worker.pool.failedJobCount == 1)
        #expect(await worker.pool.successfulJobCount == 1)
    }

    @Test func unknownButWellFormedStatusIsTolerated() async throws {
        let redis = try await SharedRedis.client()
        let id = try await spoiledJob(redis, field: "status", value: Array("rate_limited".utf8))
        let job = try await Job.fetch(id: id, redis: redis)
        #expect(job.status.rawValue == "rate_limited")
        #expect(!job.status.isKnown)
    }

    @Test func fetchingAMissingJobSaysSo() async throws {
        let redis = try await SharedRedis.client()
        do {
            _ = try await Job.fetch(id: "no-such-job", redis: redis)
            Issue.record("fetched a missing job")
        } catch let error as RQError {
            #expect(error.code == .noSuchJob)
            #expect(error.message.contains("no-such-job"))
        }
        let many = try await Job.fetchMany(ids: ["no-such-job"], redis: redis)
        #expect(many.count == 1 && many[0] == nil)
    }

    @Test func badURLNamesTheBadPart() {
        #expect(throws: RedisError.self) { try Redis(url: "redis://localhost:port/0") }
        do { _ = try Redis(url: "redis://localhost:port/0") } catch {
            #expect(error.message.contains("invalid port 'port'"))
        }
    }
}
