import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct ResultWaitTests {
    /// Threads of this process with a given name (`BlockingThread` names its threads).
    private func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }

    /// The acceptance check: 1,000 tasks awaiting `job.result()` at once share the client's connections — at most
    /// four to Redis, and no thread per waiter — and every result arrives.
    @Test func aThousandConcurrentResultWaitsShareOneRead() async throws {
        let server = try await RedisServer.start()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let jobs = try await queue.enqueueMany((0..<1000).map { EnqueueRequest("examples.add", args: [.int($0), 1]) })
        let connectionThreadsBefore = threads(named: "rq-redis")
        let results = Task {
            try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
                for (index, job) in jobs.enumerated() {
                    group.addTask { (index, try await job.result(timeout: .seconds(120))) }
                }
                var values = [JSONValue](repeating: .null, count: jobs.count)
                for try await (index, value) in group { values[index] = value }
                return values
            }
        }
        #expect(try await eventually(timeout: .seconds(30)) { redis.streamWaiters.count == 1000 })
        #expect(
            try await eventually {
                try await redis.send("INFO", "clients").string?.contains("blocked_clients:1") == true
            })
        let info = try await redis.send("INFO", "clients").string ?? ""
        let connected = info.split(separator: "\r\n").first { $0.hasPrefix("connected_clients:") }
        let count = Int(connected?.split(separator: ":").last ?? "") ?? -1
        #expect((1...4).contains(count), "\(info)")
        // Other tests run meanwhile and have connections of their own (dozens, in a full parallel run); a thread per
        // waiter would add 1,000.
        #expect(threads(named: "rq-redis") - connectionThreadsBefore < 200)

        try await RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, concurrency: 10, burst: true)
            .task.value
        let values = try await results.value
        #expect(values == (0..<1000).map { .int($0 + 1) })
        #expect(redis.streamWaiters.count == 0)
    }

    /// A waiter that joins while the shared read is blocked for others is served at once, and its own timeout is
    /// kept even when the others wait longer.
    @Test func aLateWaiterIsServedAndTimesOutOnItsOwn() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let long = try await queue.enqueue("examples.noop")
        let waitingLong = Task { try await long.result(timeout: .seconds(60)) }
        #expect(try await eventually { redis.streamWaiters.count >= 1 })

        let short = try await queue.enqueue("examples.noop")
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: RQError.self) { try await short.result(timeout: .milliseconds(300)) }
        #expect(clock.now - started < .seconds(20))  // its own 300 ms, not the other's 60 s (room for a loaded machine)

        // A result written while both wait reaches the one it belongs to.
        let late = try await queue.enqueue(ExampleFunctions.add, 2, 2)
        let waitingLate = Task { try await late.result(timeout: .seconds(60)) }
        try await RunningWorker.start(queues: [queue.name], redis: redis, inProcess: true, burst: true).task.value
        #expect(try await waitingLate.value == 4)
        #expect(try await waitingLong.value == .null)
    }
}
