import Foundation
import RQ
import RQTesting
import Testing

@Suite struct QueueTests {
    @Test func inspectsEmptiesAndDeletesQueues() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        var ids: [String] = []
        for index in 0..<5 { ids.append(try await queue.enqueue("examples.add", args: [.int(index), 1]).id) }
        let front = try await queue.enqueue("examples.noop", options: EnqueueOptions(atFront: true))
        #expect(try await queue.count() == 6)
        #expect(try await queue.jobIDs() == [front.id] + ids)
        #expect(try await queue.jobIDs(offset: 1, length: 2) == Array(ids[0..<2]))
        #expect(try await queue.jobs().map(\.id) == [front.id] + ids)
        #expect(try await queue.position(of: ids[2]) == 3)
        #expect(try await Queue.allNames(redis: redis).contains(queue.name))
        #expect(try await queue.fetchJob("missing") == nil)
        #expect(try await Queue("other", redis: redis).fetchJob(ids[0]) == nil)

        #expect(try await queue.empty() == 6)
        #expect(try await queue.isEmpty())
        #expect(try await !Job.exists(id: ids[0], redis: redis))
        try await queue.delete()
        #expect(try await !Queue.allNames(redis: redis).contains(queue.name))
    }

    /// A snapshot is read again in place (`refresh()`) or as a new value (`refreshed()`, for actor-isolated
    /// variables such as a top-level `var` in `main.swift`).
    @Test func aJobSnapshotIsReadAgain() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        var job = try await queue.enqueue("examples.noop")
        try await Job.fetch(id: job.id, redis: redis).cancel()
        #expect(job.status == .queued)
        #expect(try await job.refreshed().status == .canceled)
        #expect(job.status == .queued)
        try await job.refresh()
        #expect(job.status == .canceled)
    }

    /// 100 jobs, and 2,000 (encoded in slices on several cores): one MULTI each, queued in the order given.
    @Test(arguments: [100, 2_000])
    func enqueueManyIsOneTransaction(count: Int) async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let requests = (0..<count).map { EnqueueRequest("examples.add", args: [.int($0), 1]) }
        let before = try await multiCount(redis)
        let jobs = try await queue.enqueueMany(requests)
        let after = try await multiCount(redis)
        #expect(after == before + 1, "MULTI calls went from \(before) to \(after)")
        #expect(jobs.count == count)
        #expect(try await queue.jobIDs() == jobs.map(\.id))
        #expect(try await Job.fetch(id: jobs[count - 1].id, redis: redis).args == [.int(count - 1), 1])
        await server.stop()
    }

    /// Concurrent enqueues through one `Queue` share transactions: every job is queued once, complete, with fewer
    /// MULTIs than jobs; and when Redis refuses the writes every one of them throws and none is half-written.
    @Test func concurrentEnqueuesShareTransactionsAllOrNothing() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let before = try await multiCount(redis)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask { try await queue.enqueue("examples.add", args: [.int(index), 1]).id }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        let multis = try await multiCount(redis) - before
        #expect(multis < 200, "\(multis) MULTIs for 200 concurrent enqueues")
        let queued = try await queue.jobIDs()
        #expect(queued.count == 200 && Set(queued) == Set(ids))
        let args = try await Job.fetchMany(ids: queued, redis: redis).compactMap { $0?.args.first }
        #expect(Set(args) == Set((0..<200).map { JSONValue.int($0) }))

        // Out of memory: Redis refuses every write, so the whole shared transaction is discarded.
        try await redis.send("CONFIG", "SET", "maxmemory", 1)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask { (try? await queue.enqueue("examples.noop")) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        try await redis.send("CONFIG", "SET", "maxmemory", 0)
        #expect(failures == 50)
        #expect(try await queue.count() == 200)
        #expect(try await redis.send("KEYS", "rq:job:*").array?.count == 200)
        await server.stop()
    }

    private func multiCount(_ redis: Redis) async throws -> Int {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        // A line reads "cmdstat_multi:calls=N,usec=…,rejected_calls=…,failed_calls=…".
        guard let line = info.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("cmdstat_multi:calls=") })
        else { return 0 }
        let fields = line.dropFirst("cmdstat_multi:calls=".count)
        return Int(fields.prefix(while: \.isNumber)) ?? 0
    }

    @Test func dependenciesDeferUntilTheParentFinishes() async throws {
        let redis = try await SharedRedis.client()
        var functions = JobFunctionRegistry()
        functions.register("examples.noop") { _ in .null }
        let name = uniqueName()
        let queue = Queue(name, redis: redis)
        let parent = try await queue.enqueue("examples.noop")
        let child = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
        #expect(child.status == .deferred)
        #expect(try await queue.jobIDs() == [parent.id])
        #expect(try await queue.deferredJobRegistry.contains(child.id))

        // Run the parent synchronously: its success releases the child onto the queue.
        let sync = Queue(name, redis: redis, runningSynchronouslyWith: functions)
        _ = try await redis.send("LREM", queue.key, 0, parent.id)
        let finished = try await sync.runJob(parent)
        #expect(finished.status == .finished)
        #expect(try await child.currentStatus() == .queued)
        #expect(try await queue.jobIDs() == [child.id])
        #expect(try await !queue.deferredJobRegistry.contains(child.id))

        // A dependency that already finished does not defer.
        let late = try await queue.enqueue("examples.noop", options: EnqueueOptions(dependsOn: [parent.id]))
        #expect(late.status == .queued)
    }

    @Test func cancelAndDeleteRemoveJobsFromQueueAndRegistries() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let job = try await queue.enqueue("examples.noop")
        try await job.cancel()
        #expect(try await job.currentStatus() == .canceled)
        #expect(try await queue.count() == 0)
        #expect(try await queue.canceledJobRegistry.contains(job.id))
        await #expect(throws: RQError.self) { try await job.cancel() }
        try await job.delete()
        #expect(try await !queue.canceledJobRegistry.contains(job.id))
        await #expect(throws: RQError.self) { _ = try await Job.fetch(id: job.id, redis: redis) }
    }

    @Test func badOptionsAreRejectedBeforeAnythingIsWritten() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        await #expect(throws: RQError.self) {
            try await queue.enqueue("f", options: EnqueueOptions(jobID: "has:colon"))
        }
        await #expect(throws: RQError.self) { try await queue.enqueue("") }
        #expect(try await queue.count() == 0)
    }
}
