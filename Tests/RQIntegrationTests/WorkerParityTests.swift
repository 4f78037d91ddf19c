import ExampleFunctions
import Foundation
import RQ
import RQTesting
import Testing

@Suite struct WorkerParityTests {
    @Test func roundRobinRotatesPastTheServingQueueAsPythonDoes() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        /// Queues A (empty), B (three jobs) and C (one); returns the roles in the order the jobs started.
        func run(_ work: ([String]) async throws -> Void) async throws -> [String] {
            let queues = ["a", "b", "c"].map { uniqueName($0) }
            var roles: [String: String] = [:]
            for (queue, names) in zip(queues, [[], ["b1", "b2", "b3"], ["c1"]]) {
                for name in names {
                    roles[try await Queue(queue, redis: redis).enqueue("examples.noop").id] = name
                }
            }
            try await work(queues)
            let jobs = try await Job.fetchMany(ids: Array(roles.keys), redis: redis).compactMap { $0 }
            #expect(jobs.allSatisfy { $0.status == .finished })
            return jobs.sorted { ($0.startedAt ?? .distantFuture) < ($1.startedAt ?? .distantFuture) }.map {
                roles[$0.id]!
            }
        }
        let python = try await run { queues in
            try await Python.burstWorker(queues: queues, url: server.url, extra: ["-ds", "round_robin"])
        }
        let swift = try await run { queues in
            let worker = RunningWorker.start(queues: queues, redis: redis, inProcess: true, burst: true) {
                $0.dequeueStrategy = .roundRobin
            }
            try await worker.task.value
        }
        // After B serves b1 the order is C, A, B: C serves c1, then B the rest.
        #expect(python == ["b1", "c1", "b2", "b3"])
        #expect(swift == python)
    }

}
