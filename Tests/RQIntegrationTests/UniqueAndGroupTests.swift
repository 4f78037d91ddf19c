import Foundation
import RQ
import RQTesting
import Testing

@Suite struct UniqueAndGroupTests {
    @Test func aUniqueEnqueueOfAnExistingIDThrowsAndChangesNothing() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let id = uniqueName("unique").replacingOccurrences(of: "-", with: "_")
        let first = try await queue.enqueue(
            "examples.add", args: [1, 2], options: EnqueueOptions(jobID: id, unique: true))
        #expect(first.status == .queued)
        do {
            try await queue.enqueue("examples.add", args: [9, 9], options: EnqueueOptions(jobID: id, unique: true))
            Issue.record("a duplicate unique enqueue succeeded")
        } catch let error as RQError {
            #expect(error.code == .duplicateJob)
            #expect(error.message.contains(id))
        }
        #expect(try await queue.jobIDs() == [id])
        #expect(try await Job.fetch(id: id, redis: redis).args == [1, 2])
        await #expect(throws: RQError.self) {
            try await queue.enqueue("f", options: EnqueueOptions(unique: true))
        }
    }

    @Test func concurrentUniqueEnqueuesQueueTheJobOnce() async throws {
        let redis = try await SharedRedis.client()
        let queue = Queue(uniqueName(), redis: redis)
        let id = "once_\(UUID().uuidString.prefix(8))"
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        try await queue.enqueue("examples.noop", options: EnqueueOptions(jobID: id, unique: true))
                        return true
                    } catch let error as RQError where error.code == .duplicateJob {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await queue.count() == 1)
    }

    @Test func groupsListTheirJobsAndPythonSeesTheGroup() async throws {
        let server = try await SharedRedis.server()
        let redis = try server.makeClient()
        let queue = Queue(uniqueName(), redis: redis)
        let groupName = uniqueName("group")
        let jobs = try await queue.enqueueMany(
            (0..<3).map { EnqueueRequest("examples.add", args: [.int($0), 1]) }, groupID: groupName)
        let group = JobGroup(name: groupName, redis: redis)
        #expect(try await group.jobIDs() == jobs.map(\.id).sorted())
        #expect(try await group.jobs().allSatisfy { $0.groupID == groupName })
        #expect(try await JobGroup.allNames(redis: redis).contains(groupName))
        let python = try await Python.run(
            """
            from rq.group import Group
            g = Group.fetch('\(groupName)', connection=r)
            print(json.dumps(sorted(j.id for j in g.get_jobs())))
            """, url: server.url)
        #expect(python == .array(jobs.map(\.id).sorted().map(JSONValue.string)))
        try await jobs[0].delete()
        try await group.cleanup()
        #expect(try await group.jobIDs().count == 2)
    }
}
